import { createHash, randomBytes } from 'node:crypto';
import { ApiKeyFormat, type IntrospectApiKeyResponse } from '@svp/contracts';
import type { ApiKeyIntrospector, DocumentReader } from '@svp/service-kit';
import type { ApiKeyDoc } from './api-keys.projection.js';

/** A new org API key: `svp_` and 256 random bits; only its SHA-256 is stored. */
export function generateApiKey(): { apiKey: string; keyHash: string } {
  const apiKey = `svp_${randomBytes(32).toString('base64url')}`;
  return { apiKey, keyHash: hashApiKey(apiKey) };
}

export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey, 'utf8').digest('hex');

export const randomId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;

/** Identity answers introspection from its own read model (other services call it over HTTP). */
export class LocalApiKeyIntrospector implements ApiKeyIntrospector {
  constructor(private readonly keys: DocumentReader<ApiKeyDoc>) {}
  async introspect(apiKey: string): Promise<IntrospectApiKeyResponse> {
    if (!ApiKeyFormat.safeParse(apiKey).success) return { active: false };
    const doc = await this.keys.get(hashApiKey(apiKey));
    if (!doc || doc.revoked) return { active: false };
    return { active: true, orgId: doc.orgId, keyId: doc.keyId, scopes: doc.scopes };
  }
}
