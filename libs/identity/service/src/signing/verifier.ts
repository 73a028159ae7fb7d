import { decodeProtectedHeader, errors, importJWK, jwtVerify, type CryptoKey, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import {
  Kid,
  REGISTERED_CLAIMS,
  RESERVED_VARIABLE_NAMES,
  StorableText,
  SIGNING_ALGS,
  type SigningAlg,
  type VariableValue,
  type VerificationFailureReason,
} from '@svp/contracts';
import { fingerprint, type PublicJwk } from './key-material.js';

/**
 * Verifies a JWT signed with one of an org's signing keys (DESIGN.md section 3, Identity): an explicit
 * algorithm allow-list (the key's own alg, nothing else), a required `kid`, `exp` (and `nbf`/`iat` when
 * present) with bounded clock skew, and the purpose's claims. It never throws: every refusal is one
 * reason code and a detail for the caller that never holds the token or a secret.
 */

/** active; retiring = rotated, still valid until graceUntil; retired = grace over; revoked. */
export type KeyStatus = 'active' | 'retiring' | 'retired' | 'revoked';

export interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  brandId?: string;
  status: KeyStatus;
  /** ISO: until when a retiring key still verifies. */
  graceUntil?: string;
  revokedAt?: string;
  material: { kind: 'hmac'; secret: string } | { kind: 'jwk'; jwk: PublicJwk };
}

/** Looks a kid up in ONE org's keys only (the caller scopes it); undefined when unknown. */
export type KeyLookup = (kid: string) => Promise<VerificationKey | undefined>;

export interface VerifyOptions {
  now: Date;
  /** Bound on exp, nbf and iat (JWT_CLOCK_SKEW_SECONDS, 60 by default policy). */
  clockSkewSeconds: number;
  /**
   * 'messaging': exp and external_id required; name, email, email_verified, scope read; the other
   * non-registered claims are custom claims. 'signature' (signed visitor data, giosg-style): exp
   * required, no external_id needed; the data is every claim but the registered ones.
   */
  purpose: 'messaging' | 'signature';
  /** When set: a key of ANOTHER brand is refused as KID_UNKNOWN (org-wide keys, without brandId, always fit). */
  brandId?: string;
  /** When set: the header alg must be this one, else ALG_NOT_ALLOWED. */
  expectedAlg?: SigningAlg;
  /** Default 16384: a longer token is MALFORMED. */
  maxTokenBytes?: number;
  /** Default 100: more custom claims is MALFORMED. */
  maxCustomClaims?: number;
}

export type VerificationSuccess = {
  ok: true;
  kid: string;
  alg: SigningAlg;
  brandId?: string;
  externalId: string | null;
  name: string | null;
  email: string | null;
  emailVerified: boolean | null;
  scope: string | null;
  claims: Record<string, VariableValue>;
  expiresAt: string;
};
export type VerificationFailure = { ok: false; reason: VerificationFailureReason; detail: string; kid?: string };

const DEFAULT_MAX_TOKEN_BYTES = 16_384;
const DEFAULT_MAX_CUSTOM_CLAIMS = 100;
/** Claims a messaging token's metadata is read from; they are not custom claims. */
const MESSAGING_CLAIMS = ['external_id', 'name', 'email', 'email_verified', 'scope'] as const;
/** Three base64url parts; the signature may be empty (an unsigned token is then refused for its alg). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const ALLOWED = SIGNING_ALGS.join(', ');
/** Beyond this many seconds a NumericDate is no longer a JavaScript Date. */
const MAX_DATE_SECONDS = 8.64e12;
/** Imported public keys by kid, alg and RFC 7638 thumbprint: new material under an old kid never hits. */
const KEY_CACHE_SIZE = 256;
const keyCache = new Map<string, CryptoKey>();

const failure = (reason: VerificationFailureReason, detail: string, kid?: string): VerificationFailure =>
  kid === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, kid };

const isSigningAlg = (alg: unknown): alg is SigningAlg => (SIGNING_ALGS as readonly unknown[]).includes(alg);

/** A header value, quoted only when it is short plain text. */
const quote = (value: unknown): string =>
  typeof value === 'string' && /^[A-Za-z0-9._-]{1,32}$/.test(value) ? `"${value}"` : '(not a short text)';

