import { hkdfSync, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors } from 'jose';

/**
 * Visitor tokens: what a browser holds instead of an org key. The sessions service mints one when a
 * session starts (and on refresh); the identity service checks it when any service introspects a
 * bearer credential, so every service knows the caller is this session's visitor and nothing more
 * (ApiKeyGuard then lets it reach only that session and that visitor). A compact JWT, HS256, with
 * `svpv_` before it; the key is derived (HKDF-SHA256) from SIGNING_SECRETS_KEY, else from the root
 * token, so every service of one platform derives the same key and no other secret is needed.
 */

export const VISITOR_TOKEN_PREFIX = 'svpv_';
const ISSUER = 'svp';
const AUDIENCE = 'svp:visitor';
const HKDF_INFO = 'svp visitor tokens v1';

export interface VisitorPrincipal {
  orgId: string;
  sessionId: string;
  visitorId: string;
}

export interface VerifiedVisitorToken extends VisitorPrincipal {
  expiresAt: Date;
  expired: boolean;
}

export class VisitorTokens {
  private constructor(private readonly key: Uint8Array) {}

  /** From SIGNING_SECRETS_KEY (32 bytes, base64), else the root token; throws when neither is set. */
  static fromConfig(config: { secretsKey?: string; rootToken?: string }): VisitorTokens {
    const material = config.secretsKey?.trim() ? Buffer.from(config.secretsKey.trim(), 'base64') : config.rootToken ? Buffer.from(config.rootToken, 'utf8') : undefined;
    if (!material || material.length === 0) throw new Error('Visitor tokens need SIGNING_SECRETS_KEY or PLATFORM_ROOT_TOKEN to derive their key');
    return new VisitorTokens(new Uint8Array(hkdfSync('sha256', material, Buffer.alloc(0), HKDF_INFO, 32)));
  }

  /** A token for `principal`, valid `ttlSeconds` from `now`. */
  async mint(principal: VisitorPrincipal, ttlSeconds: number, now: Date = new Date()): Promise<{ token: string; expiresAt: string }> {
    const issuedAt = Math.floor(now.getTime() / 1000);
    const exp = issuedAt + ttlSeconds;
    const jwt = await new SignJWT({ org: principal.orgId, sid: principal.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(principal.visitorId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.key);
    return { token: `${VISITOR_TOKEN_PREFIX}${jwt}`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * The principal of a token this platform signed, or undefined (not one, tampered, another
   * platform's). An expired token answers with `expired: true` only when `acceptExpiredForSeconds`
   * covers it (a new session proving its visitor); otherwise undefined.
   */
  async verify(token: string, options: { now?: Date; acceptExpiredForSeconds?: number } = {}): Promise<VerifiedVisitorToken | undefined> {
    if (!token.startsWith(VISITOR_TOKEN_PREFIX)) return undefined;
    const now = options.now ?? new Date();
    const grace = options.acceptExpiredForSeconds ?? 0;
    try {
      const { payload } = await jwtVerify(token.slice(VISITOR_TOKEN_PREFIX.length), this.key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: now,
        // Past-expiry is judged below (grace for a new session's proof); the signature is checked here.
        clockTolerance: grace,
      });
      const { org, sid, sub, exp } = payload as { org?: unknown; sid?: unknown; sub?: unknown; exp?: unknown };
      if (typeof org !== 'string' || typeof sid !== 'string' || typeof sub !== 'string' || typeof exp !== 'number') return undefined;
      const expiresAt = new Date(exp * 1000);
      return { orgId: org, sessionId: sid, visitorId: sub, expiresAt, expired: expiresAt.getTime() <= now.getTime() };
    } catch (error) {
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }
}
