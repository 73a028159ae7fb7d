/**
 * Connection settings of the real infrastructure the integration tests use. The Jest global setup
 * (jest-global-setup.ts) resolves them once per run (environment, then testcontainers, then the local
 * tools, else a failure saying what to install) and exports them as environment variables, which
 * every test worker inherits.
 */
export interface TestInfra {
  databaseUrl: string;
  kafkaBrokers: string[];
}

export function testInfra(): TestInfra {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const kafkaBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
  return { databaseUrl, kafkaBrokers };
}

/** A fresh, unique, SQL-safe name for a schema, topic or group used by one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
