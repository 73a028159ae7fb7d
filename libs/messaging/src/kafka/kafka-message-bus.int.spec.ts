import { describe, expect, it } from '@jest/globals';
import { testInfra, uniqueName, waitFor } from '@svp/testing';
import { silentLogger } from '../logger.js';
import { describeMessageBusContract, postgresStoreFixture } from '../testing/index.js';
import { KafkaMessageBus } from './kafka-message-bus.js';

const contractBus = async () =>
  new KafkaMessageBus({
    brokers: testInfra().kafkaBrokers,
    clientId: 'messaging-contract',
    logger: silentLogger,
    // Fast group joins and shutdowns for tests (the broker's minimum session timeout is 6 s).
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    maxWaitTimeMs: 200,
    retryBackoff: 50,
  });

// The distributed pairing: the real broker, with the store, inbox and relay on the real PostgreSQL.
describeMessageBusContract('Kafka (kafkajs) with PostgreSQL', {
  createBus: contractBus,
  // A restarted process: a new client of the same cluster.
  reopenBus: contractBus,
  openSql: postgresStoreFixture,
});

describe('KafkaMessageBus publishing after a failure', () => {
  it('rejects a publish the broker refuses, then publishes the next one with a fresh producer', async () => {
    const bus = new KafkaMessageBus({ brokers: testInfra().kafkaBrokers, logger: silentLogger, publishRetries: 1 });
    try {
      await expect(bus.publish([{ topic: 'not a valid topic!', key: 'k', value: 'v' }])).rejects.toThrow(/to Kafka failed/);
      const topic = uniqueName('after_failure');
      await bus.ensureTopics([topic]);
      await bus.publish([{ topic, key: 'k', value: 'v' }]);
      const received: string[] = [];
      const consumer = await bus.consume({ groupId: uniqueName('g'), topics: [topic], handler: async (m) => void received.push(m.value) });
      await waitFor(() => received.length === 1, 'the message published after the failure');
      await consumer.stop();
      expect(received).toEqual(['v']);
    } finally {
      await bus.close();
    }
  });
});

describe('KafkaMessageBus when no broker answers', () => {
  it('ping answers false and publish rejects within a bound (the caller retries; nothing crashes)', async () => {
    const bus = new KafkaMessageBus({
      brokers: ['127.0.0.1:1'],
      logger: silentLogger,
      pingTimeoutMs: 1000,
      connectionTimeoutMs: 500,
      publishRetries: 1,
    });
    try {
      const pingStarted = Date.now();
      expect(await bus.ping()).toBe(false);
      expect(Date.now() - pingStarted).toBeLessThan(2000);
      const publishStarted = Date.now();
      await expect(bus.publish([{ topic: 'nowhere', key: 'k', value: 'v' }])).rejects.toThrow(/Publishing 1 message\(s\) to Kafka failed/);
      expect(Date.now() - publishStarted).toBeLessThan(15_000);
    } finally {
      await bus.close();
    }
  });
});
