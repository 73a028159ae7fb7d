import { randomUUID } from 'node:crypto';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { trace } from '@opentelemetry/api';
import { PostgresEventStore, type RecordedEvent } from '@svp/event-store';
import { type IncomingMessage, KafkaMessageBus, OutboxRelay, silentLogger } from '@svp/messaging';
import { ProjectionRunner, defineProjection } from '@svp/projections';
import { type OtlpReceiver, type ReceivedSpan, SPAN_KIND, freshPgSchema, startOtlpReceiver, testInfra, uniqueName, waitFor } from '@svp/testing';
import { createLogger } from '../logger.js';
import { ServiceMetrics } from '../metrics.js';
import { type RunningServiceApp, startServiceApp } from '../service-app.js';
import { type StreamCommand, type StreamFold, StreamWriter } from '../stream-writer.js';
import { commandRunner } from '../aggregate.js';
import { type TracingHandle, startTracing } from './sdk.js';
import { TracedMessageBus, withTraceHeaders } from './traced-bus.js';
import { TracedEventStore } from './traced-store.js';
import { inSpan, tracingEnabled } from './tracing.js';
import { traceProjectionBatch } from './work.js';

/**
 * The propagation path with the real SDK exporting OTLP/HTTP to a receiver in this test: an HTTP
 * request → a command → the append (trace context into the event's metadata) → the outbox relay
 * (into Kafka headers, on a real broker) → a consumer (out of the headers), and the projection
 * applying the event, all in one trace with the right parents.
 */

type Event = { type: 'Happened'; data: { n: number } };
const fold: StreamFold<number, Event> = { initial: () => 0, evolve: (s) => s + 1 };
const happen = (n: number): StreamCommand<number, Event, string> => ({ type: 'MakeItHappen', decide: () => ({ ok: true, events: [{ type: 'Happened', data: { n } }] }), metadata: { orgId: 'org1' } });

