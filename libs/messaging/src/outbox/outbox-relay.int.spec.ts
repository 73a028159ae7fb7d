import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { PostgresEventStore, type RecordedEvent } from '@svp/event-store';
import { freshPgSchema, waitFor } from '@svp/testing';
import { InProcessMessageBus } from '../in-process/in-process-message-bus.js';
import { SqlMessageLog } from '../in-process/sql-message-log.js';
import { silentLogger } from '../logger.js';
import type { IncomingMessage, OutgoingMessage } from '../message-bus.js';
import { OutboxRelay } from './outbox-relay.js';

const toMessages = (event: RecordedEvent): OutgoingMessage[] => [{ topic: 't', key: event.streamName, value: event.eventId }];

/** A store, a relay into the in-process bus on a fresh schema, and a consumer of topic t; `body`, then everything closed. */
async function withRelay(
  options: Omit<Parameters<typeof OutboxRelay.create>[0], 'store' | 'sql' | 'bus' | 'logger'>,
  body: (context: { db: Awaited<ReturnType<typeof freshPgSchema>>; store: PostgresEventStore; relay: OutboxRelay; received: IncomingMessage[] }) => Promise<void>,
): Promise<void> {
  const db = await freshPgSchema(options.name.replace(/-/g, '_'));
  const store = await PostgresEventStore.create(db.sql, { pollIntervalMs: 60_000 });
  const bus = new InProcessMessageBus({ log: await SqlMessageLog.create(db.sql, { logger: silentLogger, pollIntervalMs: 50 }), logger: silentLogger });
  const relay = await OutboxRelay.create({ ...options, store, sql: db.sql, bus, logger: silentLogger });
  const received: IncomingMessage[] = [];
  const consumer = await bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void received.push(m) });
  try {
    await consumer.ready;
    await body({ db, store, relay, received });
  } finally {
    await consumer.stop();
    await relay.stop();
    await bus.close();
    await store.close();
    await db.dispose();
  }
}

describe('OutboxRelay live', () => {
  it('given a relay at the head with a long linger, when an event is stored, then it is published at once (reaching the head flushes the partial batch)', () =>
    withRelay({ name: 'relay-head', toMessages, lingerMs: 60_000 }, async ({ store, relay, received }) => {
      await relay.start();
      const eventId = randomUUID();
      const started = Date.now();
      await store.appendToStream('s-1', [{ eventId, type: 'Happened', data: {} }]);

      await waitFor(() => received.length === 1, 'the published event', 10_000);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(received[0]).toMatchObject({ key: 's-1', value: eventId });
    }));

  it('given events without messages, then their checkpoint is reported at once and stored with the next published batch, or on stop', () => {
    const some = (event: RecordedEvent): OutgoingMessage[] => (event.type === 'Quiet' ? [] : toMessages(event));
    return withRelay({ name: 'relay-defer', toMessages: some, deferCheckpointMs: 60_000 }, async ({ db, store, relay, received }) => {
      const stored = async () => {
        const { rows } = await db.sql.query<{ position: bigint | string }>("SELECT position FROM msg_outbox_checkpoints WHERE name = 'relay-defer'");
        return rows[0] === undefined ? undefined : BigInt(rows[0].position);
      };
      await relay.start();
      await store.appendToStream('s-1', [{ eventId: randomUUID(), type: 'Happened', data: {} }]);
      await waitFor(async () => (await stored()) === (await store.headPosition()), 'the first checkpoint', 10_000);
      const first = await stored();

      await store.appendToStream('s-2', [{ eventId: randomUUID(), type: 'Quiet', data: {} }]);
      const quiet = await store.headPosition();
      await waitFor(async () => (await relay.checkpoint()) === quiet, 'the relay to pass the quiet event', 10_000);
      expect(await stored()).toBe(first);

      await store.appendToStream('s-1', [{ eventId: randomUUID(), type: 'Happened', data: {} }]);
      const loud = await store.headPosition();
      await waitFor(async () => (await stored()) === loud, 'the published batch to store the checkpoint', 10_000);
      await waitFor(() => received.length === 2, 'the two published messages', 10_000);

      await store.appendToStream('s-2', [{ eventId: randomUUID(), type: 'Quiet', data: {} }]);
      const last = await store.headPosition();
      await waitFor(async () => (await relay.checkpoint()) === last, 'the relay to pass the second quiet event', 10_000);
      expect(await stored()).toBe(loud);
      await relay.stop();
      expect(await stored()).toBe(last);
    });
  });
});
