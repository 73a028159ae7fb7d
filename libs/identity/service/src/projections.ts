import type { ApiScope, ClaimMappingEntry, SigningAlg } from '@svp/contracts';
import type {
  AttemptRecord,
  OrgEvent,
  SessionIdentityEvent,
  SigningKeysEvent,
  SigningKeyState,
} from '@svp/identity-domain';
import { own } from '@svp/identity-domain';
import { type ProjectedEvent, defineDocumentProjection } from '@svp/projections';

/** API keys by the SHA-256 of the key: what introspection reads. */
export interface ApiKeyDoc {
  orgId: string;
  keyId: string;
  scopes: ApiScope[];
  revoked: boolean;
}

type OrgProjected = ProjectedEvent<OrgEvent['type'], OrgEvent['data']>;
const asOrgEvent = (event: OrgProjected) => ({ type: event.type, data: event.data }) as OrgEvent;

export const apiKeysProjection = defineDocumentProjection<ApiKeyDoc, OrgProjected>({
  name: 'api_keys',
  // v2: revocation.
  version: 2,
  canHandle: ['ApiKeyIssued', 'ApiKeyRevoked'],
  documentId: (event) => {
    const e = asOrgEvent(event);
    return e.type === 'ApiKeyIssued' || e.type === 'ApiKeyRevoked' ? e.data.keyHash : null;
  },
  evolve: (doc, event) => {
    const e = asOrgEvent(event);
    if (e.type === 'ApiKeyIssued') return { orgId: e.data.orgId, keyId: e.data.keyId, scopes: e.data.scopes, revoked: false };
    if (e.type === 'ApiKeyRevoked') return doc ? { ...doc, revoked: true } : null;
    return doc;
  },
});

/** One document per org: its settings, brands and API keys (never a key or its hash). */
export interface OrgDoc {
  orgId: string;
  name: string;
  createdAt: string;
  linkBrands: boolean;
  requestsPerMinute: number | null;
  brands: { brandId: string; name: string }[];
  claimMapping: ClaimMappingEntry[];
  apiKeys: { keyId: string; name?: string; scopes: ApiScope[]; createdAt: string; revoked: boolean; revokedAt?: string }[];
}

export const orgsProjection = defineDocumentProjection<OrgDoc, OrgProjected>({
  name: 'orgs',
  version: 1,
  canHandle: ['OrgCreated', 'ApiKeyIssued', 'ApiKeyRevoked', 'BrandCreated', 'BrandLinkingChanged', 'OrgQuotaSet', 'ClaimMappingSet'],
  documentId: (event) => (event.data as { orgId: string }).orgId,
  evolve: (doc, event) => {
    const e = asOrgEvent(event);
    if (e.type === 'OrgCreated')
      return { orgId: e.data.orgId, name: e.data.name, createdAt: e.data.at, linkBrands: false, requestsPerMinute: null, brands: [], claimMapping: [], apiKeys: [] };
    if (!doc) return null;
    switch (e.type) {
      case 'ApiKeyIssued':
        if (doc.apiKeys.some((k) => k.keyId === e.data.keyId)) return doc;
        return {
          ...doc,
          apiKeys: [...doc.apiKeys, { keyId: e.data.keyId, ...(e.data.name ? { name: e.data.name } : {}), scopes: e.data.scopes, createdAt: e.data.at, revoked: false }],
        };
      case 'ApiKeyRevoked':
        return { ...doc, apiKeys: doc.apiKeys.map((k) => (k.keyId === e.data.keyId ? { ...k, revoked: true, revokedAt: e.data.at } : k)) };
      case 'BrandCreated':
        if (doc.brands.some((b) => b.brandId === e.data.brandId)) return doc;
        return { ...doc, brands: [...doc.brands, { brandId: e.data.brandId, name: e.data.name }] };
      case 'BrandLinkingChanged':
        return { ...doc, linkBrands: e.data.linked };
      case 'OrgQuotaSet':
        return { ...doc, requestsPerMinute: e.data.requestsPerMinute };
      case 'ClaimMappingSet':
        return { ...doc, claimMapping: e.data.mappings };
    }
  },
});

