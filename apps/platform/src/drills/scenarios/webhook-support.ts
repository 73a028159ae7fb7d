import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * The receiver of drill 6: a webhook endpoint written as a careful user writes one, on 127.0.0.1.
 * Every request is verified before anything is applied:
 * - the Standard Webhooks signature with the reference implementation (`standardwebhooks`, which
 *   also refuses a timestamp more than 5 minutes away);
 * - the timestamp within the receiver's own, shorter tolerance, against a clock the drill can set;
 * - X-Signature (hex HMAC-SHA256 of the raw body, keyed with the secret's UTF-8 bytes);
 * - X-Event-Id, webhook-id and the body's eventId naming the same event.
 * A verified request is applied once per webhook-id (deduplication, as the platform's at-least-once
 * delivery asks); a repeat is answered 200 and counted, never applied again. While "down" it answers
 * 503, or destroys the connection without answering.
 */

export type ReceiverMode = 'up' | 'down-503' | 'down-drop';

export type Refusal = 'MISSING_HEADER' | 'BAD_STANDARD_SIGNATURE' | 'TIMESTAMP_TOO_OLD' | 'TIMESTAMP_IN_FUTURE' | 'BAD_X_SIGNATURE' | 'IDS_DIFFER' | 'NOT_JSON';

/** A request the receiver verified and accepted (applied or a duplicate). */
export interface AcceptedDelivery {
  webhookId: string;
  timestamp: number;
  body: string;
  parsed: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** When it arrived (receiver's clock, ms). */
  at: number;
  /** False when a delivery with this webhook-id had been applied before. */
  applied: boolean;
}

export interface VerifyingReceiverOptions {
  secret: string;
  /** Largest accepted age (and lead) of webhook-timestamp against the receiver's clock, in seconds. */
  toleranceSeconds: number;
  /** The receiver's clock (default Date.now). */
  now?: () => number;
}

export interface VerifyingReceiver {
  url: string;
  setMode(mode: ReceiverMode): void;
  /** Set once the webhook exists (its secret is only known then). */
  setSecret(secret: string): void;
  /** Every accepted request, in arrival order (duplicates included, `applied: false`). */
  accepted: AcceptedDelivery[];
  /** The applied ones, by webhook-id. */
  applied: Map<string, AcceptedDelivery>;
  /** Refused requests by reason. */
  refused: Map<Refusal, number>;
  /** Requests answered 503 and connections dropped while down. */
  downAnswers: { status503: number; dropped: number };
  /** Sends raw bytes and headers to this receiver, as a replaying attacker would: answers the status. */
  replay(body: string, headers: IncomingHttpHeaders): Promise<number>;
  close(): Promise<void>;
}

const HEADER_NAMES = ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-signature', 'x-event-id', 'content-type'] as const;

export async function startVerifyingReceiver(options: VerifyingReceiverOptions): Promise<VerifyingReceiver> {
  const now = options.now ?? Date.now;
  let secret = options.secret;
  let standard = new Webhook(secret);
  let mode: ReceiverMode = 'up';
  const accepted: AcceptedDelivery[] = [];
  const applied = new Map<string, AcceptedDelivery>();
  const refused = new Map<Refusal, number>();
  const downAnswers = { status503: 0, dropped: 0 };
  const sockets = new Set<Socket>();

  const refuse = (reason: Refusal): { ok: false; reason: Refusal } => ({ ok: false, reason });
  const verify = (raw: string, headers: IncomingHttpHeaders): { ok: true; webhookId: string; timestamp: number; parsed: Record<string, unknown> } | { ok: false; reason: Refusal } => {
    const one = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const id = one('webhook-id');
    const timestampText = one('webhook-timestamp');
    const signature = one('webhook-signature');
    const xSignature = one('x-signature');
    if (!id || !timestampText || !signature || !xSignature) return refuse('MISSING_HEADER');
    // 1. The reference implementation: the v1 signature over "<id>.<timestamp>.<body>" (and its own 5-minute window).
    try {
      standard.verify(raw, { 'webhook-id': id, 'webhook-timestamp': timestampText, 'webhook-signature': signature });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return refuse(/too old/i.test(message) ? 'TIMESTAMP_TOO_OLD' : /too new/i.test(message) ? 'TIMESTAMP_IN_FUTURE' : 'BAD_STANDARD_SIGNATURE');
    }
    // 2. The receiver's own tolerance, on its own clock.
    const timestamp = Number(timestampText);
    const nowSeconds = Math.floor(now() / 1000);
    if (nowSeconds - timestamp > options.toleranceSeconds) return refuse('TIMESTAMP_TOO_OLD');
    if (timestamp - nowSeconds > options.toleranceSeconds) return refuse('TIMESTAMP_IN_FUTURE');
    // 3. X-Signature.
    const expected = Buffer.from(`sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(raw).digest('hex')}`);
    const given = Buffer.from(xSignature.trim().toLowerCase());
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return refuse('BAD_X_SIGNATURE');
    // 4. One event named everywhere.
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return refuse('NOT_JSON');
    }
    if (one('x-event-id') !== id || parsed.eventId !== id) return refuse('IDS_DIFFER');
    return { ok: true, webhookId: id, timestamp, parsed };
  };

  const server = createServer((req, res) => {
    if (mode === 'down-drop') {
      downAnswers.dropped++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (mode === 'down-503') {
        downAnswers.status503++;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const result = verify(raw, req.headers);
      if (!result.ok) {
        refused.set(result.reason, (refused.get(result.reason) ?? 0) + 1);
        res.writeHead(401, { 'content-type': 'text/plain' }).end(result.reason);
        return;
      }
      const first = !applied.has(result.webhookId);
      const delivery: AcceptedDelivery = { webhookId: result.webhookId, timestamp: result.timestamp, body: raw, parsed: result.parsed, headers: req.headers, at: now(), applied: first };
      accepted.push(delivery);
      if (first) applied.set(result.webhookId, delivery);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(first ? 'applied' : 'duplicate');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/hooks`;
  return {
    url,
    setMode(next) {
      mode = next;
    },
    setSecret(next) {
      secret = next;
      standard = new Webhook(next);
    },
    accepted,
    applied,
    refused,
    downAnswers,
    async replay(body, headers) {
      const copy: Record<string, string> = {};
      for (const name of HEADER_NAMES) {
        const value = headers[name];
        if (typeof value === 'string') copy[name] = value;
      }
      const response = await fetch(url, { method: 'POST', headers: copy, body });
      await response.text();
      return response.status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