const when = (seconds: unknown): string =>
  typeof seconds === 'number' && Math.abs(seconds) <= MAX_DATE_SECONDS ? new Date(seconds * 1000).toISOString() : String(seconds);

export async function verifyToken(
  token: string,
  lookup: KeyLookup,
  options: VerifyOptions,
): Promise<VerificationSuccess | VerificationFailure> {
  try {
    return await verify(token, lookup, options);
  } catch {
    // A failing lookup or an unforeseen input: still an answer, never an exception (and no details).
    return failure('MALFORMED', 'The token could not be verified');
  }
}

async function verify(token: unknown, lookup: KeyLookup, options: VerifyOptions): Promise<VerificationSuccess | VerificationFailure> {
  // 1. Shape, before anything is decoded.
  const maxBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  if (typeof token !== 'string' || token === '') return failure('MALFORMED', 'The token is empty or not a string');
  if (token.length > maxBytes || Buffer.byteLength(token, 'utf8') > maxBytes)
    return failure('MALFORMED', `The token is larger than ${maxBytes} bytes`);
  if (!COMPACT_JWS.test(token))
    return failure('MALFORMED', 'The token is not a compact JWS (three base64url parts separated by dots)');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return failure('MALFORMED', 'The token header is not base64url-encoded JSON');
  }

  // 2. Algorithm allow-list, before any key work.
  const { alg } = header;
  if (alg === undefined) return failure('ALG_NOT_ALLOWED', `The token has no alg header (allowed: ${ALLOWED})`);
  if (typeof alg === 'string' && alg.toLowerCase() === 'none')
    return failure('ALG_NOT_ALLOWED', 'Unsigned tokens (alg none) are not accepted');
  if (!isSigningAlg(alg)) return failure('ALG_NOT_ALLOWED', `The alg ${quote(alg)} is not allowed (allowed: ${ALLOWED})`);
  if (options.expectedAlg !== undefined && alg !== options.expectedAlg)
    return failure('ALG_NOT_ALLOWED', `The token is signed with ${alg} where ${options.expectedAlg} is expected`);

  // 3. The key: named by kid, looked up in the caller's org only, usable for this brand and now.
  const { kid } = header;
  if (kid === undefined || kid === '') return failure('CLAIM_MISSING', 'The kid header is required: it names the signing key');
  if (typeof kid !== 'string') return failure('MALFORMED', 'The kid header must be a string');
  if (!Kid.safeParse(kid).success) return failure('KID_UNKNOWN', 'No signing key has this kid (a kid is 1 to 64 letters, digits, . _ -)');
  const key = await lookup(kid);
  if (!key || key.kid !== kid) return failure('KID_UNKNOWN', `No signing key has kid "${kid}"`, kid);
  if (options.brandId !== undefined && key.brandId !== undefined && key.brandId !== options.brandId)
    return failure('KID_UNKNOWN', `Signing key "${kid}" belongs to another brand`, kid);
  const unusable = statusRefusal(key, options.now);
  if (unusable !== undefined) return failure('KID_REVOKED', unusable, kid);
  // The per-key allow-list: its own alg only. This is what stops key confusion (an HS256 token "signed"
  // with an RS256 key's public PEM must never be HMAC-checked with public material).
  if (alg !== key.alg)
    return failure('ALG_NOT_ALLOWED', `Signing key "${kid}" is an ${key.alg} key: a token signed with ${alg} is refused`, kid);
  const verificationKey = await verificationKeyOf(key);
  if (verificationKey === undefined) return failure('ALG_NOT_ALLOWED', `Signing key "${kid}" holds no ${key.alg} key material`, kid);

  // 4. Signature and time claims, by jose.
  const skew = options.clockSkewSeconds;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, verificationKey, {
      algorithms: [key.alg],
      clockTolerance: skew,
      currentDate: options.now,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    return fromJoseError(error, kid, skew);
  }

  // 5. What jose leaves to us: finite dates, iat not in the future (jose checks iat only with maxTokenAge).
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const value = payload[claim];
    if (value !== undefined && !(typeof value === 'number' && Math.abs(value) <= MAX_DATE_SECONDS))
      return failure('MALFORMED', `The ${claim} claim must be a NumericDate (seconds since the epoch)`, kid);
  }
  const nowSeconds = Math.floor(options.now.getTime() / 1000);
  if (payload.iat !== undefined && payload.iat > nowSeconds + skew)
    return failure(
      'TOKEN_NOT_YET_VALID',
      `The token was issued in the future (iat ${when(payload.iat)}), beyond the allowed clock skew of ${skew}s`,
      kid,
    );

  // 6. Claims: never a name that reaches the prototype machinery.
  const names = Object.keys(payload);
  const reserved = names.find((name) => RESERVED_VARIABLE_NAMES.includes(name));
  if (reserved !== undefined) return failure('MALFORMED', `The claim name "${reserved}" is not allowed`, kid);
  // Claims become stored events and read models (PostgreSQL's jsonb): text it cannot hold makes the token malformed.
  const unstorable = names.find((name) => !StorableText.safeParse(name).success || (typeof payload[name] === 'string' && !StorableText.safeParse(payload[name]).success));
  if (unstorable !== undefined)
    return failure('MALFORMED', `The claim ${JSON.stringify(unstorable)} holds a NUL character or an unpaired surrogate, which cannot be stored`, kid);
  const standard = readStandardClaims(payload, options.purpose);
  if (!standard.ok) return { ...standard, kid };
  const notCustom = new Set<string>([...REGISTERED_CLAIMS, ...(options.purpose === 'messaging' ? MESSAGING_CLAIMS : [])]);
  const custom = names.filter((name) => !notCustom.has(name));
  const maxCustom = options.maxCustomClaims ?? DEFAULT_MAX_CUSTOM_CLAIMS;
  if (custom.length > maxCustom)
    return failure('MALFORMED', `The token has ${custom.length} custom claims: at most ${maxCustom} are accepted`, kid);
  const claims = Object.create(null) as Record<string, VariableValue>;
  for (const name of custom)
    Object.defineProperty(claims, name, { value: toVariableValue(payload[name]), enumerable: true, writable: true, configurable: true });

  const { ok: _ok, ...metadata } = standard;
  return {
    ok: true,
    kid,
    alg: key.alg,
    ...(key.brandId === undefined ? {} : { brandId: key.brandId }),
    ...metadata,
    claims,
    expiresAt: new Date((payload.exp as number) * 1000).toISOString(),
  };
}

