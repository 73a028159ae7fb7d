import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ExportedEvent } from '@svp/contracts';
import { PostgresEventStore } from '@svp/event-store';
import { InProcessMessageBus, SqlMessageLog, silentLogger } from '@svp/messaging';
import { PGliteSqlClient, PgSqlClient, quoteIdent } from '@svp/postgres';
import { freshPgSchema, testInfra } from '@svp/testing';
import { createLogger } from './logger.js';
import { ServiceMetrics } from './metrics.js';
import { type RunningServiceApp, startServiceApp } from './service-app.js';

@Module({})
class EmptyModule {}

/** A service app serving only the ops admin endpoints, on an ephemeral port. */
function startAdminApp(title: string, rootToken: string, opsAdmin: NonNullable<Parameters<typeof startServiceApp>[0]['opsAdmin']>): Promise<RunningServiceApp> {
  return startServiceApp({
    name: 'sessions',
    title,
    module: { module: EmptyModule },
    routes: [],
    readiness: [],
    logger: createLogger('silent'),
    metrics: new ServiceMetrics('sessions'),
    host: '127.0.0.1',
    port: 0,
    bodyLimit: 64 * 1024,
    rootToken,
    opsAdmin,
  });
}

/**
 * The admin endpoints of ops-admin.ts on a real service app, event store (PGlite) and in-process bus
 * with its SQL log: a session's events streamed as NDJSON a page at a time, consumer lag per group.
 */
