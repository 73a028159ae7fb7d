import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { ServiceName } from '@svp/contracts';
import { PgSqlClient } from '@svp/postgres';
import { freePort, reachable, startDistributed } from '../distributed.js';
import type { DrillBroker, DrillPlatform } from './drill.js';
import { createOrg } from './http.js';

/** Where the drills' broker listens and keeps its data (away from the developer's 9092 broker). */
export const DRILL_BROKER = { port: 19092, controllerPort: 19093, dataDir: '/tmp/svp-drills-kafka' };

/**
 * The drills' own single-node Kafka (tools/kafka/kafka.sh with other ports and data directory):
 * drill 2 stops it for 20 s, which must not disturb other users of the usual broker (the other test
 * suites running beside the drills in `npm test`), and the drills' consumer groups stay apart from
 * a distributed run on the usual broker. `DRILLS_KAFKA_PORT` moves it.
 */
export function drillBroker(root: string): DrillBroker & { startedHere: boolean } {
  const port = Number(process.env.DRILLS_KAFKA_PORT ?? DRILL_BROKER.port);
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(port + 1),
    KAFKA_DATA_DIR: process.env.DRILLS_KAFKA_DATA_DIR ?? DRILL_BROKER.dataDir,
  };
  const script = resolve(root, 'tools/kafka/kafka.sh');
  const run = (command: 'start' | 'stop') => {
    const result = spawnSync('bash', [script, command], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`kafka.sh ${command} (drills broker, port ${port}) failed: ${result.stderr || result.stdout}`);
  };
  const broker = {
    brokers: `127.0.0.1:${port}`,
    startedHere: false,
    async start() {
      if (!(await reachable('127.0.0.1', port))) broker.startedHere = true;
      run('start');
    },
    async stop() {
      run('stop');
    },
    isUp: () => reachable('127.0.0.1', port),
  };
  return broker;
}

/** Settings of the drills' platform: short webhook retries; private webhook targets refused (the default). */
export const DRILL_PLATFORM_ENV: Record<string, string> = {
  WEBHOOK_RETRY_DELAYS: '200ms,500ms,1s',
  WEBHOOK_RETRY_EVERY: '1s',
  WEBHOOK_RETRY_FOR: '1h',
  WEBHOOK_TIMEOUT_MS: '2000',
  LOG_LEVEL: 'info',
};

/** Starts the four services (built, `npm run build`) against PostgreSQL and the drills' broker, in fresh schemas. */
export async function startDrillPlatform(root: string, broker: DrillBroker, env: Record<string, string> = {}): Promise<DrillPlatform & { drop(): Promise<void> }> {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const prefix = `drills_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_`;
  const ports = { gateway: await freePort(), identity: await freePort(), sessions: await freePort(), variables: await freePort() } as Record<ServiceName, number>;
  const output: string[] = [];
  const running = await startDistributed({
    root,
    databaseUrl,
    kafkaBrokers: broker.brokers,
    ports,
    schemaPrefix: prefix,
    env: { ...DRILL_PLATFORM_ENV, ...env },
    onOutput: (service, line) => {
      output.push(`[${service}] ${line}`);
      if (output.length > 200_000) output.splice(0, 50_000);
    },
  });
  return {
    ...running,
    output,
    databaseUrl,
    schema: (service) => `${prefix}${service}`,
    newOrg: (name) => createOrg(running.urls.identity, running.rootToken, name),
    async drop() {
      await running.stop();
      const sql = await PgSqlClient.connect({ connectionString: databaseUrl });
      try {
        for (const service of ['identity', 'sessions', 'variables', 'gateway']) await sql.exec(`DROP SCHEMA IF EXISTS "${prefix}${service}" CASCADE`);
      } finally {
        await sql.close();
      }
    },
  };
}
