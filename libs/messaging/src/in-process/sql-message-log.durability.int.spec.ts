import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PostgresEventStore, type RecordedEvent } from '@svp/event-store';
import { PGliteSqlClient, PgSqlClient, type SqlClient } from '@svp/postgres';
import { freshPgSchema, testInfra, waitFor } from '@svp/testing';
import { consumeEnvelopes } from '../consume-envelopes.js';
import { SqlInbox } from '../inbox/sql-inbox.js';
import { silentLogger } from '../logger.js';
import type { IncomingMessage, OutgoingMessage } from '../message-bus.js';
import { OutboxRelay } from '../outbox/outbox-relay.js';
import { connectionRefusedError } from '../testing/index.js';
import { InProcessMessageBus } from './in-process-message-bus.js';
import { SqlMessageLog, type SqlMessageLogOptions } from './sql-message-log.js';

const quiet = { logger: silentLogger } as const;
const busOn = async (sql: SqlClient, options: SqlMessageLogOptions = {}, numPartitions?: number) =>
  new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { ...quiet, ...options }), numPartitions, retryBackoff: 20, ...quiet });

/** A database that outlives the client: opened again after a "restart" (PGlite files, or a PostgreSQL schema). */
interface Database {
  name: string;
  open(): Promise<SqlClient>;
  dispose(): Promise<void>;
}

function pgliteFiles(): Database {
  const dir = mkdtempSync(join(tmpdir(), 'svp-msg-log-'));
  return {
    name: 'PGlite files',
    open: () => PGliteSqlClient.open({ dataDir: dir }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresSchema(): Promise<Database> {
  const db = await freshPgSchema('msg_restart');
  return {
    name: 'PostgreSQL',
    open: () => PgSqlClient.connect({ connectionString: testInfra().databaseUrl, schema: db.schema, max: 5 }),
    dispose: () => db.dispose(),
  };
}

const TOPIC = 'variables.events.v1';
const toMessages = (event: RecordedEvent): OutgoingMessage[] => [
  {
    topic: TOPIC,
    key: event.streamName,
    value: JSON.stringify({
      eventId: event.eventId,
      type: event.type,
      version: 1,
      occurredAt: event.recordedAt.toISOString(),
      orgId: 'org-1',
      data: event.data,
    }),
  },
];

describe.each([['PGlite files'], ['PostgreSQL']])('the SQL message log across a restart (%s)', (engine) => {
  let database: Database;
  afterAll(async () => database?.dispose());

  /** The embedded composition on one database: event store, outbox relay, bus, inbox. */
  async function boot() {
    const sql = await database.open();
    const store = await PostgresEventStore.create(sql);
    const bus = await busOn(sql);
    const relay = await OutboxRelay.create({ name: 'variables', store, sql, bus, toMessages, ...quiet });
    const inbox = await SqlInbox.create(sql);
    await sql.exec('CREATE TABLE IF NOT EXISTS restart_effects (event_id uuid PRIMARY KEY)');
    const effects = async () => (await sql.query<{ event_id: string }>('SELECT event_id FROM restart_effects ORDER BY event_id')).rows.map((r) => r.event_id);
    const shutdown = async () => {
      await relay.stop();
      await bus.close();
      await store.close();
      await sql.close();
    };
    return { sql, store, bus, relay, inbox, effects, shutdown };
  }

  it('the relay reached the head while the consumer was failing; after a restart a healthy consumer of the same group handles every message once', async () => {
    database = engine === 'PostgreSQL' ? await postgresSchema() : pgliteFiles();
    const groupId = 'sessions.variable-activity';

    // Before the restart: published and checkpointed, but the consumer fails on everything.
    const before = await boot();
    const appended = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, eventId] of appended.entries()) {
      await before.store.appendToStream(`session-${i % 2}`, [{ eventId, type: 'SessionVariablesChanged', data: { i } }]);
    }
    let failures = 0;
    const failing = await consumeEnvelopes({
      bus: before.bus,
      groupId,
      topics: [TOPIC],
      ...quiet,
      handler: async () => {
        failures++;
        throw connectionRefusedError();
      },
    });
    await before.relay.start();
    await waitFor(async () => (await before.relay.depth()) === 0n, 'the relay to reach the head');
    await waitFor(() => failures >= 2, 'the consumer to fail');
    await failing.stop();
    expect(await before.effects()).toEqual([]);
    await before.shutdown();

    // After the restart: a new client, bus and relay on the same database.
    const after = await boot();
    try {
      const delivered: string[] = [];
      await after.relay.start();
      await consumeEnvelopes({
        bus: after.bus,
        groupId,
        topics: [TOPIC],
        ...quiet,
        handler: async (event) => {
          await after.inbox.handleOnce(groupId, event.eventId, (tx) => tx.query('INSERT INTO restart_effects (event_id) VALUES ($1)', [event.eventId]));
          delivered.push(event.eventId);
        },
      });
      await waitFor(async () => (await after.effects()).length === appended.length, `${appended.length} effects`);
      expect(await after.effects()).toEqual([...appended].sort());
      // Nothing was republished (the relay's checkpoint was at the head) and nothing handled twice.
      expect([...delivered].sort()).toEqual([...appended].sort());
    } finally {
      await after.shutdown();
    }
  });
});

describe('SqlMessageLog wake-ups', () => {
  it('a consumer on another connection pool (another process) is woken by NOTIFY, well before its poll interval', async () => {
    const db = await freshPgSchema('msg_notify');
    const other = await PgSqlClient.connect({ connectionString: testInfra().databaseUrl, schema: db.schema, max: 2 });
    const publisher = await busOn(db.sql, { pollIntervalMs: 60_000 });
    const consumerBus = await busOn(other, { pollIntervalMs: 60_000 });
    try {
      const received: IncomingMessage[] = [];
      const consumer = await consumerBus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void received.push(m) });
      await consumer.ready;
      // Let the worker reach its wait (nothing to read yet).
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      await publisher.publish([{ topic: 't', key: 'k', value: 'hello' }]);
      await waitFor(() => received.length === 1, 'the message', 10_000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(received[0]).toMatchObject({ topic: 't', key: 'k', value: 'hello', offset: '0' });
    } finally {
      await consumerBus.close();
      await publisher.close();
      await other.close();
      await db.dispose();
    }
  });

  it('without notifications (LISTEN unavailable), a waiting consumer still gets new messages by polling', async () => {
    const sql = await PGliteSqlClient.open();
    const deaf: SqlClient = {
      engine: sql.engine,
      query: (text, params) => sql.query(text, params),
      exec: (text) => sql.exec(text),
      transaction: (fn) => sql.transaction(fn),
      listen: async () => {
        throw new Error('LISTEN is not supported here');
      },
      close: () => sql.close(),
    };
    const publisher = await busOn(sql, { pollIntervalMs: 60_000 });
    const consumerBus = await busOn(deaf, { pollIntervalMs: 100 });
    try {
      const received: string[] = [];
      const consumer = await consumerBus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void received.push(m.value) });
      await consumer.ready;
      await new Promise((resolve) => setTimeout(resolve, 200));
      await publisher.publish([{ topic: 't', key: 'k', value: 'polled' }]);
      await waitFor(() => received.length === 1, 'the polled message', 5000);
      expect(received).toEqual(['polled']);
    } finally {
      await consumerBus.close();
      await publisher.close();
      await sql.close();
    }
  });
});

