import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { integrationEvent } from '@svp/contracts';
import { waitFor } from '@svp/testing';
import { z } from 'zod';
import { consumeEnvelopes, envelopeParser } from './consume-envelopes.js';
import { DLQ_HEADERS, readDeadLetter } from './dead-letter.js';
import { InProcessMessageBus } from './in-process/in-process-message-bus.js';
import { silentLogger, type MessagingLogger } from './logger.js';
import type { IncomingMessage } from './message-bus.js';
import { connectionRefusedError } from './testing/index.js';

const envelope = (type: string, data: unknown, version = 1, eventId: string = randomUUID()) =>
  JSON.stringify({ eventId, type, version, occurredAt: '2026-01-01T00:00:00.000Z', orgId: 'org-1', data });

const Pinged = integrationEvent('Pinged', 1, z.object({ n: z.number() }));

describe('envelopeParser', () => {
  it('given no schema, then any valid envelope passes and a non-envelope is invalid', () => {
    const parse = envelopeParser(undefined);
    expect(parse(envelope('Anything', { x: 1 }))).toMatchObject({ kind: 'ok', event: { type: 'Anything', data: { x: 1 } } });
    expect(parse('[]')).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/not an event envelope/) });
    expect(parse(JSON.stringify({ type: 'X' }))).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/eventId/) });
    expect(parse('nope')).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/not JSON/) });
  });

  it('given a schema map, then known types are parsed with their schema and unknown ones skipped or invalid as configured', () => {
    expect(envelopeParser({ Pinged })(envelope('Pinged', { n: 1 }))).toMatchObject({ kind: 'ok', event: { data: { n: 1 } } });
    expect(envelopeParser({ Pinged })(envelope('Pinged', { n: 1 }, 2))).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/version/) });
    expect(envelopeParser({ Pinged })(envelope('Other', {}))).toEqual({ kind: 'skip', type: 'Other' });
    expect(envelopeParser({ Pinged }, 'dead-letter')(envelope('Other', {}))).toMatchObject({ kind: 'invalid', error: "unknown event type 'Other'" });
    // A type named like an Object.prototype member is unknown, not a crash.
    expect(envelopeParser({ Pinged })(envelope('toString', {}))).toEqual({ kind: 'skip', type: 'toString' });
  });

  it('given a parse function, then its result is the event and its error makes the message invalid', () => {
    const parse = envelopeParser((e) => {
      if (e.type !== 'Pinged') throw new Error('only Pinged');
      return { id: e.eventId };
    });
    expect(parse(envelope('Pinged', {}))).toMatchObject({ kind: 'ok', event: { id: expect.any(String) } });
    expect(parse(envelope('Other', {}))).toMatchObject({ kind: 'invalid', error: 'Other v1: only Pinged' });
  });
});

