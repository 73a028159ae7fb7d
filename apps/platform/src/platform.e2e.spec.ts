import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningPlatform, banner, startPlatform } from './platform.js';
import { checkOperability, checkSlice, sessionScope } from './__fixtures__/slice-checks.js';
import { checkIdentity } from './__fixtures__/identity-checks.js';
import { WEBHOOK_TEST_ENV, checkSessions, checkTimeoutAfterRestart, checkTimeouts, checkWebhooks } from './__fixtures__/sessions-checks.js';
import { createOrg } from './__fixtures__/slice.js';
import { checkOpsCli } from './__fixtures__/ops-cli-checks.js';
import { checkUntracedEvents } from './__fixtures__/untraced-checks.js';
import { pino } from 'pino';
import { eventually } from '@svp/testing';
import { call } from './__fixtures__/slice.js';
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

describe('embedded mode (npm start): one process, PGlite, in-process bus', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'svp-embedded-'));
  const env = { ...WEBHOOK_TEST_ENV, ...GATEWAY_TEST_ENV, PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', HOST: '127.0.0.1', GATEWAY_PORT: '0', IDENTITY_PORT: '0', SESSIONS_PORT: '0', VARIABLES_PORT: '0' };
  let platform: RunningPlatform;
  // Everything the platform logs, at debug level: no secret or token may ever be in it.
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

  beforeAll(async () => {
    platform = await startPlatform({ env, logger });
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URLs, a generated root token and a demo org API key that works', async () => {
    const text = banner(platform);
    for (const url of Object.values(platform.urls)) expect(text).toContain(url);
    expect(platform.rootTokenGenerated).toBe(true);
    expect(text).toContain(platform.rootToken);
    expect(text).toContain(platform.demoOrg.apiKey);
    const answer = await call(`${platform.urls.variables}/v1/sessions/demo-check/variables`, { key: platform.demoOrg.apiKey });
    expect(answer.status).toBe(200);
  });

  it('serves health, readiness, metrics and docs on every service', async () => {
    await checkOperability(platform.urls);
  });

  it('runs the slice: PUT appends, the projection serves the GET, the event reaches the sessions service', async () => {
    await checkSlice(platform.urls, platform.rootToken);
  });

  it('tracing off (the default): a caller\'s traceparent reaches no stored event, in the sessions and the variables service', async () => {
    await checkUntracedEvents(platform.urls, platform.rootToken);
  });

  it('runs identity over HTTP: brands, scoped API keys, signing keys, verification with reasons, metadata, rotation, revocation, quotas; no secret in the logs', async () => {
    const { secrets } = await checkIdentity(platform.urls, platform.rootToken);
    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThan(50);
    for (const secret of secrets) expect(log).not.toContain(secret);
    expect(log).not.toContain(platform.rootToken);
  }, 60_000);

  it('runs sessions over HTTP: every lifecycle row, reply status from each source, initial variables and their discard over the bus, the list', async () => {
    await checkSessions(platform.urls, platform.rootToken);
  }, 60_000);

  it('delivers IM_Session_Status webhooks to a real receiver: signed, in order, after an outage, replayed, ended by 410', async () => {
    await checkWebhooks(platform.urls, platform.rootToken);
  }, 90_000);

  it('expires idle sessions, resumes them on a visitor message, ends them by timeout, also across a restart', async () => {
    const org = await createOrg(platform.urls.identity, platform.rootToken, 'Timeouts');
    const { pendingSessionId, dueAt } = await checkTimeouts(platform.urls, org.apiKey);
    await platform.close();
    // Down past the pending session's expiry: its timer is in the database, not in memory.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt + 500 - Date.now())));
    platform = await startPlatform({ env, logger });
    await checkTimeoutAfterRestart(platform.urls, org.apiKey, pendingSessionId);
  }, 120_000);

  type ConsumersAnswer = { consumers: Array<{ lag: string; partitions: Array<{ topic: string; partition: number; high: string }> }> };
  const consumersOf = async (service: string): Promise<ConsumersAnswer> =>
    (await call(`${platform.urls[service as keyof typeof platform.urls]}/admin/v1/consumers`, { key: platform.rootToken })).body as ConsumersAnswer;
  /** Messages published on a topic so far (the sum of its partitions' high watermarks, as the sessions service's groups see it). */
  const publishedOn = async (topic: string): Promise<bigint> => {
    const partitions = new Map<string, bigint>();
    for (const group of (await consumersOf('sessions')).consumers)
      for (const p of group.partitions) if (p.topic === topic) partitions.set(`${p.topic}/${p.partition}`, BigInt(p.high));
    return [...partitions.values()].reduce((sum, high) => sum + high, 0n);
  };
  /** The lag of every consumer group of the four services. */
  const totalConsumerLag = async (): Promise<bigint> => {
    let lag = 0n;
    for (const service of ['identity', 'sessions', 'variables', 'gateway']) for (const group of (await consumersOf(service)).consumers) lag += BigInt(group.lag);
    return lag;
  };

  it('rebuilds a projection beside the live one through the admin endpoint, then switches', async () => {
    const { variables } = platform.urls;
    const key = platform.demoOrg.apiKey;
    const url = `${variables}/v1/sessions/rebuild-check/variables`;
    expect((await call(url, { method: 'PUT', key, body: { sessionVariableValues: [{ name: 'a', value: 1 }, { name: 'b', value: 'two' }] } })).status).toBe(200);
    expect((await call(`${variables}/admin/v1/projections`, { key })).status).toBe(403);
    // Other work of the platform writes to the shared log at any time (timers, deletions): the lag
    // reaches 0 once the projection has caught up with it.
    const before = await eventually(async () => {
      const answer = await call(`${variables}/admin/v1/projections`, { key: platform.rootToken });
      return answer.body.projections.find((p: { name: string; lag: string }) => p.name === 'session_variables' && p.lag === '0') ? answer : undefined;
    }, 'session_variables caught up');
    expect(before.body.projections).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'session_variables', state: 'live', lag: '0', table: 'rm_session_variables_v3' })]),
    );
    const badJson = await call(`${variables}/admin/v1/projections/session_variables/rebuild`, { method: 'POST', key: platform.rootToken, rawBody: '{' });
    expect([badJson.status, badJson.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    // Enough history that a rebuild takes a while (5,000 events of another org's sessions), then two
    // requests at once: exactly one rebuild starts, the other is refused while it runs.
    const published = await publishedOn('variables.events.v1');
    const store = platform.services.find((s) => s.name === 'variables')!.infra.store;
    await store.appendToStream(
      `sessionvars-org_bulk.bulk`,
      Array.from({ length: 5000 }, (_, i) => ({
        eventId: randomUUID(),
        type: 'SessionVariablesSet',
        data: { orgId: 'org_bulk', sessionId: `bulk${i}`, changes: [{ name: 'n', value: i, source: 'api', verified: false, version: 1 }], at: new Date().toISOString() },
        metadata: { orgId: 'org_bulk' },
      })),
      { expectedRevision: 'no_stream' },
    );
    const answers = await Promise.all(
      [1, 2].map(() => call(`${variables}/admin/v1/projections/session_variables/rebuild`, { method: 'POST', key: platform.rootToken })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    expect(answers.find((a) => a.status === 409)!.body.error.code).toBe('CONFLICT');
    // Reads are answered from the live table while the rebuild runs beside it.
    const during = await call(url, { key });
    expect(sessionScope(during.body.variables).map((v: { name: string; value: unknown }) => [v.name, v.value])).toEqual([['a', 1], ['b', 'two']]);
    const missing = await call(`${variables}/admin/v1/projections/nope/rebuild`, { method: 'POST', key: platform.rootToken });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
    const after = await eventually(async () => {
      const answer = await call(`${variables}/admin/v1/projections`, { key: platform.rootToken });
      const status = answer.body.projections.find((p: { name: string }) => p.name === 'session_variables');
      return status.table === 'rm_session_variables_v3_b1' && !status.rebuild && status.state === 'live' && status.lag === '0' ? status : undefined;
    }, 'the rebuilt table to be switched in, caught up');
    expect(after.lag).toBe('0');
    const read = await call(url, { key });
    expect(sessionScope(read.body.variables).map((v: { name: string; value: unknown }) => [v.name, v.value])).toEqual([['a', 1], ['b', 'two']]);
    // The 5,000 events went to Kafka's stand-in as well: every consumer group of every service
    // handles them before the next test, whose reads are timed (they share one PGlite connection).
    await eventually(
      async () => ((await publishedOn('variables.events.v1')) >= published + 5000n && (await totalConsumerLag()) === 0n ? true : undefined),
      'the 5,000 events published and every consumer group at lag 0',
      90_000,
    );
  }, 150_000);

  describe('variables', () => {
    it('keeps session, visitor and metadata variables: initial ones as given, merge and replace, types, rooms, username, signed and bad-signature submits, one read of all scopes', async () => {
      await checkVariableScopes(platform.urls, platform.rootToken);
    }, 60_000);

    it('enforces limits per org with defaults, naming the limit, storing nothing of a refused write', async () => {
      await checkLimits(platform.urls, platform.rootToken);
    }, 60_000);

    it('keeps the history of every value with its provenance, reads as of a past time, un-verifies what a revoked key signed', async () => {
      await checkHistory(platform.urls, platform.rootToken);
    }, 60_000);

    it('discards on session end through the bus (at once, or kept for the retention), erases a visitor everywhere; publishes changed, discarded, erased', async () => {
      // From now on only: reading every earlier test's events first (a commit per message on PGlite) took over 15 s on a busy machine.
      const probe = await startEventProbe(platform.services.find((s) => s.name === 'variables')!.infra.bus, { fromBeginning: false });
      try {
        await checkDiscardAndErasure(platform.urls, platform.rootToken, probe);
      } finally {
        await probe.stop();
      }
    }, 90_000);

    it('answers the SalesIQ-compatible visitorsessions API: its shapes, error 1005, scopes, metering', async () => {
      await checkSalesIq(platform.urls, platform.rootToken);
    }, 60_000);

    it('takes 200 concurrent writers on one session (and 100 on one key) without losing an acknowledged write', async () => {
      await checkConcurrency(platform.urls, platform.rootToken);
    }, 90_000);

    it('lets a widget key start sessions only, and a visitor token reach only its own session and visitor, on every service', async () => {
      await checkVisitorTokens(platform.urls, platform.rootToken);
    }, 60_000);

    it('serves GraphQL: queries, mutations, subscriptions over graphql-ws fed by the bus, batched service calls, service error codes, limits, visitor tokens kept to their own session', async () => {
      await checkGateway(platform.urls, platform.rootToken, { introspection: true, corsOrigins: '*', demo: true });
    }, 90_000);

    it('rebuilds the variables read models from the event store to exactly the live state', async () => {
      await checkRebuild(platform.urls, platform.rootToken);
    }, 90_000);
  });

  it('runs the ops CLI (the built svp-ops, --json) against the embedded platform too: rebuild, lag from the in-process bus, replay, keys, export, erasure', async () => {
    await checkOpsCli(platform.urls, platform.rootToken);
  }, 150_000);

  it('keeps its data across a restart (PGlite files under the data directory)', async () => {
    const key = platform.demoOrg.apiKey;
    const url = (p: RunningPlatform) => `${p.urls.variables}/v1/sessions/restart-check/variables`;
    expect((await call(url(platform), { method: 'PUT', key, body: { sessionVariableValues: [{ name: 'plan', value: 'gold' }] } })).status).toBe(200);
    await platform.close();
    platform = await startPlatform({ env });
    expect(platform.demoOrg.apiKey).toBe(key);
    const answer = await call(url(platform), { key });
    expect(sessionScope(answer.body.variables)).toEqual([expect.objectContaining({ name: 'plan', value: 'gold', version: 1 })]);
  }, 120_000);
});
