import type { ConsumerGroupRef, MessageBus } from '@svp/messaging';
import type { ServiceMetrics } from './metrics.js';

/**
 * `svp_consumer_lag_messages{group, topic, partition}`: how far each consumer group of the service
 * (`groups`: its workers' `consumes`) trails its partitions' ends, read from the bus at scrape time
 * (`MessageBus.consumerLag`: on Kafka one ListOffsets per topic and one OffsetFetch per group,
 * bounded by `timeoutMs`). On Kafka the lag is the group's, whichever instance holds a partition:
 * every instance of a service reports the same value (aggregate with `max`, not `sum`). Not
 * registered when the bus cannot tell (KAFKA_CLIENT=platformatic).
 */
export function registerConsumerLag(metrics: ServiceMetrics, bus: MessageBus, groups: readonly ConsumerGroupRef[], timeoutMs = 2000): void {
  if (groups.length === 0 || !bus.consumerLag) return;
  const read = bus.consumerLag.bind(bus);
  metrics.gauge(
    'svp_consumer_lag_messages',
    'Messages published and not yet handled by a consumer group (high watermark minus committed offset), by group, topic and partition',
    ['group', 'topic', 'partition'],
    async (gauge) => {
      for (const group of await read(groups))
        for (const p of group.partitions) gauge.set({ group: group.groupId, topic: p.topic, partition: String(p.partition) }, Number(p.lag));
    },
    { reset: true, timeoutMs },
  );
}
