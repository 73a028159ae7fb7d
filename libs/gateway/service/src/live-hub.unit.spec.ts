import { randomUUID } from 'node:crypto';
import {
  SessionStatusChangedV1,
  SessionVariablesChangedV1,
  SessionVariablesDiscardedV1,
  VisitorErasedV1,
  VisitorVariablesChangedV1,
} from '@svp/contracts';
import type { MessageBus } from '@svp/messaging';
import { ServiceMetrics } from '@svp/service-kit';
import { pino } from 'pino';
import { type LiveEvent, LiveHub, liveKey, toLiveEvents } from './live-hub.js';

const ORG = 'org_acme';
const OTHER_ORG = 'org_other';
const AT = '2026-12-02T10:00:00.000Z';

/** An integration event envelope as the services publish it (checked against its zod schema before use). */
function envelope<T extends { parse(value: unknown): unknown }>(schema: T, type: string, data: Record<string, unknown>, orgId = ORG) {
  const event = { eventId: randomUUID(), type, version: 1, occurredAt: AT, orgId, correlationId: 'corr_1', data };
  schema.parse(event);
  return event;
}

const statusChanged = (data: Partial<Record<string, unknown>> = {}, orgId = ORG) =>
  envelope(
    SessionStatusChangedV1,
    'SessionStatusChanged',
    {
      currentAssigneeId: null,
      sessionStatus: 'OPEN',
      replyStatus: 'UNASSIGNED',
      sessionOldStatus: 'CREATED',
      sessionId: 'ses_1',
      messagesCount: 0,
      assigneeType: null,
      channelId: 'web',
      eventTime: AT,
      eventType: 'IM_Session_Status',
      orgId,
      ...data,
    },
    orgId,
  );

const sessionVariablesChanged = (sessionId = 'ses_1', orgId = ORG) =>
  envelope(
    SessionVariablesChangedV1,
    'SessionVariablesChanged',
    {
      sessionId,
      changes: [
        { name: 'plan', value: 'gold', source: 'widget', verified: false, version: 2 },
        { name: 'authenticatedStatus', value: true, source: 'claim', verified: true, version: 1, scope: 'metadata' },
        { name: 'phone', value: '6320834868293', source: 'api', verified: false, version: 1, scope: 'session' },
      ],
      setBy: 'key_1',
    },
    orgId,
  );

const discarded = (sessionId = 'ses_1', orgId = ORG) =>
  envelope(SessionVariablesDiscardedV1, 'SessionVariablesDiscarded', { sessionId, reason: 'logout', count: 3 }, orgId);

const visitorVariablesChanged = (data: Record<string, unknown> = {}) =>
  envelope(VisitorVariablesChangedV1, 'VisitorVariablesChanged', {
    visitorId: 'vis_1',
    replaceExisting: false,
    changes: [{ name: 'username', value: 'Jane', source: 'widget', verified: false, version: 1 }],
    ...data,
  });

const visitorErased = (sessionIds?: string[]) =>
  envelope(VisitorErasedV1, 'VisitorErased', { visitorId: 'vis_1', erasureId: 'era_1', ...(sessionIds ? { sessionIds } : {}) });

