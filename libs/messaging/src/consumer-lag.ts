/**
 * Consumer lag: how far a consumer group's committed offsets trail the end of its partitions
 * (the high watermark, the offset the next published message gets). The bus adapters that can
 * tell implement `MessageBus.consumerLag` (Kafka through kafkajs' admin client, the in-process
 * bus from its log); the arithmetic is here, once, pure.
 */

/** A consumer group and the topics it reads (what a service declares for each of its consumers). */
export interface ConsumerGroupRef {
  groupId: string;
  topics: readonly string[];
  /** Where the group starts without a committed offset, as ConsumerOptions says: true (the default) the oldest kept message, false the end. */
  fromBeginning?: boolean;
}

/** The offsets of one partition as the broker and the group's commits tell them. */
export interface PartitionOffsets {
  topic: string;
  partition: number;
  /** The oldest offset still kept (retention removed what is below). */
  low: bigint;
  /** The high watermark: the offset the next message gets (low = high: nothing kept). */
  high: bigint;
  /** The group's committed offset (the next one it handles); null when it has committed none. */
  committed: bigint | null;
}

export interface PartitionLag extends PartitionOffsets {
  /** Messages published and not yet handled by the group. */
  lag: bigint;
}

export interface ConsumerGroupLag {
  groupId: string;
  topics: string[];
  /** The sum over its partitions. */
  lag: bigint;
  partitions: PartitionLag[];
}

/**
 * Lag of one partition. A group that committed nothing yet starts at the oldest kept message (the
 * durable consumers read from the beginning), so everything kept is its lag, unless it starts at the
 * end (`fromBeginning: false`): then nothing is. A committed offset that retention overtook counts
 * from the oldest kept one. Never negative.
 */
export function partitionLag({ low, high, committed }: Pick<PartitionOffsets, 'low' | 'high' | 'committed'>, fromBeginning = true): bigint {
  if (committed === null && !fromBeginning) return 0n;
  const from = committed === null || committed < low ? low : committed;
  return high > from ? high - from : 0n;
}

/** A group's lag from its partitions' offsets, partitions sorted by topic then number. */
export function groupLag(group: ConsumerGroupRef, offsets: readonly PartitionOffsets[]): ConsumerGroupLag {
  const partitions = [...offsets]
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    .map((p) => ({ ...p, lag: partitionLag(p, group.fromBeginning ?? true) }));
  return { groupId: group.groupId, topics: [...group.topics], lag: partitions.reduce((sum, p) => sum + p.lag, 0n), partitions };
}

/** JSON of a group's lag (offsets as strings: they are 64-bit). */
export function consumerGroupLagJson(lag: ConsumerGroupLag) {
  return {
    groupId: lag.groupId,
    topics: lag.topics,
    lag: lag.lag.toString(),
    partitions: lag.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      committed: p.committed === null ? null : p.committed.toString(),
      low: p.low.toString(),
      high: p.high.toString(),
      lag: p.lag.toString(),
    })),
  };
}
