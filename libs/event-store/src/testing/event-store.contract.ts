/**
 * The contract every EventStore adapter passes. It uses only the port, so the same suite runs
 * against PostgreSQL (pg and PGlite) and KurrentDB. One store is created per suite and shared by its
 * tests: every test uses fresh streams (`<category>-<uuid>`) and filters global-log assertions to
 * its own streams, so other writers on the same store do not disturb it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  WrongExpectedRevisionError,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
  type Subscription,
} from '../event-store.js';

export interface EventStoreFixture {
  store: EventStore;
  /** Closes the store and removes whatever the fixture created (schema, database, ...). */
  dispose: () => Promise<void>;
}

/** A fresh stream name for one test. */
export function freshStream(category = 'contract'): string {
  return `${category}-${randomUUID()}`;
}

/** `count` events with fresh ids; `label` ends up in the data so failures are readable. */
export function makeEvents(count: number, label = 'e'): EventToAppend[] {
  return Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    type: 'ContractTested',
    data: { label, index: i },
    metadata: { source: 'contract' },
  }));
}

import { waitFor } from '@svp/testing';

export { waitFor };

/** The rejection of `promise`, failing the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the promise to reject, but it resolved');
}

function expectConflict(
  error: unknown,
  streamName: string,
  expected: WrongExpectedRevisionError['expected'],
  actual: WrongExpectedRevisionError['actual'],
): void {
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  const conflict = error as WrongExpectedRevisionError;
  expect(conflict.streamName).toBe(streamName);
  expect(conflict.expected).toBe(expected);
  expect(conflict.actual).toBe(actual);
}

/**
 * `it` with a timeout that suits a real server on a busy machine (Jest's default is 5 s, and the
 * workspace config's per-project testTimeout is not applied by Jest to project configs).
 */
function scenario(name: string, fn: () => Promise<void>, timeoutMs = 30_000): void {
  it(name, fn, timeoutMs);
}

const ids = (events: readonly { eventId: string }[]): string[] => events.map((e) => e.eventId);

