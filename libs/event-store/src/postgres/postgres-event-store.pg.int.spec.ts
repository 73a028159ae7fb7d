import { describe, expect, it } from '@jest/globals';
import { freshPgSchema } from '@svp/testing';
import type { RecordedEvent } from '../event-store.js';
import { describeEventStoreContract, freshStream, makeEvents, waitFor } from '../testing/index.js';
import { expectRecordedAtTruncatedToTheMillisecond } from './__fixtures__/recorded-at.js';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';

/** A store on a fresh schema of the real server; dispose drops the schema. */
async function openStore(options: PostgresEventStoreOptions = {}) {
  const db = await freshPgSchema('es', { max: 12 });
  const { sql } = db;
  const store = await PostgresEventStore.create(sql, options);
  const dispose = async (): Promise<void> => {
    await store.close();
    await db.dispose();
  };
  return { sql, store, dispose };
}

describeEventStoreContract('PostgreSQL (pg)', () => openStore());

describe('PostgresEventStore on PostgreSQL', () => {
  it('given several subscriptions sharing page reads, when appends race the reads, then every subscription gets every event once, in order, without the poll', async () => {
    // A subscription must not join a read that started before a notification it has taken: the poll
    // (60 s here) would be the only way to the events that notification announced.
    const { store, dispose } = await openStore({ pollIntervalMs: 60_000 });
    const subscriptions: { stop(): Promise<void> }[] = [];
    try {
      const seen: bigint[][] = Array.from({ length: 6 }, () => []);
      for (const list of seen) subscriptions.push(store.subscribeToAll(async (event) => void list.push(event.globalPosition)));
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const stream = freshStream('race-shared');
          let revision: bigint | 'no_stream' = 'no_stream';
          for (let i = 0; i < 25; i++) revision = (await store.appendToStream(stream, makeEvents(1), { expectedRevision: revision })).nextExpectedRevision;
        }),
      );
      const all = (await store.readAll()).map((event) => event.globalPosition);
      expect(all).toHaveLength(200);
      await waitFor(() => seen.every((list) => list.length >= all.length), 'every subscription to get all 200 events (not waiting for the poll)', 15_000);
      for (const list of seen) expect(list).toEqual(all);
      expect(store.sharedReads.joined).toBeGreaterThan(0);
    } finally {
      for (const subscription of subscriptions) await subscription.stop();
      await dispose();
    }
  });

  it('given several subscriptions at the head, when events are appended, then each page is read from the database once and every subscription gets every event', async () => {
    const { store, dispose } = await openStore({ pollIntervalMs: 60_000 });
    const subscriptions: { stop(): Promise<void> }[] = [];
    try {
      const seen: RecordedEvent[][] = Array.from({ length: 6 }, () => []);
      let heads = 0;
      for (const list of seen) {
        subscriptions.push(store.subscribeToAll(async (event) => void list.push(event), { onHead: () => void heads++ }));
      }
      await waitFor(() => heads >= 6, 'the subscriptions to reach the (empty) head');
      const before = { ...store.sharedReads };

      const stream = freshStream('shared');
      let revision: bigint | 'no_stream' = 'no_stream';
      for (let i = 0; i < 20; i++) {
        revision = (await store.appendToStream(stream, makeEvents(1), { expectedRevision: revision })).nextExpectedRevision;
        const head = await store.headPosition();
        await waitFor(() => seen.every((list) => list.at(-1)?.globalPosition === head), `every subscription to get event ${i}`);
      }

      const positions = seen[0]!.map((event) => event.globalPosition);
      expect(positions).toHaveLength(20);
      for (const list of seen) expect(list.map((event) => event.globalPosition)).toEqual(positions);
      const queried = store.sharedReads.queried - before.queried;
      const joined = store.sharedReads.joined - before.joined;
      // One notification wakes all six at once: five of them join the first one's read, nearly every time.
      expect(joined).toBeGreaterThan(queried * 2);
      expect(queried).toBeLessThan(20 * 6 * 0.5);
    } finally {
      for (const subscription of subscriptions) await subscription.stop();
      await dispose();
    }
  });

  it('given events appended by concurrent transactions, when the log is read while they commit, then no event is skipped or repeated', async () => {
    const { store, dispose } = await openStore();
    try {
      // Given: 8 writers, each appending 20 batches of 10 events to its own stream, all at once.
      const appended: string[] = [];
      const writers = Array.from({ length: 8 }, async () => {
        const stream = freshStream('race');
        let revision: bigint | 'no_stream' = 'no_stream';
        for (let i = 0; i < 20; i++) {
          const events = makeEvents(10);
          const result = await store.appendToStream(stream, events, { expectedRevision: revision });
          revision = result.nextExpectedRevision;
          appended.push(...events.map((e) => e.eventId));
        }
      });
      const subscribed: RecordedEvent[] = [];
      const subscription = store.subscribeToAll(async (event) => {
        subscribed.push(event);
      });

      // When: a reader pages through the log with a checkpoint, in a tight loop, while they commit.
      const polled: RecordedEvent[] = [];
      let writing = true;
      const allWritten = Promise.all(writers).finally(() => (writing = false));
      let checkpoint = 0n;
      for (;;) {
        const stillWriting = writing;
        const page = await store.readAll({ after: checkpoint, maxCount: 37 });
        polled.push(...page);
        if (page.length > 0) checkpoint = page[page.length - 1]!.globalPosition;
        else if (!stillWriting) break;
      }
      await allWritten;
      const head = await store.headPosition();
      await waitFor(() => subscribed.at(-1)?.globalPosition === head, 'the subscription to reach the head');
      await subscription.stop();

      // Then: both readers saw every event exactly once, in strictly increasing positions.
      expect(appended).toHaveLength(1_600);
      for (const seen of [polled, subscribed]) {
        expect(seen.map((e) => e.eventId).sort()).toEqual([...appended].sort());
        for (let i = 1; i < seen.length; i++) expect(seen[i]!.globalPosition).toBeGreaterThan(seen[i - 1]!.globalPosition);
      }
    } finally {
      await dispose();
    }
  }, 30_000);

  it('signals the head after the catch-up and after every live delivery that reached it, so batching consumers need not linger', async () => {
    const { store, dispose } = await openStore({ pollIntervalMs: 60_000 });
    try {
      const stream = freshStream('head');
      await store.appendToStream(stream, makeEvents(3));
      const seen: string[] = [];
      const subscription = store.subscribeToAll(async (event) => void seen.push(`event ${event.streamRevision}`), {
        onCaughtUp: () => seen.push('caught up'),
        onHead: () => seen.push('head'),
      });
      await waitFor(() => seen.includes('head'), 'the head after the catch-up');
      await store.appendToStream(stream, makeEvents(1));
      await waitFor(() => seen.filter((s) => s === 'head').length === 2, 'the head after the live event');
      await subscription.stop();
      expect(seen).toEqual(['event 0', 'event 1', 'event 2', 'caught up', 'head', 'event 3', 'head']);
    } finally {
      await dispose();
    }
  });

  it('given a deleted stream, then its events are gone from the global log and it restarts at revision 0', async () => {
    const { store, dispose } = await openStore();
    try {
      const stream = freshStream();
      const kept = freshStream();
      await store.appendToStream(stream, makeEvents(3), { expectedRevision: 'no_stream' });
      await store.appendToStream(kept, makeEvents(1), { expectedRevision: 'no_stream' });

      await store.deleteStream(stream);

      expect((await store.readAll()).map((e) => e.streamName)).toEqual([kept]);
      const again = await store.appendToStream(stream, makeEvents(1), { expectedRevision: 'no_stream' });
      expect(again.nextExpectedRevision).toBe(0n);
      expect((await store.readStream(stream)).map((e) => e.streamRevision)).toEqual([0n]);
    } finally {
      await dispose();
    }
  });

  it('given a live subscription with a long poll interval, when an event is appended, then NOTIFY wakes it', async () => {
    const { store, dispose } = await openStore({ pollIntervalMs: 60_000 });
    try {
      const received: RecordedEvent[] = [];
      let caughtUp = false;
      const subscription = store.subscribeToAll(async (e) => void received.push(e), { onCaughtUp: () => (caughtUp = true) });
      await waitFor(() => caughtUp, 'catch-up');

      const events = makeEvents(1);
      await store.appendToStream(freshStream(), events, { expectedRevision: 'no_stream' });

      await waitFor(() => received.length === 1, 'the notified event', 5_000);
      expect(received[0]!.eventId).toBe(events[0]!.eventId);
      await subscription.stop();
    } finally {
      await dispose();
    }
  });

  it('given a lost notification, then the poll fallback still delivers the event', async () => {
    const { sql, store, dispose } = await openStore({ pollIntervalMs: 100 });
    try {
      const received: RecordedEvent[] = [];
      let caughtUp = false;
      const subscription = store.subscribeToAll(async (e) => void received.push(e), { onCaughtUp: () => (caughtUp = true) });
      await waitFor(() => caughtUp, 'catch-up');

      // An event written without NOTIFY, as if the notification had been lost.
      await sql.query(
        `INSERT INTO es_events (stream_name, stream_revision, event_id, event_type, data, metadata)
         VALUES ($1, 0, gen_random_uuid(), 'Silent', '{}', '{}')`,
        [freshStream()],
      );

      await waitFor(() => received.length === 1, 'the polled event', 5_000);
      expect(received[0]!.type).toBe('Silent');
      await subscription.stop();
    } finally {
      await dispose();
    }
  });

  it('rejects bad input with clear errors, never a raw database error', async () => {
    const { store, dispose } = await openStore();
    try {
      const [event] = makeEvents(1);
      await store.appendToStream(freshStream(), [event!], { expectedRevision: 'no_stream' });

      await expect(
        store.appendToStream(freshStream(), [{ ...event!, eventId: 'not-a-uuid' }]),
      ).rejects.toThrow("Event id 'not-a-uuid' is not a UUID");
      await expect(store.appendToStream(freshStream(), [event!])).rejects.toThrow(/event ids already stored/);
    } finally {
      await dispose();
    }
  });

  it('given an empty batch, then nothing is written but the expected revision is still checked', async () => {
    const { store, dispose } = await openStore();
    try {
      const stream = freshStream();
      expect(await store.appendToStream(stream, [], { expectedRevision: 'no_stream' })).toEqual({
        nextExpectedRevision: -1n,
        lastGlobalPosition: 0n,
      });
      const written = await store.appendToStream(stream, makeEvents(2), { expectedRevision: 'no_stream' });

      expect(await store.appendToStream(stream, [], { expectedRevision: 1n })).toEqual(written);
      await expect(store.appendToStream(stream, [], { expectedRevision: 0n })).rejects.toThrow('expected 0, actual 1');
      expect(await store.streamRevision(stream)).toBe(1n);
    } finally {
      await dispose();
    }
  });

  it('reads recorded_at to the millisecond it falls in (truncated, as a Date holds it), on pg', async () => {
    const { sql, store, dispose } = await openStore();
    try {
      await expectRecordedAtTruncatedToTheMillisecond(sql, store);
    } finally {
      await dispose();
    }
  });

  it('given a handler that returns nothing, then the events of a page follow each other without a turn of the microtask queue', async () => {
    const { store, dispose } = await openStore();
    try {
      await store.appendToStream(freshStream(), makeEvents(5), { expectedRevision: 'no_stream' });
      const seen: string[] = [];
      let caughtUp = false;
      const subscription = store.subscribeToAll(
        (event) => {
          // A microtask queued at the first event runs only once the handler is awaited or the page ends.
          if (seen.length === 0) queueMicrotask(() => seen.push('microtask'));
          seen.push(String(event.streamRevision));
        },
        { onCaughtUp: () => (caughtUp = true) },
      );
      await waitFor(() => caughtUp, 'catch-up');
      await subscription.stop();

      expect(seen).toEqual(['0', '1', '2', '3', '4', 'microtask']);
    } finally {
      await dispose();
    }
  });

  it('create() is idempotent: a second store on the same schema sees the same log', async () => {
    const { sql, store, dispose } = await openStore();
    try {
      const stream = freshStream();
      await store.appendToStream(stream, makeEvents(2), { expectedRevision: 'no_stream' });

      const again = await PostgresEventStore.create(sql);

      expect(await again.streamRevision(stream)).toBe(1n);
    } finally {
      await dispose();
    }
  });
});