describe('toLiveEvents: the live events an integration event makes', () => {
  it('given SessionStatusChanged, then the status key of its org and session gets the IM_Session_Status fields with the event id', () => {
    const event = statusChanged({ sessionStatus: 'ON_PROGRESS', sessionOldStatus: 'OPEN', replyStatus: 'ACCEPTED', currentAssigneeId: 'agent-1', assigneeType: 'AGENT', messagesCount: 3 });
    expect(toLiveEvents('SessionStatusChanged', event)).toEqual([
      [
        liveKey.status(ORG, 'ses_1'),
        {
          topic: 'status',
          change: {
            eventId: event.eventId,
            sessionId: 'ses_1',
            orgId: ORG,
            sessionStatus: 'ON_PROGRESS',
            sessionOldStatus: 'OPEN',
            replyStatus: 'ACCEPTED',
            currentAssigneeId: 'agent-1',
            assigneeType: 'AGENT',
            messagesCount: 3,
            channelId: 'web',
            eventTime: AT,
            eventType: 'IM_Session_Status',
          },
        },
      ],
    ]);
  });

  it('given SessionVariablesChanged, then the session variables key gets SESSION_CHANGED, scope session by default and metadata kept', () => {
    const event = sessionVariablesChanged();
    expect(toLiveEvents('SessionVariablesChanged', event)).toEqual([
      [
        liveKey.sessionVariables(ORG, 'ses_1'),
        {
          topic: 'variables',
          change: {
            eventId: event.eventId,
            kind: 'SESSION_CHANGED',
            occurredAt: AT,
            changes: [
              { name: 'plan', value: 'gold', scope: 'session', source: 'widget', verified: false, version: 2 },
              { name: 'authenticatedStatus', value: true, scope: 'metadata', source: 'claim', verified: true, version: 1 },
              { name: 'phone', value: '6320834868293', scope: 'session', source: 'api', verified: false, version: 1 },
            ],
            removed: [],
          },
        },
      ],
    ]);
  });

  it('given SessionVariablesDiscarded, then the session variables key gets DISCARDED with no changes', () => {
    const event = discarded();
    expect(toLiveEvents('SessionVariablesDiscarded', event)).toEqual([
      [liveKey.sessionVariables(ORG, 'ses_1'), { topic: 'variables', change: { eventId: event.eventId, kind: 'DISCARDED', occurredAt: AT, changes: [], removed: [] } }],
    ]);
  });

  it('given VisitorVariablesChanged, then the visitor variables key gets VISITOR_CHANGED in visitor scope, with rooms, removed names and the display name', () => {
    const event = visitorVariablesChanged({
      replaceExisting: true,
      changes: [
        { name: 'username', value: 'Jane', source: 'signed', verified: true, version: 3 },
        { name: 'vipCode', value: 42, source: 'signed', verified: true, version: 1, rooms: ['room_sales'] },
        { name: 'note', value: null, source: 'signed', verified: true, version: 2, rooms: [] },
      ],
      displayName: 'Jane',
      removed: ['email'],
    });
    expect(toLiveEvents('VisitorVariablesChanged', event)).toEqual([
      [
        liveKey.visitorVariables(ORG, 'vis_1'),
        {
          topic: 'variables',
          change: {
            eventId: event.eventId,
            kind: 'VISITOR_CHANGED',
            occurredAt: AT,
            changes: [
              { name: 'username', value: 'Jane', scope: 'visitor', source: 'signed', verified: true, version: 3 },
              { name: 'vipCode', value: 42, scope: 'visitor', source: 'signed', verified: true, version: 1, rooms: ['room_sales'] },
              { name: 'note', value: null, scope: 'visitor', source: 'signed', verified: true, version: 2 },
            ],
            removed: ['email'],
            displayName: 'Jane',
          },
        },
      ],
    ]);
  });

  it('given VisitorVariablesChanged without removed names or display name, then removed is empty and no displayName is set', () => {
    const [[, event]] = toLiveEvents('VisitorVariablesChanged', visitorVariablesChanged()) as [[string, LiveEvent]];
    expect(event.change).toMatchObject({ kind: 'VISITOR_CHANGED', removed: [] });
    expect(event.change).not.toHaveProperty('displayName');
  });

  it('given VisitorErased, then the visitor key and each of its sessions\' keys get one ERASED event', () => {
    const event = visitorErased(['ses_1', 'ses_2']);
    const erased: LiveEvent = { topic: 'variables', change: { eventId: event.eventId, kind: 'ERASED', occurredAt: AT, changes: [], removed: [] } };
    expect(toLiveEvents('VisitorErased', event)).toEqual([
      [liveKey.visitorVariables(ORG, 'vis_1'), erased],
      [liveKey.sessionVariables(ORG, 'ses_1'), erased],
      [liveKey.sessionVariables(ORG, 'ses_2'), erased],
    ]);
  });

  it('given VisitorErased without session ids, then only the visitor key gets it', () => {
    expect(toLiveEvents('VisitorErased', visitorErased()).map(([key]) => key)).toEqual([liveKey.visitorVariables(ORG, 'vis_1')]);
  });

  it('keeps orgs, sessions and visitors apart in its keys', () => {
    const keys = [liveKey.status(ORG, 'ses_1'), liveKey.status(OTHER_ORG, 'ses_1'), liveKey.sessionVariables(ORG, 'ses_1'), liveKey.visitorVariables(ORG, 'ses_1'), liveKey.status(ORG, 'ses_2')];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('given an event type that is not one of these contracts (SessionStarted, an identity event), then it makes none', () => {
    const started = { eventId: randomUUID(), type: 'SessionStarted', version: 1, occurredAt: AT, orgId: ORG, data: { sessionId: 'ses_1' } };
    expect(toLiveEvents('SessionStarted', started)).toEqual([]);
    expect(toLiveEvents('OrgCreated', { ...started, type: 'OrgCreated', data: { orgId: ORG, name: 'Acme' } })).toEqual([]);
  });

  it('given a version the gateway does not know (v2), then it makes none', () => {
    for (const [type, event] of [
      ['SessionStatusChanged', statusChanged()],
      ['SessionVariablesChanged', sessionVariablesChanged()],
      ['SessionVariablesDiscarded', discarded()],
      ['VisitorVariablesChanged', visitorVariablesChanged()],
      ['VisitorErased', visitorErased(['ses_1'])],
    ] as const)
      expect(toLiveEvents(type, { ...event, version: 2 })).toEqual([]);
  });

  it('given an envelope that fails its schema (no session id, a bad event id, a wrong type, not an object), then it makes none', () => {
    const { sessionId: _sessionId, ...noSession } = sessionVariablesChanged().data;
    expect(toLiveEvents('SessionVariablesChanged', { ...sessionVariablesChanged(), data: noSession })).toEqual([]);
    expect(toLiveEvents('SessionStatusChanged', { ...statusChanged(), eventId: 'not-a-uuid' })).toEqual([]);
    expect(toLiveEvents('SessionStatusChanged', { ...statusChanged(), data: { ...statusChanged().data, sessionStatus: 'SLEEPING' } })).toEqual([]);
    expect(toLiveEvents('VisitorErased', discarded())).toEqual([]);
    expect(toLiveEvents('VisitorVariablesChanged', null)).toEqual([]);
  });
});

describe('LiveHub: fan-out to subscribers (no bus: dispatch is called directly)', () => {
  /** The hub is never started here: any use of the bus is a test failure. */
  const noBus = new Proxy({} as MessageBus, {
    get: (_target, property) => () => {
      throw new Error(`the bus was used (${String(property)})`);
    },
  });
  let records: Record<string, unknown>[];
  let hub: LiveHub;

  beforeEach(() => {
    records = [];
    hub = new LiveHub(noBus, pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line)) }), undefined, 'gateway-live-test');
  });

  const send = (event: unknown) => hub.dispatch({ value: JSON.stringify(event) });
  const nextValue = async (iterator: AsyncIterator<LiveEvent>) => {
    const next = await iterator.next();
    if (next.done) throw new Error('the subscription ended');
    return next.value;
  };
  const eventIdOf = (event: LiveEvent) => (event.topic === 'overflow' ? undefined : event.change.eventId);

  it('given a subscriber of a session\'s status, when its status changes, then it receives the change', async () => {
    const changes = hub.subscribe([liveKey.status(ORG, 'ses_1')]);
    const event = statusChanged({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'OPEN' });
    send(event);
    expect(await nextValue(changes)).toMatchObject({ topic: 'status', change: { eventId: event.eventId, sessionStatus: 'ON_HOLD', sessionOldStatus: 'OPEN' } });
    await changes.return?.();
  });

  it('given a subscriber already waiting (next pending), when an event arrives, then the pending next resolves with it', async () => {
    const changes = hub.subscribe([liveKey.sessionVariables(ORG, 'ses_1')]);
    const pending = changes.next();
    const event = sessionVariablesChanged();
    send(event);
    expect(await pending).toEqual({ done: false, value: expect.objectContaining({ topic: 'variables', change: expect.objectContaining({ eventId: event.eventId, kind: 'SESSION_CHANGED' }) }) });
    await changes.return?.();
  });

  it('given events of another org and of another session, then a subscriber receives only its own (in order)', async () => {
    const changes = hub.subscribe([liveKey.status(ORG, 'ses_1')]);
    const otherOrg = statusChanged({}, OTHER_ORG);
    const otherSession = statusChanged({ sessionId: 'ses_2' });
    const own = statusChanged({ sessionStatus: 'ENDED', sessionOldStatus: 'OPEN', replyStatus: 'SESSION_ENDED' });
    const ownLater = statusChanged({ sessionStatus: 'BLOCKED', sessionOldStatus: 'ENDED', replyStatus: 'SESSION_BLOCKED' });
    send(otherOrg);
    send(otherSession);
    send(own);
    send(ownLater);
    expect(eventIdOf(await nextValue(changes))).toBe(own.eventId);
    expect(eventIdOf(await nextValue(changes))).toBe(ownLater.eventId);
    await changes.return?.();
  });

  it('given a variables subscriber, then a status event of its session does not reach it (another key)', async () => {
    const changes = hub.subscribe([liveKey.sessionVariables(ORG, 'ses_1')]);
    send(statusChanged());
    const marker = discarded();
    send(marker);
    expect(eventIdOf(await nextValue(changes))).toBe(marker.eventId);
    await changes.return?.();
  });

  it('given several subscribers of one key, then each receives the event', async () => {
    const a = hub.subscribe([liveKey.visitorVariables(ORG, 'vis_1')]);
    const b = hub.subscribe([liveKey.visitorVariables(ORG, 'vis_1')]);
    const event = visitorVariablesChanged({ displayName: 'Jane' });
    send(event);
    expect(eventIdOf(await nextValue(a))).toBe(event.eventId);
    expect(eventIdOf(await nextValue(b))).toBe(event.eventId);
    expect(hub.activeSubscriptions).toBe(2);
    await a.return?.();
    await b.return?.();
  });

  it('given a subscriber of a session and its visitor (variablesChanged), when the visitor is erased, then it receives the erasure once', async () => {
    const changes = hub.subscribe([liveKey.sessionVariables(ORG, 'ses_1'), liveKey.visitorVariables(ORG, 'vis_1')]);
    const erasure = visitorErased(['ses_1', 'ses_2']);
    const marker = discarded();
    send(erasure);
    send(marker);
    expect(await nextValue(changes)).toMatchObject({ topic: 'variables', change: { eventId: erasure.eventId, kind: 'ERASED' } });
    expect(eventIdOf(await nextValue(changes))).toBe(marker.eventId);
    await changes.return?.();
  });

  it('given a subscriber of a session and its visitor, then it receives the visitor\'s changes and the session\'s', async () => {
    const changes = hub.subscribe([liveKey.sessionVariables(ORG, 'ses_1'), liveKey.visitorVariables(ORG, 'vis_1')]);
    const visitor = visitorVariablesChanged();
    const session = sessionVariablesChanged();
    send(visitor);
    send(session);
    expect(await nextValue(changes)).toMatchObject({ change: { eventId: visitor.eventId, kind: 'VISITOR_CHANGED' } });
    expect(await nextValue(changes)).toMatchObject({ change: { eventId: session.eventId, kind: 'SESSION_CHANGED' } });
    await changes.return?.();
  });

  it('given a subscription, when it is returned, then it is no longer counted, its pending next ends and later events are not queued', async () => {
    const changes = hub.subscribe([liveKey.status(ORG, 'ses_1'), liveKey.sessionVariables(ORG, 'ses_1')]);
    expect(hub.activeSubscriptions).toBe(1);
    const pending = changes.next();
    expect(await changes.return?.()).toEqual({ value: undefined, done: true });
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(hub.activeSubscriptions).toBe(0);
    // Nothing is left listening: sockets come and go all day, their listeners must not pile up.
    expect((hub as unknown as { listeners: Map<string, unknown> }).listeners.size).toBe(0);
    send(statusChanged());
    send(sessionVariablesChanged());
    expect(await changes.next()).toEqual({ value: undefined, done: true });
    // Returning twice does not count it off twice.
    await changes.return?.();
    expect(hub.activeSubscriptions).toBe(0);
  });

  it('given two subscribers of one key, when one is returned, then the other still receives events', async () => {
    const leaving = hub.subscribe([liveKey.status(ORG, 'ses_1')]);
    const staying = hub.subscribe([liveKey.status(ORG, 'ses_1')]);
    await leaving.return?.();
    const event = statusChanged();
    send(event);
    expect(eventIdOf(await nextValue(staying))).toBe(event.eventId);
    expect(await leaving.next()).toEqual({ value: undefined, done: true });
    expect(hub.activeSubscriptions).toBe(1);
    await staying.return?.();
  });

  it('given a subscription ended by throw(), then it is unsubscribed and the error is passed on', async () => {
    const changes = hub.subscribe([liveKey.status(ORG, 'ses_1')]);
    const failure = new Error('client went away');
    await expect(changes.throw?.(failure)).rejects.toBe(failure);
    expect(hub.activeSubscriptions).toBe(0);
    send(statusChanged());
    expect(await changes.next()).toEqual({ value: undefined, done: true });
  });

  it('given a message that is not JSON, then it is skipped with a warning and the next one is still delivered', async () => {
    const changes = hub.subscribe([liveKey.status(ORG, 'ses_1')]);
    expect(() => hub.dispatch({ value: '{"type":"SessionStatusChanged",' })).not.toThrow();
    expect(records).toContainEqual(expect.objectContaining({ level: 40, msg: 'a message that is not JSON was skipped by the live hub' }));
    expect(() => hub.dispatch({ value: 'null' })).not.toThrow();
    expect(() => hub.dispatch({ value: '{"type":42}' })).not.toThrow();
    const event = statusChanged();
    send(event);
    expect(eventIdOf(await nextValue(changes))).toBe(event.eventId);
    await changes.return?.();
  });

  it('given a subscriber that does not read, when more than 500 events queue, then they are dropped (and counted) and the subscription ends with an overflow', async () => {
    const metrics = new ServiceMetrics('gateway-test');
    const counted = new LiveHub(noBus, pino({ level: 'silent' }), metrics, 'gateway-live-test-2');
    const changes = counted.subscribe([liveKey.status(ORG, 'ses_1')]);
    for (let i = 0; i < 501; i++) counted.dispatch({ value: JSON.stringify(statusChanged({ messagesCount: i })) });
    // Not listening any more: a later event neither queues nor counts as dropped.
    counted.dispatch({ value: JSON.stringify(statusChanged({ messagesCount: 9999 })) });
    expect(await nextValue(changes)).toEqual({ topic: 'overflow', dropped: 501 });
    expect(await changes.next()).toEqual({ value: undefined, done: true });
    const dropped = await metrics.registry.getSingleMetric('svp_gateway_live_dropped_total')?.get();
    expect(dropped?.values[0]?.value).toBe(501);
    const byType = await metrics.registry.getSingleMetric('svp_gateway_live_events_total')?.get();
    expect(byType?.values).toEqual([expect.objectContaining({ labels: { type: 'SessionStatusChanged' }, value: 502 })]);
    const gauge = await metrics.registry.getSingleMetric('svp_gateway_live_subscriptions')?.get();
    expect(gauge?.values[0]?.value).toBe(0);
  });

  it('given a subscriber that keeps up, then 500 queued events are all delivered in order', async () => {
    const changes = hub.subscribe([liveKey.status(ORG, 'ses_1')]);
    for (let i = 0; i < 500; i++) send(statusChanged({ messagesCount: i }));
    const received: number[] = [];
    for (let i = 0; i < 500; i++) {
      const event = await nextValue(changes);
      received.push(event.topic === 'status' ? event.change.messagesCount : -1);
    }
    expect(received).toEqual(Array.from({ length: 500 }, (_, i) => i));
    await changes.return?.();
  });

  describe('recentOf: the events of the last seconds, for subscriptions that start with the current state', () => {
    it('given events of a key, then recentOf answers them oldest first, only that org and session', () => {
      const first = statusChanged({ sessionStatus: 'OPEN' });
      const second = statusChanged({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'OPEN' });
      send(first);
      send(statusChanged({ sessionId: 'ses_2' }));
      send(statusChanged({}, OTHER_ORG));
      send(second);
      expect(hub.recentOf([liveKey.status(ORG, 'ses_1')]).map(eventIdOf)).toEqual([first.eventId, second.eventId]);
      expect(hub.recentOf([liveKey.status(ORG, 'ses_3')])).toEqual([]);
    });

    it('given an erasure sent to a visitor and its session, then a reader of both keys gets it once', () => {
      const erased = visitorErased(['ses_1']);
      send(erased);
      expect(hub.recentOf([liveKey.sessionVariables(ORG, 'ses_1'), liveKey.visitorVariables(ORG, 'vis_1')]).map(eventIdOf)).toEqual([erased.eventId]);
    });

    it('given more than 50 events of one key, then only the last 50 are kept', () => {
      for (let i = 0; i < 60; i++) send(statusChanged({ messagesCount: i }));
      const kept = hub.recentOf([liveKey.status(ORG, 'ses_1')]).map((e) => (e.topic === 'status' ? e.change.messagesCount : -1));
      expect(kept).toEqual(Array.from({ length: 50 }, (_, i) => i + 10));
    });

    it('given events older than 10 seconds, then they are no longer recent', () => {
      const realNow = Date.now;
      try {
        let now = realNow();
        Date.now = () => now;
        send(statusChanged({ messagesCount: 1 }));
        now += 10_001;
        send(statusChanged({ messagesCount: 2 }));
        const kept = hub.recentOf([liveKey.status(ORG, 'ses_1')]).map((e) => (e.topic === 'status' ? e.change.messagesCount : -1));
        expect(kept).toEqual([2]);
      } finally {
        Date.now = realNow;
      }
    });
  });
});
