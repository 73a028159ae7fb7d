/**
 * The projection runner's integration suite, run on every engine the SqlClient port has (PostgreSQL
 * through pg, and PGlite): a fresh database per test (schema or in-memory instance), real event
 * store, no mocks. Waits poll a condition under a deadline; nothing sleeps for a fixed time.
 */
import { randomUUID } from 'node:crypto';
import { waitFor } from '@svp/testing';
import { describe, expect, it } from '@jest/globals';
import type { EventStore, EventToAppend } from '@svp/event-store';
import type { SqlClient } from '@svp/postgres';
import { CHECKPOINTS_TABLE } from '../checkpoints.js';
import { applyDocumentBatch } from '../document-table.js';
import type { RebuildProgress } from '../decisions.js';
import { defineDocumentProjection, defineProjection, type ProjectedEvent } from '../projection.js';
import {
  ProjectionRunner,
  RebuildAbortedError,
  RebuildInProgressError,
  type ProjectionRunnerOptions,
  type ProjectionStatus,
} from '../projection-runner.js';
import {
  counterProjection,
  expectedCounters,
  incremented,
  removed,
  unrelated,
  type Counter,
} from './counter-projection.js';

export interface ProjectionFixture {
  sql: SqlClient;
  store: EventStore;
  /** Closes the store and the client and removes what the fixture created. */
  dispose: () => Promise<void>;
}


const TIMEOUT = 60_000;
const stream = (label: string) => `counter-${label}-${randomUUID()}`;

