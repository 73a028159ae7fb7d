import { describe, expect, it } from '@jest/globals';
import type { ConsumerGroupLag, ConsumerGroupRef, MessageBus } from '@svp/messaging';
import { registerConsumerLag } from './consumer-lag-metrics.js';
import { ServiceMetrics } from './metrics.js';

/** The samples of one metric family, as a scrape shows them. */
async function samples(metrics: ServiceMetrics, name: string) {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return undefined;
  return (await metric.get()).values;
}

describe('command metrics', () => {
  it('given commands of two types, when they are recorded, then each type counts its outcomes and its latencies', async () => {
    const metrics = new ServiceMetrics('test');
    metrics.commands.observe('StartSession', 'ok', 0.004);
    metrics.commands.observe('StartSession', 'ok', 0.006);
    metrics.commands.observe('StartSession', 'refused', 0.001);
    metrics.commands.observe('EndSession', 'conflict', 0.2);

    const totals = await samples(metrics, 'svp_commands_total');
    const count = (type: string, outcome: string) => totals?.find((v) => v.labels.type === type && v.labels.outcome === outcome)?.value;
    expect([count('StartSession', 'ok'), count('StartSession', 'refused'), count('StartSession', 'conflict'), count('EndSession', 'conflict')]).toEqual([2, 1, 0, 1]);

    const durations = await samples(metrics, 'svp_command_duration_seconds');
    const sum = (type: string) => durations?.find((v) => v.labels.type === type && v.metricName === 'svp_command_duration_seconds_sum')?.value;
    const under5ms = durations?.find((v) => v.labels.type === 'StartSession' && v.labels.le === 0.005)?.value;
    expect(sum('StartSession')).toBeCloseTo(0.011, 6);
    expect(sum('EndSession')).toBeCloseTo(0.2, 6);
    expect(under5ms).toBe(2);
    // Every family is labelled with its service (one registry per service).
    expect(await metrics.registry.metrics()).toContain('svp_commands_total{type="EndSession",outcome="conflict",service="test"} 1');
  });
});

describe('scrape-time gauges', () => {
  it('given a gauge whose source fails, when scraped, then the scrape is served, the gauge is empty and the failure is counted', async () => {
    const metrics = new ServiceMetrics('test');
    let fail = false;
    metrics.gauge('svp_test_depth', 'a test gauge', ['name'], async (gauge) => {
      if (fail) throw new Error('database down');
      gauge.set({ name: 'a' }, 7);
    });
    expect(await metrics.registry.metrics()).toContain('svp_test_depth{name="a",service="test"} 7');

    fail = true;
    const text = await metrics.registry.metrics();
    expect(text).toContain('svp_http_requests_total');
    expect(text).not.toContain('svp_test_depth{');
    // The families of a scrape are read side by side: the failure counts from the next scrape on.
    expect(await metrics.registry.metrics()).toContain('svp_metrics_collect_failures_total{metric="svp_test_depth",service="test"} 1');
  });

  it('given a gauge whose source keeps failing, then it is logged as a warning with the error, at most once a minute per metric', async () => {
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    let clock = 1_000_000;
    const metrics = new ServiceMetrics('test', { logger: { warn: (fields, message) => warnings.push({ fields, message }) }, now: () => clock });
    let fail = true;
    metrics.gauge('svp_test_depth', 'a test gauge', [], async (gauge) => {
      if (fail) throw new Error('database down');
      gauge.set(1);
    });
    metrics.gauge('svp_test_other', 'another test gauge', [], async () => {
      throw new Error('broker down');
    });

    await metrics.registry.metrics();
    expect(warnings.map((w) => [w.fields.metric, (w.fields.err as Error).message, w.message])).toEqual([
      ['svp_test_depth', 'database down', 'metric collection failed; the gauge is left empty for this scrape'],
      ['svp_test_other', 'broker down', 'metric collection failed; the gauge is left empty for this scrape'],
    ]);
    // Scrapes within the minute: counted, not logged.
    clock += 15_000;
    await metrics.registry.metrics();
    clock += 30_000;
    await metrics.registry.metrics();
    expect(warnings).toHaveLength(2);
    // A minute after the last line: logged again, with how many failures went unlogged meanwhile.
    clock += 16_000;
    await metrics.registry.metrics();
    expect(warnings.slice(2).map((w) => [w.fields.metric, w.fields.suppressedSinceLastLog])).toEqual([
      ['svp_test_depth', 2],
      ['svp_test_other', 2],
    ]);
    // A source that recovers logs nothing.
    fail = false;
    clock += 120_000;
    await metrics.registry.metrics();
    expect(warnings.slice(4).map((w) => w.fields.metric)).toEqual(['svp_test_other']);
  });

  it('given a gauge whose source does not answer, when scraped, then the scrape ends after the timeout and counts it', async () => {
    const metrics = new ServiceMetrics('test');
    metrics.gauge('svp_test_slow', 'a test gauge', [], () => new Promise<void>(() => undefined), { timeoutMs: 50 });
    const started = Date.now();
    await metrics.registry.metrics();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await metrics.registry.metrics()).toContain('svp_metrics_collect_failures_total{metric="svp_test_slow",service="test"} 1');
  });

  it('given a reset gauge, when a label set is no longer reported, then it leaves the scrape', async () => {
    const metrics = new ServiceMetrics('test');
    let partitions = [0, 1];
    metrics.gauge('svp_test_lag', 'a test gauge', ['partition'], async (gauge) => {
      for (const p of partitions) gauge.set({ partition: String(p) }, 1);
    }, { reset: true });
    expect((await samples(metrics, 'svp_test_lag'))?.length).toBe(2);
    partitions = [1];
    expect((await samples(metrics, 'svp_test_lag'))?.map((v) => v.labels.partition)).toEqual(['1']);
  });
});

