import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import { type EventEnvelope, type ServiceName, TOPICS } from '@svp/contracts';
import type { Consumer, MessageBus } from '@svp/messaging';
import { eventually, waitFor } from '@svp/testing';
import { SignJWT } from 'jose';
import { call, createOrg } from './slice.js';

/**
 * The variables service over the real HTTP API, shared by the embedded and the distributed test
 * (where it runs against real PostgreSQL and Kafka, a process per service): one function per point
 * of the variables issue. Each works in an org of its own.
 */

type Urls = Record<ServiceName, string>;
interface View {
  name: string;
  value: unknown;
  scope: string;
  source: string;
  verified: boolean;
  version: number;
  updatedAt: string | null;
}
const scope = (variables: View[], which: string) => variables.filter((v) => v.scope === which);
/** name → [value, scope, source, verified, version]. */
const summary = (variables: View[]) => Object.fromEntries(variables.map((v) => [v.name, [v.value, v.scope, v.source, v.verified, v.version]]));
const now = () => Math.floor(Date.now() / 1000);
const hmac = (secret: string) => new TextEncoder().encode(secret);
const sign = (claims: Record<string, unknown>, kid: string, secret: string, exp = now() + 300) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).setIssuedAt().setExpirationTime(exp).sign(hmac(secret));