describe('SqlMessageLog storage', () => {
  it('a publish is all or nothing: a message the log cannot store fails the whole call', async () => {
    const sql = await PGliteSqlClient.open();
    const bus = await busOn(sql);
    try {
      await expect(
        bus.publish([
          { topic: 't', key: 'k', value: 'fine' },
          { topic: 't', key: 'k', value: 'nul \u0000 inside' },
        ]),
      ).rejects.toThrow(/NUL/);
      await bus.publish([{ topic: 't', key: 'k', value: 'next' }]);
      const { rows } = await sql.query<{ value: string; offset: bigint }>('SELECT value, "offset" FROM msg_bus_messages ORDER BY "offset"');
      expect(rows).toEqual([{ value: 'next', offset: 0n }]);
    } finally {
      await bus.close();
      await sql.close();
    }
  });

  it('a new group with fromBeginning false starts at the end of the log, and a new bus instance keeps that start', async () => {
    const sql = await PGliteSqlClient.open();
    const first = await busOn(sql);
    let second: InProcessMessageBus | undefined;
    try {
      await first.publish([{ topic: 't', key: 'k', value: 'before' }]);
      const late = await first.consume({ groupId: 'late', topics: ['t'], fromBeginning: false, handler: async () => undefined });
      await late.ready;
      await waitFor(async () => (await sql.query('SELECT 1 FROM msg_bus_offsets WHERE group_id = $1', ['late'])).rows.length === 3, 'the group to join');
      await first.close();
      second = await busOn(sql);
      await second.publish([{ topic: 't', key: 'k', value: 'after' }]);
      const seen: string[] = [];
      await second.consume({ groupId: 'late', topics: ['t'], fromBeginning: false, handler: async (m) => void seen.push(m.value) });
      await waitFor(() => seen.length === 1, 'the message published after the group joined');
      expect(seen).toEqual(['after']);
    } finally {
      await first.close();
      await second?.close();
      await sql.close();
    }
  });

  it('reads and commits that fail for a while (database restarting) delay consumption, and nothing is lost or handled twice', async () => {
    const sql = await PGliteSqlClient.open();
    let failReads = 3;
    let failCommits = 2;
    const flaky: SqlClient = {
      engine: sql.engine,
      query: async (text, params) => {
        if (text.includes('FROM msg_bus_messages') && failReads > 0) {
          failReads--;
          throw connectionRefusedError();
        }
        if (text.includes('DO UPDATE SET next_offset') && failCommits > 0) {
          failCommits--;
          throw connectionRefusedError();
        }
        return sql.query(text, params);
      },
      exec: (text) => sql.exec(text),
      transaction: (fn) => sql.transaction(fn),
      listen: (channel, onNotify) => sql.listen(channel, onNotify),
      close: () => sql.close(),
    };
    const bus = await busOn(flaky);
    try {
      await bus.publish(Array.from({ length: 5 }, (_, i) => ({ topic: 't', key: 'k', value: `m${i}` })));
      const handled: string[] = [];
      const consumer = await bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void handled.push(m.value) });
      await waitFor(() => handled.length === 5, '5 messages');
      // The failing commits are retried until one passes: the offset after the five is committed.
      const committed = async () => (await sql.query<{ next_offset: bigint }>("SELECT next_offset FROM msg_bus_offsets WHERE group_id = 'g'")).rows.map((r) => r.next_offset);
      await waitFor(async () => (await committed()).includes(5n), 'the offset after the five committed');
      await consumer.stop();
      expect(handled).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      expect([failReads, failCommits]).toEqual([0, 0]);
    } finally {
      await bus.close();
      await sql.close();
    }
  });
});

