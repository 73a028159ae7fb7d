/**
 * The contract every MessageBus adapter passes (Kafka and in-process), together with the parts built
 * on the port: the durable consumer (`consumeEnvelopes`, DLQ), the inbox and the outbox relay.
 * It uses only the ports, so the same suite runs against every adapter. One bus serves the whole
 * suite; every test uses fresh topics, group ids, streams and a fresh SQL schema, so tests do not
 * disturb each other.
 *
 * At-least-once allowances: a consumer stopped cleanly commits what it handled, so a restart in the
 * same group re-handles nothing (asserted). After a crash (no clean stop) the uncommitted tail is
 * redelivered; that is what the inbox absorbs (asserted through the outbox cases).
 *
 * Durability: with `reopenBus`, the suite also checks that what one bus instance accepted and did
 * not get handled is handled by the same group on a new instance (a process restart).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { integrationEvent, type EventEnvelope } from '@svp/contracts';
import type { EventStore, EventToAppend, RecordedEvent } from '@svp/event-store';
import type { SqlClient } from '@svp/postgres';
import { z } from 'zod';
import { consumeEnvelopes } from '../consume-envelopes.js';
import { DLQ_HEADERS } from '../dead-letter.js';
import { SqlInbox } from '../inbox/sql-inbox.js';
import { silentLogger, type MessagingLogger } from '../logger.js';
import type { Consumer, IncomingMessage, MessageBus, OutgoingMessage } from '../message-bus.js';
import { OutboxRelay } from '../outbox/outbox-relay.js';
import { waitFor } from '@svp/testing';

export interface MessageBusSqlFixture {
  sql: SqlClient;
  /** An event store on `sql` (the outbox relays from it). */
  store: EventStore;
  /** Closes the store and the client and removes what the fixture created. */
  dispose: () => Promise<void>;
}

export interface MessageBusContractSetup {
  /** The bus under test; created once per suite, closed after it. */
  createBus: () => Promise<MessageBus>;
  /**
   * A new bus instance on the same backing store as `createBus`'s (the same brokers, the same
   * database), as a restarted process would open. Omitted for a bus that keeps nothing beyond its
   * instance (the in-memory log): the restart test is then not declared for it (such a bus is never
   * used where durability is needed; the embedded platform uses the SQL log).
   */
  reopenBus?: () => Promise<MessageBus>;
  /** A fresh database (schema) with an event store, per test that needs one. */
  openSql: () => Promise<MessageBusSqlFixture>;
  /** Deadline of each wait. Default 30 s. */
  timeoutMs?: number;
  /** Where the relays and durable consumers of the suite log. Default: nowhere. */
  logger?: MessagingLogger;
}

/** A fresh topic or group name (letters, digits, dots, dashes, underscores: valid for Kafka). */
export function freshName(prefix: string): string {
  return `${prefix}.${randomUUID()}`;
}

/** An integration event envelope as JSON text. */
export function envelopeJson(type: string, data: unknown, eventId: string = randomUUID()): string {
  const envelope: EventEnvelope = {
    eventId,
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    orgId: 'org-contract',
    correlationId: randomUUID(),
    data,
  };
  return JSON.stringify(envelope);
}

/**
 * A MessageBus whose publish fails (as when the broker is unreachable) once `okCalls` calls went
 * through. Everything else goes to the real bus.
 */
export function interruptibleBus(bus: MessageBus, okCalls: number) {
  let calls = 0;
  const state = { failures: 0 };
  const wrapped: MessageBus = {
    publish: async (messages) => {
      if (++calls > okCalls) {
        state.failures++;
        throw new Error('simulated broker outage');
      }
      await bus.publish(messages);
    },
    consume: (options) => bus.consume(options),
    ensureTopics: (topics) => bus.ensureTopics(topics),
    ping: () => bus.ping(),
    close: async () => undefined,
  };
  return Object.assign(state, { bus: wrapped });
}

/** What a PostgreSQL client throws when the server is down (pg wraps Node's socket error). */
export function connectionRefusedError(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
}