/** One document per org: its signing keys with their (sealed or public) material, for verification. */
export interface SigningKeysDoc {
  orgId: string;
  keys: Record<string, SigningKeyState>;
}
type KeysProjected = ProjectedEvent<SigningKeysEvent['type'], SigningKeysEvent['data']>;

export const signingKeysProjection = defineDocumentProjection<SigningKeysDoc, KeysProjected>({
  name: 'signing_keys',
  version: 1,
  canHandle: ['SigningKeyCreated', 'SigningKeyRotated', 'SigningKeyRevoked'],
  documentId: (event) => (event.data as { orgId: string }).orgId,
  evolve: (doc, event) => {
    const e = { type: event.type, data: event.data } as SigningKeysEvent;
    const keys = { ...(doc?.keys ?? {}) };
    switch (e.type) {
      case 'SigningKeyCreated': {
        const { orgId: _orgId, at, replaces, ...rest } = e.data;
        keys[rest.kid] = { ...rest, alg: rest.alg as SigningAlg, createdAt: at, status: 'active', ...(replaces ? { replaces } : {}) };
        break;
      }
      case 'SigningKeyRotated': {
        const key = own(keys, e.data.kid);
        if (key) keys[e.data.kid] = { ...key, status: 'rotated', replacedBy: e.data.replacedBy, graceUntil: e.data.graceUntil };
        break;
      }
      case 'SigningKeyRevoked': {
        const key = own(keys, e.data.kid);
        if (key) keys[e.data.kid] = { ...key, status: 'revoked', revokedAt: e.data.at };
        break;
      }
    }
    return { orgId: e.data.orgId, keys };
  },
});

/** One document per org and session: its identity record, failures included. */
export interface SessionIdentityDoc {
  orgId: string;
  sessionId: string;
  authenticated: boolean;
  externalId: string | null;
  externalIdScope: string | null;
  name: string | null;
  email: string | null;
  kid: string | null;
  verifiedAt: string | null;
  lastFailure: AttemptRecord | null;
  attempts: AttemptRecord[];
}
type IdentityProjected = ProjectedEvent<SessionIdentityEvent['type'], SessionIdentityEvent['data']>;
export const MAX_ATTEMPTS_KEPT = 20;

export const sessionIdentityProjection = defineDocumentProjection<SessionIdentityDoc, IdentityProjected>({
  name: 'session_identity',
  version: 1,
  canHandle: ['SessionIdentityVerified', 'SessionIdentityRejected', 'SessionIdentityErased'],
  documentId: (event) => {
    const { orgId, sessionId } = event.data as { orgId: string; sessionId: string };
    return `${orgId}.${sessionId}`;
  },
  evolve: (doc, event) => {
    const e = { type: event.type, data: event.data } as SessionIdentityEvent;
    // The session's visitor was erased: the record goes (the stream is deleted next).
    if (e.type === 'SessionIdentityErased') return null;
    const base: SessionIdentityDoc = doc ?? {
      orgId: e.data.orgId,
      sessionId: e.data.sessionId,
      authenticated: false,
      externalId: null,
      externalIdScope: null,
      name: null,
      email: null,
      kid: null,
      verifiedAt: null,
      lastFailure: null,
      attempts: [],
    };
    if (e.type === 'SessionIdentityVerified') {
      const attempt: AttemptRecord = { at: e.data.at, authenticated: true, kid: e.data.kid, externalId: e.data.externalId };
      return {
        ...base,
        authenticated: true,
        externalId: e.data.externalId,
        externalIdScope: e.data.externalIdScope,
        name: e.data.name,
        email: e.data.email,
        kid: e.data.kid,
        verifiedAt: e.data.at,
        attempts: [...base.attempts, attempt].slice(-MAX_ATTEMPTS_KEPT),
      };
    }
    const attempt: AttemptRecord = { at: e.data.at, authenticated: false, reason: e.data.reason, detail: e.data.detail, ...(e.data.kid ? { kid: e.data.kid } : {}) };
    return { ...base, lastFailure: attempt, attempts: [...base.attempts, attempt].slice(-MAX_ATTEMPTS_KEPT) };
  },
});
