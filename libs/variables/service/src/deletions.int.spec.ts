import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type EventStore, PostgresEventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { InProcessMessageBus, OutboxRelay, SqlMessageLog, silentLogger } from '@svp/messaging';
import { PGliteSqlClient, type SqlClient } from '@svp/postgres';
import { ProjectionRunner } from '@svp/projections';
import { type ClaimedTimer, DELETE_STREAM_TIMER, StreamWriter, TimerStore, TimerWorker } from '@svp/service-kit';
import { freshPgSchema, waitFor } from '@svp/testing';
import { DEFAULT_LIMITS, erasureStream, sessionVariablesStream, visitorVariablesStream } from '@svp/variables-domain';
import { pino } from 'pino';
import { ERASE_TIMER, variableDeletionsProjection, variablesTimerHandler } from './deletions.js';
import { erasuresProjection, signedVariablesProjection } from './index-projections.js';
import { toIntegrationMessages } from './integration-events.js';
import { sessionVariablesProjection } from './session-variables.projection.js';
import { erasureFold, loadFolded, runErasureCommand, runSessionCommand, runVisitorCommand } from './stores.js';
import { visitorVariablesProjection } from './visitor-variables.projection.js';

// Stream deletion on a real store and database, both engines: a projection schedules durable timers
// in the same transaction as its checkpoint, a timer worker (with a clock the test moves) fires them.

const logger = pino({ level: 'silent' });
const TABLE = 'variables_timers';

const engines: [string, () => Promise<{ sql: SqlClient; dispose: () => Promise<void> }>][] = [
  [
    'PGlite',
    async () => {
      const sql = await PGliteSqlClient.open();
      return { sql, dispose: () => sql.close() };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const db = await freshPgSchema('deletions', { max: 8 });
      return { sql: db.sql, dispose: () => db.dispose() };
    },
  ],
];

