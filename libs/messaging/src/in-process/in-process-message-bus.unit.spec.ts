import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '../logger.js';
import type { IncomingMessage } from '../message-bus.js';
import { waitFor } from '@svp/testing';
import { COMMIT_INTERVAL_MS, InProcessMessageBus } from './in-process-message-bus.js';
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

  describe('committed offsets', () => {
    /** A memory log that records every commit's next offset. */
    const countingLog = () => {
      const log = new MemoryMessageLog();
      const commits: number[] = [];
      const commit = log.commit.bind(log);
      log.commit = async (groupId, topic, partition, nextOffset) => {
        commits.push(nextOffset);
        await commit(groupId, topic, partition, nextOffset);
      };
      return { log, commits };
    };

    it('given 250 messages on one partition, when a group handles them, then it commits once a batch read (not once a message), and a restart re-handles none', async () => {
      const { log, commits } = countingLog();
      const bus = new InProcessMessageBus({ numPartitions: 1, log, logger: silentLogger });
      await bus.publish(Array.from({ length: 250 }, (_, i) => ({ topic: 't', key: 'k', value: String(i) })));
      const seen: string[] = [];
      const first = await bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void seen.push(m.value) });
      await waitFor(() => commits.at(-1) === 250, 'the last offset committed');
      expect(seen).toHaveLength(250);
      // Batches of 100 (the default readBatchSize): 100, 200, 250.
      expect(commits).toEqual([100, 200, 250]);
      await first.stop();
      const again: string[] = [];
      const second = await bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void again.push(m.value) });
      await second.ready;
      await bus.publish([{ topic: 't', key: 'k', value: 'next' }]);
      await waitFor(() => again.length > 0, 'the next message');
      expect(again).toEqual(['next']);
      await bus.close();
    });

    it('given slow handlers within one batch, then what was handled is committed at least every COMMIT_INTERVAL_MS, before the batch ends', async () => {
      const { log, commits } = countingLog();
      const bus = new InProcessMessageBus({ numPartitions: 1, log, logger: silentLogger });
      await bus.publish(Array.from({ length: 3 }, (_, i) => ({ topic: 't', key: 'k', value: String(i) })));
      const step = Math.ceil(COMMIT_INTERVAL_MS * 0.7);
      await bus.consume({ groupId: 'g', topics: ['t'], handler: () => new Promise((r) => setTimeout(r, step)) });
      await waitFor(() => commits.at(-1) === 3, 'the batch committed', 10_000);
      // The second message is handled more than an interval after the worker started: committed then.
      expect(commits.filter((offset) => offset < 3).length).toBeGreaterThan(0);
      await bus.close();
    });

    it('given a handler that keeps failing on a message, then the messages handled before it are committed while it is retried', async () => {
      const { log, commits } = countingLog();
      const bus = new InProcessMessageBus({ numPartitions: 1, log, retryBackoff: 5, logger: silentLogger });
      await bus.publish(Array.from({ length: 6 }, (_, i) => ({ topic: 't', key: 'k', value: String(i) })));
      let failing = true;
      const seen: string[] = [];
      await bus.consume({
        groupId: 'g',
        topics: ['t'],
        handler: async (m) => {
          if (m.value === '3' && failing) throw new Error('the database is down');
          seen.push(m.value);
        },
      });
      await waitFor(() => commits.includes(3), 'the three handled before the failing one committed');
      expect(seen).toEqual(['0', '1', '2']);
      failing = false;
      await waitFor(() => commits.at(-1) === 6, 'the rest committed');
      expect(seen).toEqual(['0', '1', '2', '3', '4', '5']);
      await bus.close();
    });

    it('given a member stopped in the middle of a batch, then what it handled is committed and the next member goes on after it', async () => {
      const { log, commits } = countingLog();
      const bus = new InProcessMessageBus({ numPartitions: 1, log, logger: silentLogger });
      await bus.publish(Array.from({ length: 10 }, (_, i) => ({ topic: 't', key: 'k', value: String(i) })));
      const seen: string[] = [];
      let release!: () => void;
      const blocked = new Promise<void>((r) => (release = r));
      const first = await bus.consume({
        groupId: 'g',
        topics: ['t'],
        handler: async (m) => {
          if (m.value === '4') await blocked;
          seen.push(m.value);
        },
      });
      await waitFor(() => seen.length === 4, 'four handled');
      expect(commits).toEqual([]);
      const stopping = first.stop();
      release();
      await stopping;
      // The fifth was in its handler when the stop came: it completed, and its offset is committed.
      expect(commits.at(-1)).toBe(seen.length);
      const rest: string[] = [];
      await bus.consume({ groupId: 'g', topics: ['t'], handler: async (m) => void rest.push(m.value) });
      await waitFor(() => seen.length + rest.length === 10, 'the rest');
      expect([...seen, ...rest]).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
      await bus.close();
    });
  });

  it('after close, publish and consume fail and ping answers false', async () => {
    const bus = newBus();
    await bus.close();
    expect(await bus.ping()).toBe(false);
    await expect(bus.publish([{ topic: 't', key: 'k', value: 'v' }])).rejects.toThrow(/closed/);
    await expect(bus.consume({ groupId: 'g', topics: ['t'], handler: async () => undefined })).rejects.toThrow(/closed/);
  });
});
