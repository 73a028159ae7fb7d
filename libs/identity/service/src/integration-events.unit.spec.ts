import { ApiKeyIssuedV1, ApiKeyRevokedV1, BrandCreatedV1, IdentityVerifiedV1, OrgCreatedV1, SigningKeyChangedV1, TOPICS } from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import { toIntegrationMessages } from './integration-events.js';

const recorded = (type: string, data: unknown): RecordedEvent => ({
  eventId: '7d0c4f7e-3c55-4b8e-9a0e-2f4b8f0c1a22',
  type,
  data,
  metadata: { orgId: 'org_1' },
  streamName: 'org-org_1',
  streamRevision: 0n,
  globalPosition: 1n,
  recordedAt: new Date('2026-11-21T10:00:00.000Z'),
});

describe('identity integration events', () => {
  it('publishes OrgCreated and ApiKeyIssued v1 on identity.events.v1, keyed by org, with the key hash only', () => {
    const [org] = toIntegrationMessages(recorded('OrgCreated', { orgId: 'org_1', name: 'Acme', at: 'x' }));
    expect(org).toMatchObject({ topic: TOPICS.identity, key: 'org_1', headers: { 'x-event-type': 'OrgCreated', 'x-event-version': '1' } });
    expect(OrgCreatedV1.parse(JSON.parse(org!.value)).data).toEqual({ orgId: 'org_1', name: 'Acme' });

    const hash = 'ab'.repeat(32);
    const [key] = toIntegrationMessages(recorded('ApiKeyIssued', { orgId: 'org_1', keyId: 'key_1', keyHash: hash, scopes: ['variables:read'], at: 'x' }));
    const parsed = ApiKeyIssuedV1.parse(JSON.parse(key!.value));
    expect(parsed).toMatchObject({ orgId: 'org_1', eventId: '7d0c4f7e-3c55-4b8e-9a0e-2f4b8f0c1a22', data: { keyId: 'key_1', keyHash: hash } });
    expect(key!.value).not.toContain('svp_');
  });

  it('publishes signing-key changes without any key material, keyed by org', () => {
    const sealed = 'v1.abcd.iv.SEALED-SECRET.tag';
    const created = toIntegrationMessages(
      recorded('SigningKeyCreated', { orgId: 'org_1', kid: 'k1', alg: 'HS256', material: { kind: 'hmac', sealed }, fingerprint: 'fp', at: 'x' }),
    );
    const rotated = toIntegrationMessages(
      recorded('SigningKeyRotated', { orgId: 'org_1', kid: 'k1', alg: 'HS256', replacedBy: 'k2', graceUntil: '2026-11-22T10:00:00.000Z', at: 'x' }),
    );
    const revoked = toIntegrationMessages(recorded('SigningKeyRevoked', { orgId: 'org_1', kid: 'k2', alg: 'RS256', brandId: 'brand_1', at: 'x' }));
    const parsed = [...created, ...rotated, ...revoked].map((m) => {
      expect(m).toMatchObject({ topic: TOPICS.identity, key: 'org_1' });
      expect(m.value).not.toContain('SEALED-SECRET');
      expect(m.value).not.toContain('fp');
      return SigningKeyChangedV1.parse(JSON.parse(m.value)).data;
    });
    expect(parsed).toEqual([
      { kid: 'k1', alg: 'HS256', change: 'created' },
      { kid: 'k1', alg: 'HS256', change: 'rotated', graceUntil: '2026-11-22T10:00:00.000Z' },
      { kid: 'k2', alg: 'RS256', brandId: 'brand_1', change: 'revoked' },
    ]);
  });

  it('publishes brands and API key revocations keyed by org', () => {
    const [brand] = toIntegrationMessages(recorded('BrandCreated', { orgId: 'org_1', brandId: 'brand_1', name: 'shop-eu', at: 'x' }));
    expect(BrandCreatedV1.parse(JSON.parse(brand!.value)).data).toEqual({ orgId: 'org_1', brandId: 'brand_1', name: 'shop-eu' });
    const [revoked] = toIntegrationMessages(recorded('ApiKeyRevoked', { orgId: 'org_1', keyId: 'key_1', keyHash: 'ab'.repeat(32), at: 'x' }));
    expect(revoked!.key).toBe('org_1');
    expect(ApiKeyRevokedV1.parse(JSON.parse(revoked!.value)).data).toEqual({ keyId: 'key_1' });
  });

  it('publishes a session’s verification outcome as IdentityVerified keyed by session id, never the token hash', () => {
    const tokenHash = 'cd'.repeat(32);
    const [ok] = toIntegrationMessages(
      recorded('SessionIdentityVerified', {
        orgId: 'org_1',
        sessionId: 's1',
        kid: 'k1',
        externalId: 'cust-42',
        externalIdScope: 'brand:brand_1',
        name: 'Ada',
        email: 'ada@example.com',
        emailVerified: true,
        claims: { plan: 'gold' },
        variables: [{ name: 'plan', value: 'gold', scope: 'session', claim: 'plan' }],
        brandId: 'brand_1',
        tokenHash,
        at: 'x',
      }),
    );
    expect(ok!.key).toBe('s1');
    expect(ok!.value).not.toContain(tokenHash);
    expect(IdentityVerifiedV1.parse(JSON.parse(ok!.value)).data).toMatchObject({
      sessionId: 's1',
      authenticated: true,
      externalId: 'cust-42',
      externalIdScope: 'brand:brand_1',
      variables: [{ name: 'plan', value: 'gold', scope: 'session', claim: 'plan' }],
    });
    const [failed] = toIntegrationMessages(
      recorded('SessionIdentityRejected', { orgId: 'org_1', sessionId: 's1', reason: 'TOKEN_EXPIRED', detail: 'expired', kid: 'k1', tokenHash, at: 'x' }),
    );
    expect(failed!.key).toBe('s1');
    expect(IdentityVerifiedV1.parse(JSON.parse(failed!.value)).data).toEqual({
      sessionId: 's1',
      kid: 'k1',
      authenticated: false,
      externalId: null,
      name: null,
      email: null,
      claims: {},
      reason: 'TOKEN_EXPIRED',
      detail: 'expired',
    });
  });

  it('keeps settings inside identity', () => {
    expect(toIntegrationMessages(recorded('ClaimMappingSet', { orgId: 'org_1', mappings: [], at: 'x' }))).toEqual([]);
    expect(toIntegrationMessages(recorded('OrgQuotaSet', { orgId: 'org_1', requestsPerMinute: 5, at: 'x' }))).toEqual([]);
  });

  it('publishes nothing for other services’ events', () => {
    expect(toIntegrationMessages(recorded('SessionVariablesSet', { sessionId: 's' }))).toEqual([]);
  });
});
