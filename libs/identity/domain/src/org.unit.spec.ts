import type { ApiScope, ClaimMappingEntry } from '@svp/contracts';
import {
  METADATA_VARIABLE_NAMES,
  ORG_EVENT_TYPES,
  type OrgCommand,
  type OrgDecision,
  type OrgEvent,
  type OrgState,
  decideOrg,
  evolveOrg,
  initialOrgState,
  orgStream,
} from './org.js';

// Given/when/then on the org decider: each `describe` is a state reached by folding events, each `it`
// sends one command and asserts the exact decision (events, or the error's code, message and details).

const ORG = 'org_1';
const T0 = '2026-11-21T10:00:00.000Z';
const NOW = '2026-11-21T11:00:00.000Z';
const hash = (c: string): string => c.repeat(64);
const ADMIN: ApiScope[] = ['identity:admin', 'variables:read'];

const given = (...events: OrgEvent[]): OrgState => events.reduce(evolveOrg, initialOrgState());
const accepted = (...events: OrgEvent[]): OrgDecision => ({ ok: true, events });

// Events (the history a state is folded from).
const orgCreated: OrgEvent = { type: 'OrgCreated', data: { orgId: ORG, name: 'Acme', at: T0 } };
const keyIssued = (keyId: string, keyHash: string, scopes: ApiScope[], name?: string): OrgEvent => ({
  type: 'ApiKeyIssued',
  data: { orgId: ORG, keyId, keyHash, scopes, ...(name ? { name } : {}), at: T0 },
});
const keyRevoked = (keyId: string, keyHash: string): OrgEvent => ({ type: 'ApiKeyRevoked', data: { orgId: ORG, keyId, keyHash, at: T0 } });
const brandCreated = (brandId: string, name: string): OrgEvent => ({ type: 'BrandCreated', data: { orgId: ORG, brandId, name, at: T0 } });
const firstAdminKey = keyIssued('key_admin', hash('a'), ADMIN);

// Commands.
const createOrg: OrgCommand = {
  type: 'CreateOrg',
  data: { orgId: ORG, name: 'Acme', keyId: 'key_admin', keyHash: hash('a'), scopes: ADMIN, now: T0 },
};
const issueKey = (keyId: string, keyHash: string, scopes: ApiScope[], name?: string): OrgCommand => ({
  type: 'IssueApiKey',
  data: { orgId: ORG, keyId, keyHash, scopes, ...(name !== undefined ? { name } : {}), now: NOW },
});
const revokeKey = (keyId: string): OrgCommand => ({ type: 'RevokeApiKey', data: { orgId: ORG, keyId, now: NOW } });
const createBrand = (brandId: string, name: string): OrgCommand => ({ type: 'CreateBrand', data: { orgId: ORG, brandId, name, now: NOW } });
const setLinking = (linked: boolean): OrgCommand => ({ type: 'SetBrandLinking', data: { orgId: ORG, linked, now: NOW } });
const setQuota = (requestsPerMinute: number | null): OrgCommand => ({ type: 'SetOrgQuota', data: { orgId: ORG, requestsPerMinute, now: NOW } });
const setMapping = (mappings: ClaimMappingEntry[]): OrgCommand => ({ type: 'SetClaimMapping', data: { orgId: ORG, mappings, now: NOW } });

const planMapping: ClaimMappingEntry = { claim: 'plan', variable: 'plan', scope: 'session', type: 'string' };
const tierMapping: ClaimMappingEntry = { claim: 'tier', variable: 'tier', scope: 'visitor', type: 'number' };

