import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { parseConfigEnv } from '@svp/contracts';
import type { SqlClient } from '@svp/postgres';
import pino from 'pino';

// The adapters' client libraries, replaced by stand-ins that record that they were imported. A stand-in
// exports nothing, so code that really uses one fails: only whether it was imported is looked at here.
const HEAVY = ['@kurrent/kurrentdb-client', '@platformatic/kafka', '@electric-sql/pglite'] as const;
const imported = new Set<string>();
for (const name of HEAVY)
  jest.unstable_mockModule(name, () => {
    imported.add(name);
    return {};
  });

// Imported after the stand-ins are in place: service-kit with the event-store, messaging and postgres
// packages it builds the infrastructure from. Were one of them to import a client library at load
// time, this import would fail (the stand-in lacks the names imported): the first test then says which.
const loading = await import('./infra.js').then(
  (module) => ({ module, error: undefined }),
  (error: unknown) => ({ module: undefined, error }),
);
const infra = () => {
  if (!loading.module) throw loading.error;
  return loading.module;
};
const openBus: typeof import('./infra.js').openBus = (...args) => infra().openBus(...args);
const openEventStore: typeof import('./infra.js').openEventStore = (...args) => infra().openEventStore(...args);
const openSql: typeof import('./infra.js').openSql = (...args) => infra().openSql(...args);

const logger = pino({ level: 'silent' });
/** Enough of a database for PostgresEventStore.create (its migration, then its schema's name). */
const fakeSql = {
  engine: 'postgres',
  exec: async () => undefined,
  query: async () => ({ rows: [{ schema: 'variables' }], rowCount: 1 }),
} as unknown as SqlClient;

describe('adapters load only when the configuration selects them (issue 7 f: idle memory)', () => {
  it('importing service-kit and the infrastructure packages loads no KurrentDB client, no @platformatic/kafka, no PGlite', () => {
    expect([...imported]).toEqual([]);
    expect(loading.error).toBeUndefined();
  });

  it('given PostgreSQL and kafkajs (the distributed mode), then building the event store and the bus loads none of them', async () => {
    const env = parseConfigEnv({ DATABASE_URL: 'postgres://127.0.0.1:1/none', EVENT_STORE: 'postgres', BUS: 'kafka', KAFKA_BROKERS: '127.0.0.1:9092' });
    const store = await openEventStore(env, fakeSql);
    const bus = await openBus(env, 'variables', logger, fakeSql);
    await bus.close();
    expect(store.constructor.name).toBe('PostgresEventStore');
    expect([...imported]).toEqual([]);
  });

  // The controls: the stand-ins do record an import, so the empty sets above mean something.
  it('given EVENT_STORE=kurrentdb, then the KurrentDB client is imported', async () => {
    const env = parseConfigEnv({ EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://127.0.0.1:2113?tls=false' });
    await openEventStore(env, fakeSql).catch(() => undefined);
    expect(imported.has('@kurrent/kurrentdb-client')).toBe(true);
  });

  it('given KAFKA_CLIENT=platformatic, then @platformatic/kafka is imported', async () => {
    const env = parseConfigEnv({ BUS: 'kafka', KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT: 'platformatic' });
    await openBus(env, 'variables', logger, fakeSql).catch(() => undefined);
    expect(imported.has('@platformatic/kafka')).toBe(true);
  });

  it('given no DATABASE_URL, then PGlite is imported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svp-lazy-adapters-'));
    try {
      await openSql(parseConfigEnv({ PGLITE_DATA_DIR: dir }), 'variables').catch(() => undefined);
      expect(imported.has('@electric-sql/pglite')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