/** Why a key cannot verify now; undefined when it can. */
function statusRefusal(key: VerificationKey, now: Date): string | undefined {
  const rotated = `Signing key "${key.kid}" was rotated and its grace period ended${key.graceUntil ? ` at ${key.graceUntil}` : ''}`;
  switch (key.status) {
    case 'active':
      return undefined;
    case 'retiring': {
      const until = key.graceUntil === undefined ? Number.NaN : Date.parse(key.graceUntil);
      return now.getTime() < until ? undefined : rotated;
    }
    case 'retired':
      return rotated;
    case 'revoked':
      return `Signing key "${key.kid}" was revoked${key.revokedAt ? ` at ${key.revokedAt}` : ''}`;
    default:
      return `Signing key "${key.kid}" is not active`;
  }
}

/**
 * What jose verifies with: the UTF-8 bytes of an HS256 secret, or the imported public key (cached).
 * Undefined when the stored material does not fit the key's alg.
 */
async function verificationKeyOf(key: VerificationKey): Promise<CryptoKey | Uint8Array | undefined> {
  const { material } = key;
  if (key.alg === 'HS256')
    return material.kind === 'hmac' && typeof material.secret === 'string' && material.secret !== ''
      ? new TextEncoder().encode(material.secret)
      : undefined;
  if (material.kind !== 'jwk') return undefined;
  const { jwk } = material;
  // Only the public members reach the import, whatever else the stored JWK may hold.
  const publicJwk: PublicJwk | undefined =
    key.alg === 'RS256' && jwk.kty === 'RSA'
      ? { kty: 'RSA', n: jwk.n, e: jwk.e }
      : key.alg === 'ES256' && jwk.kty === 'EC' && jwk.crv === 'P-256'
        ? { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
        : undefined;
  if (publicJwk === undefined) return undefined;
  const cacheKey = `${key.kid}\u0000${key.alg}\u0000${await fingerprint({ kind: 'jwk', jwk: publicJwk })}`;
  const cached = keyCache.get(cacheKey);
  if (cached !== undefined) {
    // Least recently used goes first: a hit moves to the end.
    keyCache.delete(cacheKey);
    keyCache.set(cacheKey, cached);
    return cached;
  }
  const imported = await importJWK(publicJwk, key.alg);
  if (imported instanceof Uint8Array) return undefined;
  keyCache.set(cacheKey, imported);
  if (keyCache.size > KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  return imported;
}

/** jose's errors, by class, to a reason; details are ours (jose's messages are not part of our contract). */
function fromJoseError(error: unknown, kid: string, skew: number): VerificationFailure {
  if (error instanceof errors.JWTExpired)
    return failure('TOKEN_EXPIRED', `The token expired at ${when(error.payload.exp)} (allowed clock skew: ${skew}s)`, kid);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = error;
    if (reason === 'missing') return failure('CLAIM_MISSING', `The ${claim} claim is required`, kid);
    if (reason === 'check_failed' && claim === 'nbf')
      return failure('TOKEN_NOT_YET_VALID', `The token is not valid before ${when(error.payload.nbf)} (allowed clock skew: ${skew}s)`, kid);
    if (reason === 'check_failed' && claim === 'iat')
      return failure('TOKEN_NOT_YET_VALID', `The token was issued in the future (allowed clock skew: ${skew}s)`, kid);
    if (reason === 'invalid') return failure('MALFORMED', `The ${claim} claim must be a NumericDate (seconds since the epoch)`, kid);
    return failure('MALFORMED', `The ${claim} claim is not valid`, kid);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return failure('SIGNATURE_INVALID', `The signature does not match signing key "${kid}"`, kid);
  if (error instanceof errors.JOSEAlgNotAllowed) return failure('ALG_NOT_ALLOWED', `Signing key "${kid}" only verifies its own alg`, kid);
  return failure('MALFORMED', 'The token is not a well-formed signed JWT', kid);
}

type StandardClaims = Pick<VerificationSuccess, 'externalId' | 'name' | 'email' | 'emailVerified' | 'scope'>;

/**
 * external_id, name, email, email_verified, scope. For 'messaging' they are the metadata: external_id
 * is required (a non-empty string, or an integer taken as its decimal text) and a present claim of the
 * wrong type is refused. For 'signature' they are plain data, read when they have the right type.
 */
function readStandardClaims(
  payload: JWTPayload,
  purpose: VerifyOptions['purpose'],
): ({ ok: true } & StandardClaims) | { ok: false; reason: VerificationFailureReason; detail: string } {
  const strict = purpose === 'messaging';
  const raw = payload.external_id;
  const externalId =
    typeof raw === 'string' && raw.trim() !== '' ? raw : typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : null;
  if (strict && externalId === null)
    return {
      ok: false,
      reason: 'CLAIM_MISSING',
      detail: 'The external_id claim is required: a non-empty string (or an integer) naming the visitor in your system',
    };

  let problem: string | undefined;
  const read = <T>(claim: string, parse: (value: unknown) => T | undefined, expected: string): T | null => {
    const value = payload[claim];
    if (value === undefined || value === null) return null;
    const parsed = parse(value);
    if (parsed === undefined && strict) problem ??= `The ${claim} claim must be ${expected}`;
    return parsed ?? null;
  };
  const standard: StandardClaims = {
    externalId,
    name: read('name', (value) => (typeof value === 'string' ? value : undefined), 'a string'),
    email: read('email', (value) => (typeof value === 'string' ? value : undefined), 'a string'),
    // Some identity providers send email_verified as "true"/"false" text.
    emailVerified: read(
      'email_verified',
      (value) => (typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : undefined),
      'a boolean',
    ),
    // RFC 8693 has scope as space-separated text; a list of strings is joined into that form.
    scope: read(
      'scope',
      (value) =>
        typeof value === 'string'
          ? value
          : Array.isArray(value) && value.every((item) => typeof item === 'string')
            ? value.join(' ')
            : undefined,
      'a string (space-separated scopes)',
    ),
  };
  if (problem !== undefined) return { ok: false, reason: 'MALFORMED', detail: problem };
  return { ok: true, ...standard };
}

/** A custom claim's value keeps its JSON type when it is a scalar; an object or array becomes its JSON text. */
function toVariableValue(value: unknown): VariableValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value) ?? null;
}
