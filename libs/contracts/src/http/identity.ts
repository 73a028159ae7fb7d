import { z } from 'zod';
import { ApiScope, VariableValue } from '../domain.js';

/** `POST /v1/orgs` (root token). */
export const CreateOrgBody = z.strictObject({ name: z.string().min(1).max(200) });
export const CreateOrgResponse = z.object({ orgId: z.string(), apiKey: z.string() });
export type CreateOrgResponse = z.infer<typeof CreateOrgResponse>;

/** `POST /v1/orgs/{orgId}/brands`. */
export const CreateBrandBody = z.strictObject({ name: z.string().min(1).max(200) });
export const CreateBrandResponse = z.object({ brandId: z.string(), name: z.string() });

/** `POST /v1/signing-keys`. */
export const CreateSigningKeyBody = z.strictObject({
  alg: z.enum(['HS256', 'RS256', 'ES256']),
  publicKey: z.string().optional(),
  brandId: z.string().optional(),
});
export const CreateSigningKeyResponse = z.object({ kid: z.string(), alg: z.string(), secret: z.string().optional() });

/** `POST /v1/identity/verify`. */
export const VerifyIdentityBody = z.strictObject({ token: z.string().min(1), sessionId: z.string().optional() });
export const VerifyIdentityResponse = z.object({
  authenticated: z.boolean(),
  externalId: z.string().nullable(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  claims: z.record(z.string(), VariableValue),
  reason: z.string().optional(),
});

/** The shape of an org API key: `svp_` and 43 base64url characters (256 random bits). */
export const ApiKeyFormat = z.string().regex(/^svp_[A-Za-z0-9_-]{43}$/);

/**
 * Internal: `POST /internal/v1/api-keys/introspect` with `Authorization: Bearer <the key>`: how the
 * other services learn which org and scopes a key carries (they cache the answer briefly).
 */
export const IntrospectApiKeyResponse = z.discriminatedUnion('active', [
  z.object({ active: z.literal(true), orgId: z.string(), keyId: z.string(), scopes: z.array(ApiScope) }),
  z.object({ active: z.literal(false) }),
]);
export type IntrospectApiKeyResponse = z.infer<typeof IntrospectApiKeyResponse>;
