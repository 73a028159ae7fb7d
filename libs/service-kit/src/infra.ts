import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConfigEnv, ServiceName } from '@svp/contracts';
import { type EventStore, PostgresEventStore, loadKurrentDb } from '@svp/event-store';
import { InProcessMessageBus, KafkaMessageBus, type MessageBus, SqlMessageLog, loadPlatformaticMessageBus } from '@svp/messaging';
import { PGliteSqlClient, PgSqlClient, type SqlClient } from '@svp/postgres';
import type { Logger } from 'pino';
import { type ApiKeyIntrospector, HttpApiKeyIntrospector } from './auth.js';
import { ServiceMetrics } from './metrics.js';
import { HttpSignatureVerifier } from './signatures.js';
import type { ServiceInfra } from './runtime.js';

/** Which adapters the environment selects (DESIGN.md section 2, "Modes"). */
export function selectAdapters(env: ConfigEnv) {
  return {
    sql: env.DATABASE_URL ? ('postgres' as const) : ('pglite' as const),
    store: env.EVENT_STORE ?? (env.DATABASE_URL ? ('postgres' as const) : ('pglite' as const)),
    bus: env.BUS ?? (env.KAFKA_BROKERS ? ('kafka' as const) : ('in-process' as const)),
    /** The client library of the Kafka bus (docs/messaging.md, "Two Kafka clients"). */
    kafkaClient: env.KAFKA_CLIENT ?? ('kafkajs' as const),
  };
}

export async function openSql(env: ConfigEnv, service: ServiceName): Promise<SqlClient> {
  if (env.DATABASE_URL)
    return PgSqlClient.connect({ connectionString: env.DATABASE_URL, schema: env.DATABASE_SCHEMA ?? service, applicationName: `svp-${service}` });
  const dir = resolve(env.PGLITE_DATA_DIR, service);
  mkdirSync(dir, { recursive: true });
  return PGliteSqlClient.open({ dataDir: dir });
}

// The adapters a configuration does not select are never imported: the KurrentDB gRPC client, PGlite
// and @platformatic/kafka are loaded here, on demand (a service on PostgreSQL and kafkajs carries none
// of them; test: infra-lazy-adapters.unit.spec.ts).
export async function openEventStore(env: ConfigEnv, sql: SqlClient): Promise<EventStore> {
  if (env.EVENT_STORE === 'kurrentdb') return (await loadKurrentDb()).KurrentDbEventStore.connect(env.KURRENTDB_URL!);
  return PostgresEventStore.create(sql);
}

/** Kafka, or the in-process bus with its log in the service's own database (durable, one process). */
export async function openBus(env: ConfigEnv, service: ServiceName, logger: Logger, sql: SqlClient): Promise<MessageBus> {
  if (selectAdapters(env).bus === 'kafka') {
    if (!env.KAFKA_BROKERS) throw new Error('BUS=kafka needs KAFKA_BROKERS');
    const options = { brokers: env.KAFKA_BROKERS, clientId: env.KAFKA_CLIENT_ID ?? `svp-${service}`, logger };
    if (selectAdapters(env).kafkaClient === 'platformatic') return new (await loadPlatformaticMessageBus()).PlatformaticMessageBus(options);
    return new KafkaMessageBus(options);
  }
  return new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { logger }), logger });
}

export const identityUrlOf = (env: ConfigEnv): string => env.IDENTITY_URL ?? `http://127.0.0.1:${env.IDENTITY_PORT}`;

export function openIntrospector(env: ConfigEnv): ApiKeyIntrospector {
  return new HttpApiKeyIntrospector(identityUrlOf(env));
}

/** Opens one service's own infrastructure from the environment (the distributed mode). */
export async function openServiceInfra(env: ConfigEnv, service: ServiceName, logger: Logger): Promise<ServiceInfra & { close(): Promise<void> }> {
  const sql = await openSql(env, service);
  const store = await openEventStore(env, sql);
  const bus = await openBus(env, service, logger, sql);
  return {
    env,
    logger,
    metrics: new ServiceMetrics(service, { logger }),
    sql,
    store,
    bus,
    introspector: openIntrospector(env),
    signatures: new HttpSignatureVerifier(identityUrlOf(env)),
    async close() {
      await bus.close().catch((err) => logger.error({ err }, 'closing the bus failed'));
      await store.close().catch((err) => logger.error({ err }, 'closing the event store failed'));
      await sql.close().catch((err) => logger.error({ err }, 'closing the database failed'));
    },
  };
}

export const dataPath = (env: ConfigEnv, ...parts: string[]): string => join(resolve(env.PGLITE_DATA_DIR), ...parts);