const OTEL_VARS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_BSP_SCHEDULE_DELAY'] as const;
function setEnv(values: Partial<Record<(typeof OTEL_VARS)[number], string>>): () => void {
  const saved = OTEL_VARS.map((name) => [name, process.env[name]] as const);
  for (const name of OTEL_VARS) delete process.env[name];
  Object.assign(process.env, values);
  return () => {
    for (const [name, value] of saved) if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
}

const traceparentOf = (span: ReceivedSpan) => `00-${span.traceId}-${span.spanId}-01`;
const one = (spans: readonly ReceivedSpan[], name: string, traceId: string) => {
  const found = spans.filter((s) => s.name === name && s.traceId === traceId);
  expect({ name, count: found.length }).toEqual({ name, count: 1 });
  return found[0]!;
};

@Controller('traced')
class TracedController {
  @Post()
  async post(@Body() body: { n: number }) {
    // The handler runs after the body's stream events: still inside the request's server span.
    const span = trace.getActiveSpan()?.spanContext();
    return { n: body.n, traceId: span?.traceId, spanId: span?.spanId };
  }

  @Get()
  get() {
    return { spanId: trace.getActiveSpan()?.spanContext().spanId };
  }
}
@Module({ controllers: [TracedController] })
class TracedModule {}

describe('tracing on (OTLP/HTTP JSON to a receiver): HTTP, commands, the event store, the outbox relay, Kafka and projections', () => {
  const infra = testInfra();
  let receiver: OtlpReceiver;
  let tracing: TracingHandle;
  let restoreEnv: () => void;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    restoreEnv = setEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' });
    tracing = await startTracing({ serviceName: 'tracing-test' });
  });

  afterAll(async () => {
    await tracing?.shutdown();
    restoreEnv?.();
    await receiver?.close();
  });

  it('starts the SDK from the standard environment and gives the spans the service name', async () => {
    expect(tracing.enabled).toBe(true);
    expect(tracingEnabled()).toBe(true);
    await inSpan('hello', {}, async () => undefined);
    const spans = await receiver.waitFor((s) => s.some((span) => span.name === 'hello'));
    expect(spans.find((span) => span.name === 'hello')!.service).toBe('tracing-test');
  });

  it('serves a request inside a server span continuing the caller\'s traceparent (the handler sees it, after the body); health is not traced', async () => {
    let app: RunningServiceApp | undefined;
    try {
      app = await startServiceApp({
        name: 'variables',
        title: 'Tracing test',
        module: { module: TracedModule },
        routes: [],
        readiness: [],
        logger: createLogger('silent'),
        metrics: new ServiceMetrics('variables'),
        host: '127.0.0.1',
        port: 0,
        bodyLimit: 64 * 1024,
      });
      const callerTrace = randomUUID().replace(/-/g, '');
      const callerSpan = randomUUID().replace(/-/g, '').slice(0, 16);
      const response = await fetch(`${app.url}/traced`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${callerTrace}-${callerSpan}-01` },
        body: JSON.stringify({ n: 7 }),
      });
      const answer = (await response.json()) as { n: number; traceId: string; spanId: string };
      expect(answer).toMatchObject({ n: 7, traceId: callerTrace });
      expect((await fetch(`${app.url}/healthz`)).ok).toBe(true);
      const untraced = (await (await fetch(`${app.url}/traced`)).json()) as { spanId?: string };
      const spans = await receiver.waitFor((s) => s.some((span) => span.spanId === answer.spanId) && s.some((span) => span.spanId === untraced.spanId));
      const server = spans.find((span) => span.spanId === answer.spanId)!;
      expect(server).toMatchObject({ name: 'POST /traced', kind: SPAN_KIND.server, traceId: callerTrace, parentSpanId: callerSpan, service: 'tracing-test' });
      expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/traced', 'http.response.status_code': 201 });
      // A request without traceparent starts its own trace.
      expect(spans.find((span) => span.spanId === untraced.spanId)).toMatchObject({ name: 'GET /traced', kind: SPAN_KIND.server });
      expect(spans.find((span) => span.spanId === untraced.spanId)!.parentSpanId).toBeUndefined();
      expect(spans.some((span) => String(span.attributes['http.route']) === '/healthz')).toBe(false);
    } finally {
      await app?.close();
    }
  });

  it('carries one trace from a command through the append (event metadata), the relay (Kafka headers on a real broker) to a consumer, and to the projection applying it', async () => {
    const db = await freshPgSchema('tracing');
    const rawStore = await PostgresEventStore.create(db.sql, { pollIntervalMs: 50 });
    const store = new TracedEventStore(rawStore);
    const rawBus = new KafkaMessageBus({ brokers: infra.kafkaBrokers, clientId: 'tracing-test', logger: silentLogger });
    const bus = new TracedMessageBus(rawBus);
    const topic = uniqueName('tracing');
    const received: { message: IncomingMessage; activeSpanId?: string; activeTraceId?: string }[] = [];
    const toMessages = (event: RecordedEvent) => [{ topic, key: event.streamName, value: JSON.stringify({ eventId: event.eventId }), headers: { 'x-event-id': event.eventId } }];
    const relay = await OutboxRelay.create({ name: uniqueName('relay'), store, sql: db.sql, bus, toMessages: withTraceHeaders(toMessages), logger: silentLogger });
    const runner = new ProjectionRunner({
      sql: db.sql,
      store,
      aroundBatch: traceProjectionBatch,
      projections: [
        defineProjection({
          name: 'happenings',
          version: 1,
          canHandle: ['Happened'],
          setup: async (tx, table) => void (await tx.exec(`CREATE TABLE IF NOT EXISTS ${table} (event_id uuid PRIMARY KEY)`)),
          apply: async (tx, table, events) => {
            for (const event of events) await tx.query(`INSERT INTO ${table} (event_id) VALUES ($1)`, [event.eventId]);
          },
        }),
      ],
    });
    await bus.ensureTopics([topic]);
    const consumer = await bus.consume({
      groupId: uniqueName('g'),
      topics: [topic],
      handler: async (message) => {
        const active = trace.getActiveSpan()?.spanContext();
        received.push({ message, activeSpanId: active?.spanId, activeTraceId: active?.traceId });
      },
    });
    try {
      await consumer.ready;
      await relay.start();
      await runner.start();
      const stream = `happenings-${randomUUID()}`;
      const writer = new StreamWriter(store);
      let rootTrace = '';
      await inSpan('request', {}, async (span) => {
        rootTrace = span!.spanContext().traceId;
        const result = await writer.run(stream, fold, happen(1));
        expect(result.ok).toBe(true);
      });

      // The event carries the command span's context in its metadata.
      const [stored] = await rawStore.readStream(stream);
      expect(stored!.metadata).toMatchObject({ orgId: 'org1', traceparent: expect.stringMatching(new RegExp(`^00-${rootTrace}-[0-9a-f]{16}-01$`)) });

      await waitFor(() => received.length > 0, 'the consumer to get the message', 30_000);
      const { message, activeTraceId, activeSpanId } = received[0]!;
      expect(message.headers.traceparent).toMatch(new RegExp(`^00-${rootTrace}-`));
      expect(activeTraceId).toBe(rootTrace);

      const spans = await receiver.waitFor(
        (s) => ['request', 'command MakeItHappen', 'append happenings', `publish ${topic}`, `process ${topic}`, 'project happenings'].every((name) => s.some((span) => span.name === name && span.traceId === rootTrace)),
        20_000,
      );
      const request = one(spans, 'request', rootTrace);
      const command = one(spans, 'command MakeItHappen', rootTrace);
      const append = one(spans, 'append happenings', rootTrace);
      const publish = one(spans, `publish ${topic}`, rootTrace);
      const processed = one(spans, `process ${topic}`, rootTrace);
      const project = one(spans, 'project happenings', rootTrace);
      expect(command.parentSpanId).toBe(request.spanId);
      expect(command.attributes).toMatchObject({ 'svp.stream': stream, 'svp.command': 'MakeItHappen', 'svp.org_id': 'org1', 'svp.command.outcome': 'ok', 'svp.event_count': 1 });
      expect(append.parentSpanId).toBe(command.spanId);
      expect(stored!.metadata.traceparent).toBe(traceparentOf(command));
      // The relay's producer span continues the command's trace; the consumer's is its child, and the handler ran in it.
      expect(publish).toMatchObject({ parentSpanId: command.spanId, kind: SPAN_KIND.producer });
      expect(publish.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.message.id': stored!.eventId });
      expect(message.headers.traceparent).toBe(traceparentOf(publish));
      expect(processed).toMatchObject({ parentSpanId: publish.spanId, kind: SPAN_KIND.consumer, spanId: activeSpanId });
      expect(project.parentSpanId).toBe(command.spanId);
      expect(project.attributes).toMatchObject({ 'svp.projection': 'happenings', 'svp.batch.applied': 1 });
    } finally {
      await consumer.stop();
      await runner.stop();
      await relay.stop();
      await rawBus.close();
      await rawStore.close();
      await db.dispose();
    }
  }, 60_000);

  it('runs a decider command (identity, sessions) in a span that its events continue; a refusal is an outcome, not a failure', async () => {
    const db = await freshPgSchema('tracing_cmd');
    const rawStore = await PostgresEventStore.create(db.sql, { pollIntervalMs: 50 });
    const run = commandRunner(new TracedEventStore(rawStore));
    const decider = {
      initial: () => 0,
      evolve: (s: number) => s + 1,
      decide: (command: { type: 'Count'; data: { refuse: boolean } }) =>
        command.data.refuse ? ({ ok: false, error: { code: 'VALIDATION_FAILED', message: 'no' } } as const) : ({ ok: true, events: [{ type: 'Counted', data: {} }] } as const),
    };
    try {
      const stream = `counter-${randomUUID()}`;
      let rootTrace = '';
      await inSpan('counting', {}, async (span) => {
        rootTrace = span!.spanContext().traceId;
        await run(stream, decider, { type: 'Count', data: { refuse: false } }, { orgId: 'org1' });
        await expect(run(stream, decider, { type: 'Count', data: { refuse: true } }, { orgId: 'org1' })).rejects.toThrow('no');
      });
      const spans = await receiver.waitFor((s) => s.filter((span) => span.name === 'command Count' && span.traceId === rootTrace).length === 2);
      const [done, refused] = spans.filter((span) => span.name === 'command Count' && span.traceId === rootTrace);
      expect(done!.attributes).toMatchObject({ 'svp.command.outcome': 'ok', 'svp.event_count': 1 });
      expect([refused!.attributes['svp.command.outcome'], refused!.status]).toEqual(['refused', 0]);
      const [stored] = await rawStore.readStream(stream);
      expect(stored!.metadata.traceparent).toBe(traceparentOf(done!));
    } finally {
      await rawStore.close();
      await db.dispose();
    }
  });

  it('appends the commands of several requests together, each event keeping its own trace, the append linking the others', async () => {
    const db = await freshPgSchema('tracing_batch');
    const rawStore = await PostgresEventStore.create(db.sql, { pollIntervalMs: 50 });
    const writer = new StreamWriter(new TracedEventStore(rawStore));
    try {
      const stream = `happenings-${randomUUID()}`;
      const traces: string[] = [];
      await Promise.all(
        [1, 2, 3].map((n) =>
          inSpan(`request ${n}`, {}, async (span) => {
            traces.push(span!.spanContext().traceId);
            await writer.run(stream, fold, happen(n));
          }),
        ),
      );
      const events = await rawStore.readStream(stream);
      expect(events).toHaveLength(3);
      for (const event of events) {
        const n = (event.data as Event['data']).n;
        expect(String(event.metadata.traceparent).split('-')[1]).toBe(traces[n - 1]);
      }
      // The second and third were queued behind the first and appended together, linked from that append.
      const spans = await receiver.waitFor((s) => s.filter((span) => span.name === 'append happenings' && traces.includes(span.traceId)).length >= 2);
      const appends = spans.filter((span) => span.name === 'append happenings' && traces.includes(span.traceId));
      const batched = appends.find((span) => span.attributes['svp.event_count'] === 2)!;
      expect(batched.links.map((link) => link.traceId)).toHaveLength(1);
      expect(traces).toContain(batched.links[0]!.traceId);
      expect(batched.links[0]!.traceId).not.toBe(batched.traceId);
    } finally {
      await rawStore.close();
      await db.dispose();
    }
  });
});

describe('tracing shutdown (OTLP/HTTP protobuf, a long batch delay)', () => {
  it('exports the spans still queued when the SDK shuts down, then is off', async () => {
    const receiver = await startOtlpReceiver();
    const restoreEnv = setEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      const tracing = await startTracing({ serviceName: 'tracing-flush-test' });
      let traceId = '';
      await inSpan('queued', {}, async (span) => void (traceId = span!.spanContext().traceId));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receiver.requests).toHaveLength(0);
      await tracing.shutdown();
      expect(tracingEnabled()).toBe(false);
      // The default protocol is http/protobuf: the binary request holds the trace id's 16 bytes.
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.requests[0]!.contentType).toBe('application/x-protobuf');
      expect(receiver.requests[0]!.body.includes(Buffer.from(traceId, 'hex'))).toBe(true);
    } finally {
      restoreEnv();
      await receiver.close();
    }
  });

  it('gives up on a collector that does not answer after the shutdown\'s timeout, so the service still stops in time', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const restoreEnv = setEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      const tracing = await startTracing({ serviceName: 'tracing-timeout-test' });
      await inSpan('never exported', {}, async () => undefined);
      const began = Date.now();
      await tracing.shutdown(300);
      expect(Date.now() - began).toBeLessThan(2000);
      expect(tracingEnabled()).toBe(false);
    } finally {
      restoreEnv();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
