/**
 * Webhook signatures: two schemes on every delivery, and the helpers a receiver verifies them with.
 *
 * 1. The platform's own (DESIGN.md section 5):
 *      X-Signature: sha256=<hex HMAC-SHA256 of the raw body>
 *      X-Event-Id:  <eventId>
 *    The HMAC key is the secret's UTF-8 bytes, the whole string as shown when the webhook was created
 *    (a `whsec_` prefix included). It has no timestamp, so on its own it does not stop a replay of a
 *    captured request: receivers should deduplicate on X-Event-Id, or check the second scheme.
 *
 * 2. Standard Webhooks (https://www.standardwebhooks.com, the convention of Svix and others):
 *      webhook-id:        <eventId>
 *      webhook-timestamp: <unix seconds of this attempt>
 *      webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">
 *    The HMAC key: when the secret starts with `whsec_` (every generated secret does), the bytes of
 *    the base64 text after the prefix, exactly as the Standard Webhooks libraries read it, so
 *    `new Webhook(secret)` from the `standardwebhooks` package verifies our deliveries; otherwise
 *    (a secret chosen by the subscriber without the prefix) the secret's UTF-8 bytes, which those
 *    libraries call the "raw" format (`new Webhook(secret, { format: 'raw' })`).
 *    Every attempt is signed afresh, so a retry hours later still carries a current timestamp, and a
 *    receiver that refuses timestamps older than its tolerance (default 5 minutes) refuses replays.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const STANDARD_WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Default tolerance between a delivery's `webhook-timestamp` and the receiver's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** The signature headers of one delivery attempt (names as sent; HTTP header names are case-insensitive). */