describe('operator endpoints: session event export and consumer lag', () => {
  const rootToken = 'root_ops_admin_test';
  let sql: PGliteSqlClient;
  let store: PostgresEventStore;
  let bus: InProcessMessageBus;
  let app: RunningServiceApp;

  beforeAll(async () => {
    sql = await PGliteSqlClient.open();
    store = await PostgresEventStore.create(sql);
    bus = new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { logger: silentLogger }), logger: silentLogger });
    app = await startAdminApp('Ops admin test service', rootToken, {
      bus,
      store,
      consumers: [{ groupId: 'ops-test.group', topics: ['ops-test.events.v1'] }],
      sessionStreams: (orgId, sessionId) => [`alpha-${orgId}.${sessionId}`, `beta-${orgId}.${sessionId}`],
    });
  });

  afterAll(async () => {
    await app?.close();
    await bus?.close();
    await store?.close();
    await sql?.close();
  });

  const get = (path: string, token: string | null = rootToken) => fetch(`${app.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const append = (stream: string, n: number, type = 'Happened') =>
    store.appendToStream(stream, Array.from({ length: n }, (_, i) => ({ eventId: randomUUID(), type, data: { i, note: 'ünïcode ✓' }, metadata: { orgId: 'org_1' } })));

  it('streams every event of the session\'s streams in this service, stream by stream in revision order, with x-event-count', async () => {
    // More than one page (500) in the first stream; another session's and another org's events are left out.
    await append('alpha-org_1.s1', 1203);
    await append('beta-org_1.s1', 2, 'Other');
    await append('alpha-org_1.s2', 3);
    await append('alpha-org_2.s1', 3);
    const response = await get('/admin/v1/orgs/org_1/sessions/s1/events');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    expect(response.headers.get('x-event-count')).toBe('1205');
    const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1205);
    // Every line is the documented line schema (libs/contracts, the one the ops CLI parses with).
    expect(lines.filter((line) => !ExportedEvent.safeParse(line).success)).toEqual([]);
    expect(lines.slice(0, 1203).map((e) => Number(e.streamRevision))).toEqual(Array.from({ length: 1203 }, (_, i) => i));
    expect(lines[0]).toEqual({
      service: 'sessions',
      stream: 'alpha-org_1.s1',
      streamRevision: '0',
      globalPosition: expect.stringMatching(/^\d+$/),
      eventId: expect.any(String),
      type: 'Happened',
      recordedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      data: { i: 0, note: 'ünïcode ✓' },
      metadata: expect.objectContaining({ orgId: 'org_1' }),
    });
    expect(lines.slice(1203).map((e) => [e.stream, e.type])).toEqual([
      ['beta-org_1.s1', 'Other'],
      ['beta-org_1.s1', 'Other'],
    ]);
  });

  it('starts a truncated stream at its first kept event, and answers an unknown session with no events', async () => {
    await append('alpha-org_1.s3', 5);
    await store.truncateStream('alpha-org_1.s3', 3n);
    const truncated = await get('/admin/v1/orgs/org_1/sessions/s3/events');
    expect(truncated.headers.get('x-event-count')).toBe('2');
    expect((await truncated.text()).trim().split('\n').map((l) => JSON.parse(l).streamRevision)).toEqual(['3', '4']);

    const none = await get('/admin/v1/orgs/org_1/sessions/nobody/events');
    expect(none.status).toBe(200);
    expect(none.headers.get('x-event-count')).toBe('0');
    expect(await none.text()).toBe('');
  });

  it('needs the root token (401 without, 403 with another), and refuses bad ids with 400, in the error body', async () => {
    const missing = await get('/admin/v1/orgs/org_1/sessions/s1/events', null);
    expect([missing.status, ((await missing.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHENTICATED']);
    const wrong = await get('/admin/v1/orgs/org_1/sessions/s1/events', 'svp_not_root');
    expect([wrong.status, ((await wrong.json()) as { error: { code: string } }).error.code]).toEqual([403, 'FORBIDDEN']);
    const bad = await get('/admin/v1/orgs/org_1/sessions/s1.x/events');
    expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const lagWithout = await get('/admin/v1/consumers', null);
    expect(lagWithout.status).toBe(401);
  });

  it('shows the consumer lag of the declared groups: what was published and not handled', async () => {
    await bus.ensureTopics(['ops-test.events.v1']);
    await bus.publish(Array.from({ length: 4 }, (_, i) => ({ topic: 'ops-test.events.v1', key: `k${i}`, value: '{}' })));
    const response = await get('/admin/v1/consumers');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { service: string; supported: boolean; consumers: Array<{ groupId: string; lag: string; partitions: unknown[] }> };
    expect(body).toMatchObject({ service: 'sessions', supported: true, consumers: [{ groupId: 'ops-test.group', topics: ['ops-test.events.v1'], lag: '4' }] });
    expect(body.consumers[0]!.partitions).toHaveLength(3);
  });

  it('documents both endpoints in the OpenAPI document, the export as NDJSON whose line is an ExportedEvent', async () => {
    type Response = { description: string; content?: Record<string, { schema: { $ref?: string } }> };
    const document = (await (await get('/docs/json')).json()) as {
      paths: Record<string, { get: { responses: Record<string, Response> } }>;
      components: { schemas: Record<string, { type: string; required: string[] }> };
    };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/admin/v1/consumers', '/admin/v1/orgs/{orgId}/sessions/{sessionId}/events']));
    const responses = document.paths['/admin/v1/orgs/{orgId}/sessions/{sessionId}/events']!.get.responses;
    expect(Object.keys(responses['200']!.content ?? {})).toEqual(['application/x-ndjson']);
    expect(responses['200']!.content!['application/x-ndjson']!.schema).toEqual({ $ref: '#/components/schemas/ExportedEvent' });
    expect(responses['200']!.description).toContain('one ExportedEvent a line');
    expect(document.components.schemas.ExportedEvent!.required).toEqual(
      expect.arrayContaining(['service', 'stream', 'streamRevision', 'globalPosition', 'eventId', 'type', 'recordedAt', 'metadata']),
    );
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '503']));
  });
});

/** A store that fails before the export's first line (here: its PostgreSQL pool gone) answers 503 with the error body, not a bare 500. */
describe('operator endpoints: the session export when the event store fails (PostgreSQL)', () => {
  const rootToken = 'root_ops_admin_failing';
  let db: Awaited<ReturnType<typeof freshPgSchema>>;
  let app: RunningServiceApp;

  beforeAll(async () => {
    db = await freshPgSchema('opsexport');
    const store = await PostgresEventStore.create(db.sql);
    await store.appendToStream('alpha-org_1.s1', [{ eventId: randomUUID(), type: 'Happened', data: {}, metadata: {} }]);
    app = await startAdminApp('Ops admin test service (failing store)', rootToken, { store, sessionStreams: (orgId, sessionId) => [`alpha-${orgId}.${sessionId}`] });
  });

  afterAll(async () => {
    await app?.close();
    if (!db) return;
    const cleanup = await PgSqlClient.connect({ connectionString: testInfra().databaseUrl });
    await cleanup.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(db.schema)} CASCADE`);
    await cleanup.close();
  });

  it('answers 503 SERVICE_UNAVAILABLE in the error body when the store cannot be read', async () => {
    const before = await fetch(`${app.url}/admin/v1/orgs/org_1/sessions/s1/events`, { headers: { authorization: `Bearer ${rootToken}` } });
    expect([before.status, before.headers.get('x-event-count')]).toEqual([200, '1']);
    await before.text();

    await db.sql.close();
    const response = await fetch(`${app.url}/admin/v1/orgs/org_1/sessions/s1/events`, { headers: { authorization: `Bearer ${rootToken}` } });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({
      error: { code: 'SERVICE_UNAVAILABLE', message: 'The export could not begin: the event store failed', details: { reason: expect.any(String) } },
    });
  });
});
