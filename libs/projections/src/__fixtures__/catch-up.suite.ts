/**
 * Catching up and replaying in large batches, on every engine of the SqlClient port: the runner's
 * batch sizes before and after the catch-up, and a rebuild's replay keeping its documents in memory
 * (each written about once, not once per batch) with the same read model as the live path.
 */
import { describe, expect, it } from '@jest/globals';
import type { EventStore, EventToAppend, RecordedEvent } from '@svp/event-store';
import type { SqlClient, SqlExecutor } from '@svp/postgres';
import { waitFor } from '@svp/testing';
import { BatchingSubscription } from '../batching-subscription.js';
import { ensureCheckpointTable, registerCheckpoint } from '../checkpoints.js';
import { defineProjection } from '../projection.js';
import { ProjectionRunner } from '../projection-runner.js';
import { setupTable } from '../projection-tables.js';
import { counterProjection, expectedCounters, incremented, removed, unrelated, type Counter } from './counter-projection.js';
import type { ProjectionFixture } from './projection-runner.suite.js';

const TIMEOUT = 60_000;
let streams = 0;
const stream = (label: string) => `counter-${label}-${Date.now().toString(36)}-${++streams}`;

/** A custom projection that records the size of every batch it is given, per table. */
function batchRecorder() {
  const batches = new Map<string, number[]>();
  const projection = defineProjection({
    name: 'batches',
    version: 1,
    canHandle: ['CounterIncremented'],
    setup: async (tx, table) => tx.exec(`CREATE TABLE IF NOT EXISTS ${table} (position bigint PRIMARY KEY)`),
    apply: async (tx, table, events) => {
      batches.set(table, [...(batches.get(table) ?? []), events.length]);
      await tx.query(`INSERT INTO ${table} SELECT unnest($1::bigint[])`, [events.map((e) => e.globalPosition.toString())]);
    },
  });
  return { projection, batches };
}

