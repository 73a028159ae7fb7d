import { createHmac, timingSafeEqual } from 'node:crypto';

/** One delivery the demo's receiver got, as the console lists it. */
export interface ReceivedDelivery {
  receivedAt: string;
  eventId: string | null;
  /** Whether X-Signature was the HMAC-SHA256 of the raw body with the webhook's secret. */
  signatureValid: boolean;
  body: unknown;
}

/** `sha256=<hex>` of the raw body with the secret, compared in constant time. */
export function signatureMatches(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The demo's webhook receiver: what a business's endpoint does (check the signature over the raw
 * bytes, then keep the event), with the last `capacity` valid deliveries in memory for the console.
 */
export class WebhookInbox {
  private readonly deliveries: ReceivedDelivery[] = [];
  constructor(private readonly capacity = 100) {}

  receive(rawBody: Buffer, headers: { signature?: string; eventId?: string }, secret: string, now = new Date()): ReceivedDelivery {
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      body = null;
    }
    const delivery: ReceivedDelivery = {
      receivedAt: now.toISOString(),
      eventId: headers.eventId ?? null,
      signatureValid: signatureMatches(rawBody, headers.signature, secret),
      body,
    };
    // Only what the signature vouches for is kept: forged posts cannot push real deliveries out.
    if (!delivery.signatureValid) return delivery;
    this.deliveries.unshift(delivery);
    if (this.deliveries.length > this.capacity) this.deliveries.pop();
    return delivery;
  }

  /** Newest first; only those of one session when given. */
  list(sessionId?: string): ReceivedDelivery[] {
    return sessionId ? this.deliveries.filter((d) => (d.body as { sessionId?: unknown } | null)?.sessionId === sessionId) : [...this.deliveries];
  }
}