describe('consumeEnvelopes: transient infrastructure errors versus poison messages', () => {
  /** A memory bus whose warn lines are kept, a DLQ collector, and a publisher of Pinged events. */
  async function setup() {
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const logger: MessagingLogger = { ...silentLogger, warn: (fields, message) => void warnings.push({ fields, message }) };
    const bus = new InProcessMessageBus({ retryBackoff: 5, logger });
    const dlq: IncomingMessage[] = [];
    await bus.consume({ groupId: 'dlq-reader', topics: ['t.dlq'], handler: async (m) => void dlq.push(m) });
    const publish = (...events: Array<{ n: number; id?: string }>) =>
      bus.publish(events.map(({ n, id }) => ({ topic: 't', key: 'session-1', value: envelope('Pinged', { n }, 1, id) })));
    return { bus, logger, warnings, dlq, publish };
  }

  it('given a handler that throws a connection error 5 times and then succeeds, then it is handled once, nothing is dead-lettered, and every retry is logged at warn', async () => {
    const { bus, logger, warnings, dlq, publish } = await setup();
    let calls = 0;
    const handled: number[] = [];
    await consumeEnvelopes({
      bus,
      logger,
      groupId: 'g',
      topics: ['t'],
      schema: { Pinged },
      maxAttempts: 3,
      backoff: 1,
      handler: async (event) => {
        if (event.data.n === 1 && ++calls <= 5) throw connectionRefusedError();
        handled.push(event.data.n);
      },
    });
    await publish({ n: 1 }, { n: 2 });
    await waitFor(() => handled.length === 2, 'both messages');
    expect(handled).toEqual([1, 2]);
    expect(calls).toBe(6);
    expect(dlq).toEqual([]);
    const retries = warnings.filter((w) => /transient/.test(String(w.fields.err)));
    expect(retries).toHaveLength(5);
    expect(retries[0]!.fields).toMatchObject({ groupId: 'g', topic: 't', offset: '0', attempt: 1, retryInMs: expect.any(Number) });
    expect(retries[0]!.fields.err).toMatch(/ECONNREFUSED/);
    await bus.close();
  });

  it('given a handler that throws a plain Error, then the message is dead-lettered after maxAttempts as before', async () => {
    const { bus, logger, dlq, publish } = await setup();
    let calls = 0;
    await consumeEnvelopes({
      bus,
      logger,
      groupId: 'g',
      topics: ['t'],
      schema: { Pinged },
      maxAttempts: 3,
      backoff: 1,
      handler: async () => {
        calls++;
        throw new Error('handler refused');
      },
    });
    await publish({ n: 1 });
    await waitFor(() => dlq.length === 1, 'the dead letter');
    expect(calls).toBe(3);
    expect(readDeadLetter(dlq[0]!)).toMatchObject({ reason: 'handler', attempts: 3, error: 'handler refused', group: 'g' });
    await bus.close();
  });

  it('given plain failures interleaved with transient ones, then maxAttempts counts only the plain ones', async () => {
    const { bus, logger, dlq, publish } = await setup();
    const errors = [new Error('p1'), connectionRefusedError(), new Error('p2'), connectionRefusedError(), new Error('p3')];
    let calls = 0;
    await consumeEnvelopes({
      bus,
      logger,
      groupId: 'g',
      topics: ['t'],
      schema: { Pinged },
      maxAttempts: 3,
      backoff: 1,
      handler: async () => {
        throw errors[calls++] ?? new Error('called too often');
      },
    });
    await publish({ n: 1 });
    await waitFor(() => dlq.length === 1, 'the dead letter');
    expect(calls).toBe(5);
    expect(dlq[0]!.headers).toMatchObject({ [DLQ_HEADERS.attempts]: '3', [DLQ_HEADERS.error]: 'p3' });
    await bus.close();
  });

  it('given a custom isTransient, then it decides which errors are retried without limit', async () => {
    const { bus, logger, dlq, publish } = await setup();
    let calls = 0;
    const handled: number[] = [];
    await consumeEnvelopes({
      bus,
      logger,
      groupId: 'g',
      topics: ['t'],
      schema: { Pinged },
      maxAttempts: 2,
      backoff: 1,
      isTransient: (error) => error instanceof Error && error.message === 'rate limited',
      handler: async (event) => {
        if (event.data.n === 1 && ++calls <= 4) throw new Error('rate limited');
        if (event.data.n === 2) throw connectionRefusedError(); // not transient for this predicate
        handled.push(event.data.n);
      },
    });
    await publish({ n: 1 }, { n: 2 });
    await waitFor(() => handled.length === 1 && dlq.length === 1, 'one handled, one dead letter');
    expect(handled).toEqual([1]);
    expect(readDeadLetter(dlq[0]!)).toMatchObject({ reason: 'handler', attempts: 2 });
    await bus.close();
  });

  it('given the consumer stops while the error persists, then the message is neither dead-lettered nor committed: the next consumer of the group gets it', async () => {
    const { bus, logger, dlq, publish } = await setup();
    let failures = 0;
    const first = await consumeEnvelopes({
      bus,
      logger,
      groupId: 'g',
      topics: ['t'],
      schema: { Pinged },
      handler: async () => {
        failures++;
        throw connectionRefusedError();
      },
    });
    await publish({ n: 1 });
    await waitFor(() => failures >= 4, 'the first consumer to keep failing');
    await first.stop();
    const handled: number[] = [];
    await consumeEnvelopes({ bus, logger, groupId: 'g', topics: ['t'], schema: { Pinged }, handler: async (event) => void handled.push(event.data.n) });
    await waitFor(() => handled.length === 1, 'the message on the next consumer');
    expect(handled).toEqual([1]);
    expect(dlq).toEqual([]);
    await bus.close();
  });
});