describe('org decider', () => {
  describe('given no org', () => {
    const state = initialOrgState();

    it('when the org is created, then the org and its first API key (hash only, no name) are recorded', () => {
      expect(decideOrg(createOrg, state)).toStrictEqual(
        accepted(orgCreated, { type: 'ApiKeyIssued', data: { orgId: ORG, keyId: 'key_admin', keyHash: hash('a'), scopes: ADMIN, at: T0 } }),
      );
    });

    it.each<[string, OrgCommand]>([
      ['IssueApiKey', issueKey('key_2', hash('b'), ADMIN)],
      ['RevokeApiKey', revokeKey('key_admin')],
      ['CreateBrand', createBrand('brd_1', 'Main')],
      ['SetBrandLinking', setLinking(true)],
      ['SetOrgQuota', setQuota(60)],
      ['SetClaimMapping', setMapping([planMapping])],
    ])('when %s is sent, then NOT_FOUND naming the org', (_type, command) => {
      expect(decideOrg(command, state)).toStrictEqual({ ok: false, error: { code: 'NOT_FOUND', message: `Org ${ORG} not found` } });
    });

    it('when OrgCreated is folded, then the org is active with defaults (no keys, no brands, unlinked, no quota, no mapping)', () => {
      expect(evolveOrg(state, orgCreated)).toStrictEqual({
        status: 'active',
        orgId: ORG,
        name: 'Acme',
        apiKeys: {},
        brands: {},
        linkBrands: false,
        requestsPerMinute: null,
        claimMapping: [],
      });
    });

    it('when any other event is folded, then there is still no org', () => {
      const others: OrgEvent[] = [
        firstAdminKey,
        keyRevoked('key_admin', hash('a')),
        brandCreated('brd_1', 'Main'),
        { type: 'BrandLinkingChanged', data: { orgId: ORG, linked: true, at: T0 } },
        { type: 'OrgQuotaSet', data: { orgId: ORG, requestsPerMinute: 60, at: T0 } },
        { type: 'ClaimMappingSet', data: { orgId: ORG, mappings: [planMapping], at: T0 } },
      ];
      expect(given(...others)).toStrictEqual({ status: 'none' });
    });
  });

  describe('given an org with a single identity:admin key', () => {
    const state = given(orgCreated, firstAdminKey);

    it('then its state holds the key hash and scopes, not revoked', () => {
      expect(state).toStrictEqual({
        status: 'active',
        orgId: ORG,
        name: 'Acme',
        apiKeys: { key_admin: { keyHash: hash('a'), scopes: ADMIN, revoked: false } },
        brands: {},
        linkBrands: false,
        requestsPerMinute: null,
        claimMapping: [],
      });
    });

    it('when the org is created again, then CONFLICT', () => {
      expect(decideOrg(createOrg, state)).toStrictEqual({ ok: false, error: { code: 'CONFLICT', message: `Org ${ORG} exists` } });
    });

    it('when a named key is issued, then ApiKeyIssued carries its hash, scopes and name', () => {
      expect(decideOrg(issueKey('key_2', hash('b'), ['variables:write'], 'CI'), state)).toStrictEqual(
        accepted({ type: 'ApiKeyIssued', data: { orgId: ORG, keyId: 'key_2', keyHash: hash('b'), scopes: ['variables:write'], name: 'CI', at: NOW } }),
      );
    });

    it('when a key is issued without a name (or an empty one), then the event has no name', () => {
      const expected = accepted({
        type: 'ApiKeyIssued',
        data: { orgId: ORG, keyId: 'key_2', keyHash: hash('b'), scopes: ['sessions:read'], at: NOW },
      });
      expect(decideOrg(issueKey('key_2', hash('b'), ['sessions:read']), state)).toStrictEqual(expected);
      expect(decideOrg(issueKey('key_2', hash('b'), ['sessions:read'], ''), state)).toStrictEqual(expected);
    });

    it('when ApiKeyIssued is folded, then the key is added beside the first one, live, with its name', () => {
      const next = evolveOrg(state, keyIssued('key_2', hash('b'), ['variables:write'], 'CI'));
      expect(next.status === 'active' && next.apiKeys).toStrictEqual({
        key_admin: { keyHash: hash('a'), scopes: ADMIN, revoked: false },
        key_2: { keyHash: hash('b'), scopes: ['variables:write'], name: 'CI', revoked: false },
      });
    });

    it('when the existing key id is issued again (a resent command), then nothing is decided', () => {
      expect(decideOrg(issueKey('key_admin', hash('a'), ADMIN), state)).toStrictEqual(accepted());
    });

    it('when an unknown key is revoked, then NOT_FOUND naming the key', () => {
      expect(decideOrg(revokeKey('key_nope'), state)).toStrictEqual({
        ok: false,
        error: { code: 'NOT_FOUND', message: 'API key key_nope not found' },
      });
    });

    it('when its only identity:admin key is revoked, then CONFLICT: the org would be locked out', () => {
      expect(decideOrg(revokeKey('key_admin'), state)).toStrictEqual({
        ok: false,
        error: {
          code: 'CONFLICT',
          message: expect.stringContaining("API key key_admin is the org's last key with identity:admin"),
          details: { keyId: 'key_admin' },
        },
      });
    });

    it('when a brand is created, then BrandCreated', () => {
      expect(decideOrg(createBrand('brd_1', 'Main'), state)).toStrictEqual(
        accepted({ type: 'BrandCreated', data: { orgId: ORG, brandId: 'brd_1', name: 'Main', at: NOW } }),
      );
    });

    it('when brand linking is set off (the default), then nothing is decided', () => {
      expect(decideOrg(setLinking(false), state)).toStrictEqual(accepted());
    });

    it('when brand linking is set on, then BrandLinkingChanged', () => {
      expect(decideOrg(setLinking(true), state)).toStrictEqual(
        accepted({ type: 'BrandLinkingChanged', data: { orgId: ORG, linked: true, at: NOW } }),
      );
    });

    it('when no quota is set (the default), then nothing is decided', () => {
      expect(decideOrg(setQuota(null), state)).toStrictEqual(accepted());
    });

    it('when a quota is set, then OrgQuotaSet', () => {
      expect(decideOrg(setQuota(120), state)).toStrictEqual(
        accepted({ type: 'OrgQuotaSet', data: { orgId: ORG, requestsPerMinute: 120, at: NOW } }),
      );
    });

    it('when an empty claim mapping is set (the default), then nothing is decided', () => {
      expect(decideOrg(setMapping([]), state)).toStrictEqual(accepted());
    });

    it('when a claim mapping is set, then ClaimMappingSet carries the mappings', () => {
      expect(decideOrg(setMapping([planMapping, tierMapping]), state)).toStrictEqual(
        accepted({ type: 'ClaimMappingSet', data: { orgId: ORG, mappings: [planMapping, tierMapping], at: NOW } }),
      );
    });

    it.each(METADATA_VARIABLE_NAMES)('when a claim mapping targets the metadata variable %s, then VALIDATION_FAILED', (variable) => {
      const mapping: ClaimMappingEntry = { claim: 'c', variable, scope: 'session', type: 'string' };
      expect(decideOrg(setMapping([planMapping, mapping]), state)).toStrictEqual({
        ok: false,
        error: {
          code: 'VALIDATION_FAILED',
          message: `Metadata variables cannot be a claim mapping's target: ${variable}`,
          details: { variables: [variable] },
        },
      });
    });

    it('when a claim mapping targets several metadata variables (in any scope), then VALIDATION_FAILED lists them all', () => {
      const mappings: ClaimMappingEntry[] = [
        { claim: 'n', variable: 'providedName', scope: 'session', type: 'string' },
        planMapping,
        { claim: 'e', variable: 'providedEmail', scope: 'visitor', type: 'string' },
      ];
      expect(decideOrg(setMapping(mappings), state)).toStrictEqual({
        ok: false,
        error: {
          code: 'VALIDATION_FAILED',
          message: "Metadata variables cannot be a claim mapping's target: providedName, providedEmail",
          details: { variables: ['providedName', 'providedEmail'] },
        },
      });
    });

    it('when two mappings target the same variable in the same scope, then VALIDATION_FAILED naming it', () => {
      const twice: ClaimMappingEntry = { claim: 'subscription', variable: 'plan', scope: 'session', type: 'string' };
      expect(decideOrg(setMapping([planMapping, tierMapping, twice]), state)).toStrictEqual({
        ok: false,
        error: { code: 'VALIDATION_FAILED', message: "The session variable 'plan' is mapped twice", details: { variable: 'plan' } },
      });
    });

    it('when two mappings target the same variable name in different scopes, then ClaimMappingSet', () => {
      const visitorPlan: ClaimMappingEntry = { ...planMapping, scope: 'visitor' };
      expect(decideOrg(setMapping([planMapping, visitorPlan]), state)).toStrictEqual(
        accepted({ type: 'ClaimMappingSet', data: { orgId: ORG, mappings: [planMapping, visitorPlan], at: NOW } }),
      );
    });
  });

  describe('given an org with two identity:admin keys', () => {
    const state = given(orgCreated, firstAdminKey, keyIssued('key_admin2', hash('b'), ['identity:admin']));

    it('when one is revoked, then ApiKeyRevoked carries the key hash (for the caller to drop it from its lookup)', () => {
      expect(decideOrg(revokeKey('key_admin'), state)).toStrictEqual(
        accepted({ type: 'ApiKeyRevoked', data: { orgId: ORG, keyId: 'key_admin', keyHash: hash('a'), at: NOW } }),
      );
    });

    it('when ApiKeyRevoked is folded, then only that key is marked revoked, keeping its hash and scopes', () => {
      const next = evolveOrg(state, keyRevoked('key_admin', hash('a')));
      expect(next.status === 'active' && next.apiKeys).toStrictEqual({
        key_admin: { keyHash: hash('a'), scopes: ADMIN, revoked: true },
        key_admin2: { keyHash: hash('b'), scopes: ['identity:admin'], revoked: false },
      });
    });

    it('when ApiKeyRevoked is folded for an unknown key, then the state is unchanged', () => {
      expect(evolveOrg(state, keyRevoked('key_nope', hash('z')))).toStrictEqual(state);
    });
  });

  describe('given an org with an identity:admin key and a revoked identity:admin key', () => {
    const state = given(orgCreated, firstAdminKey, keyIssued('key_old', hash('b'), ['identity:admin']), keyRevoked('key_old', hash('b')));

    it('when the revoked key is revoked again, then nothing is decided', () => {
      expect(decideOrg(revokeKey('key_old'), state)).toStrictEqual(accepted());
    });

    it('when the live admin key is revoked, then CONFLICT: a revoked admin key does not count', () => {
      expect(decideOrg(revokeKey('key_admin'), state)).toMatchObject({
        ok: false,
        error: { code: 'CONFLICT', details: { keyId: 'key_admin' } },
      });
    });
  });

  describe('given an org with an identity:admin key and a key without it', () => {
    const state = given(orgCreated, firstAdminKey, keyIssued('key_ro', hash('c'), ['variables:read', 'sessions:read']));

    it('when the key without identity:admin is revoked, then ApiKeyRevoked', () => {
      expect(decideOrg(revokeKey('key_ro'), state)).toStrictEqual(
        accepted({ type: 'ApiKeyRevoked', data: { orgId: ORG, keyId: 'key_ro', keyHash: hash('c'), at: NOW } }),
      );
    });

    it('when the admin key is revoked, then CONFLICT: a key without identity:admin cannot manage keys', () => {
      expect(decideOrg(revokeKey('key_admin'), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    });
  });

  describe('given an org with the brand "Main"', () => {
    const state = given(orgCreated, firstAdminKey, brandCreated('brd_main', 'Main'));

    it('then its state holds the brand by id', () => {
      expect(state.status === 'active' && state.brands).toStrictEqual({ brd_main: 'Main' });
    });

    it('when the same brand (id and name) is created again, then nothing is decided', () => {
      expect(decideOrg(createBrand('brd_main', 'Main'), state)).toStrictEqual(accepted());
    });

    it('when the same brand id is created with another name, then CONFLICT', () => {
      expect(decideOrg(createBrand('brd_main', 'Other'), state)).toStrictEqual({
        ok: false,
        error: { code: 'CONFLICT', message: 'Brand brd_main exists' },
      });
    });

    it.each(['Main', 'main', 'MAIN', 'mAiN'])('when another brand is named %s, then CONFLICT naming the existing brand', (name) => {
      expect(decideOrg(createBrand('brd_2', name), state)).toStrictEqual({
        ok: false,
        error: {
          code: 'CONFLICT',
          message: "The org already has a brand named 'Main'",
          details: { brandId: 'brd_main', name: 'Main' },
        },
      });
    });

    it('when another brand with another name is created, then BrandCreated', () => {
      expect(decideOrg(createBrand('brd_2', 'Outlet'), state)).toStrictEqual(
        accepted({ type: 'BrandCreated', data: { orgId: ORG, brandId: 'brd_2', name: 'Outlet', at: NOW } }),
      );
    });

    it('when BrandCreated is folded, then both brands are held', () => {
      const next = evolveOrg(state, brandCreated('brd_2', 'Outlet'));
      expect(next.status === 'active' && next.brands).toStrictEqual({ brd_main: 'Main', brd_2: 'Outlet' });
    });
  });

  describe('given an org with brand linking on', () => {
    const state = given(orgCreated, firstAdminKey, { type: 'BrandLinkingChanged', data: { orgId: ORG, linked: true, at: T0 } });

    it('then its state is linked', () => {
      expect(state).toMatchObject({ status: 'active', linkBrands: true });
    });

    it('when linking is set on again, then nothing is decided', () => {
      expect(decideOrg(setLinking(true), state)).toStrictEqual(accepted());
    });

    it('when linking is set off, then BrandLinkingChanged, which folds back to unlinked', () => {
      const decision = decideOrg(setLinking(false), state);
      expect(decision).toStrictEqual(accepted({ type: 'BrandLinkingChanged', data: { orgId: ORG, linked: false, at: NOW } }));
      expect(decision.ok && decision.events.reduce(evolveOrg, state)).toMatchObject({ status: 'active', linkBrands: false });
    });
  });

  describe('given an org with a quota of 60 requests per minute', () => {
    const state = given(orgCreated, firstAdminKey, { type: 'OrgQuotaSet', data: { orgId: ORG, requestsPerMinute: 60, at: T0 } });

    it('then its state holds the quota', () => {
      expect(state).toMatchObject({ status: 'active', requestsPerMinute: 60 });
    });

    it('when the same quota is set, then nothing is decided', () => {
      expect(decideOrg(setQuota(60), state)).toStrictEqual(accepted());
    });

    it('when another quota is set, then OrgQuotaSet', () => {
      expect(decideOrg(setQuota(600), state)).toStrictEqual(
        accepted({ type: 'OrgQuotaSet', data: { orgId: ORG, requestsPerMinute: 600, at: NOW } }),
      );
    });

    it('when the quota is removed, then OrgQuotaSet with null, which folds back to no quota', () => {
      const decision = decideOrg(setQuota(null), state);
      expect(decision).toStrictEqual(accepted({ type: 'OrgQuotaSet', data: { orgId: ORG, requestsPerMinute: null, at: NOW } }));
      expect(decision.ok && decision.events.reduce(evolveOrg, state)).toMatchObject({ status: 'active', requestsPerMinute: null });
    });
  });

  describe('given an org with a claim mapping', () => {
    const state = given(orgCreated, firstAdminKey, {
      type: 'ClaimMappingSet',
      data: { orgId: ORG, mappings: [planMapping, tierMapping], at: T0 },
    });

    it('then its state holds the mapping', () => {
      expect(state).toMatchObject({ status: 'active', claimMapping: [planMapping, tierMapping] });
    });

    it('when the same mapping is set again (a fresh copy), then nothing is decided', () => {
      expect(decideOrg(setMapping([{ ...planMapping }, { ...tierMapping }]), state)).toStrictEqual(accepted());
    });

    it('when a changed mapping is set, then ClaimMappingSet carries the whole new mapping', () => {
      const changed: ClaimMappingEntry = { ...tierMapping, type: 'string' };
      expect(decideOrg(setMapping([planMapping, changed]), state)).toStrictEqual(
        accepted({ type: 'ClaimMappingSet', data: { orgId: ORG, mappings: [planMapping, changed], at: NOW } }),
      );
    });

    it('when the mapping is cleared, then ClaimMappingSet with none, which folds back to an empty mapping', () => {
      const decision = decideOrg(setMapping([]), state);
      expect(decision).toStrictEqual(accepted({ type: 'ClaimMappingSet', data: { orgId: ORG, mappings: [], at: NOW } }));
      expect(decision.ok && decision.events.reduce(evolveOrg, state)).toMatchObject({ status: 'active', claimMapping: [] });
    });

    it('when an invalid mapping is set, then it is refused even though the stored one is valid', () => {
      expect(decideOrg(setMapping([planMapping, planMapping]), state)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    });
  });

  // Ids that name Object.prototype members (`toString`, `constructor`, `valueOf`: all valid ids) must
  // find nothing: the deciders look ids up as own properties only.
  describe('given an org, with ids that name Object.prototype members', () => {
    const state = given(orgCreated, firstAdminKey, keyIssued('key_admin2', hash('b'), ['identity:admin']));

    it('when an API key "toString" is revoked, then NOT_FOUND', () => {
      expect(decideOrg(revokeKey('toString'), state)).toStrictEqual({
        ok: false,
        error: { code: 'NOT_FOUND', message: 'API key toString not found' },
      });
    });

    it('when an API key "constructor" is issued, then ApiKeyIssued', () => {
      expect(decideOrg(issueKey('constructor', hash('c'), ['variables:read']), state)).toStrictEqual(
        accepted({ type: 'ApiKeyIssued', data: { orgId: ORG, keyId: 'constructor', keyHash: hash('c'), scopes: ['variables:read'], at: NOW } }),
      );
    });

    it('when a brand "valueOf" is created, then BrandCreated', () => {
      expect(decideOrg(createBrand('valueOf', 'Main'), state)).toStrictEqual(
        accepted({ type: 'BrandCreated', data: { orgId: ORG, brandId: 'valueOf', name: 'Main', at: NOW } }),
      );
    });
  });

  describe('the org stream', () => {
    it('is named org-<orgId>', () => {
      expect(orgStream(ORG)).toBe('org-org_1');
    });

    it('registers every event type the decider emits', () => {
      expect([...ORG_EVENT_TYPES].sort()).toStrictEqual(
        ['ApiKeyIssued', 'ApiKeyRevoked', 'BrandCreated', 'BrandLinkingChanged', 'ClaimMappingSet', 'OrgCreated', 'OrgQuotaSet'].sort(),
      );
    });
  });
});
