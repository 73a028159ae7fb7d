import { describe, expect, it } from '@jest/globals';
import { PGliteSqlClient } from '@svp/postgres';
import { testInfra, uniqueName, waitFor } from '@svp/testing';
import type { MessageBus } from './message-bus.js';
import { InProcessMessageBus } from './in-process/in-process-message-bus.js';
import { SqlMessageLog } from './in-process/sql-message-log.js';
import { KafkaMessageBus } from './kafka/kafka-message-bus.js';
import { silentLogger } from './logger.js';

/**
 * The same scenario on the real broker and on the SQL log of the embedded bus: a group's lag is
 * what was published and not handled, then 0 once handled (and committed).
 */
async function lagScenario(bus: MessageBus, topic: string) {
  const groupId = uniqueName('lag');
  await bus.ensureTopics([topic]);
  const lagOf = async () => (await bus.consumerLag!([{ groupId, topics: [topic] }]))[0]!;
  const before = await lagOf();
  expect(before).toMatchObject({ groupId, topics: [topic], lag: 0n });
  expect(before.partitions.length).toBeGreaterThan(0);
  expect(before.partitions.every((p) => p.committed === null)).toBe(true);

  await bus.publish(Array.from({ length: 5 }, (_, i) => ({ topic, key: `k${i}`, value: String(i) })));
  // Nobody consumed yet: everything published is lag (the group starts from the beginning).
  await waitFor(async () => (await lagOf()).lag === 5n, 'a lag of 5 before any consumer');

  const handled: string[] = [];
  const consumer = await bus.consume({ groupId, topics: [topic], handler: async (m) => void handled.push(m.value) });
  try {
    await consumer.ready;
    await waitFor(() => handled.length === 5, 'the 5 messages handled');
    await waitFor(async () => (await lagOf()).lag === 0n, 'a lag of 0 once committed', 20_000);
    const after = await lagOf();
    expect(after.partitions.reduce((sum, p) => sum + p.high, 0n)).toBe(5n);
    expect(after.partitions.filter((p) => p.high > 0n).every((p) => p.committed === p.high)).toBe(true);
  } finally {
    await consumer.stop();
  }
}

describe('consumer lag on Kafka (kafkajs admin: committed offsets against high watermarks)', () => {
  it('shows what was published and not handled, then 0', async () => {
    const bus = new KafkaMessageBus({ brokers: testInfra().kafkaBrokers, logger: silentLogger, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 200, commitIntervalMs: 100 });
    try {
      await lagScenario(bus, uniqueName('lag_topic'));
    } finally {
      await bus.close();
    }
  }, 60_000);
});

describe('consumer lag on the in-process bus with its SQL log (the embedded mode)', () => {
  it('shows what was published and not handled, then 0', async () => {
    const sql = await PGliteSqlClient.open();
    const bus = new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { logger: silentLogger }), logger: silentLogger });
    try {
      await lagScenario(bus, uniqueName('lag_topic'));
    } finally {
      await bus.close();
      await sql.close();
    }
  });
});
