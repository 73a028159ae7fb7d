import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type IntrospectApiKeyResponse,
  type SessionEndedV1,
  type SigningKeyChangedV1,
  type SigningAlg,
  TOPICS,
  type VerifySignatureResponse,
  VisitorVariablesChangedV1,
  type VisitorResponse,
  parseConfigEnv,
} from '@svp/contracts';
import { PostgresEventStore } from '@svp/event-store';
import { InProcessMessageBus, SqlMessageLog, silentLogger } from '@svp/messaging';
import { PGliteSqlClient } from '@svp/postgres';
import { type ApiKeyIntrospector, type RunningService, ServiceMetrics, type SignatureVerifier, createLogger, integrationMessage, runService } from '@svp/service-kit';
import { eventually } from '@svp/testing';
import { visitorVariablesStream } from '@svp/variables-domain';
import { variablesService } from './variables-service.js';

// The variables service as it runs (runService: HTTP, guards, projections, outbox, identity consumer)
// on PGlite and the in-process bus, with stand-ins for identity's two ports: the API key
// introspection and the signature check (the real identity path is tested end to end elsewhere).
const orgA = `org-${randomUUID()}`;
const orgB = `org-${randomUUID()}`;
const keys: Record<string, IntrospectApiKeyResponse> = {
  key_a: { active: true, orgId: orgA, keyId: 'k_a', scopes: ['variables:read', 'variables:write'] },
  key_a_read: { active: true, orgId: orgA, keyId: 'k_a_read', scopes: ['variables:read'] },
  key_b: { active: true, orgId: orgB, keyId: 'k_b', scopes: ['variables:read', 'variables:write'] },
};
const introspector: ApiKeyIntrospector = { introspect: async (key) => keys[key] ?? { active: false } };

/** Token → what identity's signature check answers for it. */
const tokens: Record<string, VerifySignatureResponse> = {
  'tok.good': { valid: true, kid: 'kid_1', alg: 'HS256', data: { plan: 'gold', username: 'Ann Signed', cartValue: 99.5 } },
  'tok.expired': { valid: false, reason: 'TOKEN_EXPIRED', detail: 'exp is 120 s in the past' },
  'tok.badsig': { valid: false, reason: 'SIGNATURE_INVALID', detail: 'the signature does not match' },
  'tok.badname': { valid: true, kid: 'kid_1', alg: 'HS256', data: { plan: 'gold', 'has/slash': 1, 'semi;colon': true, 'first name': 'ok' } },
  'tok.metadata': { valid: true, kid: 'kid_1', alg: 'HS256', data: { providedEmail: 'mallory@example.com' } },
  // Identity still answered valid: the key was revoked just after its check.
  'tok.revoked': { valid: true, kid: 'kid_revoked', alg: 'HS256', data: { level: 'gold' } },
};
const signatureCalls: { apiKey: string; token: string; alg?: SigningAlg }[] = [];
const signatures: SignatureVerifier = {
  verifySignature: async (apiKey, token, alg) => {
    signatureCalls.push({ apiKey, token, ...(alg ? { alg } : {}) });
    return tokens[token] ?? { valid: false, reason: 'MALFORMED', detail: 'not a compact JWS' };
  },
};

let sql: PGliteSqlClient;
let store: PostgresEventStore;
let bus: InProcessMessageBus;
let service: RunningService | undefined;

beforeAll(async () => {
  sql = await PGliteSqlClient.open();
  store = await PostgresEventStore.create(sql, { pollIntervalMs: 20 });
  bus = new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { logger: silentLogger }), logger: silentLogger });
  const env = parseConfigEnv({ LOG_LEVEL: 'silent', HOST: '127.0.0.1' });
  service = await runService(
    variablesService,
    { env, logger: createLogger('silent'), metrics: new ServiceMetrics('variables'), sql, store, bus, introspector, signatures },
    { host: '127.0.0.1', port: 0 },
  );
});

