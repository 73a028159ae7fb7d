import type { ApiScope } from '@svp/contracts';

/**
 * The org aggregate (stream `org-<orgId>`): a tenant and its API keys. Pure decider: ids, key hashes
 * and time come in the command (hashing is I/O-free but belongs to the caller, which runs once).
 */
export type OrgState =
  | { status: 'none' }
  | { status: 'active'; orgId: string; name: string; apiKeys: Record<string, { scopes: ApiScope[]; revoked: boolean }> };

export const initialOrgState = (): OrgState => ({ status: 'none' });

export type OrgCommand =
  | { type: 'CreateOrg'; data: { orgId: string; name: string; keyId: string; keyHash: string; scopes: ApiScope[]; now: string } }
  | { type: 'IssueApiKey'; data: { orgId: string; keyId: string; keyHash: string; scopes: ApiScope[]; now: string } };

export type OrgEvent =
  | { type: 'OrgCreated'; data: { orgId: string; name: string; at: string } }
  | { type: 'ApiKeyIssued'; data: { orgId: string; keyId: string; keyHash: string; scopes: ApiScope[]; at: string } };

export type OrgDecision =
  | { ok: true; events: OrgEvent[] }
  | { ok: false; error: { code: 'CONFLICT' | 'NOT_FOUND'; message: string } };

export function decideOrg(command: OrgCommand, state: OrgState): OrgDecision {
  switch (command.type) {
    case 'CreateOrg': {
      const { orgId, name, keyId, keyHash, scopes, now } = command.data;
      if (state.status === 'active') return { ok: false, error: { code: 'CONFLICT', message: `Org ${orgId} exists` } };
      return {
        ok: true,
        events: [
          { type: 'OrgCreated', data: { orgId, name, at: now } },
          { type: 'ApiKeyIssued', data: { orgId, keyId, keyHash, scopes, at: now } },
        ],
      };
    }
    case 'IssueApiKey': {
      const { orgId, keyId, keyHash, scopes, now } = command.data;
      if (state.status !== 'active') return { ok: false, error: { code: 'NOT_FOUND', message: `Org ${orgId} not found` } };
      if (state.apiKeys[keyId]) return { ok: true, events: [] };
      return { ok: true, events: [{ type: 'ApiKeyIssued', data: { orgId, keyId, keyHash, scopes, at: now } }] };
    }
    default:
      return exhaustive(command);
  }
}

export function evolveOrg(state: OrgState, event: OrgEvent): OrgState {
  switch (event.type) {
    case 'OrgCreated':
      return { status: 'active', orgId: event.data.orgId, name: event.data.name, apiKeys: {} };
    case 'ApiKeyIssued':
      if (state.status !== 'active') return state;
      return { ...state, apiKeys: { ...state.apiKeys, [event.data.keyId]: { scopes: event.data.scopes, revoked: false } } };
    default:
      return exhaustive(event);
  }
}

export const orgStream = (orgId: string): string => `org-${orgId}`;
export const ORG_EVENT_TYPES = ['OrgCreated', 'ApiKeyIssued'] as const;

function exhaustive(value: never): never {
  throw new Error(`Unhandled: ${JSON.stringify(value)}`);
}
