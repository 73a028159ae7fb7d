import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';

/** A signing key was created, rotated or revoked (never carries secret material). */
export const SigningKeyChangedV1 = integrationEvent(
  'SigningKeyChanged',
  1,
  z.object({
    kid: z.string(),
    alg: z.enum(['HS256', 'RS256', 'ES256']),
    brandId: z.string().optional(),
    change: z.enum(['created', 'rotated', 'revoked']),
    /** For a rotation: until when the replaced key stays valid. */
    graceUntil: z.iso.datetime({ offset: true }).optional(),
  }),
);
export type SigningKeyChangedV1 = z.infer<typeof SigningKeyChangedV1>;
