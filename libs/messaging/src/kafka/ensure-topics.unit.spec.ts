import { describe, expect, it } from '@jest/globals';
import { ensureKafkaTopics, type TopicAdmin } from './ensure-topics.js';

/** kafkajs' protocol error, as its metadata call throws it. */
const protocolError = (type: string) => Object.assign(new Error(`protocol error ${type}`), { name: 'KafkaJSProtocolError', type, retriable: true });

/**
 * An admin on a one-broker cluster whose metadata learns a created topic only after `unknownFor`
 * metadata calls: createTopics (waiting for leaders) throws UNKNOWN_TOPIC_OR_PARTITION meanwhile,
 * as kafkajs does on a KRaft broker that has not propagated the topic yet.
 */
function fakeAdmin({
  existing = [] as string[],
  unknownFor = 0,
  failWith,
  wrap = (error: Error) => error,
  createdElsewhere = false,
}: { existing?: string[]; unknownFor?: number; failWith?: Error; wrap?: (error: Error) => Error; createdElsewhere?: boolean } = {}) {
  const topics = new Set(existing);
  const calls: string[] = [];
  let unknown = unknownFor;
  const admin: TopicAdmin = {
    listTopics: async () => {
      calls.push('listTopics');
      return [...topics];
    },
    describeCluster: async () => {
      calls.push('describeCluster');
      return { brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092 }], controller: 1, clusterId: 'c' };
    },
    createTopics: async ({ topics: wanted }) => {
      calls.push(`createTopics ${wanted.map((t) => `${t.topic}/${t.numPartitions}/${t.replicationFactor}`).join(',')}`);
      if (failWith) throw failWith;
      for (const t of wanted) topics.add(t.topic);
      // Every topic already existed (created by another client meanwhile): kafkajs answers false, without waiting for leaders.
      if (createdElsewhere) return false;
      if (unknown > 0) {
        unknown--;
        throw wrap(protocolError('UNKNOWN_TOPIC_OR_PARTITION'));
      }
      return true;
    },
    fetchTopicMetadata: async (request) => {
      calls.push('fetchTopicMetadata');
      if (unknown > 0) {
        unknown--;
        throw wrap(protocolError('UNKNOWN_TOPIC_OR_PARTITION'));
      }
      return { topics: (request?.topics ?? []).map((name) => ({ name, partitions: [{ partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] }] })) };
    },
  };
  return { admin, calls, topics };
}

describe('ensureKafkaTopics', () => {
  it('given missing topics, then it creates them with the partitions asked for and a replication the cluster can hold', async () => {
    const { admin, calls, topics } = fakeAdmin({ existing: ['a'] });
    await ensureKafkaTopics(admin, ['a', 'b', 'b.dlq'], { numPartitions: 3, backoff: 1 });
    expect(calls).toEqual(['listTopics', 'describeCluster', 'createTopics b/3/1,b.dlq/3/1', 'fetchTopicMetadata']);
    expect([...topics].sort()).toEqual(['a', 'b', 'b.dlq']);
  });

  it('given every topic exists, then it creates nothing and checks their leaders', async () => {
    const { admin, calls } = fakeAdmin({ existing: ['a', 'a.dlq'] });
    await ensureKafkaTopics(admin, ['a', 'a.dlq'], { numPartitions: 3, backoff: 1 });
    expect(calls).toEqual(['listTopics', 'fetchTopicMetadata']);
  });

  it('given another client created the topics at the same moment (createTopics answers false, without waiting), then it still waits until they are known', async () => {
    const { admin, calls } = fakeAdmin({ createdElsewhere: true, unknownFor: 2 });
    await ensureKafkaTopics(admin, ['t'], { numPartitions: 3, replicationFactor: 1, backoff: 1 });
    expect(calls).toEqual(['listTopics', 'createTopics t/3/1', 'fetchTopicMetadata', 'listTopics', 'fetchTopicMetadata', 'listTopics', 'fetchTopicMetadata']);
  });

  it.each([
    ['KafkaJSNumberOfRetriesExceeded (a metadata call out of its own retries)', (cause: Error) => Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', cause })],
    ['KafkaJSAggregateError (per-topic errors of a creation)', (one: Error) => Object.assign(new Error('aggregate'), { name: 'KafkaJSAggregateError', errors: [one, one] })],
  ])('given the settling error wrapped in %s, then it retries too', async (_, wrap) => {
    const { admin, calls } = fakeAdmin({ unknownFor: 2, wrap });
    await ensureKafkaTopics(admin, ['t'], { numPartitions: 3, replicationFactor: 1, backoff: 1 });
    expect(calls.at(-1)).toBe('fetchTopicMetadata');
    expect(calls.filter((c) => c === 'fetchTopicMetadata')).toHaveLength(2);
  });

  it('given an aggregate with one error that is not settling, then it throws at once', async () => {
    const aggregate = Object.assign(new Error('aggregate'), {
      name: 'KafkaJSAggregateError',
      errors: [protocolError('UNKNOWN_TOPIC_OR_PARTITION'), Object.assign(new Error('bad config'), { type: 'INVALID_CONFIG' })],
    });
    const { admin, calls } = fakeAdmin({ failWith: aggregate });
    await expect(ensureKafkaTopics(admin, ['t'], { numPartitions: 1, replicationFactor: 1, backoff: 1 })).rejects.toBe(aggregate);
    expect(calls.filter((c) => c.startsWith('createTopics'))).toHaveLength(1);
  });

  it('given a created topic the metadata does not know yet (UNKNOWN_TOPIC_OR_PARTITION), then it waits until it has a leader instead of failing', async () => {
    const { admin, calls } = fakeAdmin({ unknownFor: 3 });
    await ensureKafkaTopics(admin, ['t'], { numPartitions: 3, replicationFactor: 1, backoff: 1 });
    expect(calls).toEqual(['listTopics', 'createTopics t/3/1', 'listTopics', 'fetchTopicMetadata', 'listTopics', 'fetchTopicMetadata', 'listTopics', 'fetchTopicMetadata']);
  });

  it('given a topic that stays unknown past the settle time, then it throws the broker’s error', async () => {
    const { admin } = fakeAdmin({ unknownFor: 1_000 });
    await expect(ensureKafkaTopics(admin, ['t'], { numPartitions: 1, replicationFactor: 1, backoff: 5, settleTimeoutMs: 50 })).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });

  it('given another error (not allowed to create topics), then it throws at once', async () => {
    const denied = Object.assign(new Error('Topic authorization failed'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
    const { admin, calls } = fakeAdmin({ failWith: denied });
    await expect(ensureKafkaTopics(admin, ['t'], { numPartitions: 1, replicationFactor: 1, backoff: 1 })).rejects.toBe(denied);
    expect(calls.filter((c) => c.startsWith('createTopics'))).toHaveLength(1);
  });
});