describe('SqlMessageLog retention', () => {
  it('deletes what every group committed past and what is older than retentionMs; a partition no group consumes keeps its messages until then', async () => {
    const sql = await PGliteSqlClient.open();
    const log = await SqlMessageLog.create(sql, { ...quiet, pruneIntervalMs: 0, retentionMs: 60 * 60 * 1000 });
    const bus = new InProcessMessageBus({ log, numPartitions: 1, retryBackoff: 20, ...quiet });
    const offsets = async (topic: string) =>
      (await sql.query<{ offset: bigint }>('SELECT "offset" FROM msg_bus_messages WHERE topic = $1 ORDER BY "offset"', [topic])).rows.map((r) =>
        Number(r.offset),
      );
    try {
      await bus.publish(Array.from({ length: 10 }, (_, i) => ({ topic: 't', key: 'k', value: `m${i}` })));
      await bus.publish([{ topic: 't.dlq', key: 'k', value: 'letter' }]);
      // Group a handles everything; group b has handled 0-3.
      const seen: string[] = [];
      const a = await bus.consume({ groupId: 'a', topics: ['t'], handler: async (m) => void seen.push(m.value) });
      await waitFor(() => seen.length === 10, 'group a to handle 10 messages');
      await a.stop();
      await log.join('b', 't', 0, true);
      await log.commit('b', 't', 0, 4);

      expect(await log.prune()).toBe(4);
      expect(await offsets('t')).toEqual([4, 5, 6, 7, 8, 9]);
      expect(await offsets('t.dlq')).toEqual([0]);

      await sql.query(`UPDATE msg_bus_messages SET published_at = now() - interval '2 hours' WHERE topic = 't.dlq' OR "offset" < 6`);
      expect(await log.prune()).toBe(3);
      expect(await offsets('t')).toEqual([6, 7, 8, 9]);
      expect(await offsets('t.dlq')).toEqual([]);

      // A group behind what retention removed (b, at 4) resumes at the oldest message kept.
      const resumed: string[] = [];
      const b = await bus.consume({ groupId: 'b', topics: ['t'], handler: async (m) => void resumed.push(`${m.offset}:${m.value}`) });
      await waitFor(() => resumed.length === 4, 'group b to handle what is left');
      await b.stop();
      expect(resumed).toEqual(['6:m6', '7:m7', '8:m8', '9:m9']);
    } finally {
      await bus.close();
      await sql.close();
    }
  });

  it('runs in the background every pruneIntervalMs', async () => {
    const sql = await PGliteSqlClient.open();
    const bus = await busOn(sql, { pruneIntervalMs: 50 });
    try {
      await bus.publish([{ topic: 't', key: 'k', value: 'once' }]);
      const consumer = await bus.consume({ groupId: 'only', topics: ['t'], handler: async () => undefined });
      await waitFor(
        async () => (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM msg_bus_messages')).rows[0]!.n === 0,
        'the handled message to be pruned',
        10_000,
      );
      await consumer.stop();
    } finally {
      await bus.close();
      await sql.close();
    }
  });
});
