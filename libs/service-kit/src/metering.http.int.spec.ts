import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { type IntrospectApiKeyResponse, parseConfigEnv } from '@svp/contracts';
import { PostgresEventStore } from '@svp/event-store';
import { InProcessMessageBus } from '@svp/messaging';
import { PGliteSqlClient } from '@svp/postgres';
import { waitFor } from '@svp/testing';
import { API_KEY_INTROSPECTOR, ApiKeyGuard, type ApiKeyIntrospector, Auth, type AuthContext, RequireScopes } from './auth.js';
import { createLogger } from './logger.js';
import { OrgMeter } from './metering.js';
import { ServiceMetrics } from './metrics.js';
import { type RunningService, runService } from './runtime.js';
import { type RunningServiceApp, startServiceApp } from './service-app.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A stand-in for identity's introspection: key → org, scopes and the org's own quota. */
const keys: Record<string, IntrospectApiKeyResponse> = {
  key_a: { active: true, orgId: 'org_a', keyId: 'k_a', scopes: ['variables:read'] },
  key_b: { active: true, orgId: 'org_b', keyId: 'k_b', scopes: ['variables:read'] },
  key_c: { active: true, orgId: 'org_c', keyId: 'k_c', scopes: ['variables:read'], requestsPerMinute: 1 },
  key_d: { active: true, orgId: 'org_d', keyId: 'k_d', scopes: [] },
};
const introspector: ApiKeyIntrospector = { introspect: async (key) => keys[key] ?? { active: false } };

@Controller('v1/things')
@UseGuards(ApiKeyGuard)
class ThingsController {
  @Get()
  @RequireScopes('variables:read')
  list(@Auth() auth: AuthContext) {
    return { orgId: auth.orgId, things: [] };
  }
}

@Module({
  controllers: [ThingsController],
  providers: [{ provide: API_KEY_INTROSPECTOR, useValue: introspector }, ApiKeyGuard],
})
class ThingsModule {}

