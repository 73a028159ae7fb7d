import { createHash, randomBytes } from 'node:crypto';
import { ApiKeyFormat, type IntrospectApiKeyResponse } from '@svp/contracts';
import type { ApiKeyIntrospector } from '@svp/service-kit';

/** A new org API key: `svp_` and 256 random bits; only its SHA-256 is stored. */
export function generateApiKey(): { apiKey: string; keyHash: string } {
  const apiKey = `svp_${randomBytes(32).toString('base64url')}`;
  return { apiKey, keyHash: hashApiKey(apiKey) };
}

export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey, 'utf8').digest('hex');
export const isApiKeyShaped = (value: string): boolean => ApiKeyFormat.safeParse(value).success;

/** Identity answers introspection from its own read models and keys (other services call it over HTTP). */
export class LocalApiKeyIntrospector implements ApiKeyIntrospector {
  constructor(private readonly lookup: (credential: string) => Promise<IntrospectApiKeyResponse>) {}
  introspect(credential: string): Promise<IntrospectApiKeyResponse> {
    return this.lookup(credential);
  }
}