describe.each(engines)('variables stream deletions (%s)', (_engine, open) => {
  let sql: SqlClient;
  let dispose: () => Promise<void>;
  let store: EventStore;
  let bus: InProcessMessageBus;
  let relay: OutboxRelay;
  let runner: ProjectionRunner;
  let timers: TimerStore;
  let writer: StreamWriter;
  let clock = new Date('2026-11-21T10:00:00.000Z');
  const orgId = `org-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    ({ sql, dispose } = await open());
    store = await PostgresEventStore.create(sql, { pollIntervalMs: 20 });
    bus = new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { logger: silentLogger }), logger: silentLogger });
    relay = await OutboxRelay.create({ name: 'variables', store, sql, bus, toMessages: toIntegrationMessages, logger: silentLogger });
    await relay.start();
    timers = new TimerStore(sql, TABLE);
    await timers.setup();
    runner = new ProjectionRunner({
      sql,
      store,
      projections: [sessionVariablesProjection, visitorVariablesProjection, signedVariablesProjection, erasuresProjection, variableDeletionsProjection(timers)],
    });
    await runner.start();
    writer = new StreamWriter(store);
  });
  afterAll(async () => {
    await runner?.stop();
    await relay?.stop();
    await bus?.close();
    await store?.close();
    await dispose?.();
  });

  const handler = (catchUpTimeoutMs = 5000) =>
    variablesTimerHandler({ store, writer, runner, outboxCheckpoint: () => relay.checkpoint(), logger, timeoutMs: catchUpTimeoutMs, now: () => clock });
  const worker = (fire = handler()) => new TimerWorker({ store: timers, fire, logger, now: () => clock, pollMs: 20, retryBackoff: () => 10 });
  const caughtUp = async () => {
    const head = await store.headPosition();
    for (const status of await runner.statuses()) await runner.waitForPosition(status.name, head);
  };
  const start = async (sessionId: string, visitorId: string, values = [{ name: 'UserName', value: 'John' }]) => {
    const result = await runSessionCommand(writer, { type: 'StartSessionVariables', data: { orgId, sessionId, visitorId, channelId: 'web', values, now: clock.toISOString() } }, DEFAULT_LIMITS);
    expect(result.ok).toBe(true);
  };
  const discard = (sessionId: string, retainUntil?: string) =>
    runSessionCommand(writer, { type: 'DiscardSessionVariables', data: { orgId, sessionId, reason: 'logout', ...(retainUntil ? { retainUntil } : {}), now: clock.toISOString() } }, DEFAULT_LIMITS);
  const exists = async (stream: string) => (await store.streamRevision(stream)) !== undefined;

  it('given a discard kept for a retention, then the stream stays until it is due and is deleted then, its read model gone', async () => {
    const sessionId = `s-${randomUUID()}`;
    await start(sessionId, `v-${randomUUID()}`);
    const until = new Date(clock.getTime() + 7 * 86_400_000);
    await discard(sessionId, until.toISOString());
    await caughtUp();
    const timer = await timers.get(`delete:${sessionVariablesStream(orgId, sessionId)}`);
    expect(timer).toMatchObject({ kind: DELETE_STREAM_TIMER, dueAt: until });
    const w = worker();
    await w.start();
    try {
      await w.wake();
      expect(await exists(sessionVariablesStream(orgId, sessionId))).toBe(true);
      clock = new Date(until.getTime() + 1);
      await w.wake();
      await waitFor(async () => (await store.readStream(sessionVariablesStream(orgId, sessionId))).every((e) => e.type === 'SessionVariablesDeleted'), 'the retained stream deleted when due');
      // A tombstone without personal data took its place: the ended session stays closed.
      expect((await store.readStream(sessionVariablesStream(orgId, sessionId))).map((e) => e.data)).toEqual([{ orgId, sessionId, reason: 'ended', at: clock.toISOString() }]);
      const late = await runSessionCommand(writer, { type: 'SetSessionVariables', data: { orgId, sessionId, values: [{ name: 'late', value: 1 }], source: 'api', now: clock.toISOString() } }, DEFAULT_LIMITS);
      expect(late).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { status: 'closed' } } });
      expect(await timers.get(`delete:${sessionVariablesStream(orgId, sessionId)}`)).toBeUndefined();
    } finally {
      await w.stop();
    }
  });

  it('given the outbox relay has not published a stream’s last event, then the stream is not deleted (the timer retries) until it has', async () => {
    const sessionId = `s-${randomUUID()}`;
    await relay.stop();
    try {
      await start(sessionId, `v-${randomUUID()}`);
      await discard(sessionId);
      await caughtUp();
      const key = `delete:${sessionVariablesStream(orgId, sessionId)}`;
      const [claimed] = (await timers.claimDue(clock, 10, 60_000)).filter((t) => t.key === key) as ClaimedTimer[];
      await expect(handler(200)(claimed!)).rejects.toThrow(/not yet published/);
      expect(await exists(sessionVariablesStream(orgId, sessionId))).toBe(true);
      await timers.fail(claimed!, 'relay behind', clock);
    } finally {
      await relay.start();
    }
    const w = worker();
    await w.start();
    try {
      const lastDeleted = (await store.readStream(sessionVariablesStream(orgId, sessionId))).at(-1)!.globalPosition;
      await waitFor(async () => (await store.readStream(sessionVariablesStream(orgId, sessionId))).every((e) => e.type === 'SessionVariablesDeleted'), 'the stream deleted once the relay published it');
      // Every event of the deleted stream was published before it went.
      expect((await relay.checkpoint())! >= lastDeleted).toBe(true);
    } finally {
      await w.stop();
    }
  });

  it('given an erasure recorded before a crash (no timer worker ran), when a worker starts again, then it is carried out and completed; a replay of its record erases nothing written since', async () => {
    const visitorId = `v-${randomUUID()}`;
    const [s1, s2] = [`s-${randomUUID()}`, `s-${randomUUID()}`];
    await start(s1, visitorId);
    await start(s2, visitorId, [{ name: 'address', value: '1 Main St' }]);
    await discard(s1, new Date(clock.getTime() + 30 * 86_400_000).toISOString());
    await runVisitorCommand(writer, { type: 'SubmitVisitorVariables', data: { orgId, visitorId, data: { phone: '555' }, source: 'api', verified: false, replaceExisting: false, now: clock.toISOString() } }, DEFAULT_LIMITS);
    const erasureId = `era_${randomUUID().slice(0, 8)}`;
    await runErasureCommand(writer, { type: 'RecordVisitorErasure', data: { orgId, erasureId, visitorId, sessionIds: [s2, s1], now: clock.toISOString() } });
    await caughtUp();
    // The process died here: the record and its timer are stored, nothing else happened.
    const eraseTimer = await timers.get(`erase:${orgId}.${erasureId}`);
    expect(eraseTimer).toMatchObject({ kind: ERASE_TIMER });
    expect(await exists(visitorVariablesStream(orgId, visitorId))).toBe(true);

    const w = worker();
    await w.start();
    try {
      await waitFor(async () => (await loadFolded(store, erasureStream(orgId, erasureId), erasureFold)).state.status === 'completed', 'the erasure completed after the restart');
    } finally {
      await w.stop();
    }
    expect(await exists(visitorVariablesStream(orgId, visitorId))).toBe(false);
    // Each session's stream holds only its tombstone now.
    for (const s of [s1, s2]) expect((await store.readStream(sessionVariablesStream(orgId, s))).map((e) => [e.type, e.data])).toEqual([
      ['SessionVariablesDeleted', { orgId, sessionId: s, reason: 'erased', at: clock.toISOString() }],
    ]);
    await caughtUp();
    expect(await runner.reader(visitorVariablesProjection).get(`${orgId}.${visitorId}`)).toBeNull();
    expect(await runner.reader(erasuresProjection).get(`${orgId}.${erasureId}`)).toMatchObject({ status: 'completed', record: { sessionIds: [s1, s2].sort() } });

    // New data for the same visitor; then the erase timer fires again (as after a rebuild replays the record).
    await runVisitorCommand(writer, { type: 'SubmitVisitorVariables', data: { orgId, visitorId, data: { plan: 'new' }, source: 'api', verified: false, replaceExisting: false, now: clock.toISOString() } }, DEFAULT_LIMITS);
    const fire = handler();
    await fire({ key: `erase:${orgId}.${erasureId}`, kind: ERASE_TIMER, dueAt: clock, payload: { orgId, erasureId, seq: '0' }, attempts: 1, lastError: null, leasedUntil: clock, claim: 'x' });
    expect((await store.readStream(visitorVariablesStream(orgId, visitorId))).map((e) => e.type)).toEqual(['VisitorVariablesSubmitted']);
  });

  it('given an event appended while a deletion waited for the read models, then the stream is not deleted with it unseen: the timer retries and deletes it after', async () => {
    const sessionId = `s-${randomUUID()}`;
    const visitorId = `v-${randomUUID()}`;
    await start(sessionId, visitorId);
    await discard(sessionId, new Date(clock.getTime() + 86_400_000).toISOString());
    const stream = sessionVariablesStream(orgId, sessionId);
    const [discardEvent] = (await store.readStream(stream)).filter((e) => e.type === 'SessionVariablesDiscarded');
    const timer = { key: `delete:${stream}`, kind: DELETE_STREAM_TIMER, dueAt: clock, payload: { orgId, stream, eventId: discardEvent!.eventId, seq: '0' }, attempts: 1, lastError: null, leasedUntil: clock, claim: 'x' };
    // The deletion has read the stream and waits (here: for the relay, held until the append is
    // done); meanwhile the session is erased (an event appended).
    let asked!: () => void;
    const waiting = new Promise<void>((resolve) => (asked = resolve));
    let appended!: () => void;
    const released = new Promise<void>((resolve) => (appended = resolve));
    const firing = variablesTimerHandler({
      store,
      writer,
      runner,
      outboxCheckpoint: async () => {
        asked();
        await released;
        return relay.checkpoint();
      },
      logger,
      timeoutMs: 2000,
      now: () => clock,
    })(timer);
    await waiting;
    const erased = await runSessionCommand(writer, { type: 'EraseSessionVariables', data: { orgId, sessionId, erasureId: 'era_x', now: clock.toISOString() } }, DEFAULT_LIMITS);
    expect(erased.ok).toBe(true);
    appended();
    await expect(firing).rejects.toThrow(WrongExpectedRevisionError);
    expect((await store.readStream(stream)).map((e) => e.type)).toContain('SessionVariablesErased');
    // The next firing sees the new event, waits for it to be published, then deletes.
    await handler()(timer);
    expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['SessionVariablesDeleted']);
  });

  it('given a deletion with a tombstone, then the session is closed before anything is removed: a late write in between is refused, a crash before the truncation is finished by the next firing', async () => {
    const sessionId = `s-${randomUUID()}`;
    await start(sessionId, `v-${randomUUID()}`);
    await discard(sessionId);
    const stream = sessionVariablesStream(orgId, sessionId);
    const [discardEvent] = (await store.readStream(stream)).filter((e) => e.type === 'SessionVariablesDiscarded');
    const timer = { key: `delete:${stream}`, kind: DELETE_STREAM_TIMER, dueAt: clock, payload: { orgId, stream, eventId: discardEvent!.eventId, seq: '0' }, attempts: 1, lastError: null, leasedUntil: clock, claim: 'x' };
    // The truncation fails once (a crash right after the tombstone); a late write comes in between.
    const truncate = store.truncateStream.bind(store);
    let lateWrite: Awaited<ReturnType<typeof runSessionCommand>> | undefined;
    store.truncateStream = async () => {
      lateWrite = await runSessionCommand(writer, { type: 'SetSessionVariables', data: { orgId, sessionId, values: [{ name: 'email', value: 'late@example.com' }], source: 'api', now: clock.toISOString() } }, DEFAULT_LIMITS);
      throw new Error('crashed before the truncation');
    };
    try {
      await expect(handler()(timer)).rejects.toThrow('crashed before the truncation');
    } finally {
      store.truncateStream = truncate;
    }
    expect(lateWrite).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { status: 'closed' } } });
    expect((await store.readStream(stream)).at(-1)?.type).toBe('SessionVariablesDeleted');
    // The next firing finds the tombstone last and removes what is before it.
    await handler()(timer);
    expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['SessionVariablesDeleted']);
  });

  it('given a crash after the erasure was executed but before its completion was recorded, when its timer fires again, then it is completed', async () => {
    const visitorId = `v-${randomUUID()}`;
    const erasureId = `era_${randomUUID().slice(0, 8)}`;
    // A visitor with nothing stored: no stream to delete, so no deletion timer would complete it later.
    await runErasureCommand(writer, { type: 'RecordVisitorErasure', data: { orgId, erasureId, visitorId, sessionIds: [], now: clock.toISOString() } });
    await runErasureCommand(writer, { type: 'MarkErasureExecuted', data: { orgId, erasureId, now: clock.toISOString() } });
    expect((await loadFolded(store, erasureStream(orgId, erasureId), erasureFold)).state.status).toBe('executed');
    await handler()({ key: `erase:${orgId}.${erasureId}`, kind: ERASE_TIMER, dueAt: clock, payload: { orgId, erasureId, seq: '0' }, attempts: 2, lastError: 'crashed', leasedUntil: clock, claim: 'x' });
    expect((await loadFolded(store, erasureStream(orgId, erasureId), erasureFold)).state.status).toBe('completed');
  });

  it('given a deletion timer whose stream was deleted and written afresh since, when it fires, then it deletes nothing', async () => {
    const sessionId = `s-${randomUUID()}`;
    await start(sessionId, `v-${randomUUID()}`);
    await discard(sessionId);
    const stream = sessionVariablesStream(orgId, sessionId);
    const [discardEvent] = (await store.readStream(stream)).filter((e) => e.type === 'SessionVariablesDiscarded');
    await store.deleteStream(stream);
    await start(sessionId, `v-${randomUUID()}`);
    await handler()({
      key: `delete:${stream}`,
      kind: DELETE_STREAM_TIMER,
      dueAt: clock,
      payload: { orgId, stream, eventId: discardEvent!.eventId, seq: String(discardEvent!.globalPosition) },
      attempts: 1,
      lastError: null,
      leasedUntil: clock,
      claim: 'x',
    });
    expect(await exists(stream)).toBe(true);
  });
});
