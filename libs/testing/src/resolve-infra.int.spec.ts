// Runs after the integration project's global setup (jest-global-setup.ts), which resolved and
// exported DATABASE_URL and KAFKA_BROKERS: checks that both really answer from a test worker.
import kafkajs from 'kafkajs';
import pg from 'pg';
import { testInfra, uniqueName } from './infra.js';

describe('resolved test infrastructure', () => {
  it('exports the chosen settings to the workers', () => {
    expect(process.env.DATABASE_URL).toBeTruthy();
    expect(process.env.KAFKA_BROKERS).toBeTruthy();
    expect(testInfra().databaseUrl).toBe(process.env.DATABASE_URL);
  });

  it('PostgreSQL answers a real query', async () => {
    const client = new pg.Client({ connectionString: testInfra().databaseUrl });
    await client.connect();
    try {
      const schema = uniqueName('infra_check');
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`CREATE TABLE ${schema}.t (id int primary key, v text)`);
      await client.query(`INSERT INTO ${schema}.t VALUES (1, 'one'), (2, 'two')`);
      const { rows } = await client.query(`SELECT count(*)::int AS n, current_setting('server_version_num')::int AS version FROM ${schema}.t`);
      expect(rows[0].n).toBe(2);
      expect(rows[0].version).toBeGreaterThanOrEqual(140000);
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('Kafka answers a kafkajs admin listTopics, and a created topic shows up', async () => {
    const kafka = new kafkajs.Kafka({
      clientId: 'infra-check',
      brokers: testInfra().kafkaBrokers,
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topic = uniqueName('infra-check');
      expect(Array.isArray(await admin.listTopics())).toBe(true);
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      expect(await admin.listTopics()).toContain(topic);
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });
});
