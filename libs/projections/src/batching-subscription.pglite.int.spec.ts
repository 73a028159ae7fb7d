import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { EventStore, RecordedEvent, SubscribeToAllOptions, Subscription } from '@svp/event-store';
import { PGliteSqlClient, type SqlClient } from '@svp/postgres';
import { counterProjection, recorded } from './__fixtures__/counter-projection.js';
import { BatchingSubscription } from './batching-subscription.js';
import { ensureCheckpointTable, setCheckpoint } from './checkpoints.js';
import { createDocumentTable } from './document-table.js';
import type { DocumentProjection } from './projection.js';

// A replay (a rebuild's BatchingSubscription with its document cache) on PGlite, fed by a log that
// makes each event when it delivers it and keeps none, so the test can tell what the subscription
// itself still holds.

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A log of `count` CounterIncremented events over 5 streams, made as they are delivered; `made` keeps only weak references. */
function generatedLog(count: number) {
  const made: WeakRef<RecordedEvent>[] = [];
  let delivered = 0;
  const make = (position: number): RecordedEvent => {
    const event = recorded('CounterIncremented', { by: 1 }, { stream: `counter-${position % 5}`, revision: Math.floor((position - 1) / 5), position });
    made.push(new WeakRef(event));
    return event;
  };
  const store = {
    subscribeToAll(handler: (event: RecordedEvent) => Promise<void> | void, options: SubscribeToAllOptions = {}): Subscription {
      let stopped = false;
      const done = (async () => {
        for (let position = 1; position <= count && !stopped; position++) {
          const handled = handler(make(position));
          delivered = position;
          if (handled) await handled;
        }
        options.onCaughtUp?.();
        while (!stopped) await sleep(5);
      })();
      return {
        done,
        stop: async () => {
          stopped = true;
          await done.catch(() => undefined);
        },
      };
    },
  } as unknown as EventStore;
  return { store, made, delivered: () => delivered };
}

/** The client with its transactions held at a gate until `open()`. */
function gated(sql: SqlClient) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let waiting = 0;
  const client = new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'transaction') {
        return async (fn: Parameters<SqlClient['transaction']>[0]) => {
          waiting++;
          await gate;
          return target.transaction(fn);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { client, open, waiting: () => waiting };
}

describe('a replay into its own table (BatchingSubscription with replayCache), on PGlite', () => {
  let sql: PGliteSqlClient;
  let tables = 0;

  beforeAll(async () => {
    sql = await PGliteSqlClient.open();
    await ensureCheckpointTable(sql);
  }, 60_000);
  afterAll(async () => {
    await sql.close();
  });

  async function replay(projection: DocumentProjection, store: EventStore, client: SqlClient) {
    const table = `counters_replay_${++tables}`;
    const checkpointKey = `${table}:rebuild`;
    await sql.transaction(async (tx) => {
      await createDocumentTable(tx, projection, table);
      await setCheckpoint(tx, checkpointKey, table, 0n);
    });
    let failure: unknown;
    const subscription = new BatchingSubscription({
      store,
      sql: client,
      projection,
      table,
      checkpointKey,
      from: 0n,
      batchSize: 10,
      catchUpBatchSize: 10,
      lingerMs: 1_000,
      replayCache: 100,
      onFailure: (error) => (failure = error),
    });
    subscription.start();
    return { subscription, table, failure: () => failure };
  }

  it('lets go of the events of a folded batch while its write waits: only the batch not folded yet is still held', async () => {
    const log = generatedLog(30);
    const { client, open, waiting } = gated(sql);
    const { subscription, table, failure } = await replay(counterProjection(), log.store, client);
    try {
      // Batch 1 (events 1-10) is folded and its write waits at the gate; batch 2 is folded and its
      // write queued behind it; batch 3 waits in the buffer for the write two ahead of it.
      await until(() => log.delivered() === 30 && waiting() === 1, 'the 30 events delivered and the first write waiting');
      await sleep(20);
      gc();
      await sleep(0);

      const alive = log.made.map((ref, i) => (ref.deref() === undefined ? undefined : i + 1)).filter((p) => p !== undefined);

      expect(alive.filter((position) => position <= 20)).toEqual([]);
    } finally {
      open();
      await subscription.waitForPosition(30n);
      await subscription.close({ flush: true });
    }
    expect(failure()).toBeUndefined();
    const { rows } = await sql.query<{ id: string; total: number }>(`SELECT id, (doc->>'total')::int AS total FROM ${table} ORDER BY id`);
    expect(rows).toEqual(['counter-0', 'counter-1', 'counter-2', 'counter-3', 'counter-4'].map((id) => ({ id, total: 6 })));
  });

  it("asks the projection for each event's document once", async () => {
    const base = counterProjection();
    let asked = 0;
    const counting: DocumentProjection = { ...base, documentId: (event) => (asked++, base.documentId(event)) };
    const log = generatedLog(30);
    const { subscription, failure } = await replay(counting, log.store, sql);

    await subscription.waitForPosition(30n);
    await subscription.close({ flush: true });

    expect(failure()).toBeUndefined();
    expect(asked).toBe(30);
  });
});