export function describeEventStoreContract(
  adapterName: string,
  createStore: () => Promise<EventStoreFixture>,
): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let fixture: EventStoreFixture | undefined;
    const store = (): EventStore => {
      if (!fixture) throw new Error('the store fixture was not created');
      return fixture.store;
    };

    beforeAll(async () => {
      fixture = await createStore();
    }, 60_000);
    afterAll(async () => {
      await fixture?.dispose();
    }, 60_000);

    /** Every event of `streams` in the global log after `after`, paging through it. */
    async function readAllOf(streams: readonly string[], after: bigint, pageSize = 500): Promise<RecordedEvent[]> {
      const found: RecordedEvent[] = [];
      let position = after;
      for (;;) {
        const page = await store().readAll({ after: position, maxCount: pageSize });
        if (page.length === 0) return found;
        expect(page.length).toBeLessThanOrEqual(pageSize);
        found.push(...page.filter((e) => streams.includes(e.streamName)));
        position = page[page.length - 1]!.globalPosition;
      }
    }

    describe("append with 'no_stream'", () => {
      scenario('given no stream, when appending, then it creates the stream at revisions 0..n-1', async () => {
        const stream = freshStream();
        const events = makeEvents(2);

        const result = await store().appendToStream(stream, events, { expectedRevision: 'no_stream' });

        expect(result.nextExpectedRevision).toBe(1n);
        const read = await store().readStream(stream);
        expect(ids(read)).toEqual(ids(events));
        expect(read.map((e) => e.streamRevision)).toEqual([0n, 1n]);
        expect(read[1]!.globalPosition).toBe(result.lastGlobalPosition);
        expect(await store().streamRevision(stream)).toBe(1n);
      });

      scenario('given an existing stream, when appending, then it fails with a conflict and writes nothing', async () => {
        const stream = freshStream();
        await store().appendToStream(stream, makeEvents(1), { expectedRevision: 'no_stream' });

        const error = await rejectionOf(
          store().appendToStream(stream, makeEvents(1), { expectedRevision: 'no_stream' }),
        );

        expectConflict(error, stream, 'no_stream', 0n);
        expect(await store().readStream(stream)).toHaveLength(1);
      });
    });

    describe('append with an exact revision', () => {
      scenario('given a stream at revision 0, when appending with 0, then it succeeds at revision 1', async () => {
        const stream = freshStream();
        await store().appendToStream(stream, makeEvents(1), { expectedRevision: 'no_stream' });
        const next = makeEvents(1);

        const result = await store().appendToStream(stream, next, { expectedRevision: 0n });

        expect(result.nextExpectedRevision).toBe(1n);
        const read = await store().readStream(stream);
        expect(read[1]!.eventId).toBe(next[0]!.eventId);
        expect(read[1]!.streamRevision).toBe(1n);
      });

      scenario('given a stream at revision 1, when appending with the stale revision 0, then it fails and writes nothing', async () => {
        const stream = freshStream();
        await store().appendToStream(stream, makeEvents(2), { expectedRevision: 'no_stream' });

        const error = await rejectionOf(store().appendToStream(stream, makeEvents(1), { expectedRevision: 0n }));

        expectConflict(error, stream, 0n, 1n);
        expect(await store().streamRevision(stream)).toBe(1n);
      });

      scenario('given no stream, when appending with revision 0, then it fails with actual no_stream', async () => {
        const stream = freshStream();

        const error = await rejectionOf(store().appendToStream(stream, makeEvents(1), { expectedRevision: 0n }));

        expectConflict(error, stream, 0n, 'no_stream');
        expect(await store().streamRevision(stream)).toBeUndefined();
      });
    });

    scenario("append with 'any': given no stream or an existing one, when appending, then both succeed", async () => {
      const stream = freshStream();

      const first = await store().appendToStream(stream, makeEvents(1), { expectedRevision: 'any' });
      const second = await store().appendToStream(stream, makeEvents(2), { expectedRevision: 'any' });

      expect(first.nextExpectedRevision).toBe(0n);
      expect(second.nextExpectedRevision).toBe(2n);
      expect(second.lastGlobalPosition).toBeGreaterThan(first.lastGlobalPosition);
      expect(await store().readStream(stream)).toHaveLength(3);
    });

    scenario("append with 'stream_exists': given no stream it fails; given a stream it succeeds", async () => {
      const stream = freshStream();

      const error = await rejectionOf(
        store().appendToStream(stream, makeEvents(1), { expectedRevision: 'stream_exists' }),
      );
      expectConflict(error, stream, 'stream_exists', 'no_stream');
      expect(await store().streamRevision(stream)).toBeUndefined();

      await store().appendToStream(stream, makeEvents(1), { expectedRevision: 'no_stream' });
      const result = await store().appendToStream(stream, makeEvents(1), { expectedRevision: 'stream_exists' });
      expect(result.nextExpectedRevision).toBe(1n);
    });

    scenario('the conflict error names the stream, the expected and the actual revision in its message and fields', async () => {
      const stream = freshStream();
      await store().appendToStream(stream, makeEvents(3), { expectedRevision: 'no_stream' });

      const error = await rejectionOf(store().appendToStream(stream, makeEvents(1), { expectedRevision: 7n }));

      expectConflict(error, stream, 7n, 2n);
      const message = (error as Error).message;
      expect(message).toContain(stream);
      expect(message).toContain('expected 7');
      expect(message).toContain('actual 2');
    });

    describe('optimistic concurrency under load', () => {
      scenario('given 50 concurrent appenders on one revision, then exactly one wins and the stream holds exactly its event', async () => {
        const stream = freshStream();
        const seed = makeEvents(1, 'seed');
        await store().appendToStream(stream, seed, { expectedRevision: 'no_stream' });
        const candidates = Array.from({ length: 50 }, (_, i) => makeEvents(1, `candidate-${i}`));

        const outcomes = await Promise.allSettled(
          candidates.map((events) => store().appendToStream(stream, events, { expectedRevision: 0n })),
        );

        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expectConflict(outcome.reason, stream, 0n, 1n);
        }
        const read = await store().readStream(stream);
        expect(ids(read)).toEqual([seed[0]!.eventId, candidates[winners[0]!]![0]!.eventId]);
      });

      scenario("given 50 concurrent creators with 'no_stream', then exactly one creates the stream", async () => {
        const stream = freshStream();
        const candidates = Array.from({ length: 50 }, (_, i) => makeEvents(1, `creator-${i}`));

        const outcomes = await Promise.allSettled(
          candidates.map((events) => store().appendToStream(stream, events, { expectedRevision: 'no_stream' })),
        );

        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expectConflict(outcome.reason, stream, 'no_stream', 0n);
        }
        expect(ids(await store().readStream(stream))).toEqual(ids(candidates[winners[0]!]!));
      });
    });

    describe('appends in flight together (group commit where the adapter has it)', () => {
      scenario('given appends to 40 streams at once, with a conflict and a refused stream among them, then each gets its own answer and only the accepted ones are stored', async () => {
        const existing = freshStream('existing');
        const stored = makeEvents(2, 'stored');
        await store().appendToStream(existing, stored, { expectedRevision: 'no_stream' });
        const fresh = Array.from({ length: 40 }, () => ({ stream: freshStream('many'), events: makeEvents(2) }));
        const refusedStream = freshStream('refused');

        const [conflict, missing, ...rest] = await Promise.allSettled([
          store().appendToStream(existing, makeEvents(1), { expectedRevision: 5n }),
          store().appendToStream(refusedStream, makeEvents(1), { expectedRevision: 'stream_exists' }),
          ...fresh.map(({ stream, events }) => store().appendToStream(stream, events, { expectedRevision: 'no_stream' })),
        ]);

        expect(conflict.status).toBe('rejected');
        if (conflict.status === 'rejected') expectConflict(conflict.reason, existing, 5n, 1n);
        expect(missing.status).toBe('rejected');
        if (missing.status === 'rejected') expectConflict(missing.reason, refusedStream, 'stream_exists', 'no_stream');
        for (const outcome of rest) expect(outcome).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 1n } });
        const positions = rest.map((o) => (o.status === 'fulfilled' ? o.value.lastGlobalPosition : 0n));
        expect(new Set(positions).size).toBe(40);
        for (const [i, { stream, events }] of fresh.entries()) {
          const read = await store().readStream(stream);
          expect(ids(read)).toEqual(ids(events));
          expect(read.at(-1)!.globalPosition).toBe(positions[i]);
        }
        expect(ids(await store().readStream(existing))).toEqual(ids(stored));
        expect(await store().readStream(refusedStream)).toEqual([]);
        // The refused stream was never created: 'no_stream' still holds for it.
        await store().appendToStream(refusedStream, makeEvents(1), { expectedRevision: 'no_stream' });
      });

      scenario('given 30 concurrent appends to one stream, each expecting any revision, then all land with distinct consecutive revisions', async () => {
        const stream = freshStream();
        const batches = Array.from({ length: 30 }, () => makeEvents(1));
        const results = await Promise.all(batches.map((events) => store().appendToStream(stream, events, { expectedRevision: 'any' })));
        expect(results.map((r) => r.nextExpectedRevision).sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i)));
        const read = await store().readStream(stream);
        expect(read.map((e) => e.streamRevision)).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i)));
        expect(new Set(ids(read))).toEqual(new Set(batches.map((b) => b[0]!.eventId)));
      });
    });

    describe('readStream', () => {
      scenario('given 5 events, when reading forwards, then it returns them in order, from a revision and up to a count', async () => {
        const stream = freshStream();
        const events = makeEvents(5);
        await store().appendToStream(stream, events, { expectedRevision: 'no_stream' });

        const all = await store().readStream(stream);
        const middle = await store().readStream(stream, { direction: 'forwards', fromRevision: 2n, maxCount: 2 });

        expect(ids(all)).toEqual(ids(events));
        expect(all.map((e) => e.streamRevision)).toEqual([0n, 1n, 2n, 3n, 4n]);
        expect(middle.map((e) => e.streamRevision)).toEqual([2n, 3n]);
        const first = all[0]!;
        expect(first).toMatchObject({
          eventId: events[0]!.eventId,
          type: 'ContractTested',
          data: { label: 'e', index: 0 },
          streamName: stream,
        });
        expect(first.metadata).toMatchObject({ source: 'contract' });
        expect(first.recordedAt).toBeInstanceOf(Date);
        for (let i = 1; i < all.length; i++) expect(all[i]!.globalPosition).toBeGreaterThan(all[i - 1]!.globalPosition);
      });

      scenario('given 5 events, when reading backwards, then it returns them newest first, from a revision and up to a count', async () => {
        const stream = freshStream();
        const events = makeEvents(5);
        await store().appendToStream(stream, events, { expectedRevision: 'no_stream' });

        const all = await store().readStream(stream, { direction: 'backwards' });
        const fromTwo = await store().readStream(stream, { direction: 'backwards', fromRevision: 2n });
        const lastTwo = await store().readStream(stream, { direction: 'backwards', maxCount: 2 });
        const middle = await store().readStream(stream, { direction: 'backwards', fromRevision: 3n, maxCount: 2 });

        expect(ids(all)).toEqual(ids(events).reverse());
        expect(fromTwo.map((e) => e.streamRevision)).toEqual([2n, 1n, 0n]);
        expect(lastTwo.map((e) => e.streamRevision)).toEqual([4n, 3n]);
        expect(middle.map((e) => e.streamRevision)).toEqual([3n, 2n]);
      });

      scenario('given no stream, when reading, then it returns [] and streamRevision is undefined', async () => {
        const stream = freshStream();

        expect(await store().readStream(stream)).toEqual([]);
        expect(await store().readStream(stream, { direction: 'backwards' })).toEqual([]);
        expect(await store().streamRevision(stream)).toBeUndefined();
      });
    });

    scenario('readAll: given events after a position, when reading the global log after it, then only later events come, in order', async () => {
      const streamA = freshStream('alpha');
      const streamB = freshStream('beta');
      await store().appendToStream(streamA, makeEvents(2, 'before'), { expectedRevision: 'no_stream' });
      const head = await store().headPosition();
      const later = [makeEvents(1, 'a1'), makeEvents(2, 'b'), makeEvents(1, 'a2')];

      await store().appendToStream(streamA, later[0]!, { expectedRevision: 1n });
      await store().appendToStream(streamB, later[1]!, { expectedRevision: 'no_stream' });
      const last = await store().appendToStream(streamA, later[2]!, { expectedRevision: 2n });

      // Paged with a small page size, so maxCount and `after` are exercised together.
      const read = await readAllOf([streamA, streamB], head, 2);
      expect(ids(read)).toEqual(ids(later.flat()));
      expect(read[0]!.globalPosition).toBeGreaterThan(head);
      for (let i = 1; i < read.length; i++) expect(read[i]!.globalPosition).toBeGreaterThan(read[i - 1]!.globalPosition);
      expect(read[read.length - 1]!.globalPosition).toBe(last.lastGlobalPosition);
      expect(await store().headPosition()).toBeGreaterThanOrEqual(last.lastGlobalPosition);
    });

    describe('subscribeToAll', () => {
      scenario('given events before and during catch-up, then it delivers all of them and the live ones in order, with no gap and no duplicate', async () => {
        const stream = freshStream('sub');
        const start = await store().headPosition();
        // Enough history that the catch-up takes several pages while appends run concurrently.
        const history = makeEvents(250, 'history');
        await store().appendToStream(stream, history, { expectedRevision: 'no_stream' });

        const received: RecordedEvent[] = [];
        let caughtUp = 0;
        let inFlight = 0;
        let maxInFlight = 0;
        const subscription = store().subscribeToAll(
          async (event) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await Promise.resolve();
            if (event.streamName === stream) received.push(event);
            inFlight--;
          },
          { after: start, onCaughtUp: () => caughtUp++ },
        );
        try {
          // When: appends race with the catch-up, one event per append.
          const during = makeEvents(20, 'during');
          let revision = 249n;
          for (const event of during) {
            await store().appendToStream(stream, [event], { expectedRevision: revision });
            revision++;
          }
          await waitFor(() => caughtUp > 0 && received.length >= 270, 'catch-up');

          // And: live appends after the subscription caught up.
          const live = makeEvents(5, 'live');
          for (const event of live) {
            await store().appendToStream(stream, [event], { expectedRevision: revision });
            revision++;
          }
          await waitFor(() => received.length >= 275, 'live events');

          // Then: the exact sequence, nothing missing, nothing twice.
          expect(ids(received)).toEqual([...ids(history), ...ids(during), ...ids(live)]);
          for (let i = 1; i < received.length; i++)
            expect(received[i]!.globalPosition).toBeGreaterThan(received[i - 1]!.globalPosition);
          expect(received[0]!.globalPosition).toBeGreaterThan(start);
          expect(caughtUp).toBeGreaterThanOrEqual(1);
          expect(maxInFlight).toBe(1);
        } finally {
          await subscription.stop();
        }
        await expect(subscription.done).resolves.toBeUndefined();
      });

      scenario('given a handler that throws, then the subscription stops, done rejects and onError gets the error', async () => {
        const stream = freshStream('sub');
        const start = await store().headPosition();
        await store().appendToStream(stream, makeEvents(3), { expectedRevision: 'no_stream' });
        const failure = new Error('handler failed');
        const errors: unknown[] = [];
        let calls = 0;

        const subscription = store().subscribeToAll(
          async (event) => {
            if (event.streamName !== stream) return;
            calls++;
            throw failure;
          },
          { after: start, onError: (error) => errors.push(error) },
        );

        await expect(subscription.done).rejects.toBe(failure);
        expect(errors).toEqual([failure]);
        expect(calls).toBe(1);
        await subscription.stop();
      });

      scenario('when stopped while the handler runs, then stop() resolves only after the handler finished', async () => {
        const stream = freshStream('sub');
        const start = await store().headPosition();
        await store().appendToStream(stream, makeEvents(2), { expectedRevision: 'no_stream' });
        let entered = false;
        let finished = false;
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let delivered = 0;

        const subscription: Subscription = store().subscribeToAll(
          async (event) => {
            if (event.streamName !== stream) return;
            delivered++;
            entered = true;
            await gate;
            finished = true;
          },
          { after: start },
        );
        await waitFor(() => entered, 'the handler to start');

        const stopped = subscription.stop().then(() => finished);
        release();

        expect(await stopped).toBe(true);
        await expect(subscription.done).resolves.toBeUndefined();
        expect(delivered).toBe(1);
      });
    });

    scenario('idempotent append: given stored events, when appending the same event ids again, then nothing is written twice', async () => {
      const stream = freshStream();
      const events = makeEvents(2);
      const first = await store().appendToStream(stream, events, { expectedRevision: 'no_stream' });

      const sameExpected = await store().appendToStream(stream, events, { expectedRevision: 'no_stream' });
      const withAny = await store().appendToStream(stream, events, { expectedRevision: 'any' });

      for (const again of [sameExpected, withAny]) {
        expect(again.nextExpectedRevision).toBe(1n);
        expect(again.lastGlobalPosition).toBe(first.lastGlobalPosition);
      }
      expect(ids(await store().readStream(stream))).toEqual(ids(events));
      expect(await store().streamRevision(stream)).toBe(1n);
    });

    scenario('deleteStream: given a stream, when deleted, then reads find nothing and it can be created again', async () => {
      const stream = freshStream();
      const other = freshStream();
      await store().appendToStream(stream, makeEvents(3), { expectedRevision: 'no_stream' });
      await store().appendToStream(other, makeEvents(1), { expectedRevision: 'no_stream' });

      await store().deleteStream(stream);

      expect(await store().readStream(stream)).toEqual([]);
      expect(await store().readStream(stream, { direction: 'backwards' })).toEqual([]);
      expect(await store().streamRevision(stream)).toBeUndefined();
      expect(await store().readStream(other)).toHaveLength(1);

      const again = makeEvents(1, 'again');
      await store().appendToStream(stream, again, { expectedRevision: 'no_stream' });
      expect(ids(await store().readStream(stream))).toEqual(ids(again));
    });

    scenario('deleteStream with an expected revision: given it holds, then deleted; given an append since (or no stream), then WrongExpectedRevisionError and nothing deleted', async () => {
      const stream = freshStream();
      await store().appendToStream(stream, makeEvents(2), { expectedRevision: 'no_stream' });
      // A writer appended after the deleter read revision 1.
      await store().appendToStream(stream, makeEvents(1, 'later'), { expectedRevision: 1n });
      const refused = await store().deleteStream(stream, { expectedRevision: 1n }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WrongExpectedRevisionError);
      expect((refused as WrongExpectedRevisionError).actual).toBe(2n);
      expect(await store().readStream(stream)).toHaveLength(3);
      await store().deleteStream(stream, { expectedRevision: 2n });
      expect(await store().readStream(stream)).toEqual([]);
      await expect(store().deleteStream(freshStream(), { expectedRevision: 0n })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    });

    scenario('truncateStream: given a stream, when truncated before its last revision, then only the last event is read and appends go on after it', async () => {
      const stream = freshStream();
      const events = makeEvents(3);
      await store().appendToStream(stream, events, { expectedRevision: 'no_stream' });
      await store().truncateStream(stream, 2n);
      const kept = await store().readStream(stream);
      expect(ids(kept)).toEqual([events[2]!.eventId]);
      expect(kept[0]!.streamRevision).toBe(2n);
      expect(await store().streamRevision(stream)).toBe(2n);
      expect(ids(await store().readStream(stream, { direction: 'backwards' }))).toEqual([events[2]!.eventId]);
      const next = makeEvents(1, 'next');
      expect((await store().appendToStream(stream, next, { expectedRevision: 2n })).nextExpectedRevision).toBe(3n);
      expect(ids(await store().readStream(stream))).toEqual([events[2]!.eventId, next[0]!.eventId]);
    });

    scenario('given a batch of 10,000 events, when appended in one call, then all are readable in order at revisions 0..9999', async () => {
      const stream = freshStream('bulk');
      const events = makeEvents(10_000, 'bulk');

      const result = await store().appendToStream(stream, events, { expectedRevision: 'no_stream' });

      expect(result.nextExpectedRevision).toBe(9_999n);
      const read = await store().readStream(stream);
      expect(read).toHaveLength(10_000);
      expect(read.every((e, i) => e.streamRevision === BigInt(i) && e.eventId === events[i]!.eventId)).toBe(true);
      expect(read[9_999]!.globalPosition).toBe(result.lastGlobalPosition);
    }, 120_000);
  });
}
