import { describe, expect, it, jest } from '@jest/globals';
import { freshPgSchema } from '@svp/testing';
import type { RecordedEvent } from '../event-store.js';
import { freshStream, makeEvents, waitFor } from '../testing/index.js';
import { PostgresEventStore } from './postgres-event-store.js';

describe('PostgresEventStore subscription read-ahead on PostgreSQL', () => {
  it('given a full page, when it is delivered, then the next page is already being read, and every event arrives once, in order', async () => {
    const db = await freshPgSchema('es_ahead');
    const store = await PostgresEventStore.create(db.sql, { pageSize: 2, pollIntervalMs: 60_000 });
    try {
      const stream = freshStream('ahead');
      await store.appendToStream(stream, makeEvents(5));
      const readAll = jest.spyOn(store, 'readAll');
      const received: RecordedEvent[] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const subscription = store.subscribeToAll(async (event) => {
        // The first event is held until the second page has been asked for: without read-ahead
        // that read would come only after this handler returns.
        if (received.length === 0) await held;
        received.push(event);
      });
      try {
        await waitFor(() => readAll.mock.calls.length >= 2, 'the second page to be requested while the first is delivered', 5_000);
      } finally {
        release();
      }
      expect(readAll.mock.calls[1]![0]).toMatchObject({ maxCount: 2 });
      await waitFor(() => received.length === 5, 'every event');
      expect(received.map((e) => e.streamRevision)).toEqual([0n, 1n, 2n, 3n, 4n]);
      // The page read ahead is the one after the full page's last event: nothing skipped, nothing twice.
      expect(readAll.mock.calls.map(([options]) => options?.after)).toEqual([0n, received[1]!.globalPosition, received[3]!.globalPosition]);

      // A short page reaches the head: no read ahead of it; the next read waits for new events.
      await store.appendToStream(stream, makeEvents(1), { expectedRevision: 4n });
      await waitFor(() => received.length === 6, 'the live event (notified)');
      await subscription.stop();
      expect(received.map((e) => e.streamRevision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    } finally {
      await store.close();
      await db.dispose();
    }
  });

  it('given a stop while a page is read ahead, then stop waits for that read and delivers nothing more', async () => {
    const db = await freshPgSchema('es_ahead');
    const store = await PostgresEventStore.create(db.sql, { pageSize: 2, pollIntervalMs: 60_000 });
    try {
      await store.appendToStream(freshStream('ahead'), makeEvents(6));
      const readAll = jest.spyOn(store, 'readAll');
      const received: RecordedEvent[] = [];
      let stopping: Promise<void> | undefined;
      const subscription = store.subscribeToAll(async (event) => {
        received.push(event);
        if (received.length === 1) stopping = subscription.stop();
      });
      await waitFor(() => stopping !== undefined, 'the stop');
      await stopping;
      const settled = await Promise.allSettled(readAll.mock.results.map((result) => result.value as Promise<unknown>));
      expect(settled.every((result) => result.status === 'fulfilled')).toBe(true);
      expect(received).toHaveLength(1);
      await expect(subscription.done).resolves.toBeUndefined();
    } finally {
      await store.close();
      await db.dispose();
    }
  });
});
