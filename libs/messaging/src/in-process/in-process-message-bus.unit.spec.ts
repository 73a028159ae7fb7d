import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '../logger.js';
import type { IncomingMessage } from '../message-bus.js';
import { waitFor } from '@svp/testing';
import { InProcessMessageBus } from './in-process-message-bus.js';
import { MemoryMessageLog } from './message-log.js';

const newBus = () => new InProcessMessageBus({ numPartitions: 4, retryBackoff: 5, logger: silentLogger });

describe('InProcessMessageBus', () => {
  it('given two members of one group, they share the partitions; when one stops, the other takes its partitions from the committed offsets', async () => {
    const bus = newBus();
    const byMember: Record<'a' | 'b', IncomingMessage[]> = { a: [], b: [] };
    const member = (name: 'a' | 'b') =>
      bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void byMember[name].push(m) });
    const a = await member('a');
    const b = await member('b');
    await Promise.all([a.ready, b.ready]);
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    await bus.publish(keys.map((key) => ({ topic: 't', key, value: `first-${key}` })));
    await waitFor(() => byMember.a.length + byMember.b.length === 40, '40 messages');
    const partitionsOf = (list: IncomingMessage[]) => new Set(list.map((m) => m.partition));
    expect(partitionsOf(byMember.a).size).toBeGreaterThan(0);
    expect(partitionsOf(byMember.b).size).toBeGreaterThan(0);
    expect([...partitionsOf(byMember.a)].filter((p) => partitionsOf(byMember.b).has(p))).toEqual([]);

    await a.stop();
    const before = byMember.b.length;
    await bus.publish(keys.map((key) => ({ topic: 't', key, value: `second-${key}` })));
    await waitFor(() => byMember.b.length === before + 40, 'the remaining member to take every partition');
    expect(byMember.b.filter((m) => m.value.startsWith('first-'))).toHaveLength(before);
    await bus.close();
  });

  it('given fromBeginning false and no committed offset, then a new group starts at the end of the log', async () => {
    const bus = newBus();
    await bus.publish([{ topic: 't', key: 'k', value: 'old' }]);
    const seen: string[] = [];
    const consumer = await bus.consume({ groupId: 'late', topics: ['t'], fromBeginning: false, handler: async (m) => void seen.push(m.value) });
    await consumer.ready;
    await bus.publish([{ topic: 't', key: 'k', value: 'new' }]);
    await waitFor(() => seen.length === 1, 'the new message');
    expect(seen).toEqual(['new']);
    await bus.close();
  });

  it('given a retention of 10 per partition, then old messages are dropped and a group starts at the oldest kept one', async () => {
    const bus = new InProcessMessageBus({ numPartitions: 1, log: new MemoryMessageLog({ retentionPerPartition: 10 }), logger: silentLogger });
    await bus.publish(Array.from({ length: 25 }, (_, i) => ({ topic: 't', key: 'k', value: String(i) })));
    const seen: IncomingMessage[] = [];
    await bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void seen.push(m) });
    await waitFor(() => seen.at(-1)?.value === '24', 'the last message');
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.length).toBeLessThan(25);
    expect(seen.map((m) => Number(m.offset))).toEqual(seen.map((m) => Number(m.value)));
    await bus.close();
  });

  it('after close, publish and consume fail and ping answers false', async () => {
    const bus = newBus();
    await bus.close();
    expect(await bus.ping()).toBe(false);
    await expect(bus.publish([{ topic: 't', key: 'k', value: 'v' }])).rejects.toThrow(/closed/);
    await expect(bus.consume({ groupId: 'g', topics: ['t'], handler: async () => undefined })).rejects.toThrow(/closed/);
  });
});
