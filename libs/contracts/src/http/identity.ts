import { z } from 'zod';
import {
  ApiScope,
  ClaimMappingEntry,
  Kid,
  MappedClaimVariable,
  OpaqueId,
  SigningAlg,
  VariableValue,
  VerificationFailureReason,
} from '../domain.js';

/** `POST /v1/orgs` (root token). */
export const CreateOrgBody = z.strictObject({ name: z.string().min(1).max(200) });
export const CreateOrgResponse = z.object({ orgId: z.string(), apiKey: z.string() });
export type CreateOrgResponse = z.infer<typeof CreateOrgResponse>;

export const OrgIdParams = z.object({ orgId: OpaqueId });

/** `GET /v1/orgs/{orgId}` and `PATCH /v1/orgs/{orgId}`. */
export const OrgResponse = z.object({
  orgId: z.string(),
  name: z.string(),
  /** When true, an external id names the same person in every brand; otherwise ids are scoped per brand. */
  linkBrands: z.boolean(),
  brands: z.array(z.object({ brandId: z.string(), name: z.string() })),
  /** Requests per minute this org may make on each service (the platform default when not set). */
  requestsPerMinute: z.number().int().nullable(),
});
export type OrgResponse = z.infer<typeof OrgResponse>;
export const UpdateOrgBody = z.strictObject({ linkBrands: z.boolean() });

/** `PUT /v1/orgs/{orgId}/quota` (root token): the org's request quota; null restores the default. */
export const SetOrgQuotaBody = z.strictObject({ requestsPerMinute: z.number().int().min(1).max(10_000_000).nullable() });

/** `POST /v1/orgs/{orgId}/brands`: a brand's name is its SalesIQ portal name (unique in the org, case-insensitive). */
export const CreateBrandBody = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must start with a letter or digit and hold only letters, digits, _ . -'),
});
export const CreateBrandResponse = z.object({ brandId: z.string(), name: z.string() });
export type CreateBrandResponse = z.infer<typeof CreateBrandResponse>;
export const BrandsResponse = z.object({ brands: z.array(CreateBrandResponse) });

/** `POST /v1/api-keys` (identity:admin): another key for the caller's org, with the scopes it needs. */
export const CreateApiKeyBody = z.strictObject({
  name: z.string().min(1).max(100).optional(),
  scopes: z.array(ApiScope).min(1),
});
export const CreateApiKeyResponse = z.object({
  keyId: z.string(),
  /** Shown only in this answer; only its SHA-256 hash is stored. */
  apiKey: z.string(),
  name: z.string().optional(),
  scopes: z.array(ApiScope),
});
export const ApiKeyView = z.object({
  keyId: z.string(),
  name: z.string().optional(),
  scopes: z.array(ApiScope),
  createdAt: z.string(),
  revoked: z.boolean(),
  revokedAt: z.string().optional(),
});
export const ApiKeysResponse = z.object({ apiKeys: z.array(ApiKeyView) });
export const KeyIdParams = z.object({ keyId: OpaqueId });

/**
 * A JWK set given inline (RS256/ES256 public keys). Exactly one key is taken: the one whose `kid`
 * the body names, or the only one.
 */
export const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(20) });

/** `POST /v1/signing-keys` (identity:admin). */
export const CreateSigningKeyBody = z.strictObject({
  alg: SigningAlg,
  /** RS256/ES256: the public key as PEM (SPKI or PKCS#1 RSA). Never a private key. */
  publicKey: z.string().min(1).max(16_384).optional(),
  /** RS256/ES256: the public key as an inline JWK set, instead of `publicKey`. */
  jwks: Jwks.optional(),
  /** Optional: the kid to use (unique in the org); generated otherwise. */
  kid: Kid.optional(),
  brandId: OpaqueId.optional(),
});
export type CreateSigningKeyBody = z.infer<typeof CreateSigningKeyBody>;
export const CreateSigningKeyResponse = z.object({
  kid: z.string(),
  alg: SigningAlg,
  /** HS256 only, only in this answer: its UTF-8 bytes are the HMAC key. */
  secret: z.string().optional(),
  brandId: z.string().optional(),
  createdAt: z.string(),
});
export type CreateSigningKeyResponse = z.infer<typeof CreateSigningKeyResponse>;

/** `POST /v1/signing-keys/{kid}/rotate`: a new key replaces `kid`, which stays valid for the grace period. */
export const RotateSigningKeyBody = z.strictObject({
  publicKey: z.string().min(1).max(16_384).optional(),
  jwks: Jwks.optional(),
  kid: Kid.optional(),
  /** How long the replaced key stays valid, at most 30 days (SIGNING_KEY_GRACE_SECONDS by default). */
  graceSeconds: z.number().int().min(0).max(30 * 24 * 3600).optional(),
});
export type RotateSigningKeyBody = z.infer<typeof RotateSigningKeyBody>;
export const RotateSigningKeyResponse = CreateSigningKeyResponse.extend({
  replaces: z.string(),
  graceUntil: z.string(),
});
export const KidParams = z.object({ kid: Kid });

export const SigningKeyStatus = z.enum(['active', 'retiring', 'retired', 'revoked']);
export const SigningKeyView = z.object({
  kid: z.string(),
  alg: SigningAlg,
  brandId: z.string().optional(),
  /** active; retiring (rotated, still valid until graceUntil); retired (grace over); revoked. */
  status: SigningKeyStatus,
  createdAt: z.string(),
  /** SHA-256 JWK thumbprint (RFC 7638) of public keys; a fingerprint for HS256 (never the secret). */
  fingerprint: z.string(),
  replacedBy: z.string().optional(),
  graceUntil: z.string().optional(),
  revokedAt: z.string().optional(),
});
export type SigningKeyView = z.infer<typeof SigningKeyView>;
export const SigningKeysResponse = z.object({ signingKeys: z.array(SigningKeyView) });

