import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import kafkajs from 'kafkajs';
import { partitionForKey } from './partitioner.js';

describe('partitionForKey', () => {
  it('puts every key on the partition kafkajs’ default partitioner picks (same layout in-process and on Kafka)', () => {
    const kafkaPartition = kafkajs.Partitioners.DefaultPartitioner();
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'session-1', 'visitor-ü-日本', ...Array.from({ length: 500 }, () => randomUUID())];
    for (const numPartitions of [1, 3, 7, 12]) {
      const partitionMetadata = Array.from({ length: numPartitions }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));
      for (const key of keys) {
        expect([key, partitionForKey(key, numPartitions)]).toEqual([
          key,
          kafkaPartition({ topic: 't', partitionMetadata, message: { key, value: null } }),
        ]);
      }
    }
  });
});