describe('per-org metering over HTTP (startServiceApp with a meter, quota 3)', () => {
  let now = T0 + 15_000;
  let app: RunningServiceApp;
  const meter = new OrgMeter({ service: 'variables', defaultRequestsPerMinute: 3, now: () => now });

  beforeAll(async () => {
    app = await startServiceApp({
      name: 'variables',
      title: 'Metering test service',
      module: { module: ThingsModule },
      routes: [],
      readiness: [],
      logger: createLogger('silent'),
      metrics: new ServiceMetrics('variables'),
      host: '127.0.0.1',
      port: 0,
      bodyLimit: 64 * 1024,
      meter,
      introspector,
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = async (path: string, key?: string) => {
    const response = await fetch(`${app.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const header = (name: string) => response.headers.get(name);
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      limit: header('ratelimit-limit'),
      remaining: header('ratelimit-remaining'),
      reset: header('ratelimit-reset'),
      retryAfter: header('retry-after'),
    };
  };

  it('answers calls 1 to 3 with the RateLimit headers, and refuses call 4 with 429 RATE_LIMITED and Retry-After', async () => {
    for (const remaining of ['2', '1', '0']) {
      const answer = await get('/v1/things', 'key_a');
      expect(answer).toMatchObject({ status: 200, body: { orgId: 'org_a' }, limit: '3', remaining, reset: '45', retryAfter: null });
    }
    const refused = await get('/v1/things', 'key_a');
    expect(refused).toEqual({
      status: 429,
      body: {
        error: {
          code: 'RATE_LIMITED',
          message: 'Org org_a is over its quota of 3 requests per minute on variables; retry after 45 s',
          details: { limit: 3, retryAfterSeconds: 45 },
        },
      },
      limit: '3',
      remaining: '0',
      reset: '45',
      retryAfter: '45',
    });
  });

  it('leaves another org unaffected', async () => {
    expect(await get('/v1/things', 'key_b')).toMatchObject({ status: 200, body: { orgId: 'org_b' }, limit: '3', remaining: '2' });
  });

  it("applies the org's own quota from the introspection", async () => {
    expect(await get('/v1/things', 'key_c')).toMatchObject({ status: 200, limit: '1', remaining: '0' });
    expect(await get('/v1/things', 'key_c')).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED', details: { limit: 1 } } } });
  });

  it('meters an authenticated call that lacks a scope; not an unauthenticated one, nor the operator routes', async () => {
    expect(await get('/v1/things', 'key_d')).toMatchObject({ status: 403, limit: '3', remaining: '2' });
    expect(await get('/v1/things', 'key_unknown')).toMatchObject({ status: 401, limit: null });
    expect(await get('/v1/things')).toMatchObject({ status: 401, limit: null });
    expect(await get('/healthz', 'key_a')).toMatchObject({ status: 200, limit: null });
  });

  it('GET /v1/usage shows the counts of the caller org (any valid key, no scope needed), metered itself', async () => {
    const usageD = await get('/v1/usage', 'key_d');
    expect(usageD).toMatchObject({ status: 200, limit: '3', remaining: '1' });
    expect(usageD.body).toMatchObject({ orgId: 'org_d', minutes: [{ minute: iso(T0), requests: 2, refused: 0 }] });
    // org_a is over its quota this minute: reading its usage is refused too.
    expect(await get('/v1/usage', 'key_a')).toMatchObject({ status: 429, retryAfter: '45' });

    now += 60_000;
    const usage = await get('/v1/usage', 'key_a');
    expect(usage).toMatchObject({ status: 200, limit: '3', remaining: '2', reset: '45' });
    expect(usage.body).toEqual({
      orgId: 'org_a',
      service: 'variables',
      requestsPerMinute: 3,
      window: { start: iso(T0 + 60_000), seconds: 60, used: 1, remaining: 2 },
      minutes: [
        { minute: iso(T0), requests: 5, refused: 2 },
        { minute: iso(T0 + 60_000), requests: 1, refused: 0 },
      ],
      total: { requests: 6, refused: 2 },
    });
    expect((await get('/v1/usage?minutes=1', 'key_a')).body).toMatchObject({ minutes: [{ minute: iso(T0 + 60_000), requests: 2 }] });
    expect(await get('/v1/usage?minutes=0', 'key_a')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(await get('/v1/usage')).toMatchObject({ status: 401 });
  });

  it('documents GET /v1/usage in the OpenAPI document, with its 401 and 429', async () => {
    const doc = (await get('/docs/json')).body as { paths: Record<string, { get?: { responses: Record<string, unknown> } }> };
    expect(Object.keys(doc.paths['/v1/usage']?.get?.responses ?? {})).toEqual(expect.arrayContaining(['200', '401', '429']));
  });
});

describe('runService meters every service (ORG_REQUESTS_PER_MINUTE=2)', () => {
  let sql: PGliteSqlClient;
  let store: PostgresEventStore | undefined;
  let bus: InProcessMessageBus | undefined;
  let service: RunningService | undefined;

  beforeAll(async () => {
    sql = await PGliteSqlClient.open();
  });
  afterAll(async () => {
    await service?.close();
    await bus?.close();
    await store?.close();
    await sql?.close();
  });

  it('answers 429 past the configured quota, serves /v1/usage, and flushes the counts when it closes', async () => {
    const logger = createLogger('silent');
    const env = parseConfigEnv({ ORG_REQUESTS_PER_MINUTE: '2', LOG_LEVEL: 'silent', HOST: '127.0.0.1' });
    store = await PostgresEventStore.create(sql);
    bus = new InProcessMessageBus({ logger });
    service = await runService(
      { name: 'variables', title: 'Metering test service', build: async () => ({ module: { module: ThingsModule }, routes: [] }) },
      { env, logger, metrics: new ServiceMetrics('variables'), sql, store, bus, introspector, signatures: { verifySignature: () => Promise.reject(new Error('not used here')) } },
      { host: '127.0.0.1', port: 0 },
    );
    const get = (path: string, key: string) => fetch(`${service!.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    // The meter runs on the real clock here: start clear of a minute boundary, so the calls share one window.
    await waitFor(() => Date.now() % 60_000 < 50_000, 'a moment clear of the next minute boundary', 15_000);

    expect((await get('/v1/things', 'key_b')).status).toBe(200);
    const usage = await get('/v1/usage', 'key_b');
    expect([usage.status, usage.headers.get('ratelimit-limit'), usage.headers.get('ratelimit-remaining')]).toEqual([200, '2', '0']);
    expect(await usage.json()).toMatchObject({ orgId: 'org_b', service: 'variables', requestsPerMinute: 2, total: { requests: 2, refused: 0 } });
    const refused = await get('/v1/things', 'key_b');
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('svp_org_requests_total{org_id="org_b",outcome="refused",service="variables"} 1');

    await service.close();
    service = undefined;
    const { rows } = await sql.query<{ org_id: string; service: string; requests: bigint; refused: bigint }>(
      'SELECT org_id, service, requests, refused FROM org_request_counts',
    );
    expect(rows).toEqual([{ org_id: 'org_b', service: 'variables', requests: 3n, refused: 1n }]);
  });
});
