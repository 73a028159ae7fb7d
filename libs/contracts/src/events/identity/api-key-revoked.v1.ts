import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';

/** An org API key was revoked: every service refuses it from now on. */
export const ApiKeyRevokedV1 = integrationEvent('ApiKeyRevoked', 1, z.object({ keyId: z.string() }));
export type ApiKeyRevokedV1 = z.infer<typeof ApiKeyRevokedV1>;
