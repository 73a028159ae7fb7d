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

describe('OutboxRelay live', () => {
  it('given a relay at the head with a long linger, when an event is stored, then it is published at once (reaching the head flushes the partial batch)', async () => {
    const db = await freshPgSchema('relay_head');
    const store = await PostgresEventStore.create(db.sql, { pollIntervalMs: 60_000 });
    const bus = new InProcessMessageBus({ log: await SqlMessageLog.create(db.sql, { logger: silentLogger, pollIntervalMs: 50 }), logger: silentLogger });
    const relay = await OutboxRelay.create({ name: 'relay-head', store, sql: db.sql, bus, toMessages, logger: silentLogger, lingerMs: 60_000 });
    const received: IncomingMessage[] = [];
    const consumer = await bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void received.push(m) });
    try {
      await consumer.ready;
      await relay.start();
      const eventId = randomUUID();
      const started = Date.now();
      await store.appendToStream('s-1', [{ eventId, type: 'Happened', data: {} }]);

      await waitFor(() => received.length === 1, 'the published event', 10_000);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(received[0]).toMatchObject({ key: 's-1', value: eventId });
    } finally {
      await consumer.stop();
      await relay.stop();
      await bus.close();
      await store.close();
      await db.dispose();
    }
  });
});
