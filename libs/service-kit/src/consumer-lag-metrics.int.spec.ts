import { describe, expect, it } from '@jest/globals';
import { KafkaMessageBus, silentLogger } from '@svp/messaging';
import { testInfra, uniqueName, waitFor } from '@svp/testing';
import { registerConsumerLag } from './consumer-lag-metrics.js';
import { ServiceMetrics } from './metrics.js';

/** The lag samples of one scrape of the registry, as Prometheus reads them: `partition → lag`. */
async function scrapeLag(metrics: ServiceMetrics, groupId: string): Promise<Map<string, number>> {
  const text = await metrics.registry.metrics();
  const lag = new Map<string, number>();
  for (const m of text.matchAll(/^svp_consumer_lag_messages\{([^}]*)\} (\d+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.group === groupId) lag.set(`${labels.topic}:${labels.partition}`, Number(m[2]));
  }
  return lag;
}
const total = (lag: Map<string, number>) => [...lag.values()].reduce((a, b) => a + b, 0);

describe('svp_consumer_lag_messages against a real Kafka broker', () => {
  it('given messages published to a group that has not handled them, when scraped, then each partition shows its lag; once handled and committed, 0', async () => {
    const bus = new KafkaMessageBus({ brokers: testInfra().kafkaBrokers, logger: silentLogger, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 200, commitIntervalMs: 100 });
    const topic = uniqueName('lag_metric');
    const groupId = uniqueName('lag_metric_group');
    const metrics = new ServiceMetrics('sessions');
    registerConsumerLag(metrics, bus, [{ groupId, topics: [topic] }]);
    try {
      await bus.ensureTopics([topic]);
      const empty = await scrapeLag(metrics, groupId);
      expect(empty.size).toBe(3); // every partition of the topic, each 0
      expect(total(empty)).toBe(0);

      await bus.publish(Array.from({ length: 6 }, (_, i) => ({ topic, key: `key-${i}`, value: String(i) })));
      await waitFor(async () => total(await scrapeLag(metrics, groupId)) === 6, 'a lag of 6 before any consumer');

      let handled = 0;
      const consumer = await bus.consume({ groupId, topics: [topic], handler: async () => void handled++ });
      try {
        await consumer.ready;
        await waitFor(() => handled === 6, 'the 6 messages handled');
        await waitFor(async () => total(await scrapeLag(metrics, groupId)) === 0, 'the lag back to 0 once committed', 20_000);
      } finally {
        await consumer.stop();
      }
    } finally {
      await bus.close();
    }
  }, 60_000);
});