describe('consumer lag gauge', () => {
  const lagOf = (groupId: string, partitions: Array<[number, bigint]>): ConsumerGroupLag => ({
    groupId,
    topics: ['sessions.events.v1'],
    lag: partitions.reduce((sum, [, lag]) => sum + lag, 0n),
    partitions: partitions.map(([partition, lag]) => ({ topic: 'sessions.events.v1', partition, low: 0n, high: 10n, committed: 10n - lag, lag })),
  });
  const busWith = (consumerLag: MessageBus['consumerLag']) => ({ consumerLag }) as MessageBus;
  const group = (groupId: string): ConsumerGroupRef => ({ groupId, topics: ['sessions.events.v1'] });

  it("given a service's consumer groups, when scraped, then the bus is asked for exactly those and each partition's lag is a sample", async () => {
    const metrics = new ServiceMetrics('variables');
    const asked: ConsumerGroupRef[][] = [];
    const bus = busWith(async (groups) => {
      asked.push([...groups]);
      return [lagOf('variables-sessions', [[0, 3n], [1, 0n]])];
    });
    registerConsumerLag(metrics, bus, [group('variables-sessions')]);

    const values = await samples(metrics, 'svp_consumer_lag_messages');
    expect(asked).toEqual([[{ groupId: 'variables-sessions', topics: ['sessions.events.v1'] }]]);
    expect(values?.map((v) => [v.labels.group, v.labels.topic, v.labels.partition, v.value])).toEqual([
      ['variables-sessions', 'sessions.events.v1', '0', 3],
      ['variables-sessions', 'sessions.events.v1', '1', 0],
    ]);
  });

  it('given a broker that does not answer, when scraped, then the rest of the scrape is served within the timeout', async () => {
    const metrics = new ServiceMetrics('variables');
    registerConsumerLag(metrics, busWith(() => new Promise(() => undefined)), [group('g')], 50);
    const started = Date.now();
    const text = await metrics.registry.metrics();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(text).not.toContain('svp_consumer_lag_messages{');
    expect(await metrics.registry.metrics()).toContain('svp_metrics_collect_failures_total{metric="svp_consumer_lag_messages",service="variables"} 1');
  });

  it('given a bus that cannot tell (no consumerLag), then no lag family is registered', () => {
    const metrics = new ServiceMetrics('variables');
    registerConsumerLag(metrics, {} as MessageBus, [group('g')]);
    expect(metrics.registry.getSingleMetric('svp_consumer_lag_messages')).toBeUndefined();
  });
});