export type WebhookSignatureHeaders = {
  'X-Signature': string;
  'X-Event-Id': string;
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface SignWebhookInput {
  /** The raw body exactly as it is sent. */
  body: string;
  secret: string;
  eventId: string;
  /** When the attempt is made; `webhook-timestamp` is its unix time in whole seconds. */
  at: Date;
}

/** Both signatures for one attempt. */
export function signWebhook({ body, secret, eventId, at }: SignWebhookInput): WebhookSignatureHeaders {
  const timestamp = Math.floor(at.getTime() / 1000);
  return {
    'X-Signature': xSignature(body, secret),
    'X-Event-Id': eventId,
    'webhook-id': eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': standardWebhookSignature(eventId, timestamp, body, secret),
  };
}

/** `sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret's UTF-8 bytes>`. */
export function xSignature(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex')}`;
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with `standardWebhookKey(secret)`. */
export function standardWebhookSignature(id: string, timestampSeconds: number, body: string | Uint8Array, secret: string): string {
  const hmac = createHmac('sha256', standardWebhookKey(secret));
  hmac.update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `v1,${hmac.digest('base64')}`;
}

/**
 * The Standard Webhooks HMAC key of a secret: the base64 after `whsec_`, or else the UTF-8 bytes.
 * Throws for a `whsec_` secret whose rest is not base64 (`webhookSecretProblem` refuses those when a
 * subscription is created).
 */
export function standardWebhookKey(secret: string): Buffer {
  if (!secret.startsWith(STANDARD_WEBHOOK_SECRET_PREFIX)) return Buffer.from(secret, 'utf8');
  const encoded = secret.slice(STANDARD_WEBHOOK_SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) throw new Error(`a secret starting with ${STANDARD_WEBHOOK_SECRET_PREFIX} must continue with base64`);
  return Buffer.from(encoded, 'base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new secret: `whsec_` and the base64 of 32 random bytes (a Standard Webhooks secret). */
export function generateWebhookSecret(): string {
  return `${STANDARD_WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * Why a subscriber's own secret cannot be used, or undefined when it can: at least 16 characters
 * (the HTTP contract's minimum), and after a `whsec_` prefix, base64 of at least 16 bytes.
 */
export function webhookSecretProblem(secret: string): string | undefined {
  if (secret.length < 16) return 'the secret must have at least 16 characters';
  if (secret.startsWith(STANDARD_WEBHOOK_SECRET_PREFIX)) {
    const encoded = secret.slice(STANDARD_WEBHOOK_SECRET_PREFIX.length);
    if (!BASE64.test(encoded)) return `after ${STANDARD_WEBHOOK_SECRET_PREFIX} the secret must be base64`;
    if (Buffer.from(encoded, 'base64').length < 16) return `after ${STANDARD_WEBHOOK_SECRET_PREFIX} the secret must encode at least 16 bytes`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Receiver side
// ---------------------------------------------------------------------------------------------

/** Request headers as node:http gives them (`req.headers`), as a plain record, or a fetch `Headers`. */
export type HeaderSource = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

export type VerifyFailure = 'MISSING_HEADER' | 'BAD_SIGNATURE' | 'TIMESTAMP_TOO_OLD' | 'TIMESTAMP_IN_FUTURE' | 'BAD_TIMESTAMP';

export type VerifyResult =
  | { ok: true; eventId: string; timestamp: number }
  | { ok: false; reason: VerifyFailure; message: string };

export interface VerifyOptions {
  /** Largest accepted distance between `webhook-timestamp` and `now`, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The receiver's clock (default: the current time). */
  now?: Date;
}

/**
 * Checks `X-Signature` against the raw body. Constant-time; false when missing or malformed.
 * No timestamp is covered: see the module comment about replays.
 */
export function verifyXSignature(rawBody: string | Uint8Array, secret: string, header: string | null | undefined): boolean {
  if (!header) return false;
  return safeEqual(header.trim().toLowerCase(), xSignature(rawBody, secret));
}

/**
 * Verifies the Standard Webhooks headers: the timestamp within the tolerance (a captured request
 * replayed later is refused), and one of the space-separated `v1,` signatures matching.
 */
export function verifyStandardWebhook(rawBody: string | Uint8Array, secret: string, headers: HeaderSource, options: VerifyOptions = {}): VerifyResult {
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestampText || !signatures)
    return failure('MISSING_HEADER', 'webhook-id, webhook-timestamp and webhook-signature are required');
  if (!/^\d{1,12}$/.test(timestampText)) return failure('BAD_TIMESTAMP', 'webhook-timestamp must be unix seconds');
  const timestamp = Number(timestampText);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (nowSeconds - timestamp > tolerance) return failure('TIMESTAMP_TOO_OLD', `webhook-timestamp is more than ${tolerance} s old`);
  if (timestamp - nowSeconds > tolerance) return failure('TIMESTAMP_IN_FUTURE', `webhook-timestamp is more than ${tolerance} s in the future`);
  const expected = standardWebhookSignature(id, timestamp, rawBody, secret);
  const matches = signatures
    .split(' ')
    .filter((candidate) => candidate.startsWith('v1,'))
    .some((candidate) => safeEqual(candidate, expected));
  return matches ? { ok: true, eventId: id, timestamp } : failure('BAD_SIGNATURE', 'no webhook-signature matches the body');
}

/**
 * What a receiver of this platform checks: `X-Signature` over the raw body, and the Standard
 * Webhooks signature and timestamp (which refuses replays), and that both name the same event.
 */
export function verifyWebhook(rawBody: string | Uint8Array, secret: string, headers: HeaderSource, options: VerifyOptions = {}): VerifyResult {
  if (!verifyXSignature(rawBody, secret, header(headers, 'x-signature')))
    return failure(header(headers, 'x-signature') ? 'BAD_SIGNATURE' : 'MISSING_HEADER', 'X-Signature does not match the body');
  const standard = verifyStandardWebhook(rawBody, secret, headers, options);
  if (!standard.ok) return standard;
  if (header(headers, 'x-event-id') !== standard.eventId) return failure('BAD_SIGNATURE', 'X-Event-Id and webhook-id differ');
  return standard;
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(', ') : value;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function failure(reason: VerifyFailure, message: string): VerifyResult {
  return { ok: false, reason, message };
}
