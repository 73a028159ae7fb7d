import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { MappedClaimVariable, VariableValue, VerificationFailureReason } from '../../domain.js';

/**
 * A messaging JWT was checked for a session: the outcome, or why it did not take. Keyed by session id
 * on identity.events.v1. The variables service turns a successful one into the session's metadata
 * variables (providedName, providedEmail, authenticatedExternalId, authenticatedStatus) and the
 * mapped claim variables. Never carries the token.
 */
export const IdentityVerifiedV1 = integrationEvent(
  'IdentityVerified',
  1,
  z.object({
    sessionId: z.string(),
    kid: z.string().optional(),
    authenticated: z.boolean(),
    externalId: z.string().nullable(),
    name: z.string().nullable(),
    email: z.string().nullable(),
    /**
     * The custom claims the org's claim mapping names (non-scalar values as JSON text). Other claims
     * are returned to the verify caller only: they may hold secrets (access tokens) and are neither
     * stored nor published.
     */
    claims: z.record(z.string(), VariableValue),
    reason: VerificationFailureReason.optional(),
    /** Added: a human-readable explanation of `reason`. */
    detail: z.string().optional(),
    /** Added: the brand the key (or the request) belongs to. */
    brandId: z.string().optional(),
    /** Added: where the external id is unique: `brand:<brandId>`, or `org` when the org links its brands. */
    externalIdScope: z.string().optional(),
    emailVerified: z.boolean().nullable().optional(),
    /** Added: the visitor of the session, when the caller named one (for visitor-scope mapped claims). */
    visitorId: z.string().optional(),
    /** Added: variables from the org's claim mapping (typed, verified). */
    variables: z.array(MappedClaimVariable).optional(),
  }),
);
export type IdentityVerifiedV1 = z.infer<typeof IdentityVerifiedV1>;
