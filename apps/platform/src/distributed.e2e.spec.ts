import { resolve } from 'node:path';
import { PgSqlClient } from '@svp/postgres';
import { testInfra, uniqueName } from '@svp/testing';
import type { ServiceName } from '@svp/contracts';
import { type RunningDistributed, freePort, startDistributed } from './distributed.js';
import { checkOperability, checkSlice } from './__fixtures__/slice-checks.js';
import { checkOpenApiDocuments } from './__fixtures__/openapi-checks.js';
import { checkIdentity } from './__fixtures__/identity-checks.js';
import { WEBHOOK_TEST_ENV, checkSessions, checkTimeoutAfterRestart, checkTimeouts, checkWebhooks } from './__fixtures__/sessions-checks.js';
import { createOrg } from './__fixtures__/slice.js';
import { checkOpsCli } from './__fixtures__/ops-cli-checks.js';
import { checkMetrics } from './__fixtures__/metrics-checks.js';
import { checkTracing, tracingTestEnv } from './__fixtures__/tracing-checks.js';
import { type OtlpReceiver, startOtlpReceiver } from '@svp/testing';
import { KafkaMessageBus, silentLogger } from '@svp/messaging';
import { checkVisitorTokens } from './__fixtures__/visitor-checks.js';
import { GATEWAY_TEST_ENV, checkGateway } from './__fixtures__/gateway-checks.js';
import {
  checkConcurrency,
  checkDiscardAndErasure,
  checkHistory,
  checkLimits,
  checkRebuild,
  checkSalesIq,
  checkVariableScopes,
  startEventProbe,
} from './__fixtures__/variables-checks.js';

describe('distributed mode: a process per service, real PostgreSQL and Kafka', () => {
  const infra = testInfra();
  const prefix = `${uniqueName('e2e')}_`;
  const output: string[] = [];
  let running: RunningDistributed;
  // Every service exports its spans here (OTLP/HTTP): tracing is on for the whole run.
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const ports = { gateway: await freePort(), identity: await freePort(), sessions: await freePort(), variables: await freePort() } as Record<ServiceName, number>;
    running = await startDistributed({
      root: resolve(import.meta.dirname, '../../..'),
      databaseUrl: infra.databaseUrl,
      kafkaBrokers: infra.kafkaBrokers.join(','),
      ports,
      schemaPrefix: prefix,
      // Introspection off and one page origin here (on and any page in the embedded run): both settings are checked.
      env: { ...WEBHOOK_TEST_ENV, ...GATEWAY_TEST_ENV, ...tracingTestEnv(receiver), GRAPHQL_INTROSPECTION: 'false', GATEWAY_CORS_ORIGINS: 'https://shop.example', LOG_LEVEL: 'info' },
      onOutput: (service, line) => output.push(`[${service}] ${line}`),
    });
  }, 180_000);

  afterAll(async () => {
    await running?.stop();
    await receiver?.close();
    const sql = await PgSqlClient.connect({ connectionString: infra.databaseUrl });
    for (const service of ['identity', 'sessions', 'variables', 'gateway'])
      await sql.exec(`DROP SCHEMA IF EXISTS "${prefix}${service}" CASCADE`);
    await sql.close();
  });

  it('serves health, readiness, metrics and docs on every service', async () => {
    await checkOperability(running.urls);
  });

  it('serves the OpenAPI documents checked in under docs/openapi (generated from the zod contracts)', async () => {
    await checkOpenApiDocuments(running.urls);
  });

  it('follows a variable set as one trace: gateway (HTTP, GraphQL, calls) → variables (command, append, projection, relay) → Kafka → sessions and the gateway; and a session start through sessions and Kafka to the variables projection', async () => {
    await withOutput(() => checkTracing(running.urls, running.rootToken, receiver));
  }, 60_000);

  it('exposes the metrics of commands, appends, consumer lag, projections, outbox, webhooks and orgs, as the dashboard and alerts name them', async () => {
    await withOutput(() => checkMetrics(running.urls, running.rootToken));
  }, 90_000);

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

  describe('variables across processes (PostgreSQL, Kafka)', () => {
    it('keeps session, visitor and metadata variables: initial ones as given over Kafka, merge and replace, types, rooms, signed submits checked by identity, one read of all scopes', async () => {
      await withOutput(() => checkVariableScopes(running.urls, running.rootToken));
    }, 60_000);

    it('enforces limits per org with defaults, naming the limit, storing nothing of a refused write', async () => {
      await withOutput(() => checkLimits(running.urls, running.rootToken));
    }, 60_000);

    it('keeps the history with provenance, reads as of a past time, un-verifies what a key revoked in identity signed (over Kafka)', async () => {
      await withOutput(() => checkHistory(running.urls, running.rootToken));
    }, 60_000);

    it('discards on SessionEnded through Kafka (at once, or kept for the retention), erases a visitor everywhere; changed, discarded, erased on variables.events.v1', async () => {
      const bus = new KafkaMessageBus({ brokers: infra.kafkaBrokers, clientId: 'e2e-probe', logger: silentLogger });
      const probe = await startEventProbe(bus);
      try {
        await withOutput(() => checkDiscardAndErasure(running.urls, running.rootToken, probe));
      } finally {
        await probe.stop();
        await bus.close();
      }
    }, 90_000);

    it('answers the SalesIQ-compatible visitorsessions API: brands learnt over Kafka, error 1005, scopes, metering', async () => {
      await withOutput(() => checkSalesIq(running.urls, running.rootToken));
    }, 60_000);

    it('takes 200 concurrent writers on one session without losing an acknowledged write', async () => {
      await withOutput(() => checkConcurrency(running.urls, running.rootToken));
    }, 90_000);

    it('lets a widget key start sessions only, and a visitor token reach only its own session and visitor, in every service process', async () => {
      await withOutput(() => checkVisitorTokens(running.urls, running.rootToken));
    }, 60_000);

    it('serves GraphQL from the gateway process: subscriptions fed by Kafka, batched calls to the other processes, their error codes, limits, introspection off', async () => {
      await withOutput(() => checkGateway(running.urls, running.rootToken, { introspection: false, corsOrigins: 'https://shop.example', demo: false }));
    }, 90_000);

    it('rebuilds the variables read models in PostgreSQL from the event store to exactly the live state', async () => {
      await withOutput(() => checkRebuild(running.urls, running.rootToken));
    }, 90_000);
  });

  it('runs the ops CLI (the built svp-ops, --json) against every process: rebuild, lag, webhook replay, key rotation and revocation, session export, visitor erasure', async () => {
    await withOutput(() => checkOpsCli(running.urls, running.rootToken));
  }, 150_000);

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
