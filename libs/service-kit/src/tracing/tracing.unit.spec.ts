import { describe, expect, it } from '@jest/globals';
import type { RecordedEvent } from '@svp/event-store';
import { TracingConfigError, startTracing, tracingConfigured } from './sdk.js';
import { withTraceHeaders } from './traced-bus.js';
import { inSpan, streamCategory, tracingEnabled } from './tracing.js';

describe('whether the environment turns tracing on', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, true],
  ])('given %j, then on is %s', (env, on) => {
    expect(tracingConfigured(env)).toBe(on);
  });

  it('given no OTEL_* variable, when starting, then no SDK is started and every hook stays off', async () => {
    const handle = await startTracing({ serviceName: 'variables', env: {} });
    expect(handle.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    // The span helper only runs the work.
    expect(await inSpan('work', {}, async (span) => span)).toBeUndefined();
    await handle.shutdown();
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc/],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /OTEL_TRACES_EXPORTER=zipkin is not supported/],
  ])('given %j, when starting, then it refuses naming the variable, and tracing stays off', async (env, message) => {
    const started = startTracing({ serviceName: 'variables', env });
    await expect(started).rejects.toThrow(TracingConfigError);
    await expect(started).rejects.toThrow(message);
    expect(tracingEnabled()).toBe(false);
  });
});

describe('the outbox relay\'s mapping with trace headers', () => {
  const event = (metadata: Record<string, unknown>) => ({ eventId: 'e1', type: 'T', data: {}, metadata, streamName: 's-1', streamRevision: 0n, globalPosition: 1n, recordedAt: new Date() }) as RecordedEvent;
  const toMessages = (e: RecordedEvent) => [
    { topic: 'a', key: e.streamName, value: '1', headers: { 'x-event-id': e.eventId } },
    { topic: 'b', key: e.streamName, value: '2' },
  ];
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('given an event with a trace context, then every message carries it beside its own headers', () => {
    const messages = withTraceHeaders(toMessages)(event({ orgId: 'o', traceparent, tracestate: 'k=v' }));
    expect(messages.map((m) => m.headers)).toEqual([
      { 'x-event-id': 'e1', traceparent, tracestate: 'k=v' },
      { traceparent, tracestate: 'k=v' },
    ]);
  });

  it('given an event without one (stored while tracing was off), then the messages are the mapping\'s, untouched', () => {
    const plain = event({ orgId: 'o' });
    expect(withTraceHeaders(toMessages)(plain)).toEqual(toMessages(plain));
  });

  it('names spans by stream category, never by the ids in the stream name', () => {
    expect(streamCategory('sessionvars-org_1.s1')).toBe('sessionvars');
    expect(streamCategory('plain')).toBe('plain');
  });
});
