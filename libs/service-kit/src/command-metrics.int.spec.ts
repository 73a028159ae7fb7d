import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type EventStore, PostgresEventStore } from '@svp/event-store';
import { freshPgSchema } from '@svp/testing';
import { AppError } from './app-error.js';
import { type Decider, runCommand } from './aggregate.js';
import { ServiceMetrics } from './metrics.js';
import { ObservedEventStore } from './store-metrics.js';
import { type StreamFold, StreamWriter } from './stream-writer.js';

// A counter aggregate: Add n (refused when n < 0).
type Command = { type: 'Add'; data: { n: number } };
type Event = { type: 'Added'; data: { n: number } };
const decider: Decider<Command, number, Event> = {
  initial: () => 0,
  evolve: (total, e) => total + e.data.n,
  decide: (c) => (c.data.n < 0 ? { ok: false, error: { code: 'VALIDATION_FAILED', message: 'negative' } } : { ok: true, events: [{ type: 'Added', data: { n: c.data.n } }] }),
};
const fold: StreamFold<number, Event> = { initial: decider.initial, evolve: decider.evolve };

async function values(metrics: ServiceMetrics, name: string) {
  return (await metrics.registry.getSingleMetric(name)!.get()).values;
}
const countOf = async (metrics: ServiceMetrics, labels: Record<string, string>) =>
  (await values(metrics, 'svp_commands_total')).find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
const histogramCount = async (metrics: ServiceMetrics, name: string, labels: Record<string, string>) =>
  (await values(metrics, name)).find((v) => v.metricName === `${name}_count` && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;

describe('command and append metrics on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof freshPgSchema>>;
  let inner: EventStore;
  beforeAll(async () => {
    db = await freshPgSchema('cmdmetrics', { max: 5 });
    inner = await PostgresEventStore.create(db.sql, { pollIntervalMs: 50 });
  });
  afterAll(async () => {
    await inner?.close();
    await db?.dispose();
  });

  it('given commands through runCommand, when they succeed, are refused or conflict, then each counts under its type and outcome with its latency, and each append under its adapter', async () => {
    const metrics = new ServiceMetrics('identity');
    const store = new ObservedEventStore(inner, metrics.appendDuration, 'postgres');
    const options = { metrics: metrics.commands };
    const stream = `counter-${randomUUID()}`;

    await runCommand(store, stream, decider, { type: 'Add', data: { n: 1 } }, {}, options);
    await runCommand(store, stream, decider, { type: 'Add', data: { n: 2 } }, {}, options);
    await expect(runCommand(store, stream, decider, { type: 'Add', data: { n: -1 } }, {}, options)).rejects.toBeInstanceOf(AppError);
    // Reads that miss the events another writer stored: every append meets the real revision, a conflict.
    const stale: EventStore = Object.create(store, { readStream: { value: async () => [] } });
    await expect(runCommand(stale, stream, decider, { type: 'Add', data: { n: 5 } }, {}, { ...options, maxRetries: 2 })).rejects.toMatchObject({ code: 'CONFLICT' });

    expect(await countOf(metrics, { type: 'Add', outcome: 'ok' })).toBe(2);
    expect(await countOf(metrics, { type: 'Add', outcome: 'refused' })).toBe(1);
    expect(await countOf(metrics, { type: 'Add', outcome: 'conflict' })).toBe(1);
    expect(await histogramCount(metrics, 'svp_command_duration_seconds', { type: 'Add' })).toBe(4);
    expect(await histogramCount(metrics, 'svp_event_store_append_duration_seconds', { adapter: 'postgres', outcome: 'ok' })).toBe(2);
    expect(await histogramCount(metrics, 'svp_event_store_append_duration_seconds', { adapter: 'postgres', outcome: 'conflict' })).toBe(2);
  });

  it('given commands through the stream writer, when they are written together or refused, then each counts under its own type', async () => {
    const metrics = new ServiceMetrics('variables');
    const store = new ObservedEventStore(inner, metrics.appendDuration, 'postgres');
    const writer = new StreamWriter(store, { metrics: metrics.commands });
    const stream = `counter-${randomUUID()}`;
    const add = (n: number) => ({ type: 'Add', decide: (s: number) => decider.decide({ type: 'Add', data: { n } }, s), metadata: { orgId: 'org1' } });

    const results = await Promise.all([1, 2, 3, -1].map((n) => writer.run(stream, fold, add(n))));
    await writer.run(stream, fold, { type: 'Reset', decide: () => ({ ok: true as const, events: [] }), metadata: { orgId: 'org1' } });

    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(await countOf(metrics, { type: 'Add', outcome: 'ok' })).toBe(3);
    expect(await countOf(metrics, { type: 'Add', outcome: 'refused' })).toBe(1);
    expect(await countOf(metrics, { type: 'Reset', outcome: 'ok' })).toBe(1);
    // Group commit: commands queued on one stream share an append, so fewer appends than commands.
    const appends = await histogramCount(metrics, 'svp_event_store_append_duration_seconds', { adapter: 'postgres', outcome: 'ok' });
    expect(appends).toBeGreaterThanOrEqual(1);
    expect(appends).toBeLessThan(3);
  });
});
