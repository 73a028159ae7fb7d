import { describe, expect, it } from '@jest/globals';
import { waitFor } from '@svp/testing';
import { consumerGroupLagJson, groupLag, partitionLag } from './consumer-lag.js';
import { InProcessMessageBus } from './in-process/in-process-message-bus.js';
import { kafkaConsumerLag, type KafkaLagAdmin } from './kafka/consumer-lag.js';
import { silentLogger } from './logger.js';

describe('partitionLag', () => {
  it('given a committed offset, then the lag is the high watermark less it', () => {
    expect(partitionLag({ low: 0n, high: 10n, committed: 7n })).toBe(3n);
    expect(partitionLag({ low: 0n, high: 10n, committed: 10n })).toBe(0n);
  });

  it('given no committed offset, then everything kept is lag (the consumers start at the oldest kept message)', () => {
    expect(partitionLag({ low: 4n, high: 10n, committed: null })).toBe(6n);
    expect(partitionLag({ low: 10n, high: 10n, committed: null })).toBe(0n);
  });

  it('given no committed offset and a group that starts at the end, then nothing is lag', () => {
    expect(partitionLag({ low: 4n, high: 10n, committed: null }, false)).toBe(0n);
    expect(partitionLag({ low: 4n, high: 10n, committed: 8n }, false)).toBe(2n);
  });

  it('given a committed offset that retention overtook, then it counts from the oldest kept one; never negative', () => {
    expect(partitionLag({ low: 8n, high: 10n, committed: 2n })).toBe(2n);
    expect(partitionLag({ low: 0n, high: 5n, committed: 9n })).toBe(0n);
  });
});

describe('groupLag', () => {
  it('sums the partitions, sorted by topic and partition, and renders 64-bit offsets as strings', () => {
    const lag = groupLag({ groupId: 'g', topics: ['b', 'a'] }, [
      { topic: 'b', partition: 0, low: 0n, high: 5n, committed: 5n },
      { topic: 'a', partition: 1, low: 0n, high: 3n, committed: null },
      { topic: 'a', partition: 0, low: 0n, high: 9_007_199_254_740_993n, committed: 9_007_199_254_740_990n },
    ]);
    expect(lag.lag).toBe(6n);
    expect(lag.partitions.map((p) => `${p.topic}/${p.partition}=${p.lag}`)).toEqual(['a/0=3', 'a/1=3', 'b/0=0']);
    expect(consumerGroupLagJson(lag)).toEqual({
      groupId: 'g',
      topics: ['b', 'a'],
      lag: '6',
      partitions: [
        { topic: 'a', partition: 0, committed: '9007199254740990', low: '0', high: '9007199254740993', lag: '3' },
        { topic: 'a', partition: 1, committed: null, low: '0', high: '3', lag: '3' },
        { topic: 'b', partition: 0, committed: '5', low: '0', high: '5', lag: '0' },
      ],
    });
  });
});

describe('kafkaConsumerLag (the admin calls it makes)', () => {
  it('fetches each topic\'s watermarks once, and reads -1 as nothing committed', async () => {
    const fetchedTopics: string[] = [];
    const admin: KafkaLagAdmin = {
      fetchTopicOffsets: async (topic: string) => {
        fetchedTopics.push(topic);
        return [
          { partition: 0, offset: '10', high: '10', low: '2' },
          { partition: 1, offset: '4', high: '4', low: '0' },
        ];
      },
      fetchOffsets: (async ({ groupId, topics }: { groupId: string; topics?: string[] }) =>
        (topics ?? []).map((topic) => ({
          topic,
          partitions: [
            { partition: 0, offset: groupId === 'fresh' ? '-1' : '7', metadata: null },
            { partition: 1, offset: groupId === 'fresh' ? '-1' : '4', metadata: null },
          ],
        }))) as KafkaLagAdmin['fetchOffsets'],
    };
    const lags = await kafkaConsumerLag(admin, [
      { groupId: 'busy', topics: ['t'] },
      { groupId: 'fresh', topics: ['t'] },
    ]);
    expect(fetchedTopics).toEqual(['t']);
    expect(lags.map((l) => [l.groupId, l.lag, l.partitions.map((p) => p.committed)])).toEqual([
      ['busy', 3n, [7n, 4n]],
      ['fresh', 12n, [null, null]],
    ]);
  });
});

