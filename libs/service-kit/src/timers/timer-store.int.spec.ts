import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { SqlClient } from '@svp/postgres';
import { ENGINES, ManualClock, timerDatabase, type TimerDatabase } from './__fixtures__/timer-databases.js';
import { type ClaimedTimer, TimerStore } from './timer-store.js';

const LEASE_MS = 30_000;

describe.each(ENGINES)('TimerStore (%s)', (engine) => {
  let database: TimerDatabase;
  let sql: SqlClient;
  let store: TimerStore;
  let clock: ManualClock;
  const key = () => `session-expiry:${randomUUID()}`;

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

  it('given the table exists, when setup runs again (also from another store at once), then nothing changes', async () => {
    await store.schedule(sql, { key: 'k', kind: 'expire', dueAt: clock.at(0), payload: {} });
    await Promise.all([store.setup(), new TimerStore(sql).setup(), new TimerStore(sql).setup()]);
    expect(await store.get('k')).toMatchObject({ key: 'k', kind: 'expire' });
  });

  it('given two stores on their own tables in one database (services sharing the embedded database), when both have due timers, then each claims only its own', async () => {
    const other = new TimerStore(sql, 'variables_timers_check');
    await other.setup();
    await store.schedule(sql, { key: 'mine', kind: 'expire', dueAt: clock.at(0), payload: {} });
    await other.schedule(sql, { key: 'theirs', kind: 'delete', dueAt: clock.at(0), payload: {} });
    expect((await store.claimDue(clock.at(1), 10, LEASE_MS)).map((t) => t.key)).toEqual(['mine']);
    expect((await other.claimDue(clock.at(1), 10, LEASE_MS)).map((t) => t.key)).toEqual(['theirs']);
    expect(await store.get('theirs')).toBeUndefined();
    await sql.exec('DROP TABLE variables_timers_check');
  });

  it('given a scheduled timer, when claiming before its due time, then nothing is claimed; at its due time, it is', async () => {
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(60_000), payload: { sessionId: 's-1', n: 1 } });

    expect(await store.claimDue(clock.at(59_999), 10, LEASE_MS)).toEqual([]);

    const claimed = await store.claimDue(clock.at(60_000), 10, LEASE_MS);
    expect(claimed).toEqual([
      {
        key: k,
        kind: 'expire',
        dueAt: clock.at(60_000),
        payload: { sessionId: 's-1', n: 1 },
        attempts: 1,
        lastError: null,
        leasedUntil: clock.at(60_000 + LEASE_MS),
        claim: expect.any(String),
      },
    ]);
  });

  it('given due timers, when claiming with a limit, then the earliest are claimed first', async () => {
    for (const [i, offset] of [30, 10, 20, 40].entries())
      await store.schedule(sql, { key: `k${i}`, kind: 'expire', dueAt: clock.at(offset), payload: null });
    const claimed = await store.claimDue(clock.at(100), 3, LEASE_MS);
    expect(claimed.map((t) => t.key)).toEqual(['k1', 'k2', 'k0']);
    expect((await store.claimDue(clock.at(100), 3, LEASE_MS)).map((t) => t.key)).toEqual(['k3']);
  });

  it('given a claimed timer, when claiming again, then it is not claimed while leased, and is again once the lease expired', async () => {
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(0), payload: {} });
    const [first] = await store.claimDue(clock.at(0), 10, LEASE_MS);
    expect(first!.attempts).toBe(1);

    expect(await store.claimDue(clock.at(LEASE_MS - 1), 10, LEASE_MS)).toEqual([]);
    const [again] = await store.claimDue(clock.at(LEASE_MS), 10, LEASE_MS);
    expect(again).toMatchObject({ key: k, attempts: 2 });

    // The first claim is stale: it can neither complete nor fail the timer the second one holds.
    expect(await store.complete(first!)).toBe(false);
    expect(await store.fail(first!, 'late', clock.at(1))).toBe(false);
    expect(await store.complete(again!)).toBe(true);
    expect(await store.get(k)).toBeUndefined();
  });

  it('given a scheduled timer, when it is scheduled again, then the new schedule replaces it (due time, kind, payload, attempts)', async () => {
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(10_000), payload: { v: 1 } });
    await store.schedule(sql, { key: k, kind: 'end', dueAt: clock.at(20_000), payload: { v: 2 } });

    expect(await store.claimDue(clock.at(15_000), 10, LEASE_MS)).toEqual([]);
    expect(await store.get(k)).toMatchObject({ kind: 'end', dueAt: clock.at(20_000), payload: { v: 2 }, attempts: 0, leasedUntil: null });
    expect(await store.claimDue(clock.at(20_000), 10, LEASE_MS)).toMatchObject([{ key: k, kind: 'end', payload: { v: 2 }, attempts: 1 }]);
  });

  it('given a claimed timer, when it is scheduled again while firing (even for the same due time), then completing the claim keeps the new schedule', async () => {
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(0), payload: { v: 1 } });
    const [claimed] = await store.claimDue(clock.at(0), 10, LEASE_MS);

    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(0), payload: { v: 2 } });

    expect(await store.complete(claimed!)).toBe(false);
    expect(await store.fail(claimed!, 'boom', clock.at(LEASE_MS))).toBe(false);
    expect(await store.get(k)).toMatchObject({ payload: { v: 2 }, attempts: 0, leasedUntil: null, lastError: null });
    // The new schedule is not held by the old lease: it is due at once.
    expect(await store.claimDue(clock.at(0), 10, LEASE_MS)).toMatchObject([{ key: k, payload: { v: 2 }, attempts: 1 }]);
  });

  it('given a scheduled timer, when it is cancelled, then it is gone and a claim in flight cannot bring it back', async () => {
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(0), payload: {} });
    const [claimed] = await store.claimDue(clock.at(0), 10, LEASE_MS);

    expect(await store.cancel(sql, k)).toBe(true);
    expect(await store.cancel(sql, k)).toBe(false);
    expect(await store.fail(claimed!, 'boom', clock.at(1))).toBe(false);
    expect(await store.complete(claimed!)).toBe(false);
    expect(await store.get(k)).toBeUndefined();
    expect(await store.claimDue(clock.at(LEASE_MS * 2), 10, LEASE_MS)).toEqual([]);
  });

  it('given a claimed timer, when its firing fails, then the error is kept and it is held until the retry time, its due time unchanged', async () => {
    const k = key();
    await store.schedule(sql, { key: k, kind: 'expire', dueAt: clock.at(0), payload: {} });
    const [claimed] = await store.claimDue(clock.at(0), 10, LEASE_MS);

    expect(await store.fail(claimed!, 'decider unavailable', clock.at(5_000))).toBe(true);
    expect(await store.get(k)).toMatchObject({ dueAt: clock.at(0), leasedUntil: clock.at(5_000), attempts: 1, lastError: 'decider unavailable' });

    expect(await store.claimDue(clock.at(4_999), 10, LEASE_MS)).toEqual([]);
    const [retry] = await store.claimDue(clock.at(5_000), 10, LEASE_MS);
    expect(retry).toMatchObject({ key: k, dueAt: clock.at(0), attempts: 2, lastError: 'decider unavailable' });
    expect(await store.complete(retry!)).toBe(true);
  });

  it("given the caller's transaction, when it rolls back, then nothing is scheduled or cancelled; when it commits, then it is", async () => {
    const k = key();
    await expect(
      sql.transaction(async (tx) => {
        await store.schedule(tx, { key: k, kind: 'expire', dueAt: clock.at(0), payload: {} });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await store.get(k)).toBeUndefined();

    await sql.transaction((tx) => store.schedule(tx, { key: k, kind: 'expire', dueAt: clock.at(0), payload: {} }));
    await expect(
      sql.transaction(async (tx) => {
        await store.cancel(tx, k);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await store.get(k)).toMatchObject({ key: k });
  });

  it('given concurrent claimers, when they claim the same due timers at once, then each timer is claimed by exactly one', async () => {
    const total = 300;
    await sql.transaction(async (tx) => {
      for (let i = 0; i < total; i++) await store.schedule(tx, { key: `k${i}`, kind: 'expire', dueAt: clock.at(-i), payload: { i } });
    });
    // On PostgreSQL each claimer has its own pool (as separate instances would); PGlite has one connection.
    const claimers = engine === 'PostgreSQL' ? [store, ...(await Promise.all([database.open(), database.open()])).map((c) => new TimerStore(c))] : [store, store, store];
    const claimedBy = claimers.map(() => [] as ClaimedTimer[]);
    await Promise.all(
      claimers.map(async (claimer, i) => {
        for (;;) {
          const batch = await claimer.claimDue(clock.at(0), 7, LEASE_MS);
          if (batch.length === 0) return;
          claimedBy[i]!.push(...batch);
        }
      }),
    );
    const keys = claimedBy.flat().map((t) => t.key);
    expect(keys).toHaveLength(total);
    expect(new Set(keys).size).toBe(total);
    expect(claimedBy.flat().every((t) => t.attempts === 1)).toBe(true);
  });
});
