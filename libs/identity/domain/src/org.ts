import type { ApiScope, ClaimMappingEntry } from '@svp/contracts';

/**
 * The org aggregate (stream `org-<orgId>`): a tenant, its brands, its API keys and its identity
 * settings (brand linking, claim mapping, request quota). Pure decider: ids, key hashes and time come
 * in the command (hashing belongs to the caller, which runs once; the decision may run again on a
 * concurrency conflict).
 */
export interface ApiKeyState {
  keyHash: string;
  scopes: ApiScope[];
  name?: string;
  revoked: boolean;
}

export type OrgState =
  | { status: 'none' }
  | {
      status: 'active';
      orgId: string;
      name: string;
      apiKeys: Record<string, ApiKeyState>;
      /** brandId → name. */
      brands: Record<string, string>;
      linkBrands: boolean;
      requestsPerMinute: number | null;
      claimMapping: ClaimMappingEntry[];
    };

export const initialOrgState = (): OrgState => ({ status: 'none' });

export type OrgCommand =
  | { type: 'CreateOrg'; data: { orgId: string; name: string; keyId: string; keyHash: string; scopes: ApiScope[]; now: string } }
  | { type: 'IssueApiKey'; data: { orgId: string; keyId: string; keyHash: string; scopes: ApiScope[]; name?: string; now: string } }
  | { type: 'RevokeApiKey'; data: { orgId: string; keyId: string; now: string } }
  | { type: 'CreateBrand'; data: { orgId: string; brandId: string; name: string; now: string } }
  | { type: 'SetBrandLinking'; data: { orgId: string; linked: boolean; now: string } }
  | { type: 'SetOrgQuota'; data: { orgId: string; requestsPerMinute: number | null; now: string } }
  | { type: 'SetClaimMapping'; data: { orgId: string; mappings: ClaimMappingEntry[]; now: string } };

export type OrgEvent =
  | { type: 'OrgCreated'; data: { orgId: string; name: string; at: string } }
  | { type: 'ApiKeyIssued'; data: { orgId: string; keyId: string; keyHash: string; scopes: ApiScope[]; name?: string; at: string } }
  | { type: 'ApiKeyRevoked'; data: { orgId: string; keyId: string; keyHash: string; at: string } }
  | { type: 'BrandCreated'; data: { orgId: string; brandId: string; name: string; at: string } }
  | { type: 'BrandLinkingChanged'; data: { orgId: string; linked: boolean; at: string } }
  | { type: 'OrgQuotaSet'; data: { orgId: string; requestsPerMinute: number | null; at: string } }
  | { type: 'ClaimMappingSet'; data: { orgId: string; mappings: ClaimMappingEntry[]; at: string } };

export type OrgErrorCode = 'CONFLICT' | 'NOT_FOUND' | 'VALIDATION_FAILED';
export type OrgDecision = { ok: true; events: OrgEvent[] } | { ok: false; error: { code: OrgErrorCode; message: string; details?: Record<string, unknown> } };

/** Variable names only identity's metadata may hold: a claim mapping cannot target them. */
export const METADATA_VARIABLE_NAMES = ['providedName', 'providedEmail', 'authenticatedExternalId', 'authenticatedStatus'] as const;

const ok = (events: OrgEvent[]): OrgDecision => ({ ok: true, events });
const fail = (code: OrgErrorCode, message: string, details?: Record<string, unknown>): OrgDecision => ({
  ok: false,
  error: { code, message, ...(details ? { details } : {}) },
});

