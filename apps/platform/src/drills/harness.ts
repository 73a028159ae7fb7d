import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ServiceName } from '@svp/contracts';
import { PgSqlClient } from '@svp/postgres';
import { freePort, reachable, startDistributed } from '../distributed.js';
import type { DrillBroker, DrillPlatform } from './drill.js';
import { createOrg } from './http.js';

/**
 * The drills' own single-node Kafka (tools/kafka/kafka.sh on other ports and a data directory of its
 * own): drill 2 stops it for 20 s, which must not disturb other users of the usual broker (the other
 * test suites running beside the drills in `npm test`), and the drills' consumer groups (fixed names)
 * stay apart from any other deployment. Each run takes free ports and a fresh data directory (topics
 * read from the beginning hold only this run's messages), removed when the run stops the broker;
 * `DRILLS_KAFKA_PORT` (controller on the next port) and `DRILLS_KAFKA_DATA_DIR` fix them instead.
 */
export async function drillBroker(root: string): Promise<DrillBroker & { startedHere: boolean }> {
  const fixed = process.env.DRILLS_KAFKA_PORT ? Number(process.env.DRILLS_KAFKA_PORT) : undefined;
  const port = fixed ?? (await freePort());
  const controllerPort = fixed ? fixed + 1 : await freePort();
  const dataDir = process.env.DRILLS_KAFKA_DATA_DIR ?? join(tmpdir(), `svp-drills-kafka-${port}`);
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_DATA_DIR: dataDir };
  const script = resolve(root, 'tools/kafka/kafka.sh');
  const run = (command: 'start' | 'stop') => {
    const result = spawnSync('bash', [script, command], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`kafka.sh ${command} (drills broker, port ${port}) failed: ${result.stderr || result.stdout}`);
  };
  let first = true;
  const broker = {
    brokers: `127.0.0.1:${port}`,
    startedHere: false,
    dataDir,
    async start() {
      if (first && !(await reachable('127.0.0.1', port))) {
        broker.startedHere = true;
        // A directory left by an earlier run on the same port (killed before it cleaned up) starts afresh.
        if (!process.env.DRILLS_KAFKA_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
      }
      first = false;
      run('start');
    },
    async stop() {
      run('stop');
    },
    /** Stops the broker and removes its data (only when this run started it). */
    async dispose() {
      if (!broker.startedHere) return;
      run('stop');
      if (!process.env.DRILLS_KAFKA_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
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
      // Every line is kept (drill 9 searches them all for secrets); a full run writes some 100,000.
      output.push(`[${service}] ${line}`);
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