/** `POST /v1/identity/verify`: a messaging JWT (header `kid`, claims `external_id`, `exp`, …). */
export const VerifyIdentityBody = z.strictObject({
  /** Tokens over 16 KB are answered `authenticated: false, reason: MALFORMED` (not a 400): up to the body limit. */
  token: z.string().min(1),
  sessionId: OpaqueId.optional(),
  /** The brand the session belongs to: only that brand's keys and the org-wide keys verify. */
  brandId: OpaqueId.optional(),
  /** The session's visitor, for visitor-scope mapped claims. */
  visitorId: OpaqueId.optional(),
});
export type VerifyIdentityBody = z.infer<typeof VerifyIdentityBody>;
export const VerifyIdentityResponse = z.object({
  authenticated: z.boolean(),
  externalId: z.string().nullable(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  /** Custom claims: every claim but the registered ones and external_id, name, email, email_verified, scope (returned to the caller; only mapped ones are kept). */
  claims: z.record(z.string(), VariableValue),
  reason: VerificationFailureReason.optional(),
  detail: z.string().optional(),
  kid: z.string().optional(),
  brandId: z.string().optional(),
  emailVerified: z.boolean().nullable().optional(),
  scope: z.string().nullable().optional(),
  externalIdScope: z.string().optional(),
  /** Variables the org's claim mapping made of the claims. */
  variables: z.array(MappedClaimVariable).optional(),
});
export type VerifyIdentityResponse = z.infer<typeof VerifyIdentityResponse>;

/** `GET /v1/identity/sessions/{sessionId}`: the session's identity record, failures included, so support sees why. */
export const VerificationAttempt = z.object({
  at: z.string(),
  authenticated: z.boolean(),
  kid: z.string().optional(),
  reason: VerificationFailureReason.optional(),
  detail: z.string().optional(),
  externalId: z.string().nullable().optional(),
});
export const SessionIdentityResponse = z.object({
  sessionId: z.string(),
  authenticated: z.boolean(),
  externalId: z.string().nullable(),
  externalIdScope: z.string().nullable(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  kid: z.string().nullable(),
  verifiedAt: z.string().nullable(),
  lastFailure: VerificationAttempt.nullable(),
  /** The most recent attempts, newest last (at most 20). */
  attempts: z.array(VerificationAttempt),
});
export type SessionIdentityResponse = z.infer<typeof SessionIdentityResponse>;

/** `PUT /v1/identity/claim-mapping` (identity:admin): which custom claims become which variables. */
export const ClaimMappingBody = z.strictObject({ mappings: z.array(ClaimMappingEntry).max(50) });
export const ClaimMappingResponse = ClaimMappingBody;

/**
 * Internal: `POST /internal/v1/signatures/verify` (org API key): the check the variables service uses
 * for signed visitor submits. A JWT signed with one of the org's keys; its claims less the registered
 * ones are the data (no external_id needed).
 */
export const VerifySignatureBody = z.strictObject({ token: z.string().min(1), alg: SigningAlg.optional() });
export const VerifySignatureResponse = z.discriminatedUnion('valid', [
  z.object({
    valid: z.literal(true),
    kid: z.string(),
    alg: SigningAlg,
    brandId: z.string().optional(),
    data: z.record(z.string(), VariableValue),
  }),
  z.object({ valid: z.literal(false), reason: VerificationFailureReason, detail: z.string() }),
]);
export type VerifySignatureResponse = z.infer<typeof VerifySignatureResponse>;

/** The shape of an org API key: `svp_` and 43 base64url characters (256 random bits). */
export const ApiKeyFormat = z.string().regex(/^svp_[A-Za-z0-9_-]{43}$/);
/** A visitor token: `svpv_` and a JWT the platform signed (sessions mints it, identity checks it). */
export const VisitorTokenFormat = z.string().max(4096).regex(/^svpv_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
/** What a bearer credential can be: an org API key (widget keys included) or a visitor token. */
export const BearerCredentialFormat = z.union([ApiKeyFormat, VisitorTokenFormat]);

/**
 * Internal: `POST /internal/v1/api-keys/introspect` with `Authorization: Bearer <the key>`: how the
 * other services learn which org and scopes a key carries (they cache the answer briefly).
 * `requestsPerMinute` is the org's own quota when the platform operator set one.
 */
export const IntrospectApiKeyResponse = z.discriminatedUnion('active', [
  z.object({
    active: z.literal(true),
    orgId: z.string(),
    keyId: z.string(),
    scopes: z.array(ApiScope),
    requestsPerMinute: z.number().int().nullable().optional(),
    /** Added: set for a visitor token: it reaches only this session and visitor. */
    visitor: z.object({ sessionId: z.string(), visitorId: z.string() }).optional(),
  }),
  z.object({ active: z.literal(false) }),
]);
export type IntrospectApiKeyResponse = z.infer<typeof IntrospectApiKeyResponse>;

/** `GET /v1/usage`: the caller's org's metered requests on this service. */
export const UsageResponse = z.object({
  orgId: z.string(),
  service: z.string(),
  /** Requests allowed per minute (per service instance). */
  requestsPerMinute: z.number().int(),
  window: z.object({ start: z.string(), seconds: z.number().int(), used: z.number().int(), remaining: z.number().int() }),
  /** Requests per minute bucket, newest last (what was metered, refused ones included). */
  minutes: z.array(z.object({ minute: z.string(), requests: z.number().int(), refused: z.number().int() })),
  total: z.object({ requests: z.number().int(), refused: z.number().int() }),
});
export type UsageResponse = z.infer<typeof UsageResponse>;
