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
export async function kafkaConsumerLag(
  admin: KafkaLagAdmin,
  groups: readonly ConsumerGroupRef[],
  retry: LagRetry = DEFAULT_LAG_RETRY,
): Promise<ConsumerGroupLag[]> {
  const topics = [...new Set(groups.flatMap((g) => g.topics))];
  const watermarks = new Map(
    await Promise.all(
      topics.map(async (topic) => [topic, await retrying(retry, () => admin.fetchTopicOffsets(topic))] as const),
    ),
  );
  return Promise.all(
    groups.map(async (group) => {
      const committed = await retrying(retry, () =>
        admin.fetchOffsets({ groupId: group.groupId, topics: [...group.topics] }),
      );
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

/** How often, and how long apart, a retriable broker error is retried before it rejects. */
export interface LagRetry {
  readonly attempts: number;
  readonly backoffMs: number;
}

/**
 * Just after a topic is created the broker answers "not the leader for that topic-partition" for a
 * moment; kafkajs marks such errors `retriable` but its admin does not retry them on these calls.
 * Five tries, 100 ms apart and growing, cover that. (A leader that moved on a cluster of several
 * brokers is not covered: kafkajs's admin keeps its metadata until it expires, so the tries go to the
 * old leader; the next scrape asks again.)
 */
export const DEFAULT_LAG_RETRY: LagRetry = { attempts: 5, backoffMs: 100 };

async function retrying<T>(retry: LagRetry, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= retry.attempts || !isRetriable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, retry.backoffMs * attempt));
    }
  }
}

function isRetriable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
}

/** kafkajs answers '-1' (or '') for a partition the group has committed nothing on. */
function committedOffset(offset: string): bigint | null {
  if (offset === '' || offset === undefined) return null;
  const value = BigInt(offset);
  return value < 0n ? null : value;
}
