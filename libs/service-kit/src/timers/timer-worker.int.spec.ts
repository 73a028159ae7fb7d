import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { SqlClient } from '@svp/postgres';
import { waitFor } from '@svp/testing';
import { pino } from 'pino';
import { capturingLogger, ENGINES, gate, ManualClock, timerDatabase, type TimerDatabase } from './__fixtures__/timer-databases.js';
import { type ClaimedTimer, TimerStore } from './timer-store.js';
import { TimerWorker, type TimerWorkerOptions } from './timer-worker.js';

const silent = pino({ level: 'silent' });
const MINUTE = 60_000;
const key = () => `session-expiry:${randomUUID()}`;

/** Handler calls, by key. */
function recorder() {
  const fired: ClaimedTimer[] = [];
  const of = (k: string) => fired.filter((t) => t.key === k);
  return { fired, of, fire: async (timer: ClaimedTimer) => void fired.push(timer) };
}

describe.each(ENGINES)('TimerWorker (%s)', (engine) => {
  let database: TimerDatabase;
  let sql: SqlClient;
  let store: TimerStore;
  let clock: ManualClock;
  const workers: TimerWorker[] = [];

  // One database per engine (PGlite takes seconds to start), emptied before each test.
  beforeAll(async () => {
    database = await timerDatabase(engine);
    sql = await database.open();
    store = new TimerStore(sql);
    await store.setup();
  });
  afterAll(async () => database?.dispose());
  beforeEach(async () => {
    await sql.exec('DELETE FROM durable_timers');
    clock = new ManualClock();
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop();
  });

  async function startWorker(options: Pick<TimerWorkerOptions, 'fire'> & Partial<TimerWorkerOptions>): Promise<TimerWorker> {
    const worker = new TimerWorker({ store, logger: silent, pollMs: 20, now: clock.now, ...options });
    workers.push(worker);
    await worker.start();
    return worker;
  }

  it('given a scheduled timer, when time reaches its due time, then it fires once, and not before', async () => {
    const calls = recorder();
    const worker = await startWorker({ fire: calls.fire });
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(30 * MINUTE), payload: { sessionId: 's-1' } });

    clock.advance(30 * MINUTE - 1);
    await worker.wake();
    expect(calls.of(k)).toEqual([]);

    clock.advance(1);
    await worker.wake();
    expect(calls.of(k)).toMatchObject([{ key: k, kind: 'expire', dueAt: clock.now(), payload: { sessionId: 's-1' }, attempts: 1 }]);
    expect(await store.get(k)).toBeUndefined();

    clock.advance(MINUTE);
    await worker.wake();
    expect(calls.of(k)).toHaveLength(1);
  });

  it('given the system clock, when a timer comes due, then the worker fires it by polling, no earlier than its due time', async () => {
    const firedAt = new Map<string, number>();
    await startWorker({ now: undefined, fire: async (t) => void firedAt.set(t.key, Date.now()) });
    const k = key();
    const dueAt = new Date(Date.now() + 300);
    await store.schedule(sql, { key: k, kind: 'expire', dueAt, payload: {} });

    await waitFor(() => firedAt.has(k), 'the timer to fire');
    expect(firedAt.get(k)).toBeGreaterThanOrEqual(dueAt.getTime());
  });

  it('given a scheduled timer, when it is scheduled again later, then it fires at the new time with the new payload only', async () => {
    const calls = recorder();
    const worker = await startWorker({ fire: calls.fire });
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(10 * MINUTE), payload: { activity: 1 } });
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(20 * MINUTE), payload: { activity: 2 } });

    clock.advance(15 * MINUTE);
    await worker.wake();
    expect(calls.of(k)).toEqual([]);

    clock.advance(5 * MINUTE);
    await worker.wake();
    expect(calls.of(k)).toMatchObject([{ payload: { activity: 2 } }]);
  });

  it('given a scheduled timer, when it is cancelled, then it never fires', async () => {
    const calls = recorder();
    const worker = await startWorker({ fire: calls.fire });
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(MINUTE), payload: {} });
    await store.cancel(sql, k);

    clock.advance(2 * MINUTE);
    await worker.wake();
    expect(calls.of(k)).toEqual([]);
    expect(await store.get(k)).toBeUndefined();
  });

  it('given a handler that fails twice, when the timer fires, then it is retried with backoff, logged, and completed once it succeeds', async () => {
    const { logger, lines } = capturingLogger();
    const attempts: Array<{ attempts: number; lastError: string | null }> = [];
    const worker = await startWorker({
      logger,
      retryBackoff: (attempt) => attempt * 1000,
      fire: async (t) => {
        attempts.push({ attempts: t.attempts, lastError: t.lastError });
        if (t.attempts < 3) throw new Error(`boom ${t.attempts}`);
      },
    });
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.now(), payload: {} });

    await worker.wake();
    expect(attempts).toEqual([{ attempts: 1, lastError: null }]);
    expect(await store.get(k)).toMatchObject({ attempts: 1, lastError: 'boom 1', leasedUntil: clock.at(1000) });

    await worker.wake(); // not yet: the retry waits 1 s
    expect(attempts).toHaveLength(1);

    clock.advance(1000);
    await worker.wake();
    expect(attempts).toEqual([
      { attempts: 1, lastError: null },
      { attempts: 2, lastError: 'boom 1' },
    ]);
    expect(await store.get(k)).toMatchObject({ attempts: 2, lastError: 'boom 2', leasedUntil: clock.at(2000) });

    clock.advance(1999);
    await worker.wake();
    expect(attempts).toHaveLength(2);

    clock.advance(1);
    await worker.wake();
    expect(attempts[2]).toEqual({ attempts: 3, lastError: 'boom 2' });
    expect(await store.get(k)).toBeUndefined();

    const failures = lines.filter((l) => l.msg === 'durable timer handler failed; retrying');
    expect(failures).toMatchObject([
      { level: 50, timer: k, kind: 'expire', attempts: 1, err: { message: 'boom 1' } },
      { level: 50, timer: k, kind: 'expire', attempts: 2, err: { message: 'boom 2' } },
    ]);
  });

  it('given a timer firing, when it is scheduled again meanwhile, then the new schedule is not lost and fires in its turn', async () => {
    const calls = recorder();
    const inHandler = gate();
    let entered = false;
    const worker = await startWorker({
      fire: async (t) => {
        await calls.fire(t);
        if (calls.fired.length === 1) {
          entered = true;
          await inHandler.promise;
        }
      },
    });
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.now(), payload: { activity: 1 } });

    const polled = worker.wake();
    await waitFor(() => entered, 'the handler to start');
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(30 * MINUTE), payload: { activity: 2 } });
    inHandler.release();
    await polled;

    expect(await store.get(k)).toMatchObject({ dueAt: clock.at(30 * MINUTE), payload: { activity: 2 }, attempts: 0, leasedUntil: null });
    clock.advance(30 * MINUTE);
    await worker.wake();
    expect(calls.of(k).map((t) => t.payload)).toEqual([{ activity: 1 }, { activity: 2 }]);
    expect(await store.get(k)).toBeUndefined();
  });

  it('given a handler that schedules its own key again (expire, then end), when it fires, then the next timer stays and fires later', async () => {
    const kinds: string[] = [];
    const worker = await startWorker({
      fire: async (t) => {
        kinds.push(t.kind);
        if (t.kind === 'expire') await store.schedule(sql, { key: t.key, kind: 'end', dueAt: new Date(t.dueAt.getTime() + 10 * MINUTE), payload: t.payload });
      },
    });
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.now(), payload: { sessionId: 's-1' } });

    await worker.wake();
    expect(kinds).toEqual(['expire']);
    expect(await store.get(k)).toMatchObject({ kind: 'end', dueAt: clock.at(10 * MINUTE) });

    clock.advance(10 * MINUTE);
    await worker.wake();
    expect(kinds).toEqual(['expire', 'end']);
    expect(await store.get(k)).toBeUndefined();
  });

  it('given a handler in flight, when the worker stops, then stop waits for it and completes the timer', async () => {
    const inHandler = gate();
    let entered = false;
    const worker = await startWorker({
      fire: async () => {
        entered = true;
        await inHandler.promise;
      },
    });
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.now(), payload: {} });
    void worker.wake();
    await waitFor(() => entered, 'the handler to start');

    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    expect(await store.get(k)).toMatchObject({ leasedUntil: expect.any(Date) });
    expect(stopped).toBe(false);

    inHandler.release();
    await stopping;
    expect(await store.get(k)).toBeUndefined();
  });

  it('given more due timers than a batch, when the worker starts, then it claims batch after batch without waiting for the next poll', async () => {
    const calls = recorder();
    for (let i = 0; i < 23; i++) await store.schedule(sql, { key: `k${i}`, kind: 'expire', dueAt: clock.at(-i), payload: { i } });
    await startWorker({ fire: calls.fire, batchSize: 5, pollMs: 10 * MINUTE });

    await waitFor(() => calls.fired.length === 23, 'every timer to fire');
    expect(new Set(calls.fired.map((t) => t.key)).size).toBe(23);
  });

  it('given the database fails a poll, when the worker polls again, then it logs the failure and fires the timer', async () => {
    const { logger, lines } = capturingLogger();
    let failuresLeft = 1;
    const flaky = new (class extends TimerStore {
      override async claimDue(now: Date, limit: number, leaseMs: number): Promise<ClaimedTimer[]> {
        if (failuresLeft-- > 0) throw new Error('connection refused');
        return super.claimDue(now, limit, leaseMs);
      }
    })(sql);
    const calls = recorder();
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.now(), payload: {} });
    await startWorker({ store: flaky, logger, fire: calls.fire });

    await waitFor(() => calls.of(k).length === 1, 'the timer to fire');
    expect(lines.filter((l) => l.msg === 'polling durable timers failed; retrying')).toMatchObject([{ level: 50, err: { message: 'connection refused' } }]);
  });
});

