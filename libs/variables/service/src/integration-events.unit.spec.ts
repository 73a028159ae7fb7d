import { SessionVariablesChangedV1, SessionVariablesDiscardedV1, TOPICS, VisitorErasedV1, VisitorVariablesChangedV1 } from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import { toIntegrationMessages } from './integration-events.js';

const recorded = (type: string, data: unknown, metadata: Record<string, unknown> = { orgId: 'org1', correlationId: 'c1' }): RecordedEvent => ({
  eventId: '0b5d6c1e-4a7f-4f7e-9d59-0d3c3c0b9a11',
  type,
  data,
  metadata,
  streamName: 'sessionvars-s1',
  streamRevision: 0n,
  globalPosition: 7n,
  recordedAt: new Date('2026-11-21T10:00:00.000Z'),
});

describe('variables integration events', () => {
  it('publishes SessionVariablesSet as a valid SessionVariablesChanged v1 keyed by session, reusing the event id', () => {
    const [message, ...rest] = toIntegrationMessages(
      recorded('SessionVariablesSet', {
        orgId: 'org1',
        sessionId: 's1',
        changes: [{ name: 'id', value: '6320834868293', source: 'api', verified: false, version: 1 }],
        setBy: 'key1',
        at: '2026-11-21T10:00:00.000Z',
      }),
    );
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ topic: TOPICS.variables, key: 's1', headers: { 'x-event-type': 'SessionVariablesChanged' } });
    const parsed = SessionVariablesChangedV1.parse(JSON.parse(message!.value));
    expect(parsed).toMatchObject({ eventId: '0b5d6c1e-4a7f-4f7e-9d59-0d3c3c0b9a11', orgId: 'org1', correlationId: 'c1', version: 1 });
    expect(parsed.data.changes[0]!.value).toBe('6320834868293');
  });

  it('publishes MetadataVariablesSet as a valid SessionVariablesChanged v1 from claims, verified, set by the kid, naming its cause', () => {
    const changes = [
      { name: 'providedName', value: 'Ann', source: 'claim', verified: true, version: 1 },
      { name: 'authenticatedStatus', value: true, source: 'claim', verified: true, version: 1 },
    ];
    const [message, ...rest] = toIntegrationMessages(
      recorded(
        'MetadataVariablesSet',
        { orgId: 'org1', sessionId: 's1', changes, kid: 'k1', at: '2026-11-21T10:00:00.000Z' },
        { orgId: 'org1', correlationId: 'c1', causationId: '5f0c2a8e-3b1d-4c7e-8a9f-1e2d3c4b5a60' },
      ),
    );
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ topic: TOPICS.variables, key: 's1', headers: { 'x-event-type': 'SessionVariablesChanged' } });
    expect(SessionVariablesChangedV1.parse(JSON.parse(message!.value))).toEqual({
      eventId: '0b5d6c1e-4a7f-4f7e-9d59-0d3c3c0b9a11',
      type: 'SessionVariablesChanged',
      version: 1,
      occurredAt: '2026-11-21T10:00:00.000Z',
      orgId: 'org1',
      correlationId: 'c1',
      causationId: '5f0c2a8e-3b1d-4c7e-8a9f-1e2d3c4b5a60',
      data: { sessionId: 's1', changes: changes.map((c) => ({ ...c, scope: 'metadata' })), setBy: 'claim:k1' },
    });
  });

  it('publishes SessionVariablesDiscarded as a valid v1 event', () => {
    const [message] = toIntegrationMessages(recorded('SessionVariablesDiscarded', { orgId: 'org1', sessionId: 's1', count: 2, at: 'x' }));
    expect(SessionVariablesDiscardedV1.parse(JSON.parse(message!.value)).data).toEqual({ sessionId: 's1', count: 2 });
  });

  it('publishes VisitorVariablesSubmitted as a valid VisitorVariablesChanged v1 keyed by visitor, rooms as their ids or names, removed names listed', () => {
    const [message, ...rest] = toIntegrationMessages(
      recorded('VisitorVariablesSubmitted', {
        orgId: 'org1',
        visitorId: 'v1',
        replaceExisting: true,
        changes: [
          { name: 'username', value: 'Ann', source: 'signed', verified: true, version: 2, rooms: [{ id: 'r1' }, { name: 'Sales' }] },
          { name: 'cart', value: 42, source: 'signed', verified: true, version: 1 },
        ],
        removed: ['plan'],
        displayName: 'Ann',
        kid: 'k1',
        setBy: 'key1',
        at: '2026-11-21T10:00:00.000Z',
      }),
    );
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ topic: TOPICS.variables, key: 'v1', headers: { 'x-event-type': 'VisitorVariablesChanged' } });
    expect(VisitorVariablesChangedV1.parse(JSON.parse(message!.value))).toEqual({
      eventId: '0b5d6c1e-4a7f-4f7e-9d59-0d3c3c0b9a11',
      type: 'VisitorVariablesChanged',
      version: 1,
      occurredAt: '2026-11-21T10:00:00.000Z',
      orgId: 'org1',
      correlationId: 'c1',
      data: {
        visitorId: 'v1',
        replaceExisting: true,
        changes: [
          { name: 'username', value: 'Ann', source: 'signed', verified: true, version: 2, rooms: ['r1', 'Sales'] },
          { name: 'cart', value: 42, source: 'signed', verified: true, version: 1 },
        ],
        displayName: 'Ann',
        removed: ['plan'],
      },
    });
  });

  it('publishes VisitorClaimVariablesApplied as a merging VisitorVariablesChanged v1 from claims, verified', () => {
    const changes = [{ name: 'tier', value: 'vip', source: 'claim', verified: true, version: 1 }];
    const [message] = toIntegrationMessages(
      recorded('VisitorClaimVariablesApplied', { orgId: 'org1', visitorId: 'v1', sessionId: 's1', changes, kid: 'k1', at: '2026-11-21T10:00:00.000Z' }),
    );
    expect(message).toMatchObject({ topic: TOPICS.variables, key: 'v1' });
    expect(VisitorVariablesChangedV1.parse(JSON.parse(message!.value)).data).toEqual({ visitorId: 'v1', replaceExisting: false, changes });
  });

  it('publishes nothing for events of other services or without an org', () => {
    expect(toIntegrationMessages(recorded('SessionStarted', { sessionId: 's1' }))).toEqual([]);
    expect(toIntegrationMessages(recorded('SessionVariablesSet', { sessionId: 's1', changes: [] }, {}))).toEqual([]);
  });

  it('publishes a discard with its reason and, when kept for audit, until when', () => {
    const [message] = toIntegrationMessages(
      recorded('SessionVariablesDiscarded', { orgId: 'org1', sessionId: 's1', reason: 'logout', count: 2, retainUntil: '2026-12-21T10:00:00.000Z', at: '2026-11-21T10:00:00.000Z' }),
    );
    expect(SessionVariablesDiscardedV1.parse(JSON.parse(message!.value)).data).toEqual({ sessionId: 's1', reason: 'logout', count: 2, retainUntil: '2026-12-21T10:00:00.000Z' });
  });

  it('publishes what a revoked key vouched for as a change to verified false (metadata marked), set by the revocation', () => {
    const [session] = toIntegrationMessages(
      recorded('SessionVariablesUnverified', {
        orgId: 'org1',
        sessionId: 's1',
        kid: 'k1',
        changes: [{ name: 'plan', value: 'gold', source: 'claim', verified: false, version: 2 }],
        metadataChanges: [{ name: 'authenticatedStatus', value: false, source: 'claim', verified: false, version: 2 }],
        at: '2026-11-21T11:00:00.000Z',
      }),
    );
    expect(session).toMatchObject({ topic: TOPICS.variables, key: 's1' });
    expect(SessionVariablesChangedV1.parse(JSON.parse(session!.value)).data).toEqual({
      sessionId: 's1',
      changes: [
        { name: 'plan', value: 'gold', source: 'claim', verified: false, version: 2 },
        { name: 'authenticatedStatus', value: false, source: 'claim', verified: false, version: 2, scope: 'metadata' },
      ],
      setBy: 'key-revoked:k1',
    });
    const [visitor] = toIntegrationMessages(
      recorded('VisitorVariablesUnverified', {
        orgId: 'org1',
        visitorId: 'v1',
        kid: 'k1',
        changes: [{ name: 'level', value: 'vip', source: 'signed', verified: false, version: 2, rooms: [{ name: 'Sales' }] }],
        at: '2026-11-21T11:00:00.000Z',
      }),
    );
    expect(visitor).toMatchObject({ key: 'v1' });
    expect(VisitorVariablesChangedV1.parse(JSON.parse(visitor!.value)).data).toEqual({
      visitorId: 'v1',
      replaceExisting: false,
      changes: [{ name: 'level', value: 'vip', source: 'signed', verified: false, version: 2, rooms: ['Sales'] }],
    });
  });

  it('publishes an erasure record as VisitorErased keyed by visitor, without personal data, and a session erased with it as discarded', () => {
    const [erased, ...rest] = toIntegrationMessages(
      recorded('VisitorErasureRecorded', { orgId: 'org1', erasureId: 'era_1', visitorId: 'v1', sessionIds: ['s1', 's2'], requestedBy: 'key1', at: '2026-11-21T12:00:00.000Z' }),
    );
    expect(rest).toEqual([]);
    expect(erased).toMatchObject({ topic: TOPICS.variables, key: 'v1', headers: { 'x-event-type': 'VisitorErased' } });
    expect(VisitorErasedV1.parse(JSON.parse(erased!.value)).data).toEqual({ visitorId: 'v1', erasureId: 'era_1', sessionIds: ['s1', 's2'] });
    const [session] = toIntegrationMessages(recorded('SessionVariablesErased', { orgId: 'org1', sessionId: 's1', erasureId: 'era_1', at: '2026-11-21T12:00:01.000Z' }));
    expect(SessionVariablesDiscardedV1.parse(JSON.parse(session!.value)).data).toEqual({ sessionId: 's1', count: 0, erasureId: 'era_1' });
  });

  it('publishes nothing for internal steps: a session linked to its visitor, the visitor stream erased, the erasure progress, settings', () => {
    for (const [type, data] of [
      ['SessionVariablesStarted', { orgId: 'org1', sessionId: 's1', visitorId: 'v1', channelId: 'web', at: '2026-11-21T10:00:00.000Z' }],
      ['VisitorVariablesErased', { orgId: 'org1', visitorId: 'v1', erasureId: 'era_1', at: '2026-11-21T10:00:00.000Z' }],
      ['VisitorErasureExecuted', { orgId: 'org1', erasureId: 'era_1', at: '2026-11-21T10:00:00.000Z' }],
      ['VisitorErasureCompleted', { orgId: 'org1', erasureId: 'era_1', at: '2026-11-21T10:00:00.000Z' }],
      ['VariableSettingsChanged', { orgId: 'org1', limits: {}, retentionDays: 1, at: '2026-11-21T10:00:00.000Z' }],
    ] as const)
      expect({ type, messages: toIntegrationMessages(recorded(type, data)) }).toEqual({ type, messages: [] });
  });
});
