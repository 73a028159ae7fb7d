import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostgresEventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { PGliteSqlClient } from '@svp/postgres';
import { freshPgSchema } from '@svp/testing';
import { type StreamCommand, type StreamFold, StreamWriter } from './stream-writer.js';

// A tiny aggregate: a set of keys, each written once per value; a key named "bad" is refused.
type Event = { type: 'KeySet'; data: { key: string; value: number } };
type State = Record<string, number>;
const fold: StreamFold<State, Event> = { initial: () => ({}), evolve: (s, e) => ({ ...s, [e.data.key]: e.data.value }) };
const setKey = (key: string, value: number, causationId?: string): StreamCommand<State, Event, string> => ({
  decide: (state) => (key === 'bad' ? { ok: false, error: 'refused' } : state[key] === value ? { ok: true, events: [] } : { ok: true, events: [{ type: 'KeySet', data: { key, value } }] }),
  metadata: { orgId: 'org1', ...(causationId ? { causationId } : {}) },
});

const engines = [
  ['PGlite', async () => {
    const sql = await PGliteSqlClient.open();
    const store = await PostgresEventStore.create(sql, { pollIntervalMs: 50 });
    return { store, dispose: async () => { await store.close(); await sql.close(); } };
  }],
  ['PostgreSQL', async () => {
    const db = await freshPgSchema('writer', { max: 10 });
    const store = await PostgresEventStore.create(db.sql, { pollIntervalMs: 50 });
    return { store, dispose: async () => { await store.close(); await db.dispose(); } };
  }],
] as const;