describe.each(ENGINES)('TimerWorker across a restart (%s)', (engine) => {
  let database: TimerDatabase;
  beforeEach(async () => {
    database = await timerDatabase(engine);
  });
  afterEach(async () => database.dispose());

  it('given a timer scheduled before a restart, when a new client and worker start on the same data, then it fires there', async () => {
    const clock = new ManualClock();
    const before = recorder();
    const sql1 = await database.open();
    const store1 = new TimerStore(sql1);
    const worker1 = new TimerWorker({ store: store1, fire: before.fire, logger: silent, pollMs: 20, now: clock.now });
    await worker1.start();
    const k = key();
    await store1.schedule(sql1, { key: k, kind: 'expire', dueAt: clock.at(30 * MINUTE), payload: { sessionId: 's-1' } });
    await worker1.wake();
    await worker1.stop();
    await sql1.close();

    clock.advance(30 * MINUTE);
    const after = recorder();
    const sql2 = await database.open();
    const store2 = new TimerStore(sql2);
    const worker2 = new TimerWorker({ store: store2, fire: after.fire, logger: silent, pollMs: 20, now: clock.now });
    await worker2.start();
    try {
      await waitFor(() => after.of(k).length > 0, 'the timer to fire after the restart');
      await waitFor(async () => (await store2.get(k)) === undefined, 'the timer to be completed');
      expect(before.of(k)).toEqual([]);
      expect(after.of(k)).toMatchObject([{ key: k, kind: 'expire', payload: { sessionId: 's-1' }, attempts: 1 }]);
    } finally {
      await worker2.stop();
    }
  });

  it('given an instance that died while firing a timer, when another starts on the same data, then it fires the timer again once the lease expired', async () => {
    const clock = new ManualClock();
    const sql1 = await database.open();
    const store1 = new TimerStore(sql1);
    await store1.setup();
    const k = key();
    await store1.schedule(sql1, { key: k, kind: 'expire', dueAt: clock.now(), payload: {} });
    expect(await store1.claimDue(clock.now(), 10, 30_000)).toHaveLength(1); // claimed, then the process "dies"
    await sql1.close();

    const calls = recorder();
    const sql2 = await database.open();
    const worker = new TimerWorker({ store: new TimerStore(sql2), fire: calls.fire, logger: silent, pollMs: 20, now: clock.now });
    await worker.start();
    try {
      clock.advance(29_999);
      await worker.wake();
      expect(calls.of(k)).toEqual([]);

      clock.advance(1);
      await worker.wake();
      expect(calls.of(k)).toMatchObject([{ key: k, attempts: 2 }]);
    } finally {
      await worker.stop();
    }
  });
});

