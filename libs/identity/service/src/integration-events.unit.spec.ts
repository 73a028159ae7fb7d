import { ApiKeyIssuedV1, OrgCreatedV1, TOPICS } from '@svp/contracts';
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

  it('publishes nothing for other services’ events', () => {
    expect(toIntegrationMessages(recorded('SessionVariablesSet', { sessionId: 's' }))).toEqual([]);
  });
});
