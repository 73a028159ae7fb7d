import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { PostgresEventStore, type RecordedEvent } from '@svp/event-store';
import { freshPgSchema, waitFor } from '@svp/testing';
import { InProcessMessageBus } from '../in-process/in-process-message-bus.js';
import { SqlMessageLog } from '../in-process/sql-message-log.js';
import { silentLogger } from '../logger.js';
import type { IncomingMessage, OutgoingMessage } from '../message-bus.js';
import { type OutboxLeaseOptions, OutboxRelay } from './outbox-relay.js';

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

describe('OutboxRelay lease: one relay of a name publishes, however many instances run it', () => {
  /** A store, one bus and consumer on a fresh schema, and relays of one name made on demand; everything closed after. */
  async function withInstances(
    name: string,
    body: (context: { store: PostgresEventStore; relay: (lease: OutboxLeaseOptions) => Promise<OutboxRelay>; received: IncomingMessage[]; db: Awaited<ReturnType<typeof freshPgSchema>> }) => Promise<void>,
  ): Promise<void> {
    const db = await freshPgSchema(name.replace(/-/g, '_'));
    const store = await PostgresEventStore.create(db.sql, { pollIntervalMs: 60_000 });
    const bus = new InProcessMessageBus({ log: await SqlMessageLog.create(db.sql, { logger: silentLogger, pollIntervalMs: 50 }), logger: silentLogger });
    const relays: OutboxRelay[] = [];
    const relay = async (lease: OutboxLeaseOptions) => {
      const made = await OutboxRelay.create({ name, store, sql: db.sql, bus, toMessages, logger: silentLogger, lease });
      relays.push(made);
      return made;
    };
    const received: IncomingMessage[] = [];
    const consumer = await bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void received.push(m) });
    try {
      await consumer.ready;
      await body({ store, relay, received, db });
    } finally {
      await consumer.stop();
      for (const made of relays) await made.stop();
      await bus.close();
      await store.close();
      await db.dispose();
    }
  }
  const append = (store: PostgresEventStore, n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => store.appendToStream(`s-${i % 7}`, [{ eventId: randomUUID(), type: 'Happened', data: {} }])));
  const valuesOf = (received: IncomingMessage[]) => received.map((m) => String(m.value));

  it('given three instances running the relay of one name, then each event is published once, by the one holding the lease', () =>
    withInstances('lease-three', async ({ store, relay, received }) => {
      const instances = [await relay({ holder: 'a', pollMs: 50 }), await relay({ holder: 'b', pollMs: 50 }), await relay({ holder: 'c', pollMs: 50 })];
      for (const instance of instances) await instance.start();
      await append(store, 60);

      await waitFor(() => received.length >= 60, '60 messages', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // time for duplicates, were any sent
      expect(received).toHaveLength(60);
      expect(new Set(valuesOf(received)).size).toBe(60);
      expect(instances.filter((i) => i.holdsLease)).toHaveLength(1);
    }));

  it('given the holder stops, then a standby takes the lease at its next try and publishes what follows, each event once', () =>
    withInstances('lease-handover', async ({ store, relay, received }) => {
      const first = await relay({ holder: 'a', pollMs: 50 });
      await first.start();
      await waitFor(() => first.holdsLease, 'a to hold the lease', 5_000);
      const second = await relay({ holder: 'b', pollMs: 50 });
      await second.start();
      await append(store, 10);
      await waitFor(() => received.length >= 10, 'the first 10', 10_000);
      expect(second.holdsLease).toBe(false);

      const stopped = Date.now();
      await first.stop();
      await waitFor(() => second.holdsLease, 'b to take the lease', 5_000);
      expect(Date.now() - stopped).toBeLessThan(2_000); // released, not expired (ttl 10 s)
      await append(store, 10);
      await waitFor(() => received.length >= 20, 'the next 10', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(new Set(valuesOf(received)).size).toBe(20);
      expect(received).toHaveLength(20);
    }));

  it('given the holder dies without releasing (its lease left to expire), then a standby takes over once it expires; a holder restarted under the same id takes its own lease back at once', () =>
    withInstances('lease-expiry', async ({ store, relay, received, db }) => {
      const standby = await relay({ holder: 'b', pollMs: 50 });
      // A holder that died: its lease row stays until it expires.
      await db.sql.query("INSERT INTO msg_outbox_leases (name, holder, expires_at) VALUES ('lease-expiry', 'dead', now() + interval '3 seconds')");
      await standby.start();
      await append(store, 5);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect([standby.holdsLease, received.length]).toEqual([false, 0]);
      await waitFor(() => standby.holdsLease, 'b to take the expired lease', 8_000);
      await waitFor(() => received.length >= 5, 'the 5 events', 10_000);
      await standby.stop();

      // b "dies" holding the lease (a row for 'b' with a long expiry); b restarted takes it back at once.
      await db.sql.query("INSERT INTO msg_outbox_leases (name, holder, expires_at) VALUES ('lease-expiry', 'b', now() + interval '1 hour')");
      const restarted = await relay({ holder: 'b', pollMs: 50 });
      await restarted.start();
      await waitFor(() => restarted.holdsLease, 'b restarted to hold its lease', 2_000);
      await append(store, 5);
      await waitFor(() => received.length >= 10, 'the next 5', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(new Set(valuesOf(received)).size).toBe(10);
      expect(received).toHaveLength(10);
    }));

  it('given the holder stalls past its ttl and another instance takes the lease, then the first stops publishing when it renews', () =>
    withInstances('lease-lost', async ({ store, relay, received, db }) => {
      const first = await relay({ holder: 'a', ttlMs: 60_000, renewMs: 100, pollMs: 50 });
      await first.start();
      await waitFor(() => first.holdsLease, 'a to hold the lease', 5_000);
      // Another instance took it (as if a's lease had expired while a stalled).
      await db.sql.query("UPDATE msg_outbox_leases SET holder = 'z', expires_at = now() + interval '1 hour' WHERE name = 'lease-lost'");
      await waitFor(() => !first.holdsLease, 'a to notice at its renewal', 5_000);
      await append(store, 5);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(received).toHaveLength(0);
      // z goes away (released): a takes the lease again and publishes from the checkpoint.
      await db.sql.query("DELETE FROM msg_outbox_leases WHERE name = 'lease-lost'");
      await waitFor(() => first.holdsLease, 'a to take the lease again', 5_000);
      await waitFor(() => received.length >= 5, 'the 5 events', 10_000);
      expect(received).toHaveLength(5);
    }));

  it('given a relay stopped and started again (the same object), then it releases, takes the lease again and goes on from its checkpoint, each event once', () =>
    withInstances('lease-restart', async ({ store, relay, received, db }) => {
      const only = await relay({ holder: 'a', pollMs: 50 });
      await only.start();
      await append(store, 5);
      await waitFor(() => received.length >= 5, 'the first 5', 10_000);
      await only.stop();
      expect(only.holdsLease).toBe(false);
      expect((await db.sql.query("SELECT holder FROM msg_outbox_leases WHERE name = 'lease-restart'")).rows).toEqual([]);
      await append(store, 5);
      await only.start();
      await waitFor(() => received.length >= 10, 'the next 5', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(only.holdsLease).toBe(true);
      expect(received).toHaveLength(10);
      expect(new Set(valuesOf(received)).size).toBe(10);
    }));
});
