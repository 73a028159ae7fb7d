import { describe, expect, it } from '@jest/globals';
import type { SqlClient } from '@svp/postgres';
import { freshPgSchema } from '@svp/testing';
import { freshStream, makeEvents } from '../testing/index.js';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';

/** The real client, counting the transactions it runs (nothing else changes). */
function counting(sql: SqlClient): { sql: SqlClient; transactions: () => number } {
  let transactions = 0;
  const wrapped = new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'transaction')
        return (fn: Parameters<SqlClient['transaction']>[0]) => {
          transactions++;
          return target.transaction(fn);
        };
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { sql: wrapped, transactions: () => transactions };
}

async function openStores(count: number, options: PostgresEventStoreOptions = {}) {
  const db = await freshPgSchema('gc', { max: 12 });
  const counted = counting(db.sql);
  const stores = [];
  for (let i = 0; i < count; i++) stores.push(await PostgresEventStore.create(counted.sql, options));
  return {
    stores,
    transactions: counted.transactions,
    dispose: async () => {
      for (const store of stores) await store.close();
      await db.dispose();
    },
  };
}

describe('PostgresEventStore group commit', () => {
  it('given 64 appends to 64 streams in flight at once, then they are written in far fewer transactions than appends, every one stored', async () => {
    const { stores, transactions, dispose } = await openStores(1);
    const [store] = stores as [PostgresEventStore];
    try {
      const before = transactions();
      const appends = Array.from({ length: 64 }, () => ({ stream: freshStream('gc'), events: makeEvents(1) }));
      const results = await Promise.all(appends.map(({ stream, events }) => store.appendToStream(stream, events, { expectedRevision: 'no_stream' })));

      const used = transactions() - before;
      expect(used).toBeLessThanOrEqual(8);
      expect(store.groupCommits.appends).toBeGreaterThanOrEqual(64 - used);
      expect(new Set(results.map((r) => r.lastGlobalPosition)).size).toBe(64);
      for (const { stream, events } of appends) expect((await store.readStream(stream)).map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    } finally {
      await dispose();
    }
  });

  it('given group commit off, then every append is a transaction of its own', async () => {
    const { stores, transactions, dispose } = await openStores(1, { groupCommit: false });
    const [store] = stores as [PostgresEventStore];
    try {
      const before = transactions();
      await Promise.all(Array.from({ length: 20 }, () => store.appendToStream(freshStream('solo'), makeEvents(1), { expectedRevision: 'no_stream' })));
      expect(transactions() - before).toBe(20);
      expect(store.groupCommits.batches).toBe(0);
    } finally {
      await dispose();
    }
  });

  it('given an exact re-append and an event id already in another stream inside one batch, then the re-append answers the stored result and the clash alone is refused', async () => {
    const { stores, dispose } = await openStores(1);
    const [store] = stores as [PostgresEventStore];
    try {
      const stream = freshStream('stored');
      const stored = makeEvents(2);
      const first = await store.appendToStream(stream, stored, { expectedRevision: 'no_stream' });
      const others = Array.from({ length: 10 }, () => ({ stream: freshStream('other'), events: makeEvents(1) }));

      const [reappend, clash, ...rest] = await Promise.allSettled([
        store.appendToStream(stream, stored, { expectedRevision: 'no_stream' }),
        store.appendToStream(freshStream('clash'), [stored[0]!], { expectedRevision: 'any' }),
        ...others.map(({ stream: s, events }) => store.appendToStream(s, events, { expectedRevision: 'no_stream' })),
      ]);

      expect(reappend).toEqual({ status: 'fulfilled', value: first });
      expect(clash).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('already stored') } });
      for (const outcome of rest) expect(outcome.status).toBe('fulfilled');
      expect(store.groupCommits.batches).toBeGreaterThan(0);
      expect((await store.readStream(stream)).map((e) => e.eventId)).toEqual(stored.map((e) => e.eventId));
    } finally {
      await dispose();
    }
  });

  it('given two processes batching appends to the same streams at once, then nothing deadlocks and every stream holds every event once, in revision order', async () => {
    const { stores, dispose } = await openStores(2);
    try {
      const streams = Array.from({ length: 12 }, () => freshStream('shared'));
      // Each process appends to every stream, 5 rounds, in opposite stream orders.
      const written = await Promise.all(
        stores.map((store, s) =>
          Promise.all(
            Array.from({ length: 5 }, () => (s === 0 ? streams : [...streams].reverse())).flatMap((order) =>
              order.map(async (stream) => {
                const events = makeEvents(1);
                await store.appendToStream(stream, events, { expectedRevision: 'any' });
                return { stream, id: events[0]!.eventId };
              }),
            ),
          ),
        ),
      );
      const all = written.flat();
      expect(all).toHaveLength(2 * 5 * 12);
      for (const stream of streams) {
        const read = await stores[0]!.readStream(stream);
        expect(read.map((e) => e.streamRevision)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
        expect(new Set(read.map((e) => e.eventId))).toEqual(new Set(all.filter((w) => w.stream === stream).map((w) => w.id)));
      }
    } finally {
      await dispose();
    }
  });
});
