import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfigEnv } from './index.js';

describe('config: KAFKA_CLIENT', () => {
  it('given nothing, then it is unset (the bus takes kafkajs)', () => {
    expect(parseConfigEnv({ BUS: 'kafka', KAFKA_BROKERS: 'a:9092' }).KAFKA_CLIENT).toBeUndefined();
  });

  it('given kafkajs or platformatic, then that one', () => {
    expect(parseConfigEnv({ KAFKA_CLIENT: 'kafkajs' }).KAFKA_CLIENT).toBe('kafkajs');
    expect(parseConfigEnv({ KAFKA_CLIENT: 'platformatic' }).KAFKA_CLIENT).toBe('platformatic');
  });

  it('given another client, then a ConfigError names the variable and the two choices', () => {
    expect(() => parseConfigEnv({ KAFKA_CLIENT: 'rdkafka' })).toThrow(ConfigError);
    expect(() => parseConfigEnv({ KAFKA_CLIENT: 'rdkafka' })).toThrow(/KAFKA_CLIENT: must be kafkajs or platformatic/);
    expect(() => parseConfigEnv({ KAFKA_CLIENT: 'KafkaJS' })).toThrow(/KAFKA_CLIENT/);
  });
});
