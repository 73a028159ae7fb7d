import { murmur2 } from '@platformatic/kafka';

/**
 * The partition of a keyed message as the Java client and kafkajs' DefaultPartitioner choose it:
 * `toPositive(murmur2(key)) % partitions`, toPositive being `& 0x7fffffff`.
 *
 * @platformatic/kafka's own default takes `murmur2(key) >>> 0` instead, which sends every key whose
 * hash is negative (about half of them) to another partition than kafkajs or Java would
 * (platformatic/kafka#121). Two producers of one topic that disagree break per-key order, so the
 * adapter always passes this partitioner: a topic can be written by either client, or both during a
 * switch, and a key stays on one partition.
 */
export function keyPartition(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * A partitioner for @platformatic/kafka's Producer: keyed messages by `keyPartition`, keyless ones
 * round robin. It returns a number the producer reduces modulo the topic's partition count.
 */
export function javaCompatiblePartitioner(): (message: { key?: Buffer }) => number {
  let next = 0;
  return (message) => {
    if (message.key) return murmur2(message.key) & 0x7fffffff;
    next = (next + 1) & 0x7fffffff;
    return next;
  };
}