export function decideOrg(command: OrgCommand, state: OrgState): OrgDecision {
  if (command.type === 'CreateOrg') {
    const { orgId, name, keyId, keyHash, scopes, now } = command.data;
    if (state.status === 'active') return fail('CONFLICT', `Org ${orgId} exists`);
    return ok([
      { type: 'OrgCreated', data: { orgId, name, at: now } },
      { type: 'ApiKeyIssued', data: { orgId, keyId, keyHash, scopes, at: now } },
    ]);
  }
  if (state.status !== 'active') return fail('NOT_FOUND', `Org ${command.data.orgId} not found`);
  const { orgId, now } = command.data;
  switch (command.type) {
    case 'IssueApiKey': {
      const { keyId, keyHash, scopes, name } = command.data;
      const existing = own(state.apiKeys, keyId);
      if (existing) return existing.keyHash === keyHash ? ok([]) : fail('CONFLICT', `API key ${keyId} exists`, { keyId });
      return ok([{ type: 'ApiKeyIssued', data: { orgId, keyId, keyHash, scopes, ...(name ? { name } : {}), at: now } }]);
    }
    case 'RevokeApiKey': {
      const key = own(state.apiKeys, command.data.keyId);
      if (!key) return fail('NOT_FOUND', `API key ${command.data.keyId} not found`);
      if (key.revoked) return ok([]);
      // Never lock an org out: some other live key must still be able to manage keys.
      const otherAdmins = Object.entries(state.apiKeys).filter(
        ([id, k]) => id !== command.data.keyId && !k.revoked && k.scopes.includes('identity:admin'),
      );
      if (key.scopes.includes('identity:admin') && otherAdmins.length === 0)
        return fail('CONFLICT', `API key ${command.data.keyId} is the org's last key with identity:admin; issue another one first`, {
          keyId: command.data.keyId,
        });
      return ok([{ type: 'ApiKeyRevoked', data: { orgId, keyId: command.data.keyId, keyHash: key.keyHash, at: now } }]);
    }
    case 'CreateBrand': {
      const { brandId, name } = command.data;
      const existing = own(state.brands, brandId);
      if (existing !== undefined) return existing === name ? ok([]) : fail('CONFLICT', `Brand ${brandId} exists`);
      const clash = Object.entries(state.brands).find(([, n]) => n.toLowerCase() === name.toLowerCase());
      if (clash) return fail('CONFLICT', `The org already has a brand named '${clash[1]}'`, { brandId: clash[0], name: clash[1] });
      return ok([{ type: 'BrandCreated', data: { orgId, brandId, name, at: now } }]);
    }
    case 'SetBrandLinking':
      if (state.linkBrands === command.data.linked) return ok([]);
      return ok([{ type: 'BrandLinkingChanged', data: { orgId, linked: command.data.linked, at: now } }]);
    case 'SetOrgQuota':
      if (state.requestsPerMinute === command.data.requestsPerMinute) return ok([]);
      return ok([{ type: 'OrgQuotaSet', data: { orgId, requestsPerMinute: command.data.requestsPerMinute, at: now } }]);
    case 'SetClaimMapping': {
      const { mappings } = command.data;
      const reserved = mappings.filter((m) => (METADATA_VARIABLE_NAMES as readonly string[]).includes(m.variable)).map((m) => m.variable);
      if (reserved.length > 0)
        return fail('VALIDATION_FAILED', `Metadata variables cannot be a claim mapping's target: ${reserved.join(', ')}`, { variables: reserved });
      const seen = new Set<string>();
      for (const m of mappings) {
        const key = `${m.scope}:${m.variable}`;
        if (seen.has(key)) return fail('VALIDATION_FAILED', `The ${m.scope} variable '${m.variable}' is mapped twice`, { variable: m.variable });
        seen.add(key);
      }
      if (JSON.stringify(state.claimMapping) === JSON.stringify(mappings)) return ok([]);
      return ok([{ type: 'ClaimMappingSet', data: { orgId, mappings, at: now } }]);
    }
    default:
      return exhaustive(command);
  }
}

export function evolveOrg(state: OrgState, event: OrgEvent): OrgState {
  if (event.type === 'OrgCreated')
    return {
      status: 'active',
      orgId: event.data.orgId,
      name: event.data.name,
      apiKeys: {},
      brands: {},
      linkBrands: false,
      requestsPerMinute: null,
      claimMapping: [],
    };
  if (state.status !== 'active') return state;
  switch (event.type) {
    case 'ApiKeyIssued': {
      const { keyId, keyHash, scopes, name } = event.data;
      return { ...state, apiKeys: { ...state.apiKeys, [keyId]: { keyHash, scopes, ...(name ? { name } : {}), revoked: false } } };
    }
    case 'ApiKeyRevoked': {
      const key = own(state.apiKeys, event.data.keyId);
      return key ? { ...state, apiKeys: { ...state.apiKeys, [event.data.keyId]: { ...key, revoked: true } } } : state;
    }
    case 'BrandCreated':
      return { ...state, brands: { ...state.brands, [event.data.brandId]: event.data.name } };
    case 'BrandLinkingChanged':
      return { ...state, linkBrands: event.data.linked };
    case 'OrgQuotaSet':
      return { ...state, requestsPerMinute: event.data.requestsPerMinute };
    case 'ClaimMappingSet':
      return { ...state, claimMapping: event.data.mappings };
    default:
      return exhaustive(event);
  }
}

export const orgStream = (orgId: string): string => `org-${orgId}`;
export const ORG_EVENT_TYPES = [
  'OrgCreated',
  'ApiKeyIssued',
  'ApiKeyRevoked',
  'BrandCreated',
  'BrandLinkingChanged',
  'OrgQuotaSet',
  'ClaimMappingSet',
] as const satisfies readonly OrgEvent['type'][];

/** A record's own entry: ids like `toString` or `constructor` must find nothing, not Object.prototype's. */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function exhaustive(value: never): never {
  throw new Error(`Unhandled: ${JSON.stringify(value)}`);
}