afterAll(async () => {
  await service?.close();
  await bus?.close();
  await store?.close();
  await sql?.close();
});

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}
const call = async <T = Record<string, unknown>>(method: string, path: string, key: string | undefined, body?: unknown): Promise<Answer<T>> => {
  const response = await fetch(`${service!.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
};
const submit = (visitorId: string, body: unknown, key = 'key_a') => call<VisitorResponse>('POST', `/v1/visitors/${visitorId}/variables`, key, body);
const read = (visitorId: string, key = 'key_a', room?: string) =>
  call<VisitorResponse>('GET', `/v1/visitors/${visitorId}${room === undefined ? '' : `?room=${encodeURIComponent(room)}`}`, key);
const plain = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ data, signing: 'plain', replaceExisting: false, ...extra });
/** name → [value, source, verified, version] of an answer's variables. */
const summary = (answer: Answer<VisitorResponse>) => Object.fromEntries(answer.body.variables.map((v) => [v.name, [v.value, v.source, v.verified, v.version]]));
const freshVisitor = () => `v-${randomUUID()}`;

describe('visitor variables over HTTP (runService, PGlite, in-process bus)', () => {
  it('answers an unknown visitor with the default display name and no variables', async () => {
    expect(await read(freshVisitor())).toMatchObject({ status: 200, body: { displayName: 'Visitor', variables: [] } });
  });

  it('stores plain data unverified, keeping types, and answers with read-your-writes', async () => {
    const visitorId = freshVisitor();
    const answer = await submit(visitorId, plain({ id: '6320834868293', cart: 42, vip: true, note: null }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ visitorId, displayName: 'Visitor' });
    expect(answer.body.variables.map((v) => v.name)).toEqual(['cart', 'id', 'note', 'vip']);
    expect(answer.body.variables[0]).toEqual({ name: 'cart', value: 42, scope: 'visitor', source: 'api', verified: false, updatedAt: expect.any(String), version: 1 });
    expect(summary(answer)).toEqual({ id: ['6320834868293', 'api', false, 1], cart: [42, 'api', false, 1], vip: [true, 'api', false, 1], note: [null, 'api', false, 1] });
    // A GET right after the POST sees the write.
    expect(summary(await read(visitorId))).toEqual(summary(answer));
  });

  it('merges with replaceExisting false (same key overwrites) and replaces everything with true', async () => {
    const visitorId = freshVisitor();
    await submit(visitorId, plain({ cart: 42, plan: 'free', username: 'Ann' }));
    const merged = await submit(visitorId, plain({ cart: 43, coupon: 'X1' }));
    expect(summary(merged)).toEqual({ cart: [43, 'api', false, 2], plan: ['free', 'api', false, 1], username: ['Ann', 'api', false, 1], coupon: ['X1', 'api', false, 1] });
    expect(merged.body.displayName).toBe('Ann');

    const replaced = await submit(visitorId, plain({ coupon: 'X1', tier: 'b' }, { replaceExisting: true }));
    expect(summary(replaced)).toEqual({ coupon: ['X1', 'api', false, 1], tier: ['b', 'api', false, 1] });
    // `username` went with the rest: the display name is the default again.
    expect(replaced.body.displayName).toBe('Visitor');
    expect(summary(await read(visitorId))).toEqual(summary(replaced));

    // The same submit again changes nothing (no new event, versions kept).
    const before = (await store.readStream(visitorVariablesStream(orgA, visitorId))).length;
    expect(summary(await submit(visitorId, plain({ coupon: 'X1', tier: 'b' }, { replaceExisting: true })))).toEqual(summary(replaced));
    expect(await store.readStream(visitorVariablesStream(orgA, visitorId))).toHaveLength(before);
  });

  it('sets the display name from `username`', async () => {
    const visitorId = freshVisitor();
    expect((await submit(visitorId, plain({ username: 'Ann Lee' }))).body.displayName).toBe('Ann Lee');
    expect((await read(visitorId)).body).toMatchObject({ displayName: 'Ann Lee', variables: [{ name: 'username', value: 'Ann Lee' }] });
  });

  it('limits data to rooms (by id or name): a read sees it only when it names one of them', async () => {
    const visitorId = freshVisitor();
    await submit(visitorId, plain({ plan: 'free' }));
    const answer = await submit(visitorId, plain({ offer: '10%', username: 'Sales Ann' }, { rooms: [{ id: 'room-1' }, { name: 'Sales' }] }));
    // The answer is the visitor as the submit's rooms see it.
    expect(answer.body).toMatchObject({ displayName: 'Sales Ann' });
    expect(answer.body.variables.map((v) => v.name)).toEqual(['offer', 'plan', 'username']);

    const names = async (room?: string) => (await read(visitorId, 'key_a', room)).body.variables.map((v) => v.name);
    expect(await names()).toEqual(['plan']);
    expect(await names('room-1')).toEqual(['offer', 'plan', 'username']);
    expect(await names('Sales')).toEqual(['offer', 'plan', 'username']);
    expect(await names('Support')).toEqual(['plan']);
    // A username limited to rooms is the display name only where it is visible.
    expect((await read(visitorId)).body.displayName).toBe('Visitor');
    expect((await read(visitorId, 'key_a', 'Sales')).body.displayName).toBe('Sales Ann');
    expect(await read(visitorId, 'key_a', '')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
  });

  it('stores signed data verified after identity checks the token with the caller’s own key and the algorithm asked for', async () => {
    const visitorId = freshVisitor();
    await submit(visitorId, plain({ plan: 'free', cart: 1 }));
    const answer = await submit(visitorId, { token: 'tok.good', signing: 'HS256', replaceExisting: false });
    expect(answer.status).toBe(200);
    expect(signatureCalls.at(-1)).toEqual({ apiKey: 'key_a', token: 'tok.good', alg: 'HS256' });
    expect(answer.body.displayName).toBe('Ann Signed');
    expect(summary(answer)).toEqual({
      cart: [1, 'api', false, 1],
      cartValue: [99.5, 'signed', true, 1],
      plan: ['gold', 'signed', true, 2],
      username: ['Ann Signed', 'signed', true, 1],
    });
    // Plain data over a signed value is unverified again.
    expect(summary(await submit(visitorId, plain({ plan: 'gold' }))).plan).toEqual(['gold', 'api', false, 3]);
  });

  it('answers a token that does not verify with 401 INVALID_TOKEN and the reason, and stores nothing', async () => {
    const visitorId = freshVisitor();
    for (const [token, reason, detail] of [
      ['tok.expired', 'TOKEN_EXPIRED', 'exp is 120 s in the past'],
      ['tok.badsig', 'SIGNATURE_INVALID', 'the signature does not match'],
      ['garbage', 'MALFORMED', 'not a compact JWS'],
    ] as const) {
      const answer = await submit(visitorId, { token, signing: 'RS256', replaceExisting: true });
      expect(answer).toEqual({ status: 401, body: { error: { code: 'INVALID_TOKEN', message: `The token did not verify: ${reason}`, details: { reason, detail } } } });
    }
    const oversized = await submit(visitorId, { token: 'x'.repeat(16_385), signing: 'ES256', replaceExisting: false });
    expect(oversized).toMatchObject({ status: 401, body: { error: { code: 'INVALID_TOKEN', details: { reason: 'MALFORMED' } } } });
    expect(await store.readStream(visitorVariablesStream(orgA, visitorId))).toEqual([]);
    expect((await read(visitorId)).body).toEqual({ visitorId, displayName: 'Visitor', variables: [] });
  });

  it('refuses signed claims that cannot be variables with 400 VALIDATION_FAILED naming them, storing nothing', async () => {
    const visitorId = freshVisitor();
    const answer = await submit(visitorId, { token: 'tok.badname', signing: 'HS256', replaceExisting: false });
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', details: { names: ['has/slash', 'semi;colon'] } } } });
    expect((answer.body as unknown as { error: { message: string } }).error.message).toContain('has/slash');
    expect(await store.readStream(visitorVariablesStream(orgA, visitorId))).toEqual([]);
  });

  it('refuses a metadata name with 403 FORBIDDEN, plain or signed, storing nothing', async () => {
    const visitorId = freshVisitor();
    expect(await submit(visitorId, plain({ cart: 1, authenticatedStatus: true }))).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', details: { names: ['authenticatedStatus'] } } },
    });
    expect(await submit(visitorId, { token: 'tok.metadata', signing: 'HS256', replaceExisting: false })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', details: { names: ['providedEmail'] } } },
    });
    expect(await store.readStream(visitorVariablesStream(orgA, visitorId))).toEqual([]);
  });

  it('answers a bad body with 400 VALIDATION_FAILED naming the field', async () => {
    const visitorId = freshVisitor();
    const bad = async (body: unknown) => {
      const answer = await submit(visitorId, body);
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
      return (answer.body as unknown as { error: { message: string } }).error.message;
    };
    expect(await bad({ data: { a: 1 }, signing: 'none', replaceExisting: false })).toContain('signing');
    expect(await bad({ data: { a: 1 }, signing: 'plain' })).toContain('replaceExisting');
    expect(await bad({ data: { 'bad/name': 1 }, signing: 'plain', replaceExisting: false })).toContain('data');
    expect(await bad({ data: { a: { nested: true } }, signing: 'plain', replaceExisting: false })).toContain('data');
    // Fastify refuses a `__proto__` key in any JSON body; the contract refuses the other reserved names.
    expect(await bad('{"data":{"__proto__":"x"},"signing":"plain","replaceExisting":false}')).toContain('not valid JSON');
    expect(await bad('{"data":{"constructor":"x"},"signing":"plain","replaceExisting":false}')).toContain('data.constructor');
    expect(await bad({ ...plain({ a: 1 }), extra: 1 })).toContain('extra');
    expect(await bad({ signing: 'plain', replaceExisting: false })).toContain('data');
    expect(await bad({ data: { a: 1 }, token: 'tok.good', signing: 'plain', replaceExisting: false })).toContain('token');
    expect(await bad({ signing: 'HS256', replaceExisting: false })).toContain('token');
    expect(await bad({ data: { a: 1 }, token: 'tok.good', signing: 'HS256', replaceExisting: false })).toContain('data');
    expect(await bad(plain({ a: 1 }, { rooms: [{ id: '' }] }))).toContain('rooms.0.id');
    expect(await bad(plain({ a: 1 }, { rooms: [{ id: 'r', name: 'n' }] }))).toContain('rooms');
    expect(await bad('{"data":')).toBeDefined();
    expect((await call('POST', '/v1/visitors/bad.id/variables', 'key_a', plain({ a: 1 }))).status).toBe(400);
    expect(await store.readStream(visitorVariablesStream(orgA, visitorId))).toEqual([]);
  });

  it('refuses a value past the size limit with 400 LIMIT_EXCEEDED naming the limit', async () => {
    const answer = await submit(freshVisitor(), plain({ big: 'x'.repeat(4097) }));
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxValueBytes', max: 4096, name: 'big' } } } });
  });

  it('needs a key with the scope of the route, and keeps each org to its own visitors', async () => {
    const visitorId = freshVisitor();
    expect(await submit(visitorId, plain({ a: 1 }), 'key_a_read')).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', details: { missing: ['variables:write'] } } } });
    expect(await submit(visitorId, plain({ a: 1 }), 'key_unknown')).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    expect((await read(visitorId, 'key_unknown')).status).toBe(401);

    await submit(visitorId, plain({ secret: 'of org A' }));
    expect(summary(await read(visitorId, 'key_a_read'))).toEqual({ secret: ['of org A', 'api', false, 1] });
    // The same visitor id in another org is another visitor.
    expect((await read(visitorId, 'key_b')).body).toEqual({ visitorId, displayName: 'Visitor', variables: [] });
    expect(summary(await submit(visitorId, plain({ other: 1 }), 'key_b'))).toEqual({ other: [1, 'api', false, 1] });
    expect(summary(await read(visitorId, 'key_a'))).toEqual({ secret: ['of org A', 'api', false, 1] });
  });

  it('publishes VisitorVariablesChanged v1 on variables.events.v1, keyed by the visitor id', async () => {
    const visitorId = freshVisitor();
    await submit(visitorId, plain({ cart: 1, plan: 'free' }));
    await submit(visitorId, plain({ plan: 'gold' }, { replaceExisting: true, rooms: [{ name: 'Sales' }] }));
    const published = await eventually(async () => {
      const messages = [];
      const partitions = await bus.log.ensureTopic(TOPICS.variables, 3);
      for (let p = 0; p < partitions; p++) messages.push(...(await bus.log.read(TOPICS.variables, p, 0, 1000)));
      const mine = messages.filter((m) => m.key === visitorId);
      return mine.length === 2 ? mine : undefined;
    }, 'both submits to be published');
    const [first, second] = published.map((m) => VisitorVariablesChangedV1.parse(JSON.parse(m.value)));
    expect(first).toMatchObject({ orgId: orgA, type: 'VisitorVariablesChanged', version: 1, data: { visitorId, replaceExisting: false } });
    expect(first!.data.removed).toBeUndefined();
    expect(second!.data).toEqual({
      visitorId,
      replaceExisting: true,
      changes: [{ name: 'plan', value: 'gold', source: 'api', verified: false, version: 2, rooms: ['Sales'] }],
      removed: ['cart'],
    });
  });

  it('documents both routes in the OpenAPI document', async () => {
    const doc = (await call('GET', '/docs/json', undefined)).body as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
    expect(Object.keys(doc.paths['/v1/visitors/{visitorId}/variables'] ?? {})).toEqual(['post']);
    expect(doc.paths['/v1/visitors/{visitorId}']?.get?.parameters?.map((p) => [p.in, p.name])).toEqual(
      expect.arrayContaining([
        ['path', 'visitorId'],
        ['query', 'room'],
      ]),
    );
  });

  it('stores a signed submit whose key was revoked just after identity checked it as unverified (the revocation already known here)', async () => {
    const revocation: SigningKeyChangedV1 = { eventId: randomUUID(), type: 'SigningKeyChanged', version: 1, occurredAt: new Date().toISOString(), orgId: orgA, data: { kid: 'kid_revoked', alg: 'HS256', change: 'revoked' } };
    await bus.publish([integrationMessage(TOPICS.identity, 'kid_revoked', revocation)]);
    await eventually(async () => ((await sql.query('SELECT 1 FROM variables_revoked_keys WHERE org_id = $1 AND kid = $2', [orgA, 'kid_revoked'])).rows.length > 0 ? true : undefined), 'the revocation recorded');
    const visitorId = freshVisitor();
    const answer = await submit(visitorId, { token: 'tok.revoked', signing: 'HS256', replaceExisting: false });
    expect(answer.status).toBe(200);
    expect(summary(answer)).toEqual({ level: ['gold', 'signed', false, 2] });
    expect((await store.readStream(visitorVariablesStream(orgA, visitorId))).map((e) => e.type)).toEqual(['VisitorVariablesSubmitted', 'VisitorVariablesUnverified']);
  });
});

describe('the read-model cache of the variables service', () => {
  const lookups = async (projection: string, outcome: 'hit' | 'miss') => {
    const text = await (await fetch(`${service!.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('svp_read_cache_lookups{') && l.includes(`projection="${projection}"`) && l.includes(`outcome="${outcome}"`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('answers hot reads from memory, and every write (here or consumed) is read at once', async () => {
    const sessionId = `s-${randomUUID()}`;
    const values = (answer: Answer<{ variables: { name: string; value: unknown; scope: string }[] }>) =>
      Object.fromEntries(answer.body.variables.filter((v) => v.scope === 'session').map((v) => [v.name, v.value]));
    const put = (value: unknown) => call<{ variables: { name: string; value: unknown; scope: string }[] }>('PUT', `/v1/sessions/${sessionId}/variables`, 'key_a', { sessionVariableValues: [{ name: 'plan', value }] });
    const get = () => call<{ variables: { name: string; value: unknown; scope: string }[] }>('GET', `/v1/sessions/${sessionId}/variables`, 'key_a');

    expect(values(await put('silver'))).toEqual({ plan: 'silver' });
    const before = await lookups('session_variables', 'hit');
    for (let i = 0; i < 5; i++) expect(values(await get())).toEqual({ plan: 'silver' });
    expect((await lookups('session_variables', 'hit')) - before).toBeGreaterThanOrEqual(5);

    expect(values(await put('gold'))).toEqual({ plan: 'gold' });
    expect(values(await get())).toEqual({ plan: 'gold' });

    // A change that arrives by a consumed event (the session ended): gone as soon as it is stored.
    await bus.publish([
      integrationMessage(TOPICS.sessions, sessionId, {
        type: 'SessionEnded',
        version: 1,
        eventId: randomUUID(),
        occurredAt: new Date().toISOString(),
        orgId: orgA,
        data: { sessionId, visitorId: freshVisitor(), reason: 'logout', endedAt: new Date().toISOString() },
      } satisfies SessionEndedV1),
    ]);
    await eventually(async () => (Object.keys(values(await get())).length === 0 ? true : undefined), 'the consumed discard in the answer');
  });
});
