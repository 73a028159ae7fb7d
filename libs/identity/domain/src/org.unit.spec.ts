import { type OrgCommand, decideOrg, evolveOrg, initialOrgState } from './org.js';

const now = '2026-11-21T10:00:00.000Z';
const create: OrgCommand = {
  type: 'CreateOrg',
  data: { orgId: 'org_1', name: 'Acme', keyId: 'key_1', keyHash: 'a'.repeat(64), scopes: ['variables:read'], now },
};

describe('org decider', () => {
  describe('given no org', () => {
    it('when created, then the org and its first API key (hash only) are recorded', () => {
      expect(decideOrg(create, initialOrgState())).toEqual({
        ok: true,
        events: [
          { type: 'OrgCreated', data: { orgId: 'org_1', name: 'Acme', at: now } },
          { type: 'ApiKeyIssued', data: { orgId: 'org_1', keyId: 'key_1', keyHash: 'a'.repeat(64), scopes: ['variables:read'], at: now } },
        ],
      });
    });
    it('when a key is issued, then NOT_FOUND', () => {
      const issue: OrgCommand = { type: 'IssueApiKey', data: { orgId: 'org_1', keyId: 'k', keyHash: 'b'.repeat(64), scopes: [], now } };
      expect(decideOrg(issue, initialOrgState())).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    });
  });

  describe('given an org', () => {
    const decision = decideOrg(create, initialOrgState());
    const state = decision.ok ? decision.events.reduce(evolveOrg, initialOrgState()) : initialOrgState();
    it('when created again, then CONFLICT', () => {
      expect(decideOrg(create, state)).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    });
    it('when an existing key is issued again, then nothing is decided', () => {
      const again: OrgCommand = { type: 'IssueApiKey', data: { orgId: 'org_1', keyId: 'key_1', keyHash: 'a'.repeat(64), scopes: [], now } };
      expect(decideOrg(again, state)).toEqual({ ok: true, events: [] });
    });
  });
});