/** Everything published on variables.events.v1 from now on, as a consumer of the platform's bus sees it. */
export interface EventProbe {
  find(predicate: (event: EventEnvelope & { data: Record<string, unknown> }) => boolean, what: string): Promise<EventEnvelope & { data: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/**
 * `fromBeginning: false` skips what earlier tests published. The embedded bus can: its log is one
 * PGlite connection, so the group's start is recorded before any later publish. On Kafka a new
 * group's start is only fixed at its first fetch, so there the probe reads the topic from the start.
 */
export async function startEventProbe(bus: MessageBus, options: { fromBeginning?: boolean } = {}): Promise<EventProbe> {
  const seen: (EventEnvelope & { data: Record<string, unknown> })[] = [];
  const consumer: Consumer = await bus.consume({
    groupId: `e2e-probe-${randomUUID()}`,
    topics: [TOPICS.variables],
    fromBeginning: options.fromBeginning ?? true,
    handler: async (message) => {
      seen.push(JSON.parse(message.value));
    },
  });
  await consumer.ready;
  return {
    find: (predicate, what) => eventually(async () => seen.find(predicate), what, 30_000),
    stop: () => consumer.stop(),
  };
}

function client(urls: Urls, key: string) {
  const v = (path: string) => `${urls.variables}${path}`;
  return {
    startSession: async (body: Record<string, unknown>) => {
      const answer = await call(`${urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', ...body } });
      expect(answer.status).toBe(201);
      return answer.body as { sessionId: string; visitorId: string };
    },
    endSession: async (sessionId: string, reason = 'logout') =>
      expect((await call(`${urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key, body: { type: 'END', reason } })).status).toBe(200),
    put: (sessionId: string, values: { name: string; value: unknown }[], as = key) =>
      call(v(`/v1/sessions/${sessionId}/variables`), { method: 'PUT', key: as, body: { sessionVariableValues: values } }),
    read: (sessionId: string, query = '', as = key) => call<{ variables: View[] }>(v(`/v1/sessions/${sessionId}/variables${query}`), { key: as }),
    history: (sessionId: string, name: string) =>
      call<{ name: string; history: (View & { change: string; setBy?: string; eventId: string })[] }>(v(`/v1/sessions/${sessionId}/variables/${encodeURIComponent(name)}/history`), { key }),
    submit: (visitorId: string, body: Record<string, unknown>, as = key) => call(v(`/v1/visitors/${visitorId}/variables`), { method: 'POST', key: as, body }),
    visitor: (visitorId: string, query = '', as = key) => call<{ visitorId: string; displayName: string; variables: View[] }>(v(`/v1/visitors/${visitorId}${query}`), { key: as }),
    settings: (body?: unknown, as = key) => call(v('/v1/variables/settings'), body === undefined ? { key: as } : { method: 'PUT', key: as, body }),
    apiKey: async (scopes: string[]) => (await call(`${urls.identity}/v1/api-keys`, { method: 'POST', key, body: { scopes } })).body.apiKey as string,
    signingKey: async () => {
      const answer = await call(`${urls.identity}/v1/signing-keys`, { method: 'POST', key, body: { alg: 'HS256' } });
      expect(answer.status).toBe(201);
      return answer.body as { kid: string; secret: string };
    },
  };
}

/**
 * Points 1 to 4: session variables (initial ones from POST /v1/sessions, merge, types kept,
 * read-your-writes), visitor variables (plain and signed, merge and replace, rooms, username),
 * metadata from identity (never empty, read-only, mapped claims), and the one read of all scopes.
 */
export async function checkVariableScopes(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Variables Co');
  const c = client(urls, org.apiKey);

  // ── 1. Session variables: the initial list is stored as given, types kept, readable within a second ──
  const visitorId = `v-${randomUUID()}`;
  const initial = [
    { name: 'UserName', value: 'John' },
    { name: 'id', value: '6320834868293' },
    { name: 'cart', value: 42 },
    { name: 'vip', value: true },
    { name: 'note', value: null },
    { name: 'first name', value: 'Ada' },
  ];
  const { sessionId } = await c.startSession({ visitorId, sessionVariableValues: initial });
  const started = await eventually(async () => {
    const answer = await c.read(sessionId);
    return scope(answer.body.variables ?? [], 'session').length === initial.length ? answer.body.variables : undefined;
  }, 'the initial variables within a second of POST /v1/sessions', 1000);
  expect(summary(scope(started, 'session'))).toEqual({
    UserName: ['John', 'session', 'widget', false, 1],
    id: ['6320834868293', 'session', 'widget', false, 1],
    cart: [42, 'session', 'widget', false, 1],
    vip: [true, 'session', 'widget', false, 1],
    note: [null, 'session', 'widget', false, 1],
    'first name': ['Ada', 'session', 'widget', false, 1],
  });

  // PUT merges (same name overwrites, the rest stays); the answer and the next GET show the write.
  const merged = await c.put(sessionId, [
    { name: 'cart', value: 43.5 },
    { name: 'coupon', value: 'X1' },
  ]);
  expect(merged.status).toBe(200);
  expect(summary(scope(merged.body.variables, 'session'))).toMatchObject({ cart: [43.5, 'session', 'api', false, 2], coupon: ['X1', 'session', 'api', false, 1], UserName: ['John', 'session', 'widget', false, 1] });
  expect((await c.read(sessionId)).body.variables).toEqual(merged.body.variables);

  // ── 3. Metadata: never authenticated, authenticatedStatus is false (never empty); read-only ──
  const meta = (variables: View[]) => Object.fromEntries(scope(variables, 'metadata').map((v) => [v.name, [v.value, v.verified]]));
  expect(meta(merged.body.variables)).toEqual({ providedName: [null, false], providedEmail: [null, false], authenticatedExternalId: [null, false], authenticatedStatus: [false, false] });
  const overwrite = await c.put(sessionId, [{ name: 'authenticatedStatus', value: true }]);
  expect([overwrite.status, overwrite.body.error.code, overwrite.body.error.details]).toEqual([403, 'FORBIDDEN', { names: ['authenticatedStatus'] }]);
  const visitorOverwrite = await c.submit(visitorId, { data: { providedEmail: 'x@example.com' }, signing: 'plain', replaceExisting: false });
  expect([visitorOverwrite.status, visitorOverwrite.body.error.code]).toEqual([403, 'FORBIDDEN']);

  // ── 2. Visitor variables (giosg): plain is unverified; merge by key; username is the display name ──
  expect((await c.visitor(visitorId)).body).toEqual({ visitorId, displayName: 'Visitor', variables: [] });
  const plain = await c.submit(visitorId, { data: { plan: 'free', username: 'Ann', cart: 1 }, signing: 'plain', replaceExisting: false });
  expect(plain.status).toBe(200);
  expect(plain.body.displayName).toBe('Ann');
  const merge = await c.submit(visitorId, { data: { plan: 'pro' }, signing: 'plain', replaceExisting: false });
  expect(summary(merge.body.variables)).toEqual({ plan: ['pro', 'visitor', 'api', false, 2], username: ['Ann', 'visitor', 'api', false, 1], cart: [1, 'visitor', 'api', false, 1] });
  // Rooms: by name and by id; a read names the room it is for.
  await c.submit(visitorId, { data: { offer: '10%' }, signing: 'plain', replaceExisting: false, rooms: [{ name: 'Sales' }] });
  await c.submit(visitorId, { data: { deal: 'bundle' }, signing: 'plain', replaceExisting: false, rooms: [{ id: 'room-7' }] });
  const names = (answer: { body: { variables: View[] } }) => answer.body.variables.map((v) => v.name).sort();
  expect(names(await c.visitor(visitorId))).toEqual(['cart', 'plan', 'username']);
  expect(names(await c.visitor(visitorId, '?room=Sales'))).toEqual(['cart', 'offer', 'plan', 'username']);
  expect(names(await c.visitor(visitorId, '?room=room-7'))).toEqual(['cart', 'deal', 'plan', 'username']);

  // ── 4. One read of the session: session scope, then the visitor's (session wins `cart`), then metadata ──
  const all = (await c.read(sessionId)).body.variables;
  expect(all.map((v) => `${v.scope}:${v.name}`)).toEqual([
    'session:cart',
    'session:coupon',
    'session:first name',
    'session:id',
    'session:note',
    'session:UserName',
    'session:vip',
    'visitor:plan',
    'visitor:username',
    'metadata:providedName',
    'metadata:providedEmail',
    'metadata:authenticatedExternalId',
    'metadata:authenticatedStatus',
  ]);
  for (const v of all) expect(Object.keys(v).sort()).toEqual(['name', 'scope', 'source', 'updatedAt', 'value', 'verified', 'version']);
  expect(all.find((v) => v.name === 'cart')).toMatchObject({ scope: 'session', value: 43.5 });
  expect((await c.read(sessionId, '?room=Sales')).body.variables.map((v) => v.name)).toContain('offer');

  // Replace: everything earlier goes (rooms too); the display name is "Visitor" again.
  const replaced = await c.submit(visitorId, { data: { tier: 'b' }, signing: 'plain', replaceExisting: true });
  expect([replaced.body.displayName, names(replaced)]).toEqual(['Visitor', ['tier']]);
  expect(names(await c.visitor(visitorId, '?room=Sales'))).toEqual(['tier']);

  // Signed data: a JWT signed with one of the org's keys; its claims less the registered ones are the data (verified).
  const signingKey = await c.signingKey();
  const signed = await c.submit(visitorId, {
    token: await sign({ plan: 'gold', username: 'Ann Signed', cartValue: 99.5, sub: 'not-a-variable' }, signingKey.kid, signingKey.secret),
    signing: 'HS256',
    replaceExisting: false,
  });
  expect(signed.status).toBe(200);
  expect(summary(signed.body.variables)).toEqual({
    tier: ['b', 'visitor', 'api', false, 1],
    plan: ['gold', 'visitor', 'signed', true, 3],
    username: ['Ann Signed', 'visitor', 'signed', true, 2],
    cartValue: [99.5, 'visitor', 'signed', true, 1],
  });
  expect(signed.body.displayName).toBe('Ann Signed');
  // A token that fails verification stores nothing and says why.
  const before = (await c.visitor(visitorId)).body;
  const badSignature = await c.submit(visitorId, { token: await sign({ plan: 'hacked' }, signingKey.kid, 'not-the-secret-not-the-secret-00'), signing: 'HS256', replaceExisting: false });
  expect([badSignature.status, badSignature.body.error.code, badSignature.body.error.details.reason]).toEqual([401, 'INVALID_TOKEN', 'SIGNATURE_INVALID']);
  const expired = await c.submit(visitorId, { token: await sign({ plan: 'old' }, signingKey.kid, signingKey.secret, now() - 3600), signing: 'HS256', replaceExisting: false });
  expect([expired.status, expired.body.error.details.reason]).toEqual([401, 'TOKEN_EXPIRED']);
  const unknownKid = await c.submit(visitorId, { token: await sign({ plan: 'x' }, 'kid_nope', signingKey.secret), signing: 'HS256', replaceExisting: false });
  expect([unknownKid.status, unknownKid.body.error.details.reason]).toEqual([401, 'KID_UNKNOWN']);
  // A claim holding text that cannot be stored (a NUL) makes the token malformed: 401, never a 500.
  const nulClaim = await c.submit(visitorId, { token: await sign({ plan: 'g\u0000' }, signingKey.kid, signingKey.secret), signing: 'HS256', replaceExisting: false });
  expect([nulClaim.status, nulClaim.body.error.details.reason]).toEqual([401, 'MALFORMED']);
  expect((await c.visitor(visitorId)).body).toEqual(before);
  const nulIdentity = await call(`${urls.identity}/v1/identity/verify`, {
    method: 'POST',
    key: org.apiKey,
    body: { token: await sign({ external_id: 'x', name: 'A\u0000' }, signingKey.kid, signingKey.secret), sessionId },
  });
  expect([nulIdentity.status, nulIdentity.body.authenticated, nulIdentity.body.reason]).toEqual([200, false, 'MALFORMED']);

  // ── 3. Verified identity: the metadata turns verified; a mapped custom claim becomes a verified session variable ──
  const mapping = await call(`${urls.identity}/v1/identity/claim-mapping`, {
    method: 'PUT',
    key: org.apiKey,
    body: { mappings: [{ claim: 'loyalty_level', variable: 'loyalty level', scope: 'session', type: 'string' }] },
  });
  expect(mapping.status).toBe(200);
  const token = await sign({ external_id: 'cust-42', name: 'Ada Lovelace', email: 'ada@example.com', loyalty_level: 'platinum' }, signingKey.kid, signingKey.secret);
  const verify = await call(`${urls.identity}/v1/identity/verify`, { method: 'POST', key: org.apiKey, body: { token, sessionId } });
  expect(verify.body.authenticated).toBe(true);
  const authenticated = await eventually(async () => {
    const variables = (await c.read(sessionId)).body.variables;
    return variables.find((v) => v.name === 'authenticatedStatus')?.value === true ? variables : undefined;
  }, 'the verified identity in the session variables');
  expect(summary(scope(authenticated, 'metadata'))).toEqual({
    providedName: ['Ada Lovelace', 'metadata', 'claim', true, 1],
    providedEmail: ['ada@example.com', 'metadata', 'claim', true, 1],
    authenticatedExternalId: ['cust-42', 'metadata', 'claim', true, 1],
    authenticatedStatus: [true, 'metadata', 'claim', true, 1],
  });
  expect(summary(authenticated)['loyalty level']).toEqual(['platinum', 'session', 'claim', true, 1]);
  // Still read-only once set.
  expect((await c.put(sessionId, [{ name: 'providedName', value: 'Mallory' }])).status).toBe(403);

  // Another org sees none of it.
  const other = await createOrg(urls.identity, rootToken, 'Other Co');
  expect(scope((await c.read(sessionId, '', other.apiKey)).body.variables, 'session')).toEqual([]);
  expect((await c.visitor(visitorId, '', other.apiKey)).body.variables).toEqual([]);
}

/** Point 8: limits per org, with defaults; past a limit 400 naming it, nothing partially stored. */
export async function checkLimits(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Limits Co');
  const c = client(urls, org.apiKey);
  const defaults = await c.settings();
  expect(defaults.body).toEqual({ limits: { maxNameLength: 128, maxValueBytes: 4096, maxSessionVariables: 250, maxVisitorVariables: 250 }, retentionDays: 0, updatedAt: null });

  const sessionId = `lim-${randomUUID()}`;
  const refused = async (values: { name: string; value: unknown }[], code: string, limit?: string) => {
    const answer = await c.put(sessionId, values);
    expect([answer.status, answer.body.error.code]).toEqual([400, code]);
    if (limit) expect(answer.body.error.details).toMatchObject({ limit });
    return answer;
  };
  // The defaults: 250 variables, 4 KB values, names of 128 characters.
  const many = (n: number, prefix = 'v') => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, value: i }));
  expect((await refused(many(251), 'LIMIT_EXCEEDED', 'maxSessionVariables')).body.error.details).toMatchObject({ max: 250, wouldHold: 251 });
  await refused([{ name: 'ok', value: 1 }, { name: 'big', value: 'x'.repeat(4097) }], 'LIMIT_EXCEEDED', 'maxValueBytes');
  await refused([{ name: 'x'.repeat(129), value: 1 }], 'VALIDATION_FAILED');
  await refused([{ name: 'a/b', value: 1 }], 'VALIDATION_FAILED');
  // Text the database cannot store (a NUL, an unpaired surrogate) is bad input, never a 500.
  await refused([{ name: 'nul', value: 'a\u0000b' }], 'VALIDATION_FAILED');
  await refused([{ name: 'half', value: '\ud800' }], 'VALIDATION_FAILED');
  const nulRoom = await c.submit(`v-${randomUUID()}`, { data: { a: 1 }, signing: 'plain', replaceExisting: false, rooms: [{ name: 'x\u0000' }] });
  expect([nulRoom.status, nulRoom.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  // The same anywhere else free text is stored (an org's, an API key's, a channel's name): 400, not 500.
  for (const [url, key, body] of [
    [`${urls.identity}/v1/orgs`, rootToken, { name: 'Org\u0000' }],
    [`${urls.identity}/v1/orgs`, rootToken, { name: 'Org\ud800' }],
    [`${urls.identity}/v1/api-keys`, org.apiKey, { name: 'key\u0000', scopes: ['variables:read'] }],
    [`${urls.sessions}/v1/channels`, org.apiKey, { channelId: `ch-${randomUUID().slice(0, 8)}`, name: 'web\u0000' }],
  ] as const) {
    const answer = await call(url, { method: 'POST', key, body });
    expect({ url, status: answer.status, code: answer.body.error?.code }).toEqual({ url, status: 400, code: 'VALIDATION_FAILED' });
  }
  // Nothing of a refused request was stored.
  expect(scope((await c.read(sessionId)).body.variables, 'session')).toEqual([]);
  expect((await c.put(sessionId, [{ name: 'x'.repeat(128), value: 'y'.repeat(4096) }, ...many(249)])).status).toBe(200);

  // The org sets its own (variables:admin only); each limit is then enforced and named.
  const writer = await c.apiKey(['variables:read', 'variables:write']);
  const forbidden = await c.settings({ limits: { maxValueBytes: 10 } }, writer);
  expect([forbidden.status, forbidden.body.error.details]).toEqual([403, { missing: ['variables:admin'] }]);
  expect((await c.settings({ limits: { maxValueBytes: 70_000 } })).status).toBe(400);
  expect((await c.settings({})).status).toBe(400);
  const set = await c.settings({ limits: { maxNameLength: 8, maxValueBytes: 10, maxSessionVariables: 3, maxVisitorVariables: 2 }, retentionDays: 7 });
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({ limits: { maxNameLength: 8, maxValueBytes: 10, maxSessionVariables: 3, maxVisitorVariables: 2 }, retentionDays: 7, updatedAt: expect.any(String) });
  expect((await c.settings(undefined, writer)).body).toEqual(set.body);
  const small = `lim-${randomUUID()}`;
  const put = (values: { name: string; value: unknown }[]) => c.put(small, values);
  expect((await put([{ name: 'a', value: 'x'.repeat(11) }])).body.error.details).toMatchObject({ limit: 'maxValueBytes', max: 10, name: 'a' });
  expect((await put([{ name: 'ninechars', value: 1 }])).body.error.details).toMatchObject({ limit: 'maxNameLength', max: 8 });
  expect((await put(many(4))).body.error.details).toMatchObject({ limit: 'maxSessionVariables', max: 3 });
  expect((await put(many(3))).status).toBe(200);
  expect((await put([{ name: 'extra', value: 1 }])).body.error.details).toMatchObject({ limit: 'maxSessionVariables', max: 3, wouldHold: 4 });
  const visitor = `v-${randomUUID()}`;
  const tooMany = await c.submit(visitor, { data: { a: 1, b: 2, c: 3 }, signing: 'plain', replaceExisting: false });
  expect([tooMany.status, tooMany.body.error.details]).toEqual([400, expect.objectContaining({ limit: 'maxVisitorVariables', max: 2 })]);
  expect((await c.visitor(visitor)).body.variables).toEqual([]);
  // Initial variables are checked when the session starts: a session whose values would be refused is not started.
  const start = (values: { name: string; value: unknown }[]) =>
    call(`${urls.sessions}/v1/sessions`, { method: 'POST', key: org.apiKey, body: { channelId: 'web', sessionVariableValues: values } });
  const tooBig = await start([{ name: 'a', value: 'x'.repeat(11) }]);
  expect([tooBig.status, tooBig.body.error.code, tooBig.body.error.details]).toEqual([400, 'LIMIT_EXCEEDED', expect.objectContaining({ limit: 'maxValueBytes', max: 10 })]);
  const metadata = await start([{ name: 'authenticatedStatus', value: true }]);
  expect([metadata.status, metadata.body.error.code, metadata.body.error.details]).toEqual([403, 'FORBIDDEN', { names: ['authenticatedStatus'] }]);
  expect((await call(`${urls.sessions}/v1/sessions`, { key: org.apiKey })).body.sessions).toEqual([]);
  const fits = await start([{ name: 'a', value: 'x'.repeat(10) }]);
  expect(fits.status).toBe(201);
  await eventually(async () => (scope((await c.read(fits.body.sessionId)).body.variables, 'session').length === 1 ? true : undefined), 'the initial variable that fits');

  // A partial change keeps the other limits.
  expect((await c.settings({ limits: { maxValueBytes: 20 } })).body.limits).toEqual({ maxNameLength: 8, maxValueBytes: 20, maxSessionVariables: 3, maxVisitorVariables: 2 });
}

/** Point 5: history with provenance, reads as of a past time, and a revoked key's values un-verified. */
export async function checkHistory(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'History Co');
  const c = client(urls, org.apiKey);
  const visitorId = `v-${randomUUID()}`;
  const { sessionId } = await c.startSession({ visitorId, sessionVariableValues: [{ name: 'plan', value: 'free' }] });
  await eventually(async () => (scope((await c.read(sessionId)).body.variables, 'session').length === 1 ? true : undefined), 'the initial variable');
  const first = (await c.read(sessionId)).body.variables.find((v) => v.name === 'plan')!;
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = (await c.put(sessionId, [{ name: 'plan', value: 'pro' }])).body.variables.find((v: View) => v.name === 'plan');
  await new Promise((resolve) => setTimeout(resolve, 5));
  await c.put(sessionId, [{ name: 'plan', value: 42 }]);

  const history = (await c.history(sessionId, 'plan')).body;
  expect(history.name).toBe('plan');
  expect(history.history.map((h) => [h.value, h.scope, h.source, h.verified, h.version, h.change])).toEqual([
    ['free', 'session', 'widget', false, 1, 'set'],
    ['pro', 'session', 'api', false, 2, 'set'],
    [42, 'session', 'api', false, 3, 'set'],
  ]);
  expect(history.history[0]).toMatchObject({ setBy: 'session-start', eventId: expect.any(String) });
  expect(history.history[1]!.setBy).toEqual(expect.any(String));
  // As of a past time: the state then (from the event store).
  const asOf = async (at: string) => summary(scope((await c.read(sessionId, `?asOf=${encodeURIComponent(at)}`)).body.variables, 'session')).plan?.[0];
  expect(await asOf(first.updatedAt!)).toBe('free');
  expect(await asOf(second.updatedAt)).toBe('pro');
  expect(await asOf(new Date().toISOString())).toBe(42);
  expect(await asOf(new Date(Date.parse(first.updatedAt!) - 60_000).toISOString())).toBeUndefined();
  // With an offset, the same instant.
  const withOffset = new Date(Date.parse(second.updatedAt) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
  expect(await asOf(withOffset)).toBe('pro');
  expect((await c.read(sessionId, '?asOf=yesterday')).status).toBe(400);

  // A visitor variable's history, seen from the session and from the visitor.
  await c.submit(visitorId, { data: { tier: 'silver' }, signing: 'plain', replaceExisting: false });
  await c.submit(visitorId, { data: { tier: 'gold' }, signing: 'plain', replaceExisting: false });
  expect((await c.history(sessionId, 'tier')).body.history.map((h) => [h.value, h.scope, h.version])).toEqual([['silver', 'visitor', 1], ['gold', 'visitor', 2]]);
  const visitorHistory = await call(`${urls.variables}/v1/visitors/${visitorId}/variables/tier/history`, { key: org.apiKey });
  expect(visitorHistory.body.history.map((h: View) => h.value)).toEqual(['silver', 'gold']);
  expect((await c.visitor(visitorId, `?asOf=${encodeURIComponent(visitorHistory.body.history[0].updatedAt)}`)).body.variables.map((v) => v.value)).toEqual(['silver']);

  // Revoking a signing key: what it vouched for is no longer verified (an event, in the history).
  const signingKey = await c.signingKey();
  await c.submit(visitorId, { token: await sign({ level: 'vip' }, signingKey.kid, signingKey.secret), signing: 'HS256', replaceExisting: false });
  const token = await sign({ external_id: 'cust-9', name: 'Grace' }, signingKey.kid, signingKey.secret);
  expect((await call(`${urls.identity}/v1/identity/verify`, { method: 'POST', key: org.apiKey, body: { token, sessionId } })).body.authenticated).toBe(true);
  await eventually(async () => ((await c.read(sessionId)).body.variables.find((v) => v.name === 'authenticatedStatus')?.value === true ? true : undefined), 'the identity applied');
  const revoke = await call(`${urls.identity}/v1/signing-keys/${signingKey.kid}`, { method: 'DELETE', key: org.apiKey });
  expect(revoke.status).toBe(200);
  const after = await eventually(async () => {
    const variables = (await c.read(sessionId)).body.variables;
    const level = variables.find((v) => v.name === 'level');
    return level && !level.verified && variables.find((v) => v.name === 'authenticatedStatus')?.value === false ? variables : undefined;
  }, 'the revoked key’s values to be unverified');
  expect(summary(scope(after, 'metadata'))).toEqual({
    providedName: ['Grace', 'metadata', 'claim', false, 2],
    providedEmail: [null, 'metadata', 'claim', false, 2],
    authenticatedExternalId: ['cust-9', 'metadata', 'claim', false, 2],
    authenticatedStatus: [false, 'metadata', 'claim', false, 2],
  });
  expect(summary(after).level).toEqual(['vip', 'visitor', 'signed', false, 2]);
  const levelHistory = (await c.history(sessionId, 'level')).body.history;
  expect(levelHistory.map((h) => [h.value, h.verified, h.change, h.setBy])).toEqual([
    ['vip', true, 'set', expect.any(String)],
    ['vip', false, 'unverified', `key-revoked:${signingKey.kid}`],
  ]);
  expect((await c.history(sessionId, 'authenticatedStatus')).body.history.map((h) => [h.value, h.verified, h.change])).toEqual([
    [true, true, 'set'],
    [false, false, 'unverified'],
  ]);
}

/**
 * Point 6, and the integration events of point 9: SessionEnded over the bus discards the session's
 * variables (stream deleted at once, or kept for the org's retention); DELETE /v1/visitors/{id}
 * erases a visitor everywhere, keeping an erasure record without personal data.
 */
export async function checkDiscardAndErasure(urls: Urls, rootToken: string, probe: EventProbe): Promise<void> {
  // Retention 0 (the default): the stream is deleted once the session ended.
  const orgA = await createOrg(urls.identity, rootToken, 'Discard Co');
  const a = client(urls, orgA.apiKey);
  const s1 = await a.startSession({ sessionVariableValues: [{ name: 'UserName', value: 'John' }] });
  await eventually(async () => (scope((await a.read(s1.sessionId)).body.variables, 'session').length === 1 ? true : undefined), 'the initial variable');
  expect((await a.put(s1.sessionId, [{ name: 'cart', value: 3 }])).status).toBe(200);
  const changed = await probe.find((e) => e.type === 'SessionVariablesChanged' && e.orgId === orgA.orgId && e.data.sessionId === s1.sessionId, 'SessionVariablesChanged on variables.events.v1');
  expect(changed.data.changes).toEqual([expect.objectContaining({ name: expect.any(String), source: expect.any(String), version: 1 })]);
  await a.endSession(s1.sessionId, 'logout');
  await eventually(async () => (scope((await a.read(s1.sessionId)).body.variables, 'session').length === 0 ? true : undefined), 'the variables discarded after SessionEnded');
  const discarded = await probe.find((e) => e.type === 'SessionVariablesDiscarded' && e.data.sessionId === s1.sessionId, 'SessionVariablesDiscarded');
  expect(discarded).toMatchObject({ orgId: orgA.orgId, data: { sessionId: s1.sessionId, reason: 'logout', count: 2 } });
  expect(discarded.data.retainUntil).toBeUndefined();
  // Deleted at once: even the history is gone (after the read models and the relay passed it).
  await eventually(async () => ((await a.history(s1.sessionId, 'UserName')).body.history.length === 0 ? true : undefined), 'the discarded stream deleted');
  // The ended session stays closed (its tombstone, without personal data, took the stream's place):
  // a late write, or an identity verified after the end, stores nothing.
  const late = await a.put(s1.sessionId, [{ name: 'late', value: 1 }]);
  expect([late.status, late.body.error.code, late.body.error.details.status]).toEqual([409, 'CONFLICT', 'closed']);
  // The visitor still knows that session (the link is in the visitor's stream, which outlives the
  // session's): erasing the visitor later erases identity's record of it too.
  const keyA = await a.signingKey();
  const tokenA = await sign({ external_id: 'cust-a', name: 'Ann A', email: 'a@example.com' }, keyA.kid, keyA.secret);
  expect((await call(`${urls.identity}/v1/identity/verify`, { method: 'POST', key: orgA.apiKey, body: { token: tokenA, sessionId: s1.sessionId } })).body.authenticated).toBe(true);
  const erasedA = await call(`${urls.variables}/v1/visitors/${s1.visitorId}`, { method: 'DELETE', key: orgA.apiKey });
  expect([erasedA.status, erasedA.body.status, erasedA.body.sessions]).toEqual([200, 'completed', 1]);
  await eventually(async () => {
    const record = await call(`${urls.identity}/v1/identity/sessions/${s1.sessionId}`, { key: orgA.apiKey });
    return record.body.authenticated === false && record.body.attempts.length === 0 ? true : undefined;
  }, "identity's record of the ended session erased with its visitor");

  // Retention of 30 days: the discarded variables stay readable for audit (history, as of before the end).
  const orgB = await createOrg(urls.identity, rootToken, 'Audit Co');
  const b = client(urls, orgB.apiKey);
  expect((await b.settings({ retentionDays: 30 })).status).toBe(200);
  const visitorId = `v-${randomUUID()}`;
  const s2 = await b.startSession({ visitorId, sessionVariableValues: [{ name: 'email hint', value: 'a…@example.com' }] });
  await eventually(async () => (scope((await b.read(s2.sessionId)).body.variables, 'session').length === 1 ? true : undefined), 'the initial variable');
  const beforeEnd = new Date().toISOString();
  await b.endSession(s2.sessionId, 'closed');
  await eventually(async () => (scope((await b.read(s2.sessionId)).body.variables, 'session').length === 0 ? true : undefined), 'the variables discarded');
  const retained = await probe.find((e) => e.type === 'SessionVariablesDiscarded' && e.data.sessionId === s2.sessionId, 'SessionVariablesDiscarded with retention');
  expect(Date.parse(String(retained.data.retainUntil)) - Date.now()).toBeGreaterThan(29 * 86_400_000);
  expect((await b.history(s2.sessionId, 'email hint')).body.history.map((h) => [h.value, h.change])).toEqual([
    ['a…@example.com', 'set'],
    [null, 'discarded'],
  ]);
  expect(summary(scope((await b.read(s2.sessionId, `?asOf=${encodeURIComponent(beforeEnd)}`)).body.variables, 'session'))).toEqual({
    'email hint': ['a…@example.com', 'session', 'widget', false, 1],
  });
  expect((await b.put(s2.sessionId, [{ name: 'late', value: 1 }])).status).toBe(409);

  // Erasure: the visitor, their ended (retained) session and a live one, authenticated (identity keeps a record of it).
  const s3 = await b.startSession({ visitorId, sessionVariableValues: [{ name: 'address', value: '1 Main St' }] });
  await eventually(async () => (scope((await b.read(s3.sessionId)).body.variables, 'session').length === 1 ? true : undefined), 'the second session');
  const key = await b.signingKey();
  const token = await sign({ external_id: 'cust-erased', name: 'Ann Erased', email: 'ann@example.com' }, key.kid, key.secret);
  expect((await call(`${urls.identity}/v1/identity/verify`, { method: 'POST', key: orgB.apiKey, body: { token, sessionId: s3.sessionId } })).body.authenticated).toBe(true);
  const identityRecord = (sessionId: string) => call(`${urls.identity}/v1/identity/sessions/${sessionId}`, { key: orgB.apiKey });
  expect((await identityRecord(s3.sessionId)).body).toMatchObject({ authenticated: true, name: 'Ann Erased', email: 'ann@example.com' });
  expect((await b.submit(visitorId, { data: { username: 'Ann Erased', phone: '+1 555 0100' }, signing: 'plain', replaceExisting: false })).status).toBe(200);
  const readOnly = await b.apiKey(['variables:read', 'variables:write']);
  expect((await call(`${urls.variables}/v1/visitors/${visitorId}`, { method: 'DELETE', key: readOnly })).status).toBe(403);
  const erased = await call(`${urls.variables}/v1/visitors/${visitorId}`, { method: 'DELETE', key: orgB.apiKey });
  expect(erased.status).toBe(200);
  expect(erased.body).toEqual({
    erasureId: expect.stringMatching(/^era_/),
    visitorId,
    status: 'completed',
    sessions: 2,
    streams: 3,
    requestedAt: expect.any(String),
    completedAt: expect.any(String),
  });
  // The record holds no personal data.
  const record = await call(`${urls.variables}/v1/erasures/${erased.body.erasureId}`, { key: orgB.apiKey });
  expect(record.body).toEqual(erased.body);
  for (const personal of ['Ann Erased', '555', '1 Main St', 'example.com', 'address', 'phone']) expect(JSON.stringify(record.body)).not.toContain(personal);
  expect((await call(`${urls.variables}/v1/erasures/${erased.body.erasureId}`, { key: orgA.apiKey })).status).toBe(404);
  // Gone everywhere: reads, histories, as-of reads.
  expect((await b.visitor(visitorId)).body).toEqual({ visitorId, displayName: 'Visitor', variables: [] });
  expect(scope((await b.read(s3.sessionId)).body.variables, 'session')).toEqual([]);
  expect((await b.history(s2.sessionId, 'email hint')).body.history).toEqual([]);
  expect((await b.history(s3.sessionId, 'address')).body.history).toEqual([]);
  expect(scope((await b.read(s2.sessionId, `?asOf=${encodeURIComponent(beforeEnd)}`)).body.variables, 'session')).toEqual([]);
  const visitorErased = await probe.find((e) => e.type === 'VisitorErased' && e.data.visitorId === visitorId, 'VisitorErased on variables.events.v1');
  expect(visitorErased.data).toEqual({ visitorId, erasureId: erased.body.erasureId, sessionIds: [s2.sessionId, s3.sessionId].sort() });
  // Identity erases its record of the session too (VisitorErased over the bus): no name, no email, no attempt left.
  const forgotten = await eventually(async () => {
    const answer = await identityRecord(s3.sessionId);
    return answer.body.authenticated === false ? answer.body : undefined;
  }, "identity's record of the erased visitor's session erased");
  expect(forgotten).toEqual({ sessionId: s3.sessionId, authenticated: false, externalId: null, externalIdScope: null, name: null, email: null, kid: null, verifiedAt: null, lastFailure: null, attempts: [] });
  // And the sessions service its sessions (their SessionStarted held the initial values): gone, 404.
  for (const { sessionId } of [s2, s3]) {
    await eventually(async () => ((await call(`${urls.sessions}/v1/sessions/${sessionId}`, { key: orgB.apiKey })).status === 404 ? true : undefined), `session ${sessionId} erased by the sessions service`);
    // Its stream too: a lifecycle event finds no session (HOLD is refused either way, so the probe changes nothing).
    await eventually(
      async () => ((await call(`${urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key: orgB.apiKey, body: { type: 'HOLD' } })).status === 404 ? true : undefined),
      `the stream of session ${sessionId} deleted`,
    );
  }
  // What is written afterwards is a new visitor's.
  const fresh = await b.submit(visitorId, { data: { plan: 'new' }, signing: 'plain', replaceExisting: false });
  expect(summary(fresh.body.variables)).toEqual({ plan: ['new', 'visitor', 'api', false, 1] });
  // Erasing an unknown visitor records an erasure with nothing to delete.
  const nothing = await call(`${urls.variables}/v1/visitors/v-${randomUUID()}`, { method: 'DELETE', key: orgB.apiKey });
  expect([nothing.status, nothing.body.status, nothing.body.sessions]).toEqual([200, 'completed', 0]);
}

/** Point 7: the SalesIQ-compatible visitorsessions API. */
export async function checkSalesIq(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'SalesIQ Co');
  const c = client(urls, org.apiKey);
  const brand = await call(`${urls.identity}/v1/orgs/${org.orgId}/brands`, { method: 'POST', key: org.apiKey, body: { name: 'zylker' } });
  const otherBrand = await call(`${urls.identity}/v1/orgs/${org.orgId}/brands`, { method: 'POST', key: org.apiKey, body: { name: 'zylker-eu' } });
  expect([brand.status, otherBrand.status]).toEqual([201, 201]);
  const { sessionId } = await c.startSession({ brandId: brand.body.brandId, sessionVariableValues: [{ name: 'UserName', value: 'John' }] });
  const url = (portal: string, query = '') => `${urls.variables}/api/v2/${portal}/visitorsessions/${sessionId}${query}`;
  const usageBefore = (await call(`${urls.variables}/v1/usage`, { key: org.apiKey })).body.total.requests as number;

  // Reads: `{ object, url, data }` with the one key asked for (brands arrive over the bus: retried until known).
  const one = await eventually(async () => {
    const answer = await call(url('zylker', '?key=UserName'), { key: org.apiKey });
    return answer.status === 200 && answer.body.data.UserName === 'John' ? answer : undefined;
  }, 'the SalesIQ read of the initial variable');
  expect(one.body).toEqual({ object: 'session', url: '/api/v2/zylker/visitorsessions', data: { UserName: 'John' } });
  expect((await call(url('ZYLKER', '?key=UserName'), { key: org.apiKey })).body.data).toEqual({ UserName: 'John' });
  expect((await call(url('zylker', '?key=nothing'), { key: org.apiKey })).body).toEqual({ object: 'session', url: '/api/v2/zylker/visitorsessions', data: {} });

  // Sets: session variables, source bot; the answer echoes the data set.
  const set = await call(url('zylker'), { method: 'POST', key: org.apiKey, body: { data: { plan: 'gold', cart: 5 } } });
  expect([set.status, set.body]).toEqual([200, { object: 'session', url: '/api/v2/zylker/visitorsessions', data: { plan: 'gold', cart: 5 } }]);
  expect((await call(url('zylker', '?key=plan'), { key: org.apiKey })).body.data).toEqual({ plan: 'gold' });
  expect(summary((await c.read(sessionId)).body.variables).plan).toEqual(['gold', 'session', 'bot', false, 1]);
  const everything = (await call(url('zylker'), { key: org.apiKey })).body.data;
  expect(everything).toMatchObject({ UserName: 'John', plan: 'gold', cart: 5, authenticatedStatus: false });

  // Errors in SalesIQ's shape: 1005 for a portal that is not the org's (or not the session's) brand.
  const invalidPortal = { error: { code: 1005, message: 'Invalid portal or wrong screenname' } };
  for (const portal of ['acme', 'zylker-eu']) {
    const answer = await call(url(portal, '?key=UserName'), { key: org.apiKey });
    expect([answer.status, answer.body]).toEqual([404, invalidPortal]);
  }
  const other = await createOrg(urls.identity, rootToken, 'Not SalesIQ');
  expect((await call(url('zylker', '?key=UserName'), { key: other.apiKey })).body).toEqual(invalidPortal);
  // Scopes: variables:read to read, variables:write to set.
  const reader = await c.apiKey(['variables:read']);
  const writer = await c.apiKey(['variables:write']);
  expect((await call(url('zylker', '?key=plan'), { key: reader })).body.data).toEqual({ plan: 'gold' });
  const cannotSet = await call(url('zylker'), { method: 'POST', key: reader, body: { data: { plan: 'free' } } });
  expect([cannotSet.status, cannotSet.body.error.code]).toEqual([403, 1103]);
  const cannotRead = await call(url('zylker', '?key=plan'), { key: writer });
  expect([cannotRead.status, cannotRead.body.error.code]).toEqual([403, 1103]);
  const anonymous = await call(url('zylker', '?key=plan'));
  expect([anonymous.status, anonymous.body.error.code]).toEqual([401, 1002]);
  const badBody = await call(url('zylker'), { method: 'POST', key: org.apiKey, body: { data: { plan: { nested: true } } } });
  expect([badBody.status, badBody.body.error.code, badBody.body.error.param]).toEqual([400, 1101, 'data.plan']);
  const badJson = await call(url('zylker'), { method: 'POST', key: org.apiKey, rawBody: '{"data":' });
  expect([badJson.status, badJson.body.error.code]).toEqual([400, 1101]);
  const unknownRoute = await call(`${urls.variables}/api/v2/zylker/nothing-here`, { key: org.apiKey });
  expect([unknownRoute.status, unknownRoute.body]).toEqual([404, { error: { code: 1006, message: 'Invalid URL' } }]);
  expect((await call(url('zylker', '?key=plan'), { key: org.apiKey })).body.data).toEqual({ plan: 'gold' });

  // Each call is metered against the org's quota.
  const usageAfter = (await call(`${urls.variables}/v1/usage`, { key: org.apiKey })).body.total.requests as number;
  expect(usageAfter - usageBefore).toBeGreaterThanOrEqual(12);
}

/** Point 9: many writers on one session all succeed (or fail cleanly); no acknowledged write is lost. */
export async function checkConcurrency(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Concurrency Co');
  const c = client(urls, org.apiKey);
  const sessionId = `busy-${randomUUID()}`;
  // 200 concurrent writers of different keys.
  const distinct = await Promise.all(Array.from({ length: 200 }, (_, i) => c.put(sessionId, [{ name: `k${i}`, value: i }])));
  const failedDistinct = distinct.filter((a) => a.status !== 200);
  for (const answer of failedDistinct) expect([answer.status, answer.body.error.code]).toEqual([409, 'CONFLICT']);
  const stored = summary(scope((await c.read(sessionId)).body.variables, 'session'));
  distinct.forEach((answer, i) => {
    if (answer.status === 200) expect(stored[`k${i}`]).toEqual([i, 'session', 'api', false, 1]);
  });
  expect(failedDistinct).toEqual([]);
  // 100 concurrent writers of the same key: every acknowledged value is in the history, versions in order.
  const same = await Promise.all(Array.from({ length: 100 }, (_, i) => c.put(sessionId, [{ name: 'shared', value: `w${i}` }])));
  expect(same.filter((a) => a.status !== 200)).toEqual([]);
  const history = (await c.history(sessionId, 'shared')).body.history;
  expect(history.map((h) => h.version)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  expect(new Set(history.map((h) => h.value)).size).toBe(100);
  const last = history.at(-1)!;
  expect(summary((await c.read(sessionId)).body.variables).shared).toEqual([last.value, 'session', 'api', false, 100]);
  // And on one visitor.
  const visitorId = `v-${randomUUID()}`;
  const visitors = await Promise.all(Array.from({ length: 50 }, (_, i) => c.submit(visitorId, { data: { [`p${i}`]: i }, signing: 'plain', replaceExisting: false })));
  expect(visitors.filter((a) => a.status !== 200)).toEqual([]);
  expect((await c.visitor(visitorId)).body.variables).toHaveLength(50);
}

/** Point 10: the variables read models rebuilt from the event store equal the live ones. */
export async function checkRebuild(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Rebuild Co');
  const c = client(urls, org.apiKey);
  const visitorId = `v-${randomUUID()}`;
  const sessions: string[] = [];
  for (let i = 0; i < 3; i++) sessions.push((await c.startSession({ visitorId, sessionVariableValues: [{ name: 'n', value: i }] })).sessionId);
  await eventually(async () => ((await Promise.all(sessions.map((s) => c.read(s)))).every((a) => scope(a.body.variables, 'session').length === 1) ? true : undefined), 'the sessions');
  await c.put(sessions[0]!, [{ name: 'cart', value: 10 }, { name: 'UserName', value: 'Rebuilt' }]);
  await c.submit(visitorId, { data: { username: 'Ann', plan: 'pro' }, signing: 'plain', replaceExisting: false });
  await c.submit(visitorId, { data: { offer: '5%' }, signing: 'plain', replaceExisting: false, rooms: [{ name: 'Sales' }] });
  await c.endSession(sessions[2]!);
  await eventually(async () => (scope((await c.read(sessions[2]!)).body.variables, 'session').length === 0 ? true : undefined), 'the ended session discarded');
  const snapshot = async () => ({
    sessions: await Promise.all(sessions.map(async (s) => (await c.read(s, '?room=Sales')).body)),
    visitor: (await c.visitor(visitorId, '?room=Sales')).body,
  });
  const live = await snapshot();
  expect(live.visitor.variables).toHaveLength(3);

  const admin = (path: string, method = 'GET') => call(`${urls.variables}/admin/v1/projections${path}`, { method, key: rootToken });
  for (const name of ['session_variables', 'visitor_variables']) {
    const table = (await admin('')).body.projections.find((p: { name: string }) => p.name === name).table;
    expect((await admin(`/${name}/rebuild`, 'POST')).status).toBe(202);
    await eventually(async () => {
      const status = (await admin('')).body.projections.find((p: { name: string }) => p.name === name);
      return status.table !== table && !status.rebuild && status.state === 'live' ? true : undefined;
    }, `${name} rebuilt from position 0 and switched in`);
  }
  expect(await snapshot()).toEqual(live);
  await waitFor(async () => (await admin('')).body.projections.every((p: { lag: string }) => p.lag === '0'), 'every projection caught up');
}
