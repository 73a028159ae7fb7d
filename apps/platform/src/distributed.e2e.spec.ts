import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { PgSqlClient } from '@svp/postgres';
import { testInfra, uniqueName } from '@svp/testing';
import type { ServiceName } from '@svp/contracts';
import { type RunningDistributed, startDistributed } from './distributed.js';
import { checkOperability, checkSlice } from './__fixtures__/slice-checks.js';
import { checkIdentity } from './__fixtures__/identity-checks.js';
import { WEBHOOK_TEST_ENV, checkSessions, checkTimeoutAfterRestart, checkTimeouts, checkWebhooks } from './__fixtures__/sessions-checks.js';
import { createOrg } from './__fixtures__/slice.js';

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('distributed mode: a process per service, real PostgreSQL and Kafka', () => {
  const infra = testInfra();
  const prefix = `${uniqueName('e2e')}_`;
  const output: string[] = [];
  let running: RunningDistributed;

  beforeAll(async () => {
    const ports = { gateway: await freePort(), identity: await freePort(), sessions: await freePort(), variables: await freePort() } as Record<ServiceName, number>;
    running = await startDistributed({
      root: resolve(import.meta.dirname, '../../..'),
      databaseUrl: infra.databaseUrl,
      kafkaBrokers: infra.kafkaBrokers.join(','),
      ports,
      schemaPrefix: prefix,
      env: { ...WEBHOOK_TEST_ENV, LOG_LEVEL: 'info' },
      onOutput: (service, line) => output.push(`[${service}] ${line}`),
    });
  }, 180_000);

  afterAll(async () => {
    await running?.stop();
    const sql = await PgSqlClient.connect({ connectionString: infra.databaseUrl });
    for (const service of ['identity', 'sessions', 'variables', 'gateway'])
      await sql.exec(`DROP SCHEMA IF EXISTS "${prefix}${service}" CASCADE`);
    await sql.close();
  });

  it('serves health, readiness, metrics and docs on every service', async () => {
    await checkOperability(running.urls);
  });

  it('runs the slice across processes: the integration event reaches the sessions process over Kafka', async () => {
    try {
      await checkSlice(running.urls, running.rootToken);
    } catch (error) {
      process.stderr.write(`service output:\n${output.slice(-80).join('\n')}\n`);
      throw error;
    }
  });

  it('runs identity across processes: verified metadata reaches the variables process over Kafka; no secret in any log', async () => {
    let secrets: string[];
    try {
      ({ secrets } = await checkIdentity(running.urls, running.rootToken));
    } catch (error) {
      process.stderr.write(`service output:\n${output.slice(-80).join('\n')}\n`);
      throw error;
    }
    const log = output.join('\n');
    expect(output.length).toBeGreaterThan(50);
    for (const secret of secrets) expect(log).not.toContain(secret);
  }, 90_000);

  const withOutput = async (check: () => Promise<void>) => {
    try {
      await check();
    } catch (error) {
      process.stderr.write(`service output:\n${output.slice(-80).join('\n')}\n`);
      throw error;
    }
  };

  it('runs sessions across processes: lifecycle, reply status, initial variables and their discard over Kafka, the list', async () => {
    await withOutput(() => checkSessions(running.urls, running.rootToken));
  }, 90_000);

  it('delivers IM_Session_Status webhooks from the sessions process to a real receiver', async () => {
    await withOutput(() => checkWebhooks(running.urls, running.rootToken));
  }, 90_000);

  it('fires session timeouts after the sessions process was killed and restarted', async () => {
    await withOutput(async () => {
      const org = await createOrg(running.urls.identity, running.rootToken, 'Timeouts');
      const { pendingSessionId, dueAt } = await checkTimeouts(running.urls, org.apiKey);
      await running.kill('sessions');
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt + 500 - Date.now())));
      await running.restart('sessions');
      await checkTimeoutAfterRestart(running.urls, org.apiKey, pendingSessionId);
    });
  }, 120_000);

  it('shuts every service down gracefully on SIGTERM: HTTP, workers, consumers and connections closed, exit code 0', async () => {
    for (const service of ['variables', 'sessions', 'gateway', 'identity'] as const) {
      const child = running.processes[service];
      const started = Date.now();
      const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      child.kill('SIGTERM');
      expect({ service, code: await exit }).toEqual({ service, code: 0 });
      // Well inside SHUTDOWN_TIMEOUT_MS (10 s), past which a service exits with 1.
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  });
});