export function describeProjectionRunner(engine: string, open: () => Promise<ProjectionFixture>): void {
  describe(`ProjectionRunner on ${engine}`, () => {
    /** Runs `body` with a fresh database and a runner (not started), stopping and disposing after. */
    async function withRunner(
      options: Partial<ProjectionRunnerOptions>,
      body: (context: ProjectionFixture & { runner: ProjectionRunner; newRunner: (o?: Partial<ProjectionRunnerOptions>) => ProjectionRunner }) => Promise<void>,
    ): Promise<void> {
      const fixture = await open();
      const runners: ProjectionRunner[] = [];
      const newRunner = (more: Partial<ProjectionRunnerOptions> = {}) => {
        const runner = new ProjectionRunner({
          sql: fixture.sql,
          store: fixture.store,
          projections: [counterProjection()],
          batchSize: 10,
          retry: { initialDelayMs: 20, maxDelayMs: 200 },
          ...options,
          ...more,
        });
        runners.push(runner);
        return runner;
      };
      try {
        await body({ ...fixture, runner: newRunner(), newRunner });
      } finally {
        for (const runner of runners) await runner.stop();
        await fixture.dispose();
      }
    }

    /** Waits until the counters' checkpoint row in the table is at `head` (a deferred checkpoint written). */
    async function untilStoredCheckpoint(sql: ProjectionFixture['sql'], head: bigint): Promise<void> {
      await waitFor(async () => {
        const { rows } = await sql.query<{ position: bigint }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE projection = 'counters_v1'`);
        return rows[0]!.position === head;
      }, 'the deferred checkpoint to be written');
    }

    async function waitUntilLiveAtHead(runner: ProjectionRunner, name = 'counters'): Promise<ProjectionStatus> {
      let status: ProjectionStatus | undefined;
      await waitFor(
        async () => {
          status = await runner.status(name);
          return status.state === 'live' && status.lag === 0n;
        },
        `'${name}' to be live at the head (last status: ${String(status?.state)} at ${String(status?.position)} of ${String(status?.head)}${status?.error ? `, ${status.error.message}` : ''})`,
      );
      return status!;
    }

    async function append(store: EventStore, streamName: string, events: EventToAppend[]): Promise<void> {
      await store.appendToStream(streamName, events);
    }

    async function storedCounters(runner: ProjectionRunner): Promise<Map<string, Counter>> {
      const entries = await runner.reader(counterProjection()).entries();
      return new Map(entries.map((entry) => [entry.id, entry.doc]));
    }

    it(
      'given events appended before and after start, then the read model and the checkpoint reach the head',
      () =>
        withRunner({}, async ({ store, sql, runner }) => {
          const a = stream('a');
          const b = stream('b');
          await append(store, a, [incremented(1), incremented(2), incremented(3)]);
          await append(store, stream('other'), [unrelated()]);

          await runner.start();
          await append(store, b, [incremented(10)]);
          await append(store, a, [incremented(4)]);
          await append(store, b, [removed()]);
          const live = await waitUntilLiveAtHead(runner);

          const reader = runner.reader(counterProjection());
          expect(await reader.get(a)).toEqual({ stream: a, total: 10, applied: 4, revisions: [0, 1, 2, 3] });
          expect(await reader.get(b)).toBeNull(); // removed: a tombstone, never returned
          expect(await reader.find({ contains: { stream: a } })).toHaveLength(1);
          expect(await reader.find()).toEqual([await reader.get(a)]);
          expect(live).toMatchObject({ table: 'rm_counters_v1', lag: 0n, failures: 0 });
          const { rows } = await sql.query<{ table_name: string; position: bigint }>(
            `SELECT table_name, position FROM ${CHECKPOINTS_TABLE} WHERE projection = 'counters_v1'`,
          );
          expect(rows).toEqual([{ table_name: 'rm_counters_v1', position: await store.headPosition() }]);
        }),
      TIMEOUT,
    );

    it(
      'given batches of events the projection ignores, then their waiters are told at once and the stored checkpoint follows with the next batch written, or on stop',
      () =>
        withRunner({ deferCheckpointMs: 60_000 }, async ({ store, sql, runner }) => {
          const stored = async () =>
            (await sql.query<{ position: bigint }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE projection = 'counters_v1'`)).rows[0]!.position;
          const a = stream('a');
          await append(store, a, [incremented(1)]);
          await runner.start();
          const first = await waitUntilLiveAtHead(runner);
          expect(await stored()).toBe(first.position);

          // Only events it ignores: read-your-writes holds at once, the table's checkpoint waits.
          await append(store, stream('other'), [unrelated(), unrelated()]);
          const ignored = await store.headPosition();
          await runner.waitForPosition('counters', ignored, { timeoutMs: 5_000 });
          expect((await runner.status('counters')).position).toBe(ignored);
          expect(await stored()).toBe(first.position);

          // A batch it writes carries the checkpoint past them.
          await append(store, a, [incremented(2)]);
          const written = await store.headPosition();
          await runner.waitForPosition('counters', written, { timeoutMs: 5_000 });
          expect(await stored()).toBe(written);

          // On stop, what it ignored since is stored too: a restart does not read it again.
          await append(store, stream('other'), [unrelated()]);
          const last = await store.headPosition();
          await runner.waitForPosition('counters', last, { timeoutMs: 5_000 });
          expect(await stored()).toBe(written);
          await runner.stop();
          expect(await stored()).toBe(last);
          expect(await storedCounters(runner)).toEqual(new Map([[a, { stream: a, total: 3, applied: 2, revisions: [0, 1] }]]));
        }),
      TIMEOUT,
    );

    it(
      'given a short checkpoint deferral, then the checkpoint of ignored events reaches the table without another batch',
      () =>
        withRunner({ deferCheckpointMs: 50 }, async ({ store, sql, runner }) => {
          await append(store, stream('a'), [incremented(1)]);
          await runner.start();
          await waitUntilLiveAtHead(runner);
          await append(store, stream('other'), [unrelated()]);
          const head = await store.headPosition();
          await untilStoredCheckpoint(sql, head);
        }),
      TIMEOUT,
    );

    it(
      'given a checkpoint write that failed while only ignored events came, then the count of failures is reset once a deferred checkpoint is written again',
      () =>
        withRunner({ deferCheckpointMs: 50 }, async ({ store, sql, runner }) => {
          await append(store, stream('a'), [incremented(1)]);
          await runner.start();
          await waitUntilLiveAtHead(runner);

          // The obstacle: this projection's checkpoint UPDATE raises; only ignored events follow.
          await sql.exec(`
            CREATE FUNCTION refuse_counters_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'checkpoint of % refused by the test', NEW.projection; END $$;
            CREATE TRIGGER refuse_counters_checkpoint BEFORE UPDATE ON ${CHECKPOINTS_TABLE}
              FOR EACH ROW WHEN (NEW.projection = 'counters_v1') EXECUTE FUNCTION refuse_counters_checkpoint()`);
          await append(store, stream('other'), [unrelated()]);
          await waitFor(async () => (await runner.status('counters')).failures >= 2, 'the deferred checkpoint to fail twice');

          await sql.exec(`DROP TRIGGER refuse_counters_checkpoint ON ${CHECKPOINTS_TABLE}`);
          await append(store, stream('other'), [unrelated()]);
          const head = await store.headPosition();
          await untilStoredCheckpoint(sql, head);

          const status = await runner.status('counters');
          expect(status.state).toBe('live');
          expect(status.failures).toBe(0);
        }),
      TIMEOUT,
    );

    it(
      'given a built read model, when its events are applied again or the checkpoint is lost, then nothing changes',
      () =>
        withRunner({}, async ({ store, sql, runner, newRunner }) => {
          for (let i = 0; i < 3; i++) await append(store, stream(String(i)), [incremented(1), incremented(2), removed(), incremented(5)]);
          await runner.start();
          await waitUntilLiveAtHead(runner);
          const before = await storedCounters(runner);

          // A redelivery of the whole log, straight into the table.
          const log = await store.readAll();
          const plan = await sql.transaction((tx) => applyDocumentBatch(tx, counterProjection(), 'rm_counters_v1', log));
          expect(plan).toMatchObject({ writes: [], applied: 0, skipped: log.length });

          // A lost checkpoint: a new runner replays everything from position 0.
          await runner.stop();
          await sql.query(`UPDATE ${CHECKPOINTS_TABLE} SET position = 0 WHERE projection = 'counters_v1'`);
          const again = newRunner();
          await again.start();
          await waitUntilLiveAtHead(again);

          expect(await storedCounters(again)).toEqual(before);
          expect(before).toEqual(expectedCounters(log));
        }),
      TIMEOUT,
    );

    it(
      'given documents whose texts hold control characters, quotes, the text null and non-BMP characters, then they are stored and rebuilt as folded, and a deletion leaves a tombstone',
      () =>
        withRunner({}, async ({ store, sql, newRunner }) => {
          // What a write sends the server: documents joined by U+001E (see writeDocuments).
          const texts = ['a\x1eb', '\x1e', 'null', '', '"quoted" \\ back\nslash\u2028', 'emoji 👋🏽 and é', '{"not":"an object"}'];
          const notes = defineDocumentProjection<{ stream: string; texts: string[] }, ProjectedEvent<'NoteAdded' | 'NotesCleared' | 'NotesLost', { text?: string }>>({
            name: 'notes',
            version: 1,
            canHandle: ['NoteAdded', 'NotesCleared', 'NotesLost'],
            documentId: (event) => event.streamName,
            evolve: (doc, event) =>
              event.type === 'NotesCleared'
                ? null
                : // An evolve that breaks its type: undefined (JSON has no such value) is stored as a tombstone.
                  event.type === 'NotesLost'
                  ? (undefined as unknown as null)
                  : { stream: event.streamName, texts: [...(doc?.texts ?? []), event.data.text ?? ''] },
          });
          const kept = stream('kept');
          const cleared = stream('cleared');
          await append(store, kept, texts.map((text) => ({ eventId: randomUUID(), type: 'NoteAdded', data: { text } })));
          await append(store, cleared, [{ eventId: randomUUID(), type: 'NoteAdded', data: { text: '\x1e' } }, { eventId: randomUUID(), type: 'NotesCleared', data: {} }]);
          const lost = stream('lost');
          await append(store, lost, [{ eventId: randomUUID(), type: 'NoteAdded', data: { text: 'x' } }, { eventId: randomUUID(), type: 'NotesLost', data: {} }]);
          const runner = newRunner({ projections: [notes] });
          await runner.start();
          await waitUntilLiveAtHead(runner, 'notes');
          const documents = async () => (await runner.reader(notes).entries()).map(({ id, doc }) => ({ id, doc }));
          const tombstones = async () => {
            const { table } = await runner.status('notes');
            return (await sql.query<{ id: string }>(`SELECT id FROM "${table}" WHERE doc IS NULL`)).rows.map((row) => row.id);
          };
          const expected = [{ id: kept, doc: { stream: kept, texts } }];
          expect(await documents()).toEqual(expected);
          expect((await tombstones()).sort()).toEqual([cleared, lost].sort());

          await runner.rebuild('notes');
          expect(await documents()).toEqual(expected);
          expect((await tombstones()).sort()).toEqual([cleared, lost].sort());
        }),
      TIMEOUT,
    );

    it(
      'given a runner stopped part-way, when a new runner starts, then it resumes from the checkpoint with no duplicate effect',
      async () => {
        // The lower-level kind, with no guard of its own: a primary key on the position turns a
        // second delivery of any event into a failed batch.
        const eventLog = defineProjection({
          name: 'event_log',
          version: 1,
          setup: async (tx, table) =>
            tx.exec(`CREATE TABLE IF NOT EXISTS ${table} (position bigint PRIMARY KEY, type text NOT NULL)`),
          apply: async (tx, table, events) => {
            for (const event of events) {
              await tx.query(`INSERT INTO ${table} (position, type) VALUES ($1, $2)`, [event.globalPosition, event.type]);
            }
          },
        });
        await withRunner({ projections: [counterProjection(), eventLog] }, async ({ store, sql, runner, newRunner }) => {
          const a = stream('a');
          await append(store, a, Array.from({ length: 25 }, (_, i) => incremented(i)));
          await runner.start();
          await waitUntilLiveAtHead(runner, 'event_log');
          await runner.stop();
          expect((await runner.status('event_log')).state).toBe('stopped');

          await append(store, a, [incremented(100), unrelated()]);
          const restarted = newRunner();
          await restarted.start();
          await waitUntilLiveAtHead(restarted, 'event_log');
          await waitUntilLiveAtHead(restarted, 'counters');

          const log = await store.readAll();
          const { rows } = await sql.query<{ position: bigint }>('SELECT position FROM rm_event_log_v1 ORDER BY position');
          expect(rows.map((row) => row.position)).toEqual(log.map((event) => event.globalPosition));
          expect((await restarted.status('event_log')).failures).toBe(0);
          expect(await storedCounters(restarted)).toEqual(expectedCounters(log));
        });
      },
      TIMEOUT,
    );

    it(
      'given a cached reader, then repeated reads come from memory, a write that waited for its position reads itself, and a rebuild or a stop forgets everything',
      () =>
        withRunner({}, async ({ store, sql, runner }) => {
          const a = stream('a');
          await append(store, a, [incremented(1)]);
          await runner.start();
          await waitUntilLiveAtHead(runner);
          const cached = runner.cachedReader<Counter>(counterProjection(), { ttlMs: 60_000 });

          expect(await cached.get(a)).toMatchObject({ total: 1 });
          expect(await cached.get(a)).toMatchObject({ total: 1 });
          expect(cached.cache.stats).toEqual({ hits: 1, misses: 1 });

          // A change the cache has not seen: the table alone (as another instance would, before this one's projection).
          const table = await runner.activeTable('counters');
          await sql.query(`UPDATE "${table}" SET doc = jsonb_set(doc, '{total}', '100') WHERE id = $1`, [a]);
          expect(await cached.get(a)).toMatchObject({ total: 1 });

          // The projection commits a batch touching the document (folding onto what the table held):
          // forgotten before the waiter is told, so the read shows the batch.
          await append(store, a, [incremented(2)]);
          await runner.waitForPosition('counters', await store.headPosition());
          expect(await cached.get(a)).toMatchObject({ total: 102 });

          await sql.query(`UPDATE "${(await runner.activeTable('counters'))}" SET doc = jsonb_set(doc, '{total}', '200') WHERE id = $1`, [a]);
          await runner.rebuild('counters');
          // The rebuilt table is the fold of the log alone.
          expect(await cached.get(a)).toMatchObject({ total: 3 });

          await sql.query(`UPDATE "${(await runner.activeTable('counters'))}" SET doc = jsonb_set(doc, '{total}', '300') WHERE id = $1`, [a]);
          await runner.stop();
          expect(await cached.get(a)).toMatchObject({ total: 300 });
        }),
      TIMEOUT,
    );

    it(
      'given a live runner with a long linger, when an event is appended, then it is projected at once (reaching the head writes the partial batch)',
      () =>
        withRunner({ lingerMs: 60_000, batchSize: 100 }, async ({ store, runner }) => {
          const a = stream('a');
          await append(store, a, [incremented(1)]);
          await runner.start();
          await waitUntilLiveAtHead(runner);

          await append(store, a, [incremented(2)]);
          const head = await store.headPosition();
          const started = Date.now();
          await runner.waitForPosition('counters', head, { timeoutMs: 5_000 });

          expect(Date.now() - started).toBeLessThan(5_000);
          expect(await runner.reader(counterProjection()).get(a)).toMatchObject({ total: 3 });
        }),
      TIMEOUT,
    );

    it(
      'given an evolve that throws, then neither the read model nor the checkpoint advances, and the runner reports it and retries',
      () =>
        // A long linger: the good and the failing event are written as one batch, at catch-up.
        withRunner({ lingerMs: 5_000, batchSize: 100 }, async ({ store, runner }) => {
          const a = stream('a');
          await append(store, a, [incremented(1)]);
          await runner.start();
          const before = await waitUntilLiveAtHead(runner);
          await runner.stop();

          await append(store, a, [incremented(2), incremented(3, { fail: true })]);
          await runner.start();
          let failed: ProjectionStatus | undefined;
          await waitFor(async () => {
            failed = await runner.status('counters');
            return failed.state === 'failed' && failed.failures >= 2;
          }, 'the runner to fail and retry');

          expect(failed!.error?.message).toMatch(/evolve refused event/);
          expect(failed!.retryAt).toBeInstanceOf(Date);
          expect(failed!.position).toBe(before.position);
          expect(failed!.lag).toBe(failed!.head! - before.position);
          expect(await runner.reader(counterProjection()).get(a)).toMatchObject({ total: 1, applied: 1 });
          await runner.stop();
          expect((await runner.status('counters')).state).toBe('stopped');
        }),
      TIMEOUT,
    );

    it(
      'given a batch whose read-model write succeeds and whose checkpoint update then fails, then the write rolls back with it, the runner reports failed, and recovers with one effect per event once the obstacle is gone',
      async () => {
        // No key on the table: a second effect of an event would be a second row, an effect that
        // outlived its failed batch a row too many.
        const applied: bigint[] = []; // positions apply() finished writing (its transaction still open)
        const effects = defineProjection({
          name: 'effects',
          version: 1,
          setup: async (tx, table) => tx.exec(`CREATE TABLE IF NOT EXISTS ${table} (position bigint NOT NULL)`),
          apply: async (tx, table, events) => {
            for (const event of events) await tx.query(`INSERT INTO ${table} (position) VALUES ($1)`, [event.globalPosition]);
            applied.push(...events.map((event) => event.globalPosition));
          },
        });
        await withRunner({ projections: [counterProjection(), effects] }, async ({ store, sql, runner }) => {
          const rows = async () =>
            (await sql.query<{ position: bigint }>('SELECT position FROM rm_effects_v1 ORDER BY position')).rows.map((row) => row.position);
          const storedPosition = async () =>
            (await sql.query<{ position: bigint }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE projection = 'effects_v1'`)).rows[0]!.position;
          const a = stream('a');
          await append(store, a, [incremented(1), incremented(2)]);
          await runner.start();
          const before = await waitUntilLiveAtHead(runner, 'effects');
          const rowsBefore = await rows();
          expect(rowsBefore).toHaveLength(2);

          // The obstacle: the checkpoint UPDATE of this projection (only this one) raises. It runs
          // after apply() has written the batch's rows, in the batch's transaction.
          await sql.exec(`
            CREATE FUNCTION refuse_effects_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'checkpoint of % refused by the test', NEW.projection; END $$;
            CREATE TRIGGER refuse_effects_checkpoint BEFORE UPDATE ON ${CHECKPOINTS_TABLE}
              FOR EACH ROW WHEN (NEW.projection = 'effects_v1') EXECUTE FUNCTION refuse_effects_checkpoint()`);
          await append(store, a, [incremented(3), unrelated(), incremented(4)]);
          const added = (await store.readAll()).slice(-3).map((event) => event.globalPosition);

          let failed: ProjectionStatus | undefined;
          await waitFor(async () => {
            failed = await runner.status('effects');
            return failed.state === 'failed' && failed.failures >= 2;
          }, 'the effects projection to fail, retry, and fail again');
          expect(failed!.error?.message).toMatch(/checkpoint of effects_v1 refused by the test/);
          expect(failed!.position).toBe(before.position);
          // apply() did write every new event's row, and each time the row was rolled back with the
          // checkpoint update that failed after it.
          for (const position of added) expect(applied).toContain(position);
          expect(await rows()).toEqual(rowsBefore);
          expect(await storedPosition()).toBe(before.position);
          // The other projection is not held up.
          await waitUntilLiveAtHead(runner, 'counters');

          await sql.exec(`DROP TRIGGER refuse_effects_checkpoint ON ${CHECKPOINTS_TABLE}`);
          const recovered = await waitUntilLiveAtHead(runner, 'effects');
          expect(recovered.failures).toBe(0);
          const log = await store.readAll();
          expect(await rows()).toEqual(log.map((event) => event.globalPosition)); // one row per event, none twice
          expect(await storedPosition()).toBe(log.at(-1)!.globalPosition);
        });
      },
      TIMEOUT,
    );

    it(
      'given the event store failing under a live runner, then it reports failed, and recovers once the store is back',
      () =>
        withRunner({}, async ({ store, sql, runner }) => {
          const a = stream('a');
          await append(store, a, [incremented(1)]);
          await runner.start();
          await waitUntilLiveAtHead(runner);

          await sql.exec('ALTER TABLE es_events RENAME TO es_events_away');
          // Kept from the poll that saw it: the runner retries at once (20 ms), and a second look may
          // find it reopening (catching up) between two failures.
          let failed: ProjectionStatus | undefined;
          await waitFor(async () => {
            failed = await runner.status('counters');
            return failed.state === 'failed';
          }, 'the failure to be reported');
          expect(failed!.error?.message).toMatch(/es_events/);
          expect(failed!.head).toBeNull(); // the store cannot be asked either
          await sql.exec('ALTER TABLE es_events_away RENAME TO es_events');

          await append(store, a, [incremented(2)]);
          await waitUntilLiveAtHead(runner);
          expect(await runner.reader(counterProjection()).get(a)).toMatchObject({ total: 3, revisions: [0, 1] });
        }),
      TIMEOUT,
    );

    it(
      'reports position, head and lag while stopped, catching up and live, and waits for a position',
      () =>
        withRunner({}, async ({ store, runner }) => {
          await append(store, stream('a'), Array.from({ length: 12 }, (_, i) => incremented(i)));
          const head = await store.headPosition();
          expect(await runner.status('counters')).toMatchObject({ state: 'stopped', position: 0n, head, lag: head });

          await runner.start();
          await runner.waitForPosition('counters', head);
          await waitUntilLiveAtHead(runner);
          await runner.stop();

          await append(store, stream('b'), [incremented(1), incremented(1), incremented(1)]);
          const later = await store.headPosition();
          expect(await runner.status('counters')).toMatchObject({ state: 'stopped', position: head, head: later, lag: later - head });
          await expect(runner.waitForPosition('counters', later, { timeoutMs: 50 })).rejects.toThrow(/did not reach position/);
        }),
      TIMEOUT,
    );

    it(
      'given the newest events deleted from the store after the live table applied them (a stream deleted), when rebuilt, then the rebuild switches in at the live position and goes on live',
      () =>
        withRunner({ batchSize: 10 }, async ({ store, runner }) => {
          const kept = stream('kept');
          const doomed = stream('doomed');
          await append(store, kept, [incremented(1), incremented(2)]);
          await append(store, doomed, [incremented(5), incremented(6)]);
          await runner.start();
          const before = await waitUntilLiveAtHead(runner);
          // The live checkpoint is now past the head: the events it last applied are gone.
          await store.deleteStream(doomed);
          expect(await store.headPosition()).toBeLessThan(before.position);

          const result = await runner.rebuild('counters');
          expect(result).toMatchObject({ table: 'rm_counters_v1_b1', position: before.position });
          expect(await storedCounters(runner)).toEqual(expectedCounters(await store.readAll()));
          expect((await storedCounters(runner)).has(doomed)).toBe(false);
          // Live delivery resumed after the switch, from the live position.
          await append(store, kept, [incremented(10)]);
          await waitFor(async () => (await runner.reader<Counter>(counterProjection()).get(kept))?.total === 13, 'the next event in the rebuilt table');
          // Read-your-writes for a position the old table had reached still resolves.
          await runner.waitForPosition('counters', before.position, { timeoutMs: 1000 });
        }),
      TIMEOUT,
    );

    it(
      'given events appended during a rebuild, then the new table converges to the fold of the whole log, reads are answered throughout, progress is reported',
      () =>
        withRunner({ batchSize: 10 }, async ({ store, sql, runner }) => {
          const streams = Array.from({ length: 5 }, (_, i) => stream(String(i)));
          for (const [i, name] of streams.entries()) {
            await append(store, name, Array.from({ length: 30 }, (_, j) => (i === 4 && j === 29 ? removed() : incremented(j))));
          }
          await runner.start();
          await waitUntilLiveAtHead(runner);

          // Writers and readers keep going while the rebuild runs.
          let rebuilding = true;
          let appended = 0;
          const appender = (async () => {
            while (rebuilding && appended < 300) {
              await append(store, streams[appended % 4]!, [incremented(1), unrelated()]);
              appended++;
            }
          })();
          const reader = runner.reader(counterProjection());
          let readsDuringRebuild = 0;
          const readErrors: unknown[] = [];
          const readerLoop = (async () => {
            let lastApplied = 0;
            while (rebuilding) {
              try {
                const doc = await reader.get(streams[0]!);
                // Monotonic: a half-built table would show an older counter than one already seen.
                expect(doc!.applied).toBeGreaterThanOrEqual(lastApplied);
                lastApplied = doc!.applied;
                if ((await runner.status('counters')).rebuild) readsDuringRebuild++;
              } catch (error) {
                readErrors.push(error);
              }
            }
          })();

          const progress: RebuildProgress[] = [];
          const appendedAtProgress: number[] = [];
          let result;
          try {
            result = await runner.rebuild('counters', {
              onProgress: (p) => {
                progress.push(p);
                appendedAtProgress.push(appended);
              },
            });
          } finally {
            rebuilding = false;
            await Promise.all([appender, readerLoop]);
          }

          expect(readErrors).toEqual([]);
          expect(readsDuringRebuild).toBeGreaterThan(0);
          expect(appendedAtProgress.at(-1)).toBeGreaterThan(appendedAtProgress[0]!); // appends during the replay
          expect(result).toMatchObject({ previousTable: 'rm_counters_v1', table: 'rm_counters_v1_b1' });
          expect(progress.length).toBeGreaterThan(3);
          for (let i = 1; i < progress.length; i++) expect(progress[i]!.position).toBeGreaterThanOrEqual(progress[i - 1]!.position);
          expect(progress.some((p) => p.ratio > 0 && p.ratio < 1)).toBe(true);
          expect(progress.at(-1)!.position).toBe(result.position);

          await append(store, streams[0]!, [incremented(1000)]);
          const status = await waitUntilLiveAtHead(runner);
          expect(status.table).toBe('rm_counters_v1_b1');
          expect(status.rebuild).toBeUndefined();
          const log = await store.readAll();
          expect(await storedCounters(runner)).toEqual(expectedCounters(log));
          // The reader made before the switch finds the new table (its cached one was dropped).
          expect(await reader.get(streams[0]!)).toEqual(expectedCounters(log).get(streams[0]!));
          expect(await runner.activeTable('counters')).toBe('rm_counters_v1_b1');
          const { rows } = await sql.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'rm_counters%'`,
          );
          expect(rows.map((row) => row.table_name)).toEqual(['rm_counters_v1_b1']);
          const checkpoints = await sql.query<{ projection: string }>(`SELECT projection FROM ${CHECKPOINTS_TABLE}`);
          expect(checkpoints.rows.map((row) => row.projection)).toEqual(['counters_v1']);

          // A second rebuild takes the next generation, and the checkpoint follows it.
          const second = await runner.rebuild('counters');
          expect(second).toMatchObject({ previousTable: 'rm_counters_v1_b1', table: 'rm_counters_v1_b2' });
          await waitUntilLiveAtHead(runner);
          expect(await storedCounters(runner)).toEqual(expectedCounters(await store.readAll()));
        }),
      TIMEOUT,
    );

    it(
      'given a rebuild that fails, then the new table is dropped and the live table keeps going',
      async () => {
        // Fails only when writing to a rebuild table, so the live table is healthy throughout.
        const positions = defineProjection({
          name: 'positions',
          version: 1,
          setup: async (tx, table) => tx.exec(`CREATE TABLE IF NOT EXISTS ${table} (position bigint PRIMARY KEY)`),
          apply: async (tx, table, events) => {
            if (table !== 'rm_positions_v1') throw new Error(`cannot write ${table}`);
            for (const event of events) await tx.query(`INSERT INTO ${table} VALUES ($1)`, [event.globalPosition]);
          },
        });
        await withRunner({ projections: [positions] }, async ({ store, sql, runner }) => {
          await append(store, stream('a'), [incremented(1), incremented(2)]);
          await runner.start();
          await waitUntilLiveAtHead(runner, 'positions');

          await expect(runner.rebuild('positions')).rejects.toThrow('cannot write rm_positions_v1_b1');

          await append(store, stream('a'), [incremented(3)]);
          const status = await waitUntilLiveAtHead(runner, 'positions');
          expect(status).toMatchObject({ table: 'rm_positions_v1', failures: 0 });
          expect(status.rebuild).toBeUndefined();
          const tables = await sql.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'rm_%'`,
          );
          expect(tables.rows.map((row) => row.table_name)).toEqual(['rm_positions_v1']);
          const checkpoints = await sql.query<{ projection: string }>(`SELECT projection FROM ${CHECKPOINTS_TABLE}`);
          expect(checkpoints.rows.map((row) => row.projection)).toEqual(['positions_v1']);
          const { rows } = await sql.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM rm_positions_v1');
          expect(rows[0]!.n).toBe(3n);
        });
      },
      TIMEOUT,
    );

    it(
      'given a rebuild running, when a second rebuild of the projection is asked for, then it is refused at once with RebuildInProgressError and the first one switches',
      () =>
        withRunner({}, async ({ store, sql, runner }) => {
          await append(store, stream('a'), Array.from({ length: 20 }, (_, i) => incremented(i)));
          await runner.start();
          await waitUntilLiveAtHead(runner);
          expect(runner.isRebuilding('counters')).toBe(false);

          const first = runner.rebuild('counters');
          const claimed = runner.isRebuilding('counters'); // synchronously, before any await
          const second = runner.rebuild('counters');
          const [won, lost] = await Promise.allSettled([first, second]);

          expect(claimed).toBe(true);

          expect(won).toMatchObject({ status: 'fulfilled', value: { previousTable: 'rm_counters_v1', table: 'rm_counters_v1_b1' } });
          expect(lost!.status).toBe('rejected');
          const refusal = (lost as PromiseRejectedResult).reason as unknown;
          expect(refusal).toBeInstanceOf(RebuildInProgressError);
          expect(refusal).toMatchObject({ projection: 'counters', message: "Projection 'counters' is already being rebuilt" });
          expect(runner.isRebuilding('counters')).toBe(false);

          const status = await waitUntilLiveAtHead(runner);
          expect(status.table).toBe('rm_counters_v1_b1');
          expect(await storedCounters(runner)).toEqual(expectedCounters(await store.readAll()));
          const tables = await sql.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'rm_%'`,
          );
          expect(tables.rows.map((row) => row.table_name)).toEqual(['rm_counters_v1_b1']);
          // Once it is over, the projection can be rebuilt again.
          expect(await runner.rebuild('counters')).toMatchObject({ table: 'rm_counters_v1_b2' });
        }),
      TIMEOUT,
    );

    it(
      'given a rebuild replaying, when the runner is stopped, then the rebuild is abandoned (its table dropped, the live table still active) and live delivery does not restart',
      () =>
        withRunner({}, async ({ store, sql, runner, newRunner }) => {
          const a = stream('a');
          await append(store, a, Array.from({ length: 40 }, (_, i) => incremented(i)));
          await runner.start();
          const live = await waitUntilLiveAtHead(runner);

          // The owner stops the runner once the replay has written its first batch.
          let stopping: Promise<void> | undefined;
          const rebuild = runner.rebuild('counters', {
            batchSize: 5,
            onProgress: (progress) => {
              if (progress.position > 0n) stopping ??= runner.stop();
            },
          });
          await expect(rebuild).rejects.toBeInstanceOf(RebuildAbortedError);
          expect(stopping).toBeDefined();
          await stopping;

          expect(runner.isRebuilding('counters')).toBe(false);
          const status = await runner.status('counters');
          expect(status).toMatchObject({ state: 'stopped', table: 'rm_counters_v1', position: live.position });
          expect(status.rebuild).toBeUndefined();
          expect(await runner.activeTable('counters')).toBe('rm_counters_v1');
          const tables = await sql.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'rm_%'`,
          );
          expect(tables.rows.map((row) => row.table_name)).toEqual(['rm_counters_v1']);
          const checkpoints = await sql.query<{ projection: string }>(`SELECT projection FROM ${CHECKPOINTS_TABLE}`);
          expect(checkpoints.rows.map((row) => row.projection)).toEqual(['counters_v1']);

          // Stopped stays stopped: a new event is not delivered.
          await append(store, a, [incremented(100)]);
          const head = await store.headPosition();
          await expect(runner.waitForPosition('counters', head, { timeoutMs: 300 })).rejects.toThrow(/did not reach position/);
          expect((await runner.status('counters')).state).toBe('stopped');

          // The live table carries on from its checkpoint at the next start.
          const again = newRunner();
          await again.start();
          expect((await waitUntilLiveAtHead(again)).table).toBe('rm_counters_v1');
          expect(await storedCounters(again)).toEqual(expectedCounters(await store.readAll()));
        }),
      TIMEOUT,
    );

    it(
      'given a rebuild committing its switch, when the runner is stopped, then the switch completes but live delivery is not resumed',
      async () => {
        let owner: ProjectionRunner | undefined;
        let stopping: Promise<void> | undefined;
        const positions = defineProjection({
          name: 'positions',
          version: 1,
          setup: async (tx, table) => tx.exec(`CREATE TABLE IF NOT EXISTS ${table} (position bigint PRIMARY KEY)`),
          apply: async (tx, table, events) => {
            for (const event of events) await tx.query(`INSERT INTO ${table} VALUES ($1)`, [event.globalPosition]);
          },
          // Dropping the old table opens the switch transaction (live delivery already paused): the
          // owner stops the runner right then.
          drop: async (tx, table) => {
            if (table === 'rm_positions_v1' && owner) stopping ??= owner.stop();
            await tx.exec(`DROP TABLE IF EXISTS ${table} CASCADE`);
          },
        });
        await withRunner({ projections: [positions] }, async ({ store, sql, runner, newRunner }) => {
          const a = stream('a');
          await append(store, a, [incremented(1), incremented(2)]);
          await runner.start();
          await waitUntilLiveAtHead(runner, 'positions');

          owner = runner;
          const result = await runner.rebuild('positions');
          expect(stopping).toBeDefined();
          await stopping;

          expect(result).toMatchObject({ previousTable: 'rm_positions_v1', table: 'rm_positions_v1_b1' });
          expect(await runner.activeTable('positions')).toBe('rm_positions_v1_b1');
          expect(await runner.status('positions')).toMatchObject({ state: 'stopped', table: 'rm_positions_v1_b1', position: result.position });

          // Not resumed after stop(): a new event is not delivered.
          await append(store, a, [incremented(3)]);
          const head = await store.headPosition();
          await expect(runner.waitForPosition('positions', head, { timeoutMs: 300 })).rejects.toThrow(/did not reach position/);
          expect((await runner.status('positions')).state).toBe('stopped');

          // The next start carries on in the new table from the switch position, one row per event.
          owner = undefined;
          const again = newRunner();
          await again.start();
          expect((await waitUntilLiveAtHead(again, 'positions')).table).toBe('rm_positions_v1_b1');
          const { rows } = await sql.query<{ position: bigint }>('SELECT position FROM rm_positions_v1_b1 ORDER BY position');
          expect(rows.map((row) => row.position)).toEqual((await store.readAll()).map((event) => event.globalPosition));
        });
      },
      TIMEOUT,
    );
  });
}