/** Counts the documents each statement writing a document table sends (its first parameter: the JSON array of their ids). */
function countingWrites(sql: SqlClient): { sql: SqlClient; writes: Map<string, number> } {
  const writes = new Map<string, number>();
  const count = (text: string, params?: unknown[]) => {
    if (!/^\s*INSERT INTO\s+"rm_/.test(text) || !text.includes('string_to_table')) return;
    for (const id of JSON.parse(String(params?.[0])) as string[]) writes.set(id, (writes.get(id) ?? 0) + 1);
  };
  const wrap = (tx: SqlExecutor): SqlExecutor => ({
    query: <Row>(text: string, params?: unknown[]) => {
      count(text, params);
      return tx.query<Row>(text, params);
    },
    exec: (text) => tx.exec(text),
  });
  const counted: SqlClient = {
    engine: sql.engine,
    ...wrap(sql),
    transaction: (fn) => sql.transaction((tx) => fn(wrap(tx))),
    listen: (channel, onNotify) => sql.listen(channel, onNotify),
    close: () => sql.close(),
  };
  return { sql: counted, writes };
}

export function describeCatchUpAndReplay(engine: string, open: () => Promise<ProjectionFixture>): void {
  describe(`Catch-up and replay batches on ${engine}`, () => {
    async function withFixture(body: (fixture: ProjectionFixture) => Promise<void>): Promise<void> {
      const fixture = await open();
      try {
        await body(fixture);
      } finally {
        await fixture.dispose();
      }
    }

    async function append(store: EventStore, name: string, events: EventToAppend[]): Promise<void> {
      await store.appendToStream(name, events);
    }

    it(
      'given a backlog, when a runner starts, then it catches up in batches of catchUpBatchSize and then writes live batches of batchSize',
      () =>
        withFixture(async ({ sql, store }) => {
          const { projection, batches } = batchRecorder();
          const a = stream('a');
          for (let i = 0; i < 10; i++) await append(store, a, Array.from({ length: 10 }, () => incremented(1)));
          const runner = new ProjectionRunner({ sql, store, projections: [projection], batchSize: 3, catchUpBatchSize: 40 });
          try {
            await runner.start();
            await waitFor(async () => (await runner.status('batches')).state === 'live', 'the catch-up');
            const caughtUp = batches.get('rm_batches_v1') ?? [];
            expect(caughtUp.reduce((sum, n) => sum + n, 0)).toBe(100);
            expect(Math.max(...caughtUp)).toBe(40);
            expect(caughtUp.length).toBeLessThanOrEqual(3);

            await append(store, a, Array.from({ length: 10 }, () => incremented(1)));
            const head = await store.headPosition();
            await runner.waitForPosition('batches', head);
            const live = (batches.get('rm_batches_v1') ?? []).slice(caughtUp.length);
            expect(live.reduce((sum, n) => sum + n, 0)).toBe(10);
            expect(Math.max(...live)).toBeLessThanOrEqual(3);
          } finally {
            await runner.stop();
          }
        }),
      TIMEOUT,
    );

    it(
      'given only batchSize, then it bounds every batch, the catch-up and a rebuild included; a rebuild otherwise replays in batches of catchUpBatchSize',
      () =>
        withFixture(async ({ sql, store }) => {
          const a = stream('a');
          for (let i = 0; i < 6; i++) await append(store, a, Array.from({ length: 10 }, () => incremented(1)));
          const bounded = batchRecorder();
          const runner = new ProjectionRunner({ sql, store, projections: [bounded.projection], batchSize: 4 });
          try {
            await runner.start();
            await waitFor(async () => (await runner.status('batches')).state === 'live', 'the catch-up');
            await runner.rebuild('batches');
            for (const sizes of bounded.batches.values()) expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
          } finally {
            await runner.stop();
          }

          const large = batchRecorder();
          const rebuilder = new ProjectionRunner({ sql, store, projections: [large.projection], batchSize: 4, catchUpBatchSize: 25 });
          try {
            await rebuilder.start();
            await waitFor(async () => (await rebuilder.status('batches')).state === 'live', 'the catch-up');
            const result = await rebuilder.rebuild('batches');
            const replayed = large.batches.get(result.table) ?? [];
            expect(replayed.reduce((sum, n) => sum + n, 0)).toBe(60);
            expect(Math.max(...replayed)).toBe(25);
          } finally {
            await rebuilder.stop();
          }
        }),
      TIMEOUT,
    );

    it(
      'given a rebuild of a document projection, then its table equals the live fold, tombstones included, and a stream folded in every batch is written once, not once per batch',
      () =>
        withFixture(async ({ sql, store }) => {
          const busy = stream('busy');
          const others = Array.from({ length: 12 }, (_, i) => stream(`other${i}`));
          // Rounds of four events, one batch each: the busy stream in every one, two of the others
          // (each every sixth round), some of them removed, and an event of another type.
          for (let round = 0; round < 18; round++) {
            await append(store, busy, [incremented(round)]);
            for (const i of [(2 * round) % 12, (2 * round + 1) % 12]) await append(store, others[i]!, [i === 5 && round > 12 ? removed() : incremented(i)]);
            await append(store, stream('noise'), [unrelated()]);
          }
          const live = new ProjectionRunner({ sql, store, projections: [counterProjection()], batchSize: 100, catchUpBatchSize: 100 });
          let liveRows: { id: string; doc: Counter | null; last_position: bigint }[];
          try {
            await live.start();
            await waitFor(async () => (await live.status('counters')).state === 'live', 'the live catch-up');
            liveRows = (await sql.query<{ id: string; doc: Counter | null; last_position: bigint }>('SELECT id, doc, last_position FROM rm_counters_v1 ORDER BY id')).rows;
          } finally {
            await live.stop();
          }
          expect(liveRows.find((row) => row.id === others[5])?.doc).toBeNull(); // a tombstone: SQL NULL

          // Replays alone on their tables, in batches of 4 events, with room for every document and
          // with room for 4 (documents leave and are read back from the table).
          await ensureCheckpointTable(sql);
          for (const [table, room] of [['rm_counters_v1_b8', 64], ['rm_counters_v1_b9', 4]] as const) {
            await sql.transaction(async (tx) => {
              await registerCheckpoint(tx, `counters_v1:${table}`, table);
              await setupTable(tx, counterProjection(), table);
            });
            const counting = countingWrites(sql);
            const head = await store.headPosition();
            let caughtUp = false;
            let failure: unknown;
            const replay = new BatchingSubscription({
              store,
              sql: counting.sql,
              projection: counterProjection(),
              table,
              checkpointKey: `counters_v1:${table}`,
              from: 0n,
              batchSize: 4,
              catchUpBatchSize: 4,
              lingerMs: 10,
              replayCache: room,
              onCaughtUp: () => (caughtUp = true),
              onFailure: (error) => (failure = error),
            });
            replay.start();
            await waitFor(() => caughtUp, 'the replay to catch up');
            await replay.waitForPosition(head);
            await replay.close({ flush: true });
            expect(failure).toBeUndefined();

            const rebuilt = (await sql.query<{ id: string; doc: Counter | null; last_position: bigint }>(`SELECT id, doc, last_position FROM ${table} ORDER BY id`)).rows;
            expect(rebuilt).toEqual(liveRows);
            const log: RecordedEvent[] = await store.readAll();
            expect(new Map(rebuilt.filter((row) => row.doc !== null).map((row) => [row.id, row.doc]))).toEqual(expectedCounters(log));
            const written = [...counting.writes.values()].reduce((sum, n) => sum + n, 0);
            if (room === 64) {
              // Folded in every batch, the busy stream is written once (at the drain), where writing
              // every batch's documents writes it 18 times; the others once per appearance (3 each).
              expect(counting.writes.get(busy)).toBe(1);
              expect(written).toBe(1 + 12 * 3);
            } else {
              expect(written).toBeLessThan(18 * 3);
            }
          }
        }),
      TIMEOUT,
    );
  });
}
