// Reading (never verifying) the parts of a compact JWT: the widget only needs to know which algorithm
// a business's signed data uses, and which session a visitor token names. The platform verifies.

/** The decoded header and payload of a compact JWT, or undefined when `token` is not one. */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const header = decodeSegment(parts[0]);
  const payload = decodeSegment(parts[1]);
  return header && payload ? { header, payload } : undefined;
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    const base64 = segment.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (segment.length % 4)) % 4);
    const binary = atob(base64);
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The prefix of the platform's visitor tokens (`svpv_` + a compact JWT). */
export const VISITOR_TOKEN_PREFIX = 'svpv_';

/** What a visitor token names: its session, its visitor and when it expires; undefined when it is not one. */
export function readVisitorToken(token: string): { sessionId: string; visitorId: string; expiresAt: string } | undefined {
  if (!token.startsWith(VISITOR_TOKEN_PREFIX)) return undefined;
  const payload = decodeJwt(token.slice(VISITOR_TOKEN_PREFIX.length))?.payload;
  if (!payload) return undefined;
  const { sid, sub, exp } = payload;
  if (typeof sid !== 'string' || typeof sub !== 'string' || typeof exp !== 'number') return undefined;
  return { sessionId: sid, visitorId: sub, expiresAt: new Date(exp * 1000).toISOString() };
}
