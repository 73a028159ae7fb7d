import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RecordedEvent } from '@svp/event-store';
import { PGliteSqlClient } from '@svp/postgres';
import { sessionDeletionsProjection } from './erasure.js';
import { sessionTimerKey, sessionTimersProjection } from './projections.js';
import { TimerStore } from '@svp/service-kit';

// The projection that sets each session's durable timer, against a real PGlite: what a live run and a
// rebuild running beside it (replaying older events) leave in the timer table.
let sql: PGliteSqlClient;
let timers: TimerStore;
const projection = () => sessionTimersProjection(timers);
const table = 'rm_session_timers_test';

const snapshot = (activity: number) => ({ channelId: 'web', visitorId: 'v1', sessionStatus: 'OPEN', sessionOldStatus: 'CREATED', assignee: null, messagesCount: 0, activity });
const event = (type: string, position: bigint, at: string, data: Record<string, unknown> = {}): RecordedEvent => ({
  eventId: `00000000-0000-4000-8000-${position.toString().padStart(12, '0')}`,
  type,
  data: { orgId: 'org_1', sessionId: 's1', at, ...data },
  metadata: {},
  streamName: 'session-org_1.s1',
  streamRevision: position,
  globalPosition: position,
  recordedAt: new Date(at),
});
const apply = (events: RecordedEvent[]) => sql.transaction((tx) => projection().apply(tx, table, events as never));

beforeAll(async () => {
  sql = await PGliteSqlClient.open();
  timers = new TimerStore(sql);
  await timers.setup();
  await sql.transaction((tx) => projection().setup(tx, table));
});
afterAll(async () => {
  await sql?.close();
});

describe('session timers projection', () => {
  it('given a session event, then its inactivity timer is due after the org timeout (default 30 minutes)', async () => {
    await apply([event('SessionRouted', 10n, '2026-11-21T10:00:00.000Z', snapshot(2))]);
    const timer = await timers.get<{ kind: string; activity: number; seq: string }>(sessionTimerKey('org_1', 's1'));
    expect(timer).toMatchObject({ kind: 'expire', dueAt: new Date('2026-11-21T10:30:00.000Z'), payload: { activity: 2, seq: '10' } });
  });

  it('given a rebuild replaying an older event, then the newer timer stays', async () => {
    await apply([event('SessionStarted', 3n, '2026-11-21T09:00:00.000Z', { ...snapshot(1), sessionStatus: 'CREATED', sessionVariableValues: [] })]);
    const timer = await timers.get<{ activity: number; seq: string }>(sessionTimerKey('org_1', 's1'));
    expect(timer?.payload).toMatchObject({ activity: 2, seq: '10' });
  });

  it('given the org timeouts changed, then later events use them; the end cancels the timer', async () => {
    await apply([
      event('SessionTimeoutsSet', 11n, '2026-11-21T10:01:00.000Z', { inactivityTimeoutSeconds: 60, expiredEndAfterSeconds: 30 }),
      event('MessageRecorded', 12n, '2026-11-21T10:02:00.000Z', { ...snapshot(3), from: 'VISITOR', statusChanged: false }),
    ]);
    expect((await timers.get(sessionTimerKey('org_1', 's1')))?.dueAt).toEqual(new Date('2026-11-21T10:03:00.000Z'));
    await apply([event('SessionEnded', 13n, '2026-11-21T10:04:00.000Z', { ...snapshot(4), sessionStatus: 'ENDED', reason: 'closed' })]);
    expect(await timers.get(sessionTimerKey('org_1', 's1'))).toBeUndefined();
  });

  it("given a visitor's erasure naming the session, then its timer is cancelled (and the erasure schedules the stream's deletion)", async () => {
    await apply([event('SessionRouted', 20n, '2026-11-21T11:00:00.000Z', snapshot(5))]);
    expect(await timers.get(sessionTimerKey('org_1', 's1'))).toBeDefined();
    const erased = { ...event('SessionsErased', 21n, '2026-11-21T11:01:00.000Z'), streamName: 'sessionserasure-org_1.era_1' };
    erased.data = { orgId: 'org_1', erasureId: 'era_1', visitorId: 'v1', sessionIds: ['s1'], at: '2026-11-21T11:01:00.000Z' };
    await apply([erased]);
    expect(await timers.get(sessionTimerKey('org_1', 's1'))).toBeUndefined();
    await sql.transaction((tx) => sessionDeletionsProjection(timers).apply(tx, 'unused', [erased] as never));
    expect(await timers.get('delete:session-org_1.s1')).toMatchObject({ kind: 'delete-stream', dueAt: new Date('2026-11-21T11:01:00.000Z'), payload: { orgId: 'org_1', stream: 'session-org_1.s1', erasureId: 'era_1', seq: '21' } });
  });
});
