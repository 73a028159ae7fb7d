import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { ApiScope } from '../../domain.js';

/** An org API key was issued; carries only the key's SHA-256 hash, never the key. */
export const ApiKeyIssuedV1 = integrationEvent(
  'ApiKeyIssued',
  1,
  z.object({ keyId: z.string(), keyHash: z.string().regex(/^[0-9a-f]{64}$/), scopes: z.array(ApiScope) }),
);
export type ApiKeyIssuedV1 = z.infer<typeof ApiKeyIssuedV1>;
