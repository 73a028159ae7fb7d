/**
 * Which errors are a passing infrastructure failure (the database restarting, a pool out of
 * connections, a network blip) rather than a problem with the message. `consumeEnvelopes` retries a
 * handler failing with such an error for as long as the consumer runs, and never dead-letters it.
 */

/** Node.js socket error codes of a connection that was refused, reset, timed out or broken. */
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/**
 * PostgreSQL SQLSTATEs: 40001 serialization failure, 40P01 deadlock, 57P01 admin shutdown,
 * 57P02 crash shutdown, 57P03 cannot connect now. Whole classes: 08 (connection exception) and
 * 53 (insufficient resources: too many connections, out of memory or disk).
 */
const SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03']);
const SQLSTATE_CLASSES = new Set(['08', '53']);

/** Messages of node-postgres (pg, pg-pool) connection failures that carry no code. */
const MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /Connection terminated unexpectedly/i,
  /Connection terminated due to connection timeout/i,
  /Client has encountered a connection error and is not queryable/i,
];

/**
 * The default `isTransient` of `consumeEnvelopes`: true for connection refused/reset/timeout/broken
 * pipe (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE), PostgreSQL SQLSTATE classes 08 and 53, 57P01-57P03,
 * 40001 and 40P01, and pg's "timeout exceeded when trying to connect" and "Connection terminated"
 * errors. Looks through `cause` chains and AggregateError's `errors` (Node reports a refused
 * connection to a host with several addresses as an AggregateError).
 */
export function isTransientError(error: unknown): boolean {
  return someError(error, 0, (candidate) => {
    const code = (candidate as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (NODE_CODES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && (SQLSTATES.has(code) || SQLSTATE_CLASSES.has(code.slice(0, 2)))) return true;
    }
    const message = (candidate as { message?: unknown }).message;
    return typeof message === 'string' && MESSAGES.some((pattern) => pattern.test(message));
  });
}

function someError(error: unknown, depth: number, test: (candidate: object) => boolean): boolean {
  if (depth > 8 || typeof error !== 'object' || error === null) return false;
  if (test(error)) return true;
  // Structural, not instanceof: errors may come from another realm (a VM context, a worker).
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.some((candidate) => someError(candidate, depth + 1, test))) return true;
  return someError((error as { cause?: unknown }).cause, depth + 1, test);
}
