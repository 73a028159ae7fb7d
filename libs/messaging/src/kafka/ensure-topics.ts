import type { Admin } from 'kafkajs';
import { backoffDelay, delay, exponentialBackoff, type Backoff } from '../backoff.js';

/** The admin calls ensureTopics needs (kafkajs' Admin has them). */
export type TopicAdmin = Pick<Admin, 'listTopics' | 'describeCluster' | 'createTopics' | 'fetchTopicMetadata'>;

export interface EnsureTopicsOptions {
  numPartitions: number;
  /** Default: 3, or fewer when the cluster is smaller. */
  replicationFactor?: number;
  /** How long a topic just created may stay unknown to the broker's metadata. Default 15 s. */
  settleTimeoutMs?: number;
  /** Between retries. Default 100 ms doubling up to 2 s. */
  backoff?: Backoff;
}

/**
 * Kafka's answers while a topic just created is not in every metadata cache yet (KRaft propagates it
 * asynchronously): kafkajs' `createTopics({ waitForLeaders: true })` retries LEADER_NOT_AVAILABLE
 * only, and throws on UNKNOWN_TOPIC_OR_PARTITION (kafkajs issue #815). Per-topic errors of a
 * creation come in a KafkaJSAggregateError, and a metadata call that ran out of its own retries
 * throws KafkaJSNumberOfRetriesExceeded with the broker's error as its cause.
 */
const SETTLING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'TOPIC_ALREADY_EXISTS', 'NOT_CONTROLLER', 'REQUEST_TIMED_OUT']);

export function isSettling(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const { type, name, cause, errors } = error as { type?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  if (typeof type === 'string' && SETTLING.has(type)) return true;
  // kafkajs' own timeout while waiting for the leaders of a topic it created.
  if (name === 'KafkaJSTimeout') return true;
  if (name === 'KafkaJSNumberOfRetriesExceeded') return isSettling(cause, depth + 1);
  if (name === 'KafkaJSAggregateError' && Array.isArray(errors) && errors.length > 0) return errors.every((e) => isSettling(e, depth + 1));
  return false;
}

/**
 * Creates the topics that are missing and waits until the broker's metadata knows every one of
 * them with a leader. A topic that another client creates at the same moment, or that is still
 * propagating, is retried (with `backoff`) while the next attempt starts before `settleTimeoutMs`
 * (an attempt itself is bounded by kafkajs' timeouts); any other error is thrown at once.
 */
export async function ensureKafkaTopics(admin: TopicAdmin, topics: readonly string[], options: EnsureTopicsOptions): Promise<void> {
  const deadline = Date.now() + (options.settleTimeoutMs ?? 15_000);
  const backoff = options.backoff ?? exponentialBackoff({ initialMs: 100, maxMs: 2000 });
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic));
      if (missing.length > 0) {
        const replicationFactor = options.replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length);
        // This answers false, without waiting for leaders, when another client created them all at
        // the same moment: the check below waits (as for a topic listed but created a moment ago).
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: options.numPartitions, replicationFactor })),
        });
      }
      // Every topic known with a leader on every partition (kafkajs throws on a partition's error).
      const { topics: described } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = described.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
      if (leaderless.length > 0) throw Object.assign(new Error(`no leader yet for ${leaderless.map((t) => t.name).join(', ')}`), { type: 'LEADER_NOT_AVAILABLE' });
      return;
    } catch (error) {
      const wait = backoffDelay(backoff, attempt);
      if (!isSettling(error) || Date.now() + wait > deadline) throw error;
      await delay(wait);
    }
  }
}
