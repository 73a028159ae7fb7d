import { describe, expect, it } from '@jest/globals';
import { parseConfigEnv } from '@svp/contracts';
import { KafkaMessageBus, loadPlatformaticMessageBus } from '@svp/messaging';
import type { SqlClient } from '@svp/postgres';
import pino from 'pino';
import { openBus, selectAdapters } from './infra.js';

const logger = pino({ level: 'silent' });
// The Kafka buses connect lazily: opening one here talks to no broker.
const open = (env: Record<string, string>) => openBus(parseConfigEnv(env), 'sessions', logger, undefined as unknown as SqlClient);

describe('the Kafka client of the bus (KAFKA_CLIENT)', () => {
  it('given BUS=kafka and no KAFKA_CLIENT, then kafkajs', async () => {
    const env = { BUS: 'kafka', KAFKA_BROKERS: '127.0.0.1:9092' };
    expect(selectAdapters(parseConfigEnv(env)).kafkaClient).toBe('kafkajs');
    const bus = await open(env);
    expect(bus).toBeInstanceOf(KafkaMessageBus);
    await bus.close();
  });

  it('given KAFKA_CLIENT=platformatic, then the @platformatic/kafka adapter', async () => {
    const bus = await open({ BUS: 'kafka', KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT: 'platformatic' });
    expect(bus).toBeInstanceOf((await loadPlatformaticMessageBus()).PlatformaticMessageBus);
    await bus.close();
  });

  it('given KAFKA_CLIENT=kafkajs, then kafkajs', async () => {
    const bus = await open({ BUS: 'kafka', KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT: 'kafkajs' });
    expect(bus).toBeInstanceOf(KafkaMessageBus);
    await bus.close();
  });
});
