import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { eventually } from '@svp/testing';
import { type Client, createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { call, createOrg } from './slice.js';

type Urls = Record<ServiceName, string>;

/** The env both modes run the gateway checks with: a depth limit a query of this schema can pass (5 levels exist). */
export const GATEWAY_TEST_ENV = { GRAPHQL_MAX_DEPTH: '4', GATEWAY_WS_RECHECK_SECONDS: '1' };

interface GqlAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: { data?: any; errors?: { message: string; path?: (string | number)[]; extensions: { code: string; status: number; details?: any; service?: string } }[]; error?: { code: string; message: string; details?: unknown } };
}

export function gql(gatewayUrl: string, key: string | undefined, query: string, variables?: Record<string, unknown>): Promise<GqlAnswer> {
  return call(`${gatewayUrl}/graphql`, { method: 'POST', ...(key ? { key } : {}), body: { query, ...(variables ? { variables } : {}) } }) as Promise<GqlAnswer>;
}

/** The one error of an answer whose data is null at `path`. */
function failed(answer: GqlAnswer, code: string) {
  expect(answer.status).toBe(200);
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors![0]!.extensions.code).toBe(code);
  return answer.body.errors![0]!;
}

/** A graphql-ws client (Node's `ws`) and the events it received per subscription; `origin` as a browser would send it. */
function socket(gatewayUrl: string, authorization: string | undefined, origin?: string) {
  const closes: { code: number; reason: string }[] = [];
  const client: Client = createClient({
    url: `${gatewayUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: origin
      ? class extends WebSocket {
          constructor(url: string, protocols?: string | string[]) {
            super(url, protocols, { origin });
          }
        }
      : WebSocket,
    connectionParams: authorization === undefined ? {} : { Authorization: authorization },
    retryAttempts: 0,
    on: { closed: (event) => void closes.push({ code: (event as { code: number }).code, reason: (event as { reason: string }).reason }) },
  });
  const subscribe = (query: string, variables: Record<string, unknown>) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const events: any[] = [];
    const errors: unknown[] = [];
    let completed = false;
    const stop = client.subscribe({ query, variables }, { next: (value) => void events.push(value), error: (error) => void errors.push(error), complete: () => void (completed = true) });
    return { events, errors, stop, get completed() { return completed; } };
  };
  return { client, closes, subscribe };
}

const until = <T>(probe: () => T | undefined, what: string) => eventually(async () => probe(), what, 15_000);

const metricSum = async (serviceUrl: string, route: string): Promise<number> => {
  const text = (await call<string>(`${serviceUrl}/metrics`)).body;
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('svp_http_requests_total{') && line.includes(`route="${route}"`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
};

const SESSION_FIELDS = 'sessionId sessionStatus visitorId metadata { providedName providedEmail authenticatedExternalId authenticatedStatus }';

/**
 * The GraphQL gateway over its real HTTP and WebSocket endpoints, in both modes: DESIGN.md's
 * queries, mutations and subscriptions, what a widget key and a visitor token may do, errors with
 * the services' codes, one service call per kind per request, the limits and introspection switch.
 */
export async function checkGateway(urls: Urls, rootToken: string, options: { introspection: boolean; corsOrigins: '*' | string; demo: boolean }): Promise<void> {
  const g = urls.gateway;
  const org = await createOrg(urls.identity, rootToken, 'GraphQL Co');
  const other = await createOrg(urls.identity, rootToken, 'Other GraphQL Co');
  const key = org.apiKey;

  // ── Authentication: every answer carries the contract's error body and GraphQL's errors ─────────
  // No credential, an unknown key.
  for (const bearer of [undefined, 'svp_not-a-real-key']) {
    const refused = await gql(g, bearer, '{ session(id: "x") { id } }');
    expect([refused.status, refused.body.error?.code, refused.body.errors?.[0]?.extensions.code]).toEqual([401, 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
  }

  // ── startSession with an org key: initial variables as given, metadata false, the visitor token ──
  const visitorId = `v-${randomUUID()}`;
  const started = await gql(
    g,
    key,
    `mutation($v: ID!) { startSession(channelId: "web", visitorId: $v, sessionVariableValues: [{ name: "UserName", value: "John" }, { name: "id", value: "6320834868293" }]) {
      sessionId visitorId sessionStatus visitorToken visitorTokenExpiresAt session { ${SESSION_FIELDS} variables { name value scope source verified version } } } }`,
    { v: visitorId },
  );
  expect(started.status).toBe(200);
  expect(started.body.errors).toBeUndefined();
  const s = started.body.data.startSession;
  expect(s).toMatchObject({ visitorId, sessionStatus: 'CREATED', visitorToken: expect.stringMatching(/^svpv_/) });
  expect(s.session.metadata).toEqual({ providedName: null, providedEmail: null, authenticatedExternalId: null, authenticatedStatus: false });
  expect(s.session.variables).toEqual(
    expect.arrayContaining([
      // Initial values are the page's (Zoho's sessionVariableValues on first render): source widget.
      { name: 'UserName', value: 'John', scope: 'session', source: 'widget', verified: false, version: 1 },
      { name: 'id', value: '6320834868293', scope: 'session', source: 'widget', verified: false, version: 1 },
    ]),
  );
  const sessionId: string = s.sessionId;
  const visitorToken: string = s.visitorToken;

  // ── Mutations: merge keeping types, visitor data plain and signed, authenticate, history ────────
  const set = await gql(g, key, `mutation($s: ID!, $values: [NameValueInput!]!) { setSessionVariables(sessionId: $s, values: $values) { name value scope source } }`, {
    s: sessionId,
    values: [
      { name: 'cart', value: 42 },
      { name: 'vip', value: true },
      { name: 'coupon', value: null },
      { name: 'UserName', value: 'Johnny' },
    ],
  });
  expect(set.body.errors).toBeUndefined();
  expect(set.body.data.setSessionVariables).toEqual(
    expect.arrayContaining([
      { name: 'cart', value: 42, scope: 'session', source: 'api' },
      { name: 'vip', value: true, scope: 'session', source: 'api' },
      { name: 'coupon', value: null, scope: 'session', source: 'api' },
      { name: 'UserName', value: 'Johnny', scope: 'session', source: 'api' },
      { name: 'id', value: '6320834868293', scope: 'session', source: 'widget' },
    ]),
  );
  const history = await gql(g, key, `query($s: ID!) { variableHistory(sessionId: $s, name: "UserName") { name history { value version source change } } }`, { s: sessionId });
  expect(history.body.data.variableHistory).toEqual({
    name: 'UserName',
    history: [
      { value: 'John', version: 1, source: 'widget', change: 'set' },
      { value: 'Johnny', version: 2, source: 'api', change: 'set' },
    ],
  });

  const signing = (await call(`${urls.identity}/v1/signing-keys`, { method: 'POST', key, body: { alg: 'HS256' } })).body as { kid: string; secret: string };
  const sign = (claims: Record<string, unknown>, secret = signing.secret) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: signing.kid }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(secret));
  const plain = await gql(g, key, `mutation($v: ID!) { submitVisitorVariables(visitorId: $v, data: { username: "Ann", plan: "gold" }, signing: plain, replaceExisting: false) { visitorId displayName variables { name value verified source } } }`, {
    v: visitorId,
  });
  expect(plain.body.data.submitVisitorVariables).toMatchObject({ visitorId, displayName: 'Ann' });
  expect(plain.body.data.submitVisitorVariables.variables).toEqual(expect.arrayContaining([{ name: 'plan', value: 'gold', verified: false, source: 'api' }]));
  const signed = await gql(g, key, `mutation($v: ID!, $t: String!) { submitVisitorVariables(visitorId: $v, signing: HS256, token: $t, replaceExisting: false) { variables { name value verified source } } }`, {
    v: visitorId,
    t: await sign({ tier: 'platinum' }),
  });
  expect(signed.body.data.submitVisitorVariables.variables).toEqual(expect.arrayContaining([{ name: 'tier', value: 'platinum', verified: true, source: 'signed' }]));
  // A token that fails verification: the service's 401 INVALID_TOKEN, with the reason, in extensions.
  const forged = failed(
    await gql(g, key, `mutation($v: ID!, $t: String!) { submitVisitorVariables(visitorId: $v, signing: HS256, token: $t, replaceExisting: false) { visitorId } }`, {
      v: visitorId,
      t: await sign({ tier: 'stolen' }, 'not-the-secret-at-all-not-the-secret'),
    }),
    'INVALID_TOKEN',
  );
  expect(forged.extensions).toMatchObject({ status: 401, service: 'variables' });
  expect(forged.path).toEqual(['submitVisitorVariables']);

  const authenticated = await gql(g, key, `mutation($s: ID!, $t: String!) { authenticate(sessionId: $s, token: $t) { authenticated externalId reason session { ${SESSION_FIELDS} } } }`, {
    s: sessionId,
    t: await sign({ external_id: 'cust-7', name: 'Ann Lee', email: 'ann@example.com' }),
  });
  expect(authenticated.body.data.authenticate).toMatchObject({ authenticated: true, externalId: 'cust-7', reason: null });
  await eventually(
    async () => {
      const read = await gql(g, key, `query($s: ID!) { session(id: $s) { metadata { providedName providedEmail authenticatedExternalId authenticatedStatus } } }`, { s: sessionId });
      return read.body.data.session.metadata.authenticatedStatus === true ? read.body.data.session.metadata : undefined;
    },
    'authenticatedStatus true through the gateway',
  ).then((metadata) => expect(metadata).toEqual({ providedName: 'Ann Lee', providedEmail: 'ann@example.com', authenticatedExternalId: 'cust-7', authenticatedStatus: true }));
  const expired = await gql(g, key, `mutation($s: ID!, $t: String!) { authenticate(sessionId: $s, token: $t) { authenticated reason } }`, {
    s: sessionId,
    t: await new SignJWT({ external_id: 'x' }).setProtectedHeader({ alg: 'HS256', kid: signing.kid }).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(new TextEncoder().encode(signing.secret)),
  });
  expect(expired.body.data.authenticate).toEqual({ authenticated: false, reason: 'TOKEN_EXPIRED' });

  // ── Errors keep the service's code: validation, limits, conflicts ───────────────────────────────
  const big = failed(await gql(g, key, `mutation($s: ID!) { setSessionVariables(sessionId: $s, values: [{ name: "big", value: "${'x'.repeat(4097)}" }]) { name } }`, { s: sessionId }), 'LIMIT_EXCEEDED');
  expect(big.extensions).toMatchObject({ service: 'variables', details: expect.objectContaining({ limit: 'maxValueBytes' }) });
  const badEvent = failed(await gql(g, key, `mutation($s: ID!) { recordSessionEvent(sessionId: $s, type: ASSIGNED) { sessionStatus } }`, { s: sessionId }), 'VALIDATION_FAILED');
  expect(badEvent.extensions).toMatchObject({ status: 400, service: 'sessions' });
  expect((await gql(g, key, `query($s: ID!) { session(id: $s) { id } }`, { s: `missing-${randomUUID()}` })).body).toEqual({ data: { session: null } });
  // A malformed id fails its own field, not the batch it would have joined.
  const mixed = await gql(g, key, `query($s: ID!) { good: session(id: $s) { sessionId } bad: session(id: "not an id!") { sessionId } }`, { s: sessionId });
  expect(mixed.body.data).toEqual({ good: { sessionId }, bad: null });
  expect(mixed.body.errors?.map((e) => [e.path, e.extensions.code])).toEqual([[['bad'], 'VALIDATION_FAILED']]);
  // Fields that cannot be batched (a history per alias) are bounded per operation (GRAPHQL_MAX_SERVICE_CALLS, 50 by default).
  const historiesOf = (n: number) => gql(g, key, `query($s: ID!) { ${Array.from({ length: n }, (_, i) => `h${i}: variableHistory(sessionId: $s, name: "UserName") { name }`).join(' ')} }`, { s: sessionId });
  const fifty = await historiesOf(50);
  expect(fifty.body.errors).toBeUndefined();
  expect(Object.values(fifty.body.data ?? {})).toHaveLength(50);
  // Past the budget the further fields fail with the limit (and, being non-null, the data with them).
  const histories = await historiesOf(55);
  expect(histories.status).toBe(200);
  expect(histories.body.data).toBeNull();
  expect(new Set(histories.body.errors?.map((e) => `${e.extensions.code} ${e.extensions.details?.limit}`))).toEqual(new Set(['LIMIT_EXCEEDED maxServiceCalls']));

  // ── Bad requests: 400 with GraphQL's errors and the contract's body ─────────────────────────────
  const badRequests: [unknown, string][] = [
    [{ query: '{ session(id: "x") { nope } }' }, 'VALIDATION_FAILED'],
    [{ query: '{ session(id: ' }, 'VALIDATION_FAILED'],
    [{ query: 'query($s: ID!) { session(id: $s) { id } }', variables: { s: { not: 'an id' } } }, 'VALIDATION_FAILED'],
    [{ query: 'mutation { setSessionVariables(sessionId: "x", values: [{ name: "a", value: { deep: 1 } }]) { name } }' }, 'VALIDATION_FAILED'],
    [{ query: 'subscription { sessionStatusChanged(sessionId: "x") { sessionStatus } }' }, 'VALIDATION_FAILED'],
    [{ notAQuery: true }, 'VALIDATION_FAILED'],
    // Depth 5 against GRAPHQL_MAX_DEPTH=4.
    [{ query: 'mutation { startSession(channelId: "web") { session { visitor { variables { name } } } } }' }, 'LIMIT_EXCEEDED'],
    // 120 aliased sessions with every variable field: over GRAPHQL_MAX_COST.
    [{ query: `{ ${Array.from({ length: 120 }, (_, i) => `s${i}: session(id: "x${i}") { id visitorId variables { name value scope source verified updatedAt version } }`).join(' ')} }` }, 'LIMIT_EXCEEDED'],
  ];
  for (const [body, code] of badRequests) {
    const answer = (await call(`${g}/graphql`, { method: 'POST', key, body })) as GqlAnswer;
    expect([answer.status, answer.body.error?.code, answer.body.errors?.[0]?.extensions.code]).toEqual([400, code, code]);
  }
  const notJson = await call(`${g}/graphql`, { method: 'POST', key, rawBody: '{"query": ' });
  expect([notJson.status, notJson.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  const introspection = await gql(g, key, '{ __schema { queryType { name } } }');
  if (options.introspection) expect(introspection.body.data.__schema.queryType.name).toBe('Query');
  else expect([introspection.status, introspection.body.errors?.[0]?.extensions.code]).toEqual([400, 'FORBIDDEN']);

  // ── Batching: one call per kind per request, whatever the number of sessions ────────────────────
  const many = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => (await gql(g, key, `mutation { startSession(channelId: "web", sessionVariableValues: [{ name: "n", value: ${i} }]) { sessionId } }`)).body.data.startSession.sessionId as string),
  );
  const routes = {
    sessionsBatch: () => metricSum(urls.sessions, '/internal/v1/sessions/batch'),
    sessionOne: () => metricSum(urls.sessions, '/v1/sessions/:sessionId'),
    variablesBatch: () => metricSum(urls.variables, '/internal/v1/variables/sessions/batch'),
    variablesOne: () => metricSum(urls.variables, '/v1/sessions/:sessionId/variables'),
    visitorsBatch: () => metricSum(urls.variables, '/internal/v1/variables/visitors/batch'),
  };
  const before = Object.fromEntries(await Promise.all(Object.entries(routes).map(async ([k, f]) => [k, await f()] as const)));
  const batched = await gql(g, key, `{ ${many.map((id, i) => `s${i}: session(id: "${id}") { sessionStatus variables { name value } metadata { authenticatedStatus } visitor { displayName } }`).join(' ')} }`);
  expect(batched.body.errors).toBeUndefined();
  expect(Object.values(batched.body.data).map((x) => (x as { sessionStatus: string }).sessionStatus)).toEqual(many.map(() => 'CREATED'));
  const after = Object.fromEntries(await Promise.all(Object.entries(routes).map(async ([k, f]) => [k, await f()] as const)));
  expect({
    sessionsBatch: after.sessionsBatch! - before.sessionsBatch!,
    sessionOne: after.sessionOne! - before.sessionOne!,
    variablesBatch: after.variablesBatch! - before.variablesBatch!,
    variablesOne: after.variablesOne! - before.variablesOne!,
    visitorsBatch: after.visitorsBatch! - before.visitorsBatch!,
  }).toEqual({ sessionsBatch: 1, sessionOne: 0, variablesBatch: 1, variablesOne: 0, visitorsBatch: 1 });

  // ── Another org's key sees none of it ───────────────────────────────────────────────────────────
  expect((await gql(g, other.apiKey, `query($s: ID!) { session(id: $s) { id } }`, { s: sessionId })).body).toEqual({ data: { session: null } });
  const foreignVars = await gql(g, other.apiKey, `query($s: ID!) { sessionVariables(sessionId: $s) { name value scope } }`, { s: sessionId });
  expect(foreignVars.body.data.sessionVariables.filter((v: { scope: string }) => v.scope !== 'metadata')).toEqual([]);

  // ── A widget key starts sessions and reads them through the new visitor token, nothing else ─────
  const widgetKey = (await call(`${urls.identity}/v1/api-keys`, { method: 'POST', key, body: { name: 'widget', scopes: ['widget'] } })).body.apiKey as string;
  const fromWidget = await gql(g, widgetKey, `mutation { startSession(channelId: "web", sessionVariableValues: [{ name: "page", value: "/cart" }]) { sessionId visitorToken session { sessionStatus variables { name value source } } } }`);
  expect(fromWidget.body.errors).toBeUndefined();
  expect(fromWidget.body.data.startSession.session.variables).toEqual(expect.arrayContaining([{ name: 'page', value: '/cart', source: 'widget' }]));
  const widgetRead = failed(await gql(g, widgetKey, `query($s: ID!) { session(id: $s) { id } }`, { s: sessionId }), 'FORBIDDEN');
  expect(widgetRead.extensions.service).toBe('sessions');
  const widgetSession = fromWidget.body.data.startSession as { sessionId: string; visitorToken: string };

  // ── A visitor token: its own session and visitor only ───────────────────────────────────────────
  const own = await gql(g, visitorToken, `query($s: ID!, $v: ID!) { session(id: $s) { sessionId visitor { displayName } } visitor(id: $v) { displayName } }`, { s: sessionId, v: visitorId });
  expect(own.body).toEqual({ data: { session: { sessionId, visitor: { displayName: 'Ann' } }, visitor: { displayName: 'Ann' } } });
  const asWidget = await gql(g, visitorToken, `mutation($s: ID!) { setSessionVariables(sessionId: $s, values: [{ name: "fromPage", value: "yes" }]) { name source } }`, { s: sessionId });
  expect(asWidget.body.data.setSessionVariables).toEqual(expect.arrayContaining([{ name: 'fromPage', source: 'widget' }]));
  for (const [query, variables] of [
    ['query($s: ID!) { session(id: $s) { id } }', { s: widgetSession.sessionId }],
    ['query($s: ID!) { sessionVariables(sessionId: $s) { name } }', { s: widgetSession.sessionId }],
    ['query($v: ID!) { visitor(id: $v) { displayName } }', { v: 'someone-else' }],
    ['mutation($s: ID!) { setSessionVariables(sessionId: $s, values: [{ name: "x", value: 1 }]) { name } }', { s: widgetSession.sessionId }],
    ['mutation($s: ID!) { endSession(sessionId: $s, reason: logout) { sessionStatus } }', { s: widgetSession.sessionId }],
  ] as const) {
    const refused = await gql(g, visitorToken, query, variables);
    expect([refused.body.errors?.[0]?.extensions.code, refused.body.errors?.[0]?.extensions.details]).toEqual(['FORBIDDEN', { visitorToken: true }]);
  }
  const refreshed = await gql(g, visitorToken, `mutation($s: ID!) { refreshVisitorToken(sessionId: $s) { sessionId visitorToken visitorTokenExpiresAt } }`, { s: sessionId });
  expect(refreshed.body.data.refreshVisitorToken).toMatchObject({ sessionId, visitorToken: expect.stringMatching(/^svpv_/) });

  // ── Subscriptions over graphql-ws ───────────────────────────────────────────────────────────────
  // A key that may read sessions but not variables sees statuses live, never variable values.
  const statusOnly = (await call(`${urls.identity}/v1/api-keys`, { method: 'POST', key, body: { name: 'status board', scopes: ['sessions:read'] } })).body as { keyId: string; apiKey: string };
  const board = socket(g, `Bearer ${statusOnly.apiKey}`);
  const boardStatus = board.subscribe('subscription($s: ID!) { sessionStatusChanged(sessionId: $s, includeCurrent: true) { sessionStatus } }', { s: sessionId });
  const boardVars = board.subscribe('subscription($s: ID!) { variablesChanged(sessionId: $s, includeCurrent: true) { changes { name value } } }', { s: sessionId });
  await until(() => (boardStatus.events.length > 0 && (boardVars.errors.length > 0 || boardVars.events.length > 0) ? true : undefined), 'the status board\'s subscriptions');
  expect(boardStatus.events[0].data.sessionStatusChanged.sessionStatus).toBe('CREATED');
  expect(JSON.stringify(boardVars.errors[0] ?? boardVars.events[0])).toContain('variables:read');
  // Refused before any value: whatever came is the error alone, with no data.
  expect(boardVars.events.every((e) => !e.data?.variablesChanged)).toBe(true);
  expect(JSON.stringify(boardVars.events)).not.toContain('cart');
  // Revoked while its socket is open: within GATEWAY_WS_RECHECK_SECONDS the socket is closed 4403.
  expect((await call(`${urls.identity}/v1/api-keys/${statusOnly.keyId}`, { method: 'DELETE', key })).status).toBeLessThan(300);
  await until(() => (board.closes.length > 0 ? true : undefined), 'the close of a revoked key\'s socket');
  expect(board.closes[0]!.code).toBe(4403);
  await board.client.dispose();

  const agent = socket(g, `Bearer ${key}`);
  const visitorSocket = socket(g, `Bearer ${visitorToken}`);
  try {
    const status = agent.subscribe('subscription($s: ID!) { sessionStatusChanged(sessionId: $s, includeCurrent: true) { eventId sessionId sessionStatus sessionOldStatus messagesCount eventType } }', { s: sessionId });
    const vars = agent.subscribe('subscription($s: ID!) { variablesChanged(sessionId: $s, includeCurrent: true) { eventId kind changes { name value scope } removed displayName variables { name value scope verified } } }', {
      s: sessionId,
    });
    // The current state first (no eventId), then only changes.
    await until(() => (status.events.length > 0 && vars.events.length > 0 ? true : undefined), 'the current state on both subscriptions');
    expect(status.events[0].data.sessionStatusChanged).toMatchObject({ eventId: null, sessionId, sessionStatus: 'CREATED', eventType: 'IM_Session_Status' });
    expect(vars.events[0].data.variablesChanged).toMatchObject({ eventId: null, kind: 'CURRENT', changes: [] });
    expect(vars.events[0].data.variablesChanged.variables).toEqual(expect.arrayContaining([{ name: 'cart', value: 42, scope: 'session', verified: false }]));

    // The visitor's own page subscribes to its own session; another session is refused.
    const ownLive = visitorSocket.subscribe('subscription($s: ID!) { variablesChanged(sessionId: $s, includeCurrent: true) { kind changes { name value } } }', { s: sessionId });
    const foreignLive = visitorSocket.subscribe('subscription($s: ID!) { sessionStatusChanged(sessionId: $s) { sessionStatus } }', { s: widgetSession.sessionId });
    await until(() => (foreignLive.errors.length > 0 || foreignLive.events.length > 0 ? true : undefined), 'the refusal of a foreign session');
    expect(JSON.stringify(foreignLive.errors[0] ?? foreignLive.events[0])).toContain('FORBIDDEN');
    const otherOrg = socket(g, `Bearer ${other.apiKey}`);
    const otherLive = otherOrg.subscribe('subscription($s: ID!) { variablesChanged(sessionId: $s) { kind } }', { s: sessionId });
    await until(() => (otherLive.errors.length > 0 || otherLive.events.length > 0 ? true : undefined), 'the refusal of another org');
    expect(JSON.stringify(otherLive.errors[0] ?? otherLive.events[0])).toContain('NOT_FOUND');
    await otherOrg.client.dispose();

    // A change made over HTTP (by the visitor's page) reaches both subscribers, the read showing it.
    await until(() => (ownLive.events.length > 0 ? true : undefined), 'the current state on the visitor\'s own subscription');
    expect(ownLive.events[0].data.variablesChanged.kind).toBe('CURRENT');
    await gql(g, visitorToken, `mutation($s: ID!) { setSessionVariables(sessionId: $s, values: [{ name: "live", value: 7 }]) { name } }`, { s: sessionId });
    await until(() => (ownLive.events.length > 1 ? true : undefined), 'the change on the visitor\'s own subscription');
    const changed = await until(() => vars.events.find((e) => e.data.variablesChanged.kind === 'SESSION_CHANGED')?.data.variablesChanged, 'SESSION_CHANGED');
    expect(changed.changes).toEqual([{ name: 'live', value: 7, scope: 'session' }]);
    expect(changed.variables).toEqual(expect.arrayContaining([{ name: 'live', value: 7, scope: 'session', verified: false }]));
    expect(ownLive.events[1].data.variablesChanged).toEqual({ kind: 'SESSION_CHANGED', changes: [{ name: 'live', value: 7 }] });

    // Data limited to a room is not streamed to subscribers that named no room (as reads leave it out).
    const roomOnly = await gql(g, key, `mutation($v: ID!) { submitVisitorVariables(visitorId: $v, data: { vipNote: "room only" }, signing: plain, replaceExisting: false, rooms: [{ name: "vip" }]) { visitorId } }`, { v: visitorId });
    expect(roomOnly.body.errors).toBeUndefined();
    await gql(g, key, `mutation($v: ID!) { submitVisitorVariables(visitorId: $v, data: { username: "Annie" }, signing: plain, replaceExisting: false) { displayName } }`, { v: visitorId });
    const visitorChange = await until(() => vars.events.find((e) => e.data.variablesChanged.kind === 'VISITOR_CHANGED')?.data.variablesChanged, 'VISITOR_CHANGED');
    expect(visitorChange).toMatchObject({ displayName: 'Annie', changes: [{ name: 'username', value: 'Annie', scope: 'visitor' }] });
    expect(visitorChange.variables).toEqual(expect.arrayContaining([{ name: 'username', value: 'Annie', scope: 'visitor', verified: false }]));
    expect(JSON.stringify(vars.events)).not.toContain('room only');
    expect(JSON.stringify(ownLive.events)).not.toContain('room only');

    await gql(g, key, `mutation($s: ID!) { recordSessionEvent(sessionId: $s, type: ROUTED) { sessionStatus } }`, { s: sessionId });
    const ended = await gql(g, visitorToken, `mutation($s: ID!) { endSession(sessionId: $s, reason: logout) { sessionStatus endReason } }`, { s: sessionId });
    expect(ended.body.data.endSession).toEqual({ sessionStatus: 'ENDED', endReason: 'logout' });
    const statuses = await until(() => {
      const seen = status.events.map((e) => e.data.sessionStatusChanged.sessionStatus);
      return seen.includes('ENDED') ? seen : undefined;
    }, 'ENDED on the status subscription');
    expect(statuses).toEqual(['CREATED', 'OPEN', 'ENDED']);
    expect(status.events.slice(1).every((e) => typeof e.data.sessionStatusChanged.eventId === 'string')).toBe(true);
    const discarded = await until(() => vars.events.find((e) => e.data.variablesChanged.kind === 'DISCARDED')?.data.variablesChanged, 'DISCARDED');
    expect(discarded.variables.filter((v: { scope: string }) => v.scope === 'session')).toEqual([]);
    // Ending twice: the service's 409 with the current status.
    const again = failed(await gql(g, key, `mutation($s: ID!) { endSession(sessionId: $s, reason: logout) { sessionStatus } }`, { s: sessionId }), 'CONFLICT');
    expect(again.extensions).toMatchObject({ status: 409, service: 'sessions', details: expect.objectContaining({ sessionStatus: 'ENDED' }) });

    // Pages: the CORS list (GATEWAY_CORS_ORIGINS) answers preflights and decides which origins may open a socket.
    const allowed = options.corsOrigins === '*' ? 'https://any-shop.example' : options.corsOrigins;
    const preflight = await fetch(`${g}/graphql`, { method: 'OPTIONS', headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(options.corsOrigins === '*' ? '*' : allowed);
    const fromPage = socket(g, `Bearer ${key}`, allowed);
    const pageLive = fromPage.subscribe('subscription($s: ID!) { sessionStatusChanged(sessionId: $s, includeCurrent: true) { sessionStatus } }', { s: sessionId });
    await until(() => (pageLive.events.length > 0 ? true : undefined), 'a socket from an allowed page');
    expect(pageLive.events[0].data.sessionStatusChanged.sessionStatus).toBe('ENDED');
    await fromPage.client.dispose();
    if (options.corsOrigins !== '*') {
      const refusedPreflight = await fetch(`${g}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
      expect(refusedPreflight.headers.get('access-control-allow-origin')).toBeNull();
      const evil = socket(g, `Bearer ${key}`, 'https://evil.example');
      const evilLive = evil.subscribe('subscription($s: ID!) { sessionStatusChanged(sessionId: $s, includeCurrent: true) { sessionStatus } }', { s: sessionId });
      await until(() => (evilLive.errors.length > 0 || evil.closes.length > 0 ? true : undefined), 'the refusal of a socket from another page');
      expect(evilLive.events).toEqual([]);
      await evil.client.dispose();
    }

    // No credential, or a bad one: the socket is closed 4401 before anything is subscribed.
    for (const authorization of [undefined, 'Bearer svp_not-a-real-key']) {
      const denied = socket(g, authorization);
      const attempt = denied.subscribe('subscription { sessionStatusChanged(sessionId: "x") { sessionStatus } }', {});
      await until(() => (denied.closes.length > 0 ? true : undefined), 'the close of an unauthenticated socket');
      expect(denied.closes[0]!.code).toBe(4401);
      expect(attempt.events).toEqual([]);
      await denied.client.dispose();
    }
  } finally {
    await agent.client.dispose();
    await visitorSocket.client.dispose();
  }

  // ── The demo: embedded mode only, and only for this machine's own pages ────────────────────────
  if (!options.demo) {
    expect((await call(`${g}/demo`)).status).toBe(404);
    expect((await call(`${g}/demo/config`)).status).toBe(404);
    return;
  }
  const config = await fetch(`${g}/demo/config`, { headers: { origin: 'https://any-site.example' } });
  expect(config.status).toBe(200);
  // No CORS on /demo: another site's page cannot read the demo's keys.
  expect(config.headers.get('access-control-allow-origin')).toBeNull();
  // Nor under another spelling of the same path (the router decodes it; a browser sends %64 as is).
  const encoded = await fetch(`${g}/%64emo/config`, { headers: { origin: 'https://any-site.example' } });
  expect([encoded.status, encoded.headers.get('access-control-allow-origin')]).toEqual([200, null]);
  const preflight = await fetch(`${g}/%64emo/sign`, { method: 'OPTIONS', headers: { origin: 'https://any-site.example', 'access-control-request-method': 'POST' } });
  expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  // A site whose domain points at 127.0.0.1 (DNS rebinding) names itself in Host: refused.
  const { request } = await import('node:http');
  const rebinding = await new Promise<number>((resolve, reject) => {
    const url = new URL(`${g}/demo/config`);
    request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: `evil.example:${url.port}` } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  expect(rebinding).toBe(403);
}
