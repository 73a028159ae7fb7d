import { describe, expect, it } from '@jest/globals';
import { murmur2 } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { javaCompatiblePartitioner, keyPartition } from './partitioner.js';

const keys = [
  ...Array.from({ length: 500 }, (_, i) => `session-${i}`),
  ...Array.from({ length: 500 }, (_, i) => `visitor-${i * 7919}`),
  'a',
  'ab',
  'abc',
  'abcd',
  'ünïcødé',
];

/** kafkajs' DefaultPartitioner (Java-compatible), as the kafkajs adapter uses it. */
function kafkajsPartition(key: string, partitions: number): number {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: 'v' } });
}

describe('the partitioner of the @platformatic/kafka adapter', () => {
  it('given 1005 keys and 1 to 12 partitions, then each key goes where kafkajs (and the Java client) would put it', () => {
    const differences: string[] = [];
    for (const partitions of [1, 2, 3, 5, 6, 12]) {
      for (const key of keys) {
        const ours = keyPartition(Buffer.from(key), partitions);
        const theirs = kafkajsPartition(key, partitions);
        if (ours !== theirs) differences.push(`${key} over ${partitions}: ${ours} vs ${theirs}`);
      }
    }
    expect(differences).toEqual([]);
  });

  it('given the library default (murmur2 >>> 0), then some keys would land elsewhere: the reason the adapter passes its own', () => {
    const libraryDefault = (key: string, partitions: number) => (murmur2(Buffer.from(key)) >>> 0) % partitions;
    const moved = keys.filter((key) => libraryDefault(key, 3) !== kafkajsPartition(key, 3));
    expect(moved.length).toBeGreaterThan(100);
  });

  it('given keyless messages, then they are spread round robin', () => {
    const partitioner = javaCompatiblePartitioner();
    const partitions = Array.from({ length: 6 }, () => partitioner({}) % 3);
    expect(new Set(partitions)).toEqual(new Set([0, 1, 2]));
  });

  it('given a keyed message, then the producer-side value reduces to keyPartition', () => {
    const partitioner = javaCompatiblePartitioner();
    for (const key of keys.slice(0, 50)) expect(partitioner({ key: Buffer.from(key) }) % 5).toBe(keyPartition(Buffer.from(key), 5));
  });
});
