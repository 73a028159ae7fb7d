import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { PostgresEventStore } from '@svp/event-store';
import { sessionIdentityStream } from '@svp/identity-domain';
import { PGliteSqlClient } from '@svp/postgres';
import { ServiceMetrics, type TracingHandle, startTracing } from '@svp/service-kit';
import { visitorErasedHandler } from './erasure.js';

// docs/tracing.md promises a span for every command: the erasure's commands, run from the
// VisitorErased consumer, get theirs (and their metrics) like identity's other commands. Real
// tracing SDK, its spans collected in memory; a real (embedded) PostgreSQL event store.
describe("identity's part of a visitor's erasure, tracing on", () => {
  const exported: ReadableSpan[] = [];
  const exporter: SpanExporter = {
    export: (spans, done) => {
      exported.push(...spans);
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  let tracing: TracingHandle;
  let sql: PGliteSqlClient;

  beforeAll(async () => {
    tracing = await startTracing({ serviceName: 'identity', exporter, force: true });
    sql = await PGliteSqlClient.open();
  });
  afterAll(async () => {
    await tracing?.shutdown();
    await sql?.close();
  });

  it('given a VisitorErased naming two sessions, then each EraseSessionIdentity runs as a command span and counts in the command metrics', async () => {
    const store = await PostgresEventStore.create(sql);
    const metrics = new ServiceMetrics('identity');
    const handle = visitorErasedHandler({ store, metrics });

    await handle({
      eventId: '00000000-0000-4000-8000-000000000001',
      type: 'VisitorErased',
      version: 1,
      orgId: 'org_1',
      occurredAt: '2026-12-02T16:00:00.000Z',
      data: { visitorId: 'v-1', erasureId: 'era_1', sessionIds: ['ses_1', 'ses_2'] },
    });
    await tracing.shutdown(); // flushes the spans

    const commands = exported.filter((span) => span.name === 'command EraseSessionIdentity');
    expect(commands.map((span) => [span.attributes['svp.stream'], span.attributes['svp.org_id'], span.attributes['svp.causation_id']])).toEqual([
      [sessionIdentityStream('org_1', 'ses_1'), 'org_1', '00000000-0000-4000-8000-000000000001'],
      [sessionIdentityStream('org_1', 'ses_2'), 'org_1', '00000000-0000-4000-8000-000000000001'],
    ]);
    const totals = (await metrics.registry.getSingleMetric('svp_commands_total')!.get()).values;
    expect(totals.find((v) => v.labels.type === 'EraseSessionIdentity' && v.labels.outcome === 'ok')?.value).toBe(2);
  });
});