describe.each(ENGINES)('TimerWorker with several instances (%s)', (engine) => {
  let database: TimerDatabase;
  beforeEach(async () => {
    database = await timerDatabase(engine);
  });
  afterEach(async () => database.dispose());

  it('given 200 due timers and three workers on one database, when they run, then every timer fires exactly once', async () => {
    const total = 200;
    // On PostgreSQL each worker has its own client (pool), as separate instances do; PGlite is one
    // connection in one process, shared by the three workers.
    const first = await database.open();
    const clients = engine === 'PostgreSQL' ? [first, await database.open(), await database.open()] : [first, first, first];
    const seed = new TimerStore(first);
    await seed.setup();
    const dueAt = new Date(Date.now() - MINUTE);
    await first.transaction(async (tx) => {
      for (let i = 0; i < total; i++) await seed.schedule(tx, { key: `timer-${i}`, kind: 'expire', dueAt, payload: { i } });
    });

    const calls = new Map<string, number>();
    const byWorker = new Map<string, number>();
    const workers = clients.map(
      (client, i) =>
        new TimerWorker({
          name: `timers-${i}`,
          store: new TimerStore(client),
          logger: silent,
          pollMs: 10,
          batchSize: 10,
          fire: async (t) => {
            calls.set(t.key, (calls.get(t.key) ?? 0) + 1);
            byWorker.set(`timers-${i}`, (byWorker.get(`timers-${i}`) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, 5)); // some work, so the instances overlap
          },
        }),
    );
    await Promise.all(workers.map((w) => w.start()));
    try {
      await waitFor(async () => calls.size === total && (await first.query('SELECT 1 FROM durable_timers LIMIT 1')).rowCount === 0, 'every timer to fire and complete');
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    expect([...calls.values()].filter((n) => n !== 1)).toEqual([]);
    expect([...calls.keys()].sort()).toEqual(Array.from({ length: total }, (_, i) => `timer-${i}`).sort());
    expect(byWorker.size).toBeGreaterThan(1);
  });
});