const ContractPinged = integrationEvent('ContractPinged', 1, z.object({ n: z.number().int(), fail: z.boolean().optional() }));
const PUBLISHED_TYPE = 'ContractHappened';
const UNPUBLISHED_TYPE = 'ContractNoise';

export function describeMessageBusContract(adapterName: string, setup: MessageBusContractSetup): void {
  const timeoutMs = setup.timeoutMs ?? 30_000;
  const logger = setup.logger ?? silentLogger;
  const until = (condition: () => boolean | Promise<boolean>, what: string) => waitFor(condition, what, timeoutMs);

  describe(`MessageBus contract: ${adapterName}`, () => {
    let bus: MessageBus;
    const consumers: Consumer[] = [];
    const track = (consumer: Consumer) => {
      consumers.push(consumer);
      return consumer;
    };
    const stopAll = async () => {
      await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
    };

    beforeAll(async () => {
      bus = await setup.createBus();
    });

    afterAll(async () => {
      await stopAll();
      await bus?.close();
    });

    /** Collects every message of `topics` in a fresh group. */
    async function collect(topics: string[]): Promise<{ received: IncomingMessage[]; consumer: Consumer }> {
      const received: IncomingMessage[] = [];
      const consumer = track(
        await bus.consume({
          groupId: freshName('collect'),
          topics,
          handler: async (message) => {
            received.push(message);
          },
        }),
      );
      return { received, consumer };
    }

    it('round-trips a message: topic, key, value and headers arrive as published; ensureTopics is idempotent; ping answers', async () => {
      const topic = freshName('roundtrip');
      await bus.ensureTopics([topic]);
      await bus.ensureTopics([topic]);
      expect(await bus.ping()).toBe(true);
      const { received, consumer } = await collect([topic]);
      await consumer.ready;

      const value = envelopeJson('ContractPinged', { n: 1 });
      await bus.publish([{ topic, key: 'session-1', value, headers: { 'x-trace-id': 'trace-1', 'content-type': 'application/json' } }]);

      await until(() => received.length === 1, 'the message');
      const [message] = received;
      expect(message).toMatchObject({
        topic,
        key: 'session-1',
        value,
        offset: '0',
        headers: { 'x-trace-id': 'trace-1', 'content-type': 'application/json' },
      });
      expect(Number.isInteger(message!.partition) && message!.partition >= 0).toBe(true);
      await stopAll();
    });

    it('keeps per-key order: 3 keys × 50 interleaved messages each arrive in their sequence', async () => {
      const topic = freshName('order');
      await bus.ensureTopics([topic]);
      const keys = ['visitor-a', 'visitor-b', 'visitor-c'];
      const messages: OutgoingMessage[] = [];
      for (let seq = 0; seq < 50; seq++) {
        for (const key of keys) messages.push({ topic, key, value: JSON.stringify({ key, seq }) });
      }
      const { received } = await collect([topic]);
      // Sequential publishes of 15 messages: order holds within a call and across awaited calls.
      for (let i = 0; i < messages.length; i += 15) await bus.publish(messages.slice(i, i + 15));

      await until(() => received.length === messages.length, `${messages.length} messages`);
      for (const key of keys) {
        const sequence = received.filter((m) => m.key === key).map((m) => (JSON.parse(m.value) as { seq: number }).seq);
        expect(sequence).toEqual(Array.from({ length: 50 }, (_, i) => i));
        // One key, one partition.
        expect(new Set(received.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1);
      }
      await stopAll();
    });

    it('a throwing handler gets the same message again until it succeeds; the partition waits for it (order kept)', async () => {
      const topic = freshName('retry');
      await bus.ensureTopics([topic]);
      const handled: string[] = [];
      let failures = 0;
      track(
        await bus.consume({
          groupId: freshName('retry-group'),
          topics: [topic],
          handler: async (message) => {
            if (message.value === 'm1' && failures < 2) {
              failures++;
              throw new Error('transient failure');
            }
            handled.push(message.value);
          },
        }),
      );
      await bus.publish(['m0', 'm1', 'm2'].map((value) => ({ topic, key: 'session-1', value })));

      await until(() => handled.length === 3, '3 handled messages');
      expect(handled).toEqual(['m0', 'm1', 'm2']);
      expect(failures).toBe(2);
      await stopAll();
    });

    it('a consumer stopped mid-way and restarted in the same group resumes from the committed offset: nothing missed, nothing handled twice', async () => {
      const topic = freshName('resume');
      const groupId = freshName('resume-group');
      await bus.ensureTopics([topic]);
      const batch = (from: number) =>
        Array.from({ length: 20 }, (_, i) => ({ topic, key: `session-${(from + i) % 4}`, value: `m${from + i}` }));
      await bus.publish(batch(0));

      // The first member blocks in its 10th message until it has been asked to stop.
      const first: string[] = [];
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const c1 = await bus.consume({
        groupId,
        topics: [topic],
        handler: async (message) => {
          first.push(message.value);
          if (first.length === 10) await released;
        },
      });
      await until(() => first.length >= 10, 'the first member to handle 10 messages');
      const stopping = c1.stop();
      release();
      await stopping;
      expect(first).toHaveLength(10);

      await bus.publish(batch(20));
      const second: string[] = [];
      track(
        await bus.consume({
          groupId,
          topics: [topic],
          handler: async (message) => {
            second.push(message.value);
          },
        }),
      );
      await until(() => new Set([...first, ...second]).size === 40, 'all 40 messages across both members');
      await stopAll();
      // Clean stop: the handled offsets were committed, so the second member re-handles none of them.
      expect(second.filter((value) => first.includes(value))).toEqual([]);
      expect(second).toHaveLength(30);
    });

    it('an ephemeral group is forgotten when its consumer stops: the same group id starts over (a durable group resumes)', async () => {
      const topic = freshName('ephemeral');
      await bus.ensureTopics([topic]);
      await bus.publish(['e0', 'e1', 'e2'].map((value) => ({ topic, key: 'session-1', value })));
      const run = async (groupId: string, ephemeral: boolean, expected: number) => {
        const seen: string[] = [];
        const consumer = await bus.consume({ groupId, topics: [topic], ephemeral, handler: async (message) => void seen.push(message.value) });
        await until(() => seen.length >= expected, `${expected} messages in ${groupId}`);
        await consumer.stop();
        return seen;
      };
      const ephemeralGroup = freshName('ephemeral-group');
      const durableGroup = freshName('durable-group');
      expect(await run(ephemeralGroup, true, 3)).toEqual(['e0', 'e1', 'e2']);
      expect(await run(durableGroup, false, 3)).toEqual(['e0', 'e1', 'e2']);
      await bus.publish([{ topic, key: 'session-1', value: 'e3' }]);
      // Its offsets were deleted: from the beginning again. The durable group goes on from its commit.
      expect(await run(ephemeralGroup, true, 4)).toEqual(['e0', 'e1', 'e2', 'e3']);
      expect(await run(durableGroup, false, 1)).toEqual(['e3']);
    });

    it('a redelivered event (same eventId published twice) has exactly one effect through SqlInbox', async () => {
      const { sql, dispose } = await setup.openSql();
      try {
        const inbox = await SqlInbox.create(sql);
        await sql.exec('CREATE TABLE contract_effects (event_id uuid NOT NULL, n int NOT NULL)');
        const topic = freshName('inbox');
        const [e1, e2] = [randomUUID(), randomUUID()];
        let deliveries = 0;
        track(
          await consumeEnvelopes({
            bus,
            logger,
            groupId: freshName('inbox-group'),
            topics: [topic],
            schema: ContractPinged,
            handler: async (event) => {
              await inbox.handleOnce('contract-consumer', event.eventId, (tx) =>
                tx.query('INSERT INTO contract_effects (event_id, n) VALUES ($1, $2)', [event.eventId, event.data.n]),
              );
              deliveries++;
            },
          }),
        );
        const message = (eventId: string, n: number) => ({ topic, key: 'session-1', value: envelopeJson('ContractPinged', { n }, eventId) });
        await bus.publish([message(e1, 1)]);
        await bus.publish([message(e1, 1), message(e2, 2)]);
        await bus.publish([message(e1, 1)]);

        await until(() => deliveries === 4, '4 deliveries');
        const { rows } = await sql.query<{ event_id: string; count: number }>(
          'SELECT event_id, count(*)::int AS count FROM contract_effects GROUP BY event_id ORDER BY min(n)',
        );
        expect(rows).toEqual([
          { event_id: e1, count: 1 },
          { event_id: e2, count: 1 },
        ]);
        expect(await inbox.has('contract-consumer', e1)).toBe(true);
        expect(await inbox.has('another-consumer', e1)).toBe(false);
      } finally {
        await stopAll();
        await dispose();
      }
    });

    it('dead-letters a malformed and a handler-failing message with reason headers, and later messages on the partition are still handled', async () => {
      const topic = freshName('poison');
      const groupId = freshName('poison-group');
      const key = 'session-poison';
      const failingId = randomUUID();
      const goodId = randomUUID();
      const handled: string[] = [];
      const attemptsOfFailing: number[] = [];
      const deadLettered: string[] = [];
      track(
        await consumeEnvelopes({
          bus,
          logger,
          groupId,
          topics: [topic],
          schema: { ContractPinged },
          maxAttempts: 3,
          backoff: 10,
          onDeadLetter: (letter) => deadLettered.push(letter.reason),
          handler: async (event) => {
            if (event.data.fail) {
              attemptsOfFailing.push(Date.now());
              throw new Error(`handler refused n=${event.data.n}`);
            }
            handled.push(event.eventId);
          },
        }),
      );
      const { received: dlq } = await collect([`${topic}.dlq`]);

      const published = [
        { topic, key, value: '{"not": json', headers: { 'x-trace-id': 'trace-malformed' } },
        { topic, key, value: envelopeJson('ContractPinged', { n: 'not a number' }) },
        { topic, key, value: envelopeJson('SomethingElse', { whatever: true }) },
        { topic, key, value: envelopeJson('ContractPinged', { n: 2, fail: true }, failingId) },
        { topic, key, value: envelopeJson('ContractPinged', { n: 3 }, goodId) },
      ];
      await bus.publish(published);

      await until(() => handled.includes(goodId) && dlq.length === 3, 'the good message and 3 dead letters');
      expect(handled).toEqual([goodId]);
      expect(attemptsOfFailing).toHaveLength(3);
      expect(deadLettered).toEqual(['schema', 'schema', 'handler']);

      const letters = [...dlq].sort((a, b) => Number(a.headers[DLQ_HEADERS.originalOffset]) - Number(b.headers[DLQ_HEADERS.originalOffset]));
      const partition = letters[0]!.headers[DLQ_HEADERS.originalPartition];
      expect(letters.map((m) => [m.key, m.value])).toEqual([
        [key, published[0]!.value],
        [key, published[1]!.value],
        [key, published[3]!.value],
      ]);
      expect(letters.map((m) => m.headers[DLQ_HEADERS.reason])).toEqual(['schema', 'schema', 'handler']);
      expect(letters.map((m) => m.headers[DLQ_HEADERS.attempts])).toEqual(['1', '1', '3']);
      expect(letters.map((m) => m.headers[DLQ_HEADERS.originalOffset])).toEqual(['0', '1', '3']);
      for (const letter of letters) {
        expect(letter.headers).toMatchObject({
          [DLQ_HEADERS.originalTopic]: topic,
          [DLQ_HEADERS.originalPartition]: partition,
          [DLQ_HEADERS.group]: groupId,
        });
        expect(letter.headers[DLQ_HEADERS.error]).toEqual(expect.any(String));
        expect(letter.headers[DLQ_HEADERS.error]!.length).toBeGreaterThan(0);
      }
      expect(letters[0]!.headers['x-trace-id']).toBe('trace-malformed');
      expect(letters[0]!.headers[DLQ_HEADERS.error]).toMatch(/not JSON/);
      expect(letters[1]!.headers[DLQ_HEADERS.error]).toMatch(/data\.n/);
      expect(letters[2]!.headers[DLQ_HEADERS.error]).toBe('handler refused n=2');
      await stopAll();
    });

    it('a handler failing with a transient infrastructure error is retried beyond maxAttempts and never dead-lettered; a plain error is dead-lettered after maxAttempts', async () => {
      const topic = freshName('transient');
      const key = 'session-transient';
      const [flakyId, poisonId, laterId] = [randomUUID(), randomUUID(), randomUUID()];
      const handled: string[] = [];
      let connectionFailures = 0;
      let poisonAttempts = 0;
      track(
        await consumeEnvelopes({
          bus,
          logger,
          groupId: freshName('transient-group'),
          topics: [topic],
          schema: ContractPinged,
          maxAttempts: 3,
          backoff: 10,
          handler: async (event) => {
            if (event.eventId === flakyId && connectionFailures < 5) {
              connectionFailures++;
              throw connectionRefusedError();
            }
            if (event.data.fail) {
              poisonAttempts++;
              throw new Error('handler refused');
            }
            handled.push(event.eventId);
          },
        }),
      );
      const { received: dlq } = await collect([`${topic}.dlq`]);
      await bus.publish([
        { topic, key, value: envelopeJson('ContractPinged', { n: 1 }, flakyId) },
        { topic, key, value: envelopeJson('ContractPinged', { n: 2, fail: true }, poisonId) },
        { topic, key, value: envelopeJson('ContractPinged', { n: 3 }, laterId) },
      ]);

      // The poison message comes after the flaky one on the same partition: once it is in the DLQ,
      // the flaky one was settled, so an empty DLQ apart from it means the flaky one never went there.
      await until(() => handled.length === 2 && dlq.length === 1, 'two handled messages and one dead letter');
      expect(handled).toEqual([flakyId, laterId]);
      expect(connectionFailures).toBe(5);
      expect(poisonAttempts).toBe(3);
      expect(dlq.map((m) => [(JSON.parse(m.value) as { eventId: string }).eventId, m.headers[DLQ_HEADERS.reason], m.headers[DLQ_HEADERS.attempts]])).toEqual([
        [poisonId, 'handler', '3'],
      ]);
      await stopAll();
    });

    if (setup.reopenBus)
    it(
      'survives a restart: messages one bus instance accepted but did not get handled are handled by the same group on a new instance, each effect exactly once with the inbox',
      async () => {
        const reopen = setup.reopenBus!;
        const { sql, dispose } = await setup.openSql();
        const first = await reopen();
        let second: MessageBus | undefined;
        try {
          const inbox = await SqlInbox.create(sql);
          await sql.exec('CREATE TABLE contract_restart_effects (event_id uuid NOT NULL, n int NOT NULL)');
          const topic = freshName('restart');
          const groupId = freshName('restart-group');
          const effect = (eventId: string, n: number) =>
            inbox.handleOnce(groupId, eventId, (tx) => tx.query('INSERT INTO contract_restart_effects (event_id, n) VALUES ($1, $2)', [eventId, n]));
          await first.ensureTopics([topic]);
          const ids = Array.from({ length: 8 }, () => randomUUID());
          await first.publish(ids.map((id, n) => ({ topic, key: 'session-restart', value: envelopeJson('ContractPinged', { n }, id) })));

          // The first instance's consumer handles 0-2; on 3 it makes the effect and then fails (as if
          // the database went away before the offset was committed), again and again, until it stops.
          const firstHandled: number[] = [];
          let failuresOn3 = 0;
          await consumeEnvelopes({
            bus: first,
            logger,
            groupId,
            topics: [topic],
            schema: ContractPinged,
            handler: async (event) => {
              await effect(event.eventId, event.data.n);
              if (event.data.n >= 3) {
                failuresOn3++;
                throw connectionRefusedError();
              }
              firstHandled.push(event.data.n);
            },
          });
          await until(() => failuresOn3 >= 2, 'the first consumer to fail twice on message 3');
          await first.close();
          expect(firstHandled).toEqual([0, 1, 2]);

          second = await reopen();
          const delivered: number[] = [];
          track(
            await consumeEnvelopes({
              bus: second,
              logger,
              groupId,
              topics: [topic],
              schema: ContractPinged,
              handler: async (event) => {
                await effect(event.eventId, event.data.n);
                delivered.push(event.data.n);
              },
            }),
          );
          await until(() => delivered.length === 5, '5 deliveries on the new instance');
          expect(delivered).toEqual([3, 4, 5, 6, 7]);
          const { rows } = await sql.query<{ n: number; count: number }>(
            'SELECT n, count(*)::int AS count FROM contract_restart_effects GROUP BY n ORDER BY n',
          );
          expect(rows).toEqual(ids.map((_, n) => ({ n, count: 1 })));
        } finally {
          await stopAll();
          await first.close();
          await second?.close();
          await dispose();
        }
      },
    );

    describe('outbox relayed from the event store', () => {
      const toMessages =
        (topic: string) =>
        (event: RecordedEvent): OutgoingMessage[] =>
          event.type !== PUBLISHED_TYPE
            ? []
            : [
                {
                  topic,
                  key: event.streamName,
                  value: JSON.stringify({
                    eventId: event.eventId,
                    type: event.type,
                    version: 1,
                    occurredAt: event.recordedAt.toISOString(),
                    orgId: 'org-contract',
                    data: event.data,
                  }),
                },
              ];

      /** Appends events `from`..`to`-1 to each stream; every 4th is of a type that is not published. */
      async function append(store: EventStore, streams: string[], from: number, to: number): Promise<string[]> {
        const published: string[] = [];
        for (let i = from; i < to; i++) {
          for (const stream of streams) {
            const event: EventToAppend = {
              eventId: randomUUID(),
              type: i % 4 === 3 ? UNPUBLISHED_TYPE : PUBLISHED_TYPE,
              data: { stream, i },
            };
            await store.appendToStream(stream, [event]);
            if (event.type === PUBLISHED_TYPE) published.push(event.eventId);
          }
        }
        return published;
      }

      /** A consumer whose effect goes through the inbox: counts deliveries, effects land in SQL. */
      async function inboxConsumer(sql: SqlClient, topic: string) {
        const inbox = await SqlInbox.create(sql);
        await sql.exec('CREATE TABLE IF NOT EXISTS contract_effects (event_id uuid NOT NULL, stream text NOT NULL, i int NOT NULL)');
        const delivered: Array<{ eventId: string; stream: string; i: number }> = [];
        track(
          await consumeEnvelopes({
            bus,
            logger,
            groupId: freshName('outbox-group'),
            topics: [topic],
            handler: async (event) => {
              const data = event.data as { stream: string; i: number };
              await inbox.handleOnce('contract-consumer', event.eventId, (tx) =>
                tx.query('INSERT INTO contract_effects (event_id, stream, i) VALUES ($1, $2, $3)', [event.eventId, data.stream, data.i]),
              );
              delivered.push({ eventId: event.eventId, ...data });
            },
          }),
        );
        const effects = async () =>
          (await sql.query<{ event_id: string }>('SELECT event_id FROM contract_effects ORDER BY event_id')).rows.map((r) => r.event_id);
        return { delivered, effects };
      }

      it('publishes every appended event that maps to messages, in order per stream, and depth() drains to 0', async () => {
        const { sql, store, dispose } = await setup.openSql();
        const topic = freshName('outbox');
        await bus.ensureTopics([topic]);
        const relay = await OutboxRelay.create({ name: 'contract', store, sql, bus, logger, toMessages: toMessages(topic), batchSize: 7 });
        try {
          const streams = [`order-${randomUUID()}`, `order-${randomUUID()}`, `order-${randomUUID()}`];
          const before = await append(store, streams, 0, 8);
          expect(await relay.depth()).toBeGreaterThan(0n);
          const { delivered, effects } = await inboxConsumer(sql, topic);
          await relay.start();
          const live = await append(store, streams, 8, 12);
          const expected = [...before, ...live];

          await until(async () => (await effects()).length === expected.length, `${expected.length} effects`);
          await until(async () => (await relay.depth()) === 0n, 'depth 0');
          expect(await effects()).toEqual([...expected].sort());
          expect(await relay.checkpoint()).toBe(await store.headPosition());
          for (const stream of streams) {
            const sequence = delivered.filter((d) => d.stream === stream).map((d) => d.i);
            expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
          }
        } finally {
          await relay.stop();
          await stopAll();
          await dispose();
        }
      });

      it('a crash between append and publish: events stored while no relay runs, or left when a relay died mid-way, are published by a new relay', async () => {
        const { sql, store, dispose } = await setup.openSql();
        const topic = freshName('outbox-crash');
        await bus.ensureTopics([topic]);
        const streams = [`crash-${randomUUID()}`, `crash-${randomUUID()}`, `crash-${randomUUID()}`];
        // Stored, then the process "dies" before any relay published them.
        const stored = await append(store, streams, 0, 12);
        // A relay whose broker goes away after 2 publishes; it retries and is then killed.
        const outage = interruptibleBus(bus, 2);
        const relay1 = await OutboxRelay.create({
          name: 'contract',
          store,
          sql,
          bus: outage.bus,
          logger,
          toMessages: toMessages(topic),
          batchSize: 5,
          retryBackoff: 20,
        });
        const relay2 = await OutboxRelay.create({ name: 'contract', store, sql, bus, logger, toMessages: toMessages(topic), batchSize: 5 });
        try {
          await relay1.start();
          await until(() => outage.failures >= 2, 'the first relay to retry a publish');
          expect(relay1.isRunning).toBe(true);
          const mid = await relay1.checkpoint();
          expect(mid).toBeDefined();
          expect(mid!).toBeLessThan(await store.headPosition());
          await relay1.stop();
          expect(await relay1.checkpoint()).toBe(mid);

          const later = await append(store, streams, 12, 16);
          const { effects } = await inboxConsumer(sql, topic);
          await relay2.start();
          const expected = [...stored, ...later];
          await until(async () => (await effects()).length === expected.length, `${expected.length} effects`);
          await until(async () => (await relay2.depth()) === 0n, 'depth 0');
          expect(await effects()).toEqual([...expected].sort());
        } finally {
          await relay1.stop();
          await relay2.stop();
          await stopAll();
          await dispose();
        }
      });

      it('a crash between publish and checkpoint only duplicates, and the inbox absorbs the duplicates (one effect each)', async () => {
        const { sql, store, dispose } = await setup.openSql();
        const topic = freshName('outbox-dup');
        await bus.ensureTopics([topic]);
        const relay = await OutboxRelay.create({ name: 'contract', store, sql, bus, logger, toMessages: toMessages(topic), batchSize: 6 });
        try {
          const streams = [`dup-${randomUUID()}`, `dup-${randomUUID()}`];
          const expected = await append(store, streams, 0, 12);
          // What a relay that died right after publishing would have done: published, no checkpoint.
          await bus.publish((await store.readAll()).flatMap(toMessages(topic)));
          expect(await relay.checkpoint()).toBeUndefined();

          const { delivered, effects } = await inboxConsumer(sql, topic);
          await relay.start();
          await until(() => delivered.length === expected.length * 2, `${expected.length * 2} deliveries`);
          await until(async () => (await relay.depth()) === 0n, 'depth 0');
          expect(await effects()).toEqual([...expected].sort());
          expect(new Set(delivered.map((d) => d.eventId)).size).toBe(expected.length);
        } finally {
          await relay.stop();
          await stopAll();
          await dispose();
        }
      });
    });
  });
}
