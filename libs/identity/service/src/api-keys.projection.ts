import type { ApiScope } from '@svp/contracts';
import type { OrgEvent } from '@svp/identity-domain';
import { type ProjectedEvent, defineDocumentProjection } from '@svp/projections';

/** API keys by the SHA-256 of the key: what introspection reads. */
export interface ApiKeyDoc {
  orgId: string;
  keyId: string;
  scopes: ApiScope[];
  revoked: boolean;
}

type Event = ProjectedEvent<OrgEvent['type'], OrgEvent['data']>;

export const apiKeysProjection = defineDocumentProjection<ApiKeyDoc, Event>({
  name: 'api_keys',
  version: 1,
  canHandle: ['ApiKeyIssued'],
  documentId: (event) => (event.type === 'ApiKeyIssued' ? (event.data as { keyHash: string }).keyHash : null),
  evolve: (_doc, event) => {
    const e = { type: event.type, data: event.data } as OrgEvent;
    if (e.type !== 'ApiKeyIssued') return _doc;
    return { orgId: e.data.orgId, keyId: e.data.keyId, scopes: e.data.scopes, revoked: false };
  },
});