describe.each(engines)('StreamWriter on %s', (_name, open) => {
  let fixture: Awaited<ReturnType<(typeof engines)[number][1]>>;
  beforeAll(async () => {
    fixture = await open();
  });
  afterAll(async () => fixture?.dispose());

  it('given 200 concurrent commands on one stream, when they run, then every one succeeds and every value is stored once, in fewer appends than commands', async () => {
    const stream = `test-${randomUUID()}`;
    const writer = new StreamWriter(fixture.store);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => writer.run(stream, fold, setKey(`k${i}`, i))));
    expect(results.every((r) => r.ok)).toBe(true);
    const events = await fixture.store.readStream(stream);
    expect(events).toHaveLength(200);
    expect(new Set(events.map((e) => (e.data as Event['data']).key)).size).toBe(200);
    // Group commit: the queue batched them (the first alone, the others behind it), so there were a
    // few appends, not 200 (the events of one append share its transaction's time).
    const appends = new Set(events.map((e) => e.recordedAt.getTime())).size;
    expect(appends).toBeLessThan(20);
    // Each answer's position holds its own event (read-your-writes can wait for it).
    const positions = new Map(events.map((e) => [(e.data as Event['data']).key, e.globalPosition]));
    results.forEach((r, i) => expect(r.ok && r.position >= positions.get(`k${i}`)!).toBe(true));
    expect(writer.pending).toBe(0);
  });

  it('given the same key written concurrently with different values, when they run, then each decides on the state the one before left (last writer wins, versions in order)', async () => {
    const stream = `test-${randomUUID()}`;
    const writer = new StreamWriter(fixture.store);
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.run(stream, fold, setKey('same', i))));
    const events = await fixture.store.readStream(stream);
    expect(events.map((e) => (e.data as Event['data']).value)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('given a refused command in a batch, when the batch is written, then only that one fails and the others are stored', async () => {
    const stream = `test-${randomUUID()}`;
    const writer = new StreamWriter(fixture.store);
    const [a, bad, b] = await Promise.all([writer.run(stream, fold, setKey('a', 1)), writer.run(stream, fold, setKey('bad', 1)), writer.run(stream, fold, setKey('b', 2))]);
    expect([a.ok, bad, b.ok]).toEqual([true, { ok: false, error: 'refused' }, true]);
    expect((await fixture.store.readStream(stream)).map((e) => (e.data as Event['data']).key)).toEqual(['a', 'b']);
  });

  it('given a command whose decision throws, when it is batched with others, then only it fails', async () => {
    const stream = `test-${randomUUID()}`;
    const writer = new StreamWriter(fixture.store);
    const broken: StreamCommand<State, Event, string> = { decide: () => { throw new Error('decider bug'); }, metadata: { orgId: 'org1' } };
    const [a, bad, b] = await Promise.allSettled([writer.run(stream, fold, setKey('a', 1)), writer.run(stream, fold, broken), writer.run(stream, fold, setKey('b', 2))]);
    expect([a.status, bad.status, b.status]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((bad as PromiseRejectedResult).reason).toEqual(new Error('decider bug'));
    expect((await fixture.store.readStream(stream)).map((e) => (e.data as Event['data']).key)).toEqual(['a', 'b']);
  });

  it('given a command whose event the database refuses, when it is batched with others, then only it fails and the others are stored', async () => {
    const stream = `test-${randomUUID()}`;
    const writer = new StreamWriter(fixture.store);
    // Hold the queue with a first command so the next three are written as one batch.
    const first = writer.run(stream, fold, setKey('first', 0));
    const [a, bad, b] = await Promise.allSettled([writer.run(stream, fold, setKey('a', 1)), writer.run(stream, fold, setKey('nul\u0000key', 1)), writer.run(stream, fold, setKey('b', 2))]);
    await first;
    expect([a.status, bad.status, b.status]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await fixture.store.readStream(stream)).map((e) => (e.data as Event['data']).key)).toEqual(['first', 'a', 'b']);
  });

  it('given an append that was stored but reported a failure (the connection dropped after the commit), then it is retried as it was: nothing is written twice', async () => {
    const stream = `test-${randomUUID()}`;
    const flaky = Object.create(fixture.store) as typeof fixture.store;
    let failures = 0;
    flaky.appendToStream = async (...args: Parameters<typeof fixture.store.appendToStream>) => {
      const result = await fixture.store.appendToStream(...args);
      if (failures++ === 0) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      return result;
    };
    const writer = new StreamWriter(flaky);
    const first = writer.run(stream, fold, setKey('first', 0));
    const results = await Promise.all([first, writer.run(stream, fold, setKey('x', 1)), writer.run(stream, fold, setKey('y', 2))]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await fixture.store.readStream(stream)).map((e) => (e.data as Event['data']).key)).toEqual(['first', 'x', 'y']);
  });

  it('given an append whose outcome stays unknown (the retry fails the same way), then the batch fails as a whole, never written twice', async () => {
    const stream = `test-${randomUUID()}`;
    const down = Object.create(fixture.store) as typeof fixture.store;
    down.appendToStream = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    const writer = new StreamWriter(down);
    const first = writer.run(stream, fold, setKey('first', 0));
    const outcomes = await Promise.allSettled([first, writer.run(stream, fold, setKey('x', 1)), writer.run(stream, fold, setKey('y', 2))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await fixture.store.readStream(stream)).toEqual([]);
  });

  it('given two writers (two processes) on one stream, when both write concurrently, then conflicts are retried and nothing acknowledged is lost', async () => {
    const stream = `test-${randomUUID()}`;
    const [one, two] = [new StreamWriter(fixture.store), new StreamWriter(fixture.store)];
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? one : two).run(stream, fold, setKey(`k${i}`, i))));
    const acknowledged = results.flatMap((r, i) => (r.ok ? [`k${i}`] : []));
    expect(acknowledged).toHaveLength(60);
    const stored = new Set((await fixture.store.readStream(stream)).map((e) => (e.data as Event['data']).key));
    for (const key of acknowledged) expect(stored.has(key)).toBe(true);
  });

  it('given conflicts that outlast the retries, when a batch cannot be written, then it fails with the conflict (nothing half-stored)', async () => {
    const stream = `test-${randomUUID()}`;
    // A store whose every append loses the race.
    const losing = Object.create(fixture.store) as typeof fixture.store;
    losing.appendToStream = async () => {
      throw new WrongExpectedRevisionError(stream, 'no_stream', 0n);
    };
    const writer = new StreamWriter(losing, { maxConflictRetries: 3, conflictBackoff: () => 0 });
    await expect(writer.run(stream, fold, setKey('a', 1))).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(await fixture.store.readStream(stream)).toEqual([]);
    expect(writer.pending).toBe(0);
  });

  it('given a command whose cause is already in the stream (a redelivered message), when it runs again, then it decides nothing, even after a later write', async () => {
    const stream = `test-${randomUUID()}`;
    const writer = new StreamWriter(fixture.store);
    const cause = randomUUID();
    await writer.run(stream, fold, setKey('a', 1, cause));
    await writer.run(stream, fold, setKey('a', 2));
    const again = await writer.run(stream, fold, setKey('a', 1, cause));
    expect(again).toMatchObject({ ok: true, events: [], duplicate: true });
    // The same cause twice at once: whichever is decided second is the duplicate.
    const cause2 = randomUUID();
    const [first, second] = await Promise.all([writer.run(stream, fold, setKey('b', 1, cause2)), writer.run(stream, fold, setKey('b', 9, cause2))]);
    expect([first.ok && first.duplicate, second.ok && second.duplicate]).toEqual([false, true]);
    expect((await fixture.store.readStream(stream)).map((e) => (e.data as Event['data']).value)).toEqual([1, 2, 1]);
  });
});