describe('kafkaConsumerLag (retriable broker errors)', () => {
  const partitions = [{ partition: 0, offset: '3', high: '3', low: '0' }];
  const committed = (async ({ topics }: { topics?: string[] }) =>
    (topics ?? []).map((topic) => ({ topic, partitions: [{ partition: 0, offset: '1', metadata: null }] }))) as KafkaLagAdmin['fetchOffsets'];
  const notLeader = () => Object.assign(new Error('This server is not the leader for that topic-partition'), { retriable: true });

  it('given the broker answers "not the leader" twice (a fresh topic), when the lag is read, then it is retried and succeeds', async () => {
    let calls = 0;
    const admin: KafkaLagAdmin = {
      fetchTopicOffsets: async () => {
        calls++;
        if (calls <= 2) throw notLeader();
        return partitions;
      },
      fetchOffsets: committed,
    };
    const [lag] = await kafkaConsumerLag(admin, [{ groupId: 'g', topics: ['t'] }], { attempts: 5, backoffMs: 1 });
    expect(calls).toBe(3);
    expect(lag!.lag).toBe(2n);
  });

  it('given a retriable error that persists, then it rejects after the attempts allowed', async () => {
    let calls = 0;
    const admin: KafkaLagAdmin = {
      fetchTopicOffsets: async () => {
        calls++;
        throw notLeader();
      },
      fetchOffsets: committed,
    };
    await expect(kafkaConsumerLag(admin, [{ groupId: 'g', topics: ['t'] }], { attempts: 3, backoffMs: 1 })).rejects.toThrow('not the leader');
    expect(calls).toBe(3);
  });

  it('given an error that is not retriable (an unknown topic), then it rejects at once', async () => {
    let calls = 0;
    const admin: KafkaLagAdmin = {
      fetchTopicOffsets: async () => partitions,
      fetchOffsets: (async () => {
        calls++;
        throw Object.assign(new Error('This server does not host this topic-partition'), { retriable: false });
      }) as KafkaLagAdmin['fetchOffsets'],
    };
    await expect(kafkaConsumerLag(admin, [{ groupId: 'g', topics: ['t'] }], { attempts: 5, backoffMs: 1 })).rejects.toThrow('does not host');
    expect(calls).toBe(1);
  });
});

describe('InProcessMessageBus.consumerLag', () => {
  it('given messages published while a group\'s handler is held, then the lag shows them, and falls to 0 once handled', async () => {
    const bus = new InProcessMessageBus({ numPartitions: 2, retryBackoff: 5, logger: silentLogger });
    try {
      await bus.ensureTopics(['t']);
      expect(await bus.consumerLag([{ groupId: 'g', topics: ['t'] }])).toEqual([
        expect.objectContaining({ groupId: 'g', lag: 0n, partitions: [expect.objectContaining({ committed: null }), expect.objectContaining({ committed: null })] }),
      ]);
      let open = false;
      const handled: string[] = [];
      const consumer = await bus.consume({
        groupId: 'g',
        topics: ['t'],
        handler: async (m) => {
          if (!open) throw new Error('held');
          handled.push(m.value);
        },
      });
      await consumer.ready;
      await bus.publish(Array.from({ length: 6 }, (_, i) => ({ topic: 't', key: `k${i}`, value: String(i) })));
      const [held] = await bus.consumerLag([{ groupId: 'g', topics: ['t'] }]);
      expect(held!.lag).toBe(6n);
      expect(held!.partitions.reduce((sum, p) => sum + p.high, 0n)).toBe(6n);
      open = true;
      await waitFor(() => handled.length === 6, 'every message handled');
      await waitFor(async () => (await bus.consumerLag([{ groupId: 'g', topics: ['t'] }]))[0]!.lag === 0n, 'the lag to fall to 0');
      await consumer.stop();
    } finally {
      await bus.close();
    }
  });
});
