import type { ConsumerGroupLag, ConsumerGroupRef } from './consumer-lag.js';

/**
 * The messaging port. Adapters: Kafka through kafkajs (the default of every distributed mode) or
 * @platformatic/kafka (KAFKA_CLIENT=platformatic), and an in-process bus (the embedded
 * single-process mode only). All pass one contract suite.
 */

export type MessageHeaders = Record<string, string>;

export interface OutgoingMessage {
  topic: string;
  /**
   * Partitioning key (session or visitor id): order holds per key. Publishers of integration events
   * always set one; `null` exists only to forward a keyless message unchanged (dead-lettering).
   */
  key: string | null;
  /** JSON text of an integration event envelope. */
  value: string;
  headers?: MessageHeaders;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: MessageHeaders;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts: true = earliest (the default), false = latest. */
  fromBeginning?: boolean;
  /**
   * How many partitions are handled at the same time (each partition stays sequential, so per-key
   * order holds). Default 1: one message at a time across the whole consumer.
   */
  concurrency?: number;
  /**
   * The group exists for this consumer only (a per-instance group, as the gateway's live feed): its
   * committed offsets are deleted when the consumer stops, so restarts leave no groups behind.
   * Default false.
   */
  ephemeral?: boolean;
  /**
   * Handles one message; awaited before the next message of the same partition. Resolving marks
   * the message consumed (its offset is committed); throwing makes the bus retry it (with backoff,
   * until it succeeds or the consumer stops; the offset is not committed meanwhile). To bound the
   * retries and dead-letter poison messages, consume through `consumeEnvelopes`.
   */
  handler: (message: IncomingMessage) => Promise<void>;
}

export interface Consumer {
  /** Resolves when the consumer has joined its group and been assigned partitions. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export interface MessageBus {
  /** Publishes and resolves once the broker has acknowledged every message (acks=all). */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  consume(options: ConsumerOptions): Promise<Consumer>;
  /** Creates the topics (and their `.dlq` twins) if missing. */
  ensureTopics(topics: readonly string[]): Promise<void>;
  /** True when the broker answers (for /readyz). */
  ping(): Promise<boolean>;
  /**
   * How far each group's committed offsets trail its topics' ends (consumer-lag.ts). Optional: an
   * adapter that cannot tell leaves it out (@platformatic/kafka 1.x has no offset admin calls).
   */
  consumerLag?(groups: readonly ConsumerGroupRef[]): Promise<ConsumerGroupLag[]>;
  close(): Promise<void>;
}
