import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PGliteSqlClient } from '@svp/postgres';
import type { RecordedEvent } from '../event-store.js';
import { describeEventStoreContract, freshStream, makeEvents, waitFor } from '../testing/index.js';
import { expectRecordedAtTruncatedToTheMillisecond } from './__fixtures__/recorded-at.js';
import { PostgresEventStore } from './postgres-event-store.js';

// The same adapter on embedded PGlite, in memory. One instance for the contract suite and one for the
// PGlite-specific tests (an instance takes about a second to start).
describeEventStoreContract('PGlite', async () => {
  const sql = await PGliteSqlClient.open();
  const store = await PostgresEventStore.create(sql);
  return {
    store,
    dispose: async () => {
      await store.close();
      await sql.close();
    },
  };
});

describe('PostgresEventStore on PGlite', () => {
  let sql: PGliteSqlClient;
  let store: PostgresEventStore;

  beforeAll(async () => {
    sql = await PGliteSqlClient.open();
    // A long poll interval: a live event arriving quickly proves the in-process NOTIFY works.
    store = await PostgresEventStore.create(sql, { pollIntervalMs: 60_000 });
  }, 60_000);
  afterAll(async () => {
    await store.close();
    await sql.close();
  });

  it('given a deleted stream, then its events are gone from the global log and it restarts at revision 0', async () => {
    const stream = freshStream();
    const kept = freshStream();
    const start = await store.headPosition();
    await store.appendToStream(stream, makeEvents(3), { expectedRevision: 'no_stream' });
    await store.appendToStream(kept, makeEvents(1), { expectedRevision: 'no_stream' });

    await store.deleteStream(stream);

    expect((await store.readAll({ after: start })).map((e) => e.streamName)).toEqual([kept]);
    const again = await store.appendToStream(stream, makeEvents(1), { expectedRevision: 'no_stream' });
    expect(again.nextExpectedRevision).toBe(0n);
  });

  it('given a live subscription, when an event is appended, then NOTIFY wakes it before the poll would', async () => {
    const received: RecordedEvent[] = [];
    let caughtUp = false;
    const subscription = store.subscribeToAll(async (e) => void received.push(e), {
      after: await store.headPosition(),
      onCaughtUp: () => (caughtUp = true),
    });
    await waitFor(() => caughtUp, 'catch-up');

    const events = makeEvents(1);
    await store.appendToStream(freshStream(), events, { expectedRevision: 'no_stream' });

    await waitFor(() => received.length === 1, 'the notified event', 5_000);
    expect(received[0]!.eventId).toBe(events[0]!.eventId);
    await subscription.stop();
  });

  it('reads recorded_at to the millisecond it falls in (truncated, as a Date holds it), on PGlite', async () => {
    await expectRecordedAtTruncatedToTheMillisecond(sql, store);
  });

  it('close() stops the subscriptions still running', async () => {
    const other = await PostgresEventStore.create(sql);
    const subscription = other.subscribeToAll(async () => undefined);

    await other.close();

    await expect(subscription.done).resolves.toBeUndefined();
  });
});
