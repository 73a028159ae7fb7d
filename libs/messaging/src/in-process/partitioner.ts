/**
 * Kafka's default partitioner (murmur2 of the key bytes, made positive, modulo the partition count),
 * so a key lands on the same partition number in-process as it does on Kafka.
 */
export function partitionForKey(key: string, numPartitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % numPartitions;
}

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2), 32-bit. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}
