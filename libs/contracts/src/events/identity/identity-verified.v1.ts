import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { VariableValue } from '../../domain.js';

/** A messaging JWT was checked for a session: the outcome, or why it did not take. */
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
    claims: z.record(z.string(), VariableValue),
    reason: z.string().optional(),
  }),
);
export type IdentityVerifiedV1 = z.infer<typeof IdentityVerifiedV1>;
