import type { Admin } from 'kafkajs';
import { type ConsumerGroupLag, type ConsumerGroupRef, type PartitionOffsets, groupLag } from '../consumer-lag.js';

/** What the lag needs of kafkajs' admin client (so a test or another caller can pass its own). */
export type KafkaLagAdmin = Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets'>;

/**
 * Consumer lag on Kafka: each topic's low and high watermarks (ListOffsets) against each group's
 * committed offsets (OffsetFetch), through a connected kafkajs admin client. Each topic's watermarks
 * are fetched once, however many groups read it. A group unknown to the broker has committed
 * nothing (offset -1): its lag is everything kept. A missing topic rejects (kafkajs' error).
 */
export async function kafkaConsumerLag(admin: KafkaLagAdmin, groups: readonly ConsumerGroupRef[]): Promise<ConsumerGroupLag[]> {
  const topics = [...new Set(groups.flatMap((g) => g.topics))];
  const watermarks = new Map(
    await Promise.all(topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)),
  );
  return Promise.all(
    groups.map(async (group) => {
      const committed = await admin.fetchOffsets({ groupId: group.groupId, topics: [...group.topics] });
      const byPartition = new Map<string, bigint | null>();
      for (const { topic, partitions } of committed)
        for (const p of partitions) byPartition.set(`${topic}:${p.partition}`, committedOffset(p.offset));
      const offsets: PartitionOffsets[] = group.topics.flatMap((topic) =>
        (watermarks.get(topic) ?? []).map((w) => ({
          topic,
          partition: w.partition,
          low: BigInt(w.low),
          high: BigInt(w.high),
          committed: byPartition.get(`${topic}:${w.partition}`) ?? null,
        })),
      );
      return groupLag(group, offsets);
    }),
  );
}

/** kafkajs answers '-1' (or '') for a partition the group has committed nothing on. */
function committedOffset(offset: string): bigint | null {
  if (offset === '' || offset === undefined) return null;
  const value = BigInt(offset);
  return value < 0n ? null : value;
}
