import { randomBytes } from 'node:crypto';
import type { ServiceName } from '@svp/contracts';
import { SignJWT } from 'jose';
import { Checks, type Drill, formatCount, pool, sleep } from '../drill.js';
import { call } from '../http.js';
import { errorShapeHolds, loadOperations, sendRaw, surfaceOf, validValue } from './fuzz-support.js';
import { type NegativeToken, SSRF_TARGETS, type SigningKeys, makeKeys, negativeTokens, subscriber } from './security-support.js';

type Urls = Record<ServiceName, string>;
const SERVICES: ServiceName[] = ['identity', 'sessions', 'variables', 'gateway'];
const tag = () => randomBytes(6).toString('hex');

/** The headers and payloads of the JWTs in a text, decoded (what a caller who holds the token can read anyway). */
const decodedTokens = (text: string) =>
  [...text.matchAll(/eyJ[\w-]+\.[\w-]+/g)].map((m) => m[0].split('.').map((part) => Buffer.from(part, 'base64url').toString('utf8')).join(' ')).join(' ');

interface Variable {
  name: string;
  value: unknown;
  scope: string;
  version: number;
}

/**
 * Drill 9. Security, end to end against the distributed platform:
 * - the JWT negative suite (expired, not yet valid, bad or empty signature, tampered, unknown, foreign
 *   and revoked kid, alg none/None/HS512, HS/RS confusion, alg mismatches, missing exp/kid/external_id,
 *   malformed, oversized, __proto__ claims) at every entry point that takes a signed token: identity
 *   verify, the internal signature check, signed visitor submits (HS256/RS256/ES256), GraphQL
 *   authenticate and submitVisitorVariables; tampered and foreign visitor tokens on every service and on
 *   graphql-ws. Each refused with its reason, nothing stored;
 * - tenant isolation: org A with sessions, variables, visitors, webhooks, signing keys, brands, a
 *   channel, claim mapping; every OpenAPI operation and every GraphQL query, mutation and subscription
 *   aimed at A's objects with org B's key, with a visitor token of B's session and with a visitor token
 *   of another session of A: none of A's ids or values in any answer, and A's data unchanged (read back
 *   with A's key);
 * - no secret the drill saw (API keys, root token, HS256 secrets, webhook secrets, JWTs, visitor tokens)
 *   in any service log line;
 * - webhook targets on loopback, private, link-local, metadata, IPv6 loopback/ULA/link-local,
 *   IPv4-embedding IPv6, decimal/hex/octal notations, localhost and names resolving to 127.0.0.1
 *   refused with the error body, none stored; a public target accepted (the check can pass).
 */
export const securityDrill: Drill = {
  id: 9,
  name: 'security',
  title: 'the JWT negative suite across every token entry point; tenant isolation on every endpoint; secrets absent from logs; private webhook targets refused',
  async run({ platform, log }) {
    const checks = new Checks();
    const started = Date.now();
    const urls = platform.urls as Urls;
    const secrets = new Set<string>([platform.rootToken]);
    const keep = (...values: (string | undefined)[]) => values.forEach((v) => v && v.length >= 12 && secrets.add(v));
    let tried = 0;

    // ── Two orgs with data ──────────────────────────────────────────────────────────────────────────
    const A = await platform.newOrg('Drill 9 org A');
    const B = await platform.newOrg('Drill 9 org B');
    keep(A.apiKey, B.apiKey);
    for (const org of [A, B]) await call(`${urls.identity}/v1/orgs/${org.orgId}/quota`, { method: 'PUT', key: platform.rootToken, body: { requestsPerMinute: 10_000_000 } });
    const mark = `drill9A${tag()}`; // every value of A carries it: it must never reach B's answers
    const a = {
      brand: `${mark}-brand`,
      visitor: `${mark}-visitor`,
      otherVisitor: `drill9other-${tag()}`,
      channel: `${mark.slice(0, 20)}-ch`,
      value: `${mark}-secret-value`,
      username: `${mark}-Ann`,
      externalId: `${mark}-cust`,
    };
    const keysA = await makeKeys();
    const id = (path: string) => `${urls.identity}${path}`;
    const brand = await call<{ brandId: string }>(id(`/v1/orgs/${A.orgId}/brands`), { method: 'POST', key: A.apiKey, body: { name: a.brand } });
    const hs = await call<{ kid: string; secret: string }>(id('/v1/signing-keys'), { method: 'POST', key: A.apiKey, body: { alg: 'HS256' } });
    const rs = await call<{ kid: string }>(id('/v1/signing-keys'), { method: 'POST', key: A.apiKey, body: { alg: 'RS256', publicKey: keysA.rsPem } });
    const esKid = `${mark.slice(0, 20)}-ec`;
    const es = await call<{ kid: string }>(id('/v1/signing-keys'), { method: 'POST', key: A.apiKey, body: { alg: 'ES256', jwks: { keys: [{ ...keysA.ecJwk, kid: esKid, use: 'sig' }] } } });
    const revoked = await call<{ kid: string; secret: string }>(id('/v1/signing-keys'), { method: 'POST', key: A.apiKey, body: { alg: 'HS256' } });
    await call(id(`/v1/signing-keys/${revoked.body.kid}`), { method: 'DELETE', key: A.apiKey });
    const foreign = await call<{ kid: string; secret: string }>(id('/v1/signing-keys'), { method: 'POST', key: B.apiKey, body: { alg: 'HS256' } });
    keep(hs.body.secret, revoked.body.secret, foreign.body.secret);
    const spare = await call<{ keyId: string; apiKey: string }>(id('/v1/api-keys'), { method: 'POST', key: A.apiKey, body: { name: `${mark}-reader`, scopes: ['variables:read'] } });
    const widget = await call<{ apiKey: string }>(id('/v1/api-keys'), { method: 'POST', key: A.apiKey, body: { name: 'widget', scopes: ['widget'] } });
    keep(spare.body.apiKey, widget.body.apiKey);
    await call(id('/v1/identity/claim-mapping'), { method: 'PUT', key: A.apiKey, body: { mappings: [{ claim: 'plan', variable: `${mark.slice(0, 20)}Plan`, scope: 'session', type: 'string' }] } });
    const channel = await call(`${urls.sessions}/v1/channels`, { method: 'POST', key: A.apiKey, body: { channelId: a.channel, name: `${mark}-channel` } });
    const start = (key: string, body: Record<string, unknown>) => call<{ sessionId: string; visitorId: string; visitorToken: string }>(`${urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', ...body } });
    const s1 = (await start(A.apiKey, { visitorId: a.visitor, sessionVariableValues: [{ name: 'secretVar', value: a.value }] })).body;
    const s2 = (await start(A.apiKey, { visitorId: a.otherVisitor })).body; // another session of A: its visitor token must not reach s1
    const sB = (await start(B.apiKey, {})).body;
    keep(s1.visitorToken, s2.visitorToken, sB.visitorToken);
    await call(`${urls.variables}/v1/visitors/${a.visitor}/variables`, { method: 'POST', key: A.apiKey, body: { data: { username: a.username, tier: a.value }, signing: 'plain', replaceExisting: false } });
    const token = await new SignJWT({ external_id: a.externalId, name: a.username, plan: a.value }).setProtectedHeader({ alg: 'HS256', kid: hs.body.kid }).setExpirationTime('5m').sign(new TextEncoder().encode(hs.body.secret));
    keep(token, token.split('.')[2]);
    const verified = await call(id('/v1/identity/verify'), { method: 'POST', key: A.apiKey, body: { token, sessionId: s1.sessionId, visitorId: a.visitor } });
    const webhook = await call<{ webhookId: string; secret: string }>(`${urls.sessions}/v1/webhooks`, { method: 'POST', key: A.apiKey, body: { url: `http://1.1.1.1:9/${mark}`, events: ['IM_Session_Status'], secret: `${mark}-whsec-0123456789` } });
    keep(webhook.body.secret);
    const erased = await call<{ erasureId: string }>(`${urls.variables}/v1/visitors/${mark}-erased/variables`, { method: 'POST', key: A.apiKey, body: { data: { x: a.value }, signing: 'plain', replaceExisting: false } }).then(() => call<{ erasureId: string }>(`${urls.variables}/v1/visitors/${mark}-erased`, { method: 'DELETE', key: A.apiKey }));
    const replay = webhook.status === 201 ? await call<{ replayId: string }>(`${urls.sessions}/v1/webhooks/${webhook.body.webhookId}/replay`, { method: 'POST', key: A.apiKey, body: {} }) : undefined;
    checks.check(
      [brand.status, hs.status, rs.status, es.status, foreign.status, spare.status, channel.status, webhook.status].every((s) => s === 201) && verified.body?.authenticated === true,
      "org A's data set up: brand, HS256/RS256/ES256 and a revoked key, an API key, claim mapping, a channel, two sessions, visitor data, a verified identity, a webhook on a public address",
      { brand: brand.status, hs: hs.status, rs: rs.status, es: es.status, spare: spare.status, channel: channel.status, webhook: [webhook.status, webhook.body], verified: verified.body },
    );
    // Let the verified identity reach the variables service (metadata), so the snapshot holds it.
    for (let i = 0; i < 40; i++) {
      const vars = await call<{ variables: Variable[] }>(`${urls.variables}/v1/sessions/${s1.sessionId}/variables`, { key: A.apiKey });
      if (vars.body.variables?.some((v) => v.name === 'authenticatedStatus' && v.value === true)) break;
      await sleep(250);
    }

    // A's state, read with A's key: read again at the end, it must be the same.
    const snapshot = async () => {
      const get = async (url: string, pick: (body: any) => unknown) => pick((await call(url, { key: A.apiKey })).body); // eslint-disable-line @typescript-eslint/no-explicit-any
      const vars = (v: Variable[] | undefined) => (v ?? []).map((x) => [x.name, x.value, x.scope, x.version]).sort();
      return {
        session1: await get(`${urls.sessions}/v1/sessions/${s1.sessionId}`, (b) => [b.sessionStatus, b.messagesCount, b.currentAssigneeId, b.visitorId]),
        session2: await get(`${urls.sessions}/v1/sessions/${s2.sessionId}`, (b) => [b.sessionStatus, b.messagesCount]),
        variables1: await get(`${urls.variables}/v1/sessions/${s1.sessionId}/variables`, (b) => vars(b.variables)),
        visitor: await get(`${urls.variables}/v1/visitors/${a.visitor}`, (b) => [b.displayName, vars(b.variables)]),
        identity: await get(id(`/v1/identity/sessions/${s1.sessionId}`), (b) => [b.authenticated, b.externalId, b.attempts?.length]),
        org: await get(id(`/v1/orgs/${A.orgId}`), (b) => [b.name, b.linkBrands, b.requestsPerMinute, (b.brands ?? []).map((x: { name: string }) => x.name)]),
        signingKeys: await get(id('/v1/signing-keys'), (b) => (b.signingKeys ?? []).map((k: { kid: string; status: string }) => [k.kid, k.status]).sort()),
        apiKeys: await get(id('/v1/api-keys'), (b) => (b.apiKeys ?? []).map((k: { keyId: string; scopes: string[]; revokedAt?: string; status?: string }) => [k.keyId, k.scopes, k.revokedAt ?? null, k.status ?? null]).sort()),
        claimMapping: await get(id('/v1/identity/claim-mapping'), (b) => b),
        webhooks: await get(`${urls.sessions}/v1/webhooks`, (b) => (b.webhooks ?? []).map((w: { webhookId: string; url: string }) => [w.webhookId, w.url])),
        channel: await get(`${urls.sessions}/v1/channels/${a.channel}`, (b) => [b.state, b.name, b.credits, b.lastSendFailure ?? null]),
        sessionSettings: await get(`${urls.sessions}/v1/session-settings`, (b) => b),
        variableSettings: await get(`${urls.variables}/v1/variables/settings`, (b) => b),
      };
    };
    const before = await snapshot();

    // ── 1. The JWT negative suite at every entry point ──────────────────────────────────────────────
    const keys: SigningKeys = {
      hs: hs.body,
      rs: { kid: rs.body.kid, privateKey: keysA.rsa.privateKey, pem: keysA.rsPem },
      es: { kid: es.body.kid, privateKey: keysA.ec.privateKey },
      revoked: revoked.body,
      foreign: foreign.body,
    };
    const negatives: NegativeToken[] = await negativeTokens(keys, { plan: 'stolen', username: 'Mallory' });
    negatives.forEach((n) => keep(n.token.split('.')[2]));
    const jwtSession = `${mark}-jwt-session`;
    const jwtVisitor = `${mark}-jwt-visitor`;
    const gqlSession = (await start(A.apiKey, {})).body.sessionId;
    const gqlVisitor = `${mark}-gql-visitor`;
    const wrongReason: string[] = [];
    const expectReason = (entry: string, n: NegativeToken, got: unknown, ok: boolean) => {
      tried++;
      if (!ok || got !== n.reason) wrongReason.push(`${entry} [${n.what}]: expected ${n.reason}, got ${JSON.stringify(got)}${ok ? '' : ' (not refused)'}`);
    };
    const gql = (key: string, query: string, variables: Record<string, unknown>) => call(`${urls.gateway}/graphql`, { method: 'POST', key, body: { query, variables } });
    for (const n of negatives) {
      const v = await call(id('/v1/identity/verify'), { method: 'POST', key: A.apiKey, body: { token: n.token, sessionId: jwtSession } });
      expectReason('POST /v1/identity/verify', n, v.body?.reason, v.status === 200 && v.body?.authenticated === false);
      const g = await gql(A.apiKey, 'mutation($s: ID!, $t: String!) { authenticate(sessionId: $s, token: $t) { authenticated reason } }', { s: gqlSession, t: n.token });
      expectReason('GraphQL authenticate', n, g.body?.data?.authenticate?.reason, g.body?.data?.authenticate?.authenticated === false);
      // A visitor token may sign its own page in: the same refusals.
      const asVisitor = await call(id('/v1/identity/verify'), { method: 'POST', key: s2.visitorToken, body: { token: n.token, sessionId: s2.sessionId } });
      expectReason('POST /v1/identity/verify (visitor token)', n, asVisitor.body?.reason, asVisitor.status === 200 && asVisitor.body?.authenticated === false);
      if (n.messagingOnly) continue;
      const sig = await call(id('/internal/v1/signatures/verify'), { method: 'POST', key: A.apiKey, body: { token: n.token, alg: n.signing } });
      expectReason('POST /internal/v1/signatures/verify', n, sig.body?.reason, sig.status === 200 && sig.body?.valid === false);
      const submit = await call(`${urls.variables}/v1/visitors/${jwtVisitor}/variables`, { method: 'POST', key: A.apiKey, body: { signing: n.signing, token: n.token, replaceExisting: true } });
      expectReason(`POST /v1/visitors/{id}/variables (${n.signing})`, n, submit.body?.error?.details?.reason, submit.status === 401 && submit.body?.error?.code === 'INVALID_TOKEN');
      const gs = await gql(A.apiKey, `mutation($v: ID!, $t: String!) { submitVisitorVariables(visitorId: $v, signing: ${n.signing}, token: $t, replaceExisting: true) { visitorId } }`, { v: gqlVisitor, t: n.token });
      const ge = gs.body?.errors?.[0]?.extensions;
      expectReason(`GraphQL submitVisitorVariables (${n.signing})`, n, ge?.details?.reason, ge?.code === 'INVALID_TOKEN' && gs.body?.data === null);
    }
    checks.check(wrongReason.length === 0, `${negatives.length} negative tokens refused with their reason at verify, GraphQL authenticate, verify by a visitor token, the signature check, signed visitor submits and GraphQL submitVisitorVariables`, { count: wrongReason.length, sample: wrongReason.slice(0, 8) });
    // Nothing stored by any of them.
    await sleep(1500); // anything accepted would have reached the variables service by now (it is asserted absent below)
    const jwtIdentity = await call(id(`/v1/identity/sessions/${jwtSession}`), { key: A.apiKey });
    const gqlIdentity = await call(id(`/v1/identity/sessions/${gqlSession}`), { key: A.apiKey });
    const s2Identity = await call(id(`/v1/identity/sessions/${s2.sessionId}`), { key: A.apiKey });
    checks.check(
      [jwtIdentity, gqlIdentity, s2Identity].every((r) => r.body?.authenticated === false && r.body?.externalId === null),
      'no identity recorded by a refused token (verify, GraphQL, visitor): not authenticated, no external id',
      [jwtIdentity.body, gqlIdentity.body, s2Identity.body].map((b) => ({ authenticated: b?.authenticated, externalId: b?.externalId })),
    );
    const metaOf = async (sessionId: string) => (await call<{ variables: Variable[] }>(`${urls.variables}/v1/sessions/${sessionId}/variables`, { key: A.apiKey })).body.variables ?? [];
    const storedMeta = [...(await metaOf(jwtSession)), ...(await metaOf(gqlSession)), ...(await metaOf(s2.sessionId))].filter((v) => (v.name === 'authenticatedStatus' && v.value !== false) || (v.scope === 'session' && v.name.endsWith('Plan')));
    checks.check(storedMeta.length === 0, 'authenticatedStatus still false and no mapped claim stored on those sessions', storedMeta);
    const visitors = await Promise.all([jwtVisitor, gqlVisitor].map((v) => call<{ displayName: string; variables: Variable[] }>(`${urls.variables}/v1/visitors/${v}`, { key: A.apiKey })));
    checks.check(visitors.every((v) => (v.body.variables ?? []).length === 0 && (v.status === 404 || v.body.displayName === 'Visitor')), 'no visitor data stored by a refused signed submit (HTTP and GraphQL)', visitors.map((v) => [v.status, v.body]));

    // Visitor tokens that are no credential: tampered, truncated, made up, an API key's shape with a JWT.
    const forged = [
      `${s1.visitorToken.slice(0, -4)}${s1.visitorToken.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`,
      s1.visitorToken.slice(0, Math.floor(s1.visitorToken.length / 2)),
      `svpv_${randomBytes(48).toString('base64url')}`,
      `${s1.visitorToken}x`,
      token, // a messaging JWT is no API key
    ];
    const forgedAnswers: string[] = [];
    for (const bearer of forged) {
      for (const [service, path] of [
        ['variables', `/v1/sessions/${s1.sessionId}/variables`],
        ['sessions', `/v1/sessions/${s1.sessionId}`],
        ['identity', `/v1/identity/sessions/${s1.sessionId}`],
      ] as const) {
        tried++;
        const answer = await call(`${urls[service]}${path}`, { key: bearer });
        if (answer.status !== 401 || !errorShapeHolds('rest', { status: answer.status, text: '', body: answer.body }) || JSON.stringify(answer.body).includes(mark)) forgedAnswers.push(`${service}${path}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
      }
      tried++;
      const g = await gql(bearer, 'query($s: ID!) { session(id: $s) { sessionId } }', { s: s1.sessionId });
      if (g.status !== 401 || g.body?.errors?.[0]?.extensions?.code !== 'UNAUTHENTICATED' || JSON.stringify(g.body).includes(mark)) forgedAnswers.push(`graphql: ${g.status} ${JSON.stringify(g.body).slice(0, 120)}`);
      tried++;
      const ws = subscriber(urls.gateway, `Bearer ${bearer}`);
      ws.subscribe('subscription($s: ID!) { variablesChanged(sessionId: $s, includeCurrent: true) { kind } }', { s: s1.sessionId });
      await sleep(700);
      if (ws.events.length > 0 || !ws.closes.some((c) => c.code === 4401)) forgedAnswers.push(`graphql-ws: events ${ws.events.length}, closes ${JSON.stringify(ws.closes)}`);
      await ws.client.dispose();
    }
    const proofOfOtherOrg = await start(widget.body.apiKey, { visitorToken: sB.visitorToken });
    tried++;
    if (proofOfOtherOrg.status !== 401) forgedAnswers.push(`startSession with B's visitor token as proof: ${proofOfOtherOrg.status}`);
    checks.check(forgedAnswers.length === 0, `forged, truncated and made-up visitor tokens (and a JWT as a key) refused 401 on identity, sessions, variables, GraphQL and graphql-ws (4401); another org's visitor token proves nobody`, forgedAnswers.slice(0, 8));

    // ── 2. Tenant isolation ─────────────────────────────────────────────────────────────────────────
    // What must never reach another caller: A's ids and values (searched in every answer, less what the request itself carried).
    const aAll = [A.orgId, brand.body.brandId, a.brand, hs.body.kid, rs.body.kid, spare.body.keyId, s1.sessionId, s2.sessionId, a.visitor, a.otherVisitor, a.value, a.username, a.externalId, webhook.body.webhookId, `${mark}-channel`, `${mark}-reader`, mark].filter(Boolean);
    const aSession1 = [s1.sessionId, a.visitor, a.value, a.username, a.externalId];
    const plausible: Record<string, string> = {
      orgId: A.orgId,
      sessionId: s1.sessionId,
      visitorId: a.visitor,
      kid: hs.body.kid,
      keyId: spare.body.keyId,
      channelId: a.channel,
      portal: a.brand,
      name: 'secretVar',
      webhookId: webhook.body.webhookId,
      replayId: replay?.body?.replayId ?? 'none',
      erasureId: erased.body?.erasureId ?? 'none',
    };
    const overrides: Record<string, unknown> = { sessionId: s1.sessionId, sessionIds: [s1.sessionId, s2.sessionId], visitorId: a.visitor, visitorIds: [a.visitor], token, brandId: brand.body.brandId, channelId: a.channel, kid: hs.body.kid };
    const callers = [
      { who: "B's API key", key: B.apiKey, forbidden: aAll },
      { who: "a visitor token of B's session", key: sB.visitorToken, forbidden: aAll },
      { who: "a visitor token of A's other session", key: s2.visitorToken, forbidden: aSession1 },
    ];
    const leaks: string[] = [];
    const fiveXx: string[] = [];
    const requests: { service: ServiceName; method: string; path: string; body?: string; caller: (typeof callers)[number] }[] = [];
    for (const op of loadOperations()) {
      if (op.path === '/graphql' || ['/healthz', '/readyz', '/metrics', '/sdk/widget.js'].includes(op.path)) continue;
      const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(plausible[name] ?? 'x'));
      const query = op.query.some((q) => q.name === 'key') ? '?key=secretVar' : op.query.some((q) => q.name === 'actorId') ? '?actorId=agent-1' : '';
      let body: string | undefined;
      if (op.body) {
        const base = validValue(op.body) as Record<string, unknown>;
        if (base && typeof base === 'object' && !Array.isArray(base)) for (const [k, v] of Object.entries(overrides)) if (k in base || (op.body.properties && k in op.body.properties)) base[k] = v;
        body = JSON.stringify(base);
      }
      for (const caller of callers) requests.push({ service: op.service, method: op.method, path: `${path}${query}`, ...(body === undefined ? {} : { body }), caller });
    }
    await pool(requests, 16, async (r) => {
      tried++;
      const answer = await sendRaw(`${urls[r.service]}${r.path}`, { method: r.method, authorization: `Bearer ${r.caller.key}`, ...(r.body === undefined ? {} : { body: r.body }) });
      // What the request carried, JWTs decoded (an answer may name the kid or claims of a token it was given).
      const sent = `${r.path} ${r.body ?? ''} ${decodedTokens(r.body ?? '')}`;
      const seen = r.caller.forbidden.filter((value) => !sent.includes(value) && answer.text.includes(value));
      if (seen.length) leaks.push(`${r.method} ${r.service}${r.path.slice(0, 80)} with ${r.caller.who}: ${answer.status} shows ${seen.join(', ')}: ${answer.text.slice(0, 200)}`);
      if (answer.status >= 500 || answer.status === 0) fiveXx.push(`${r.method} ${r.service}${r.path.slice(0, 80)} with ${r.caller.who}: ${answer.status} ${answer.text.slice(0, 160)}${answer.error ?? ''}`);
      else if (answer.status >= 400 && !errorShapeHolds(surfaceOf(r.path.replace(/\?.*$/, '')), answer)) fiveXx.push(`${r.method} ${r.service}${r.path.slice(0, 80)} with ${r.caller.who}: ${answer.status} without the error body: ${answer.text.slice(0, 160)}`);
    });
    log(`  tenant isolation: ${formatCount(requests.length)} REST requests on A's objects`);
    for (const leak of leaks) log(`  LEAK ${leak.slice(0, 400)}`);

    // GraphQL: every query and mutation on A's objects, and the subscriptions.
    const gqlOps: [string, Record<string, unknown>][] = [
      ['query($s: ID!) { session(id: $s) { sessionId orgId visitorId sessionStatus metadata { providedName authenticatedExternalId authenticatedStatus } variables { name value } visitor { displayName variables { name value } } } }', { s: s1.sessionId }],
      ['query($v: ID!) { visitor(id: $v) { visitorId displayName variables { name value } } }', { v: a.visitor }],
      ['query($s: ID!) { sessionVariables(sessionId: $s) { name value scope } }', { s: s1.sessionId }],
      ['query($s: ID!) { variableHistory(sessionId: $s, name: "secretVar") { name history { value } } }', { s: s1.sessionId }],
      ['mutation($s: ID!) { setSessionVariables(sessionId: $s, values: [{ name: "secretVar", value: "overwritten" }]) { name value } }', { s: s1.sessionId }],
      ['mutation($v: ID!) { submitVisitorVariables(visitorId: $v, data: { username: "Mallory" }, signing: plain, replaceExisting: true) { displayName variables { name value } } }', { v: a.visitor }],
      ['mutation($v: ID!, $t: String!) { submitVisitorVariables(visitorId: $v, signing: HS256, token: $t, replaceExisting: true) { displayName } }', { v: a.visitor, t: token }],
      ['mutation($s: ID!, $t: String!) { authenticate(sessionId: $s, token: $t) { authenticated externalId name claims } }', { s: s1.sessionId, t: token }],
      ['mutation($s: ID!) { endSession(sessionId: $s, reason: agent) { sessionStatus } }', { s: s1.sessionId }],
      ['mutation($s: ID!) { recordSessionEvent(sessionId: $s, type: ROUTED) { sessionStatus } }', { s: s1.sessionId }],
      ['mutation($s: ID!) { refreshVisitorToken(sessionId: $s) { visitorToken visitorId } }', { s: s1.sessionId }],
      ['mutation($v: ID!) { startSession(channelId: "web", visitorId: $v) { sessionId visitorId session { variables { name value } visitor { displayName variables { name value } } } } }', { v: a.visitor }],
      ['mutation($b: ID!) { startSession(channelId: "web", brandId: $b) { sessionId } }', { b: brand.body.brandId }],
    ];
    for (const caller of callers)
      for (const [query, variables] of gqlOps) {
        tried++;
        const answer = await gql(caller.key, query, variables);
        const text = JSON.stringify(answer.body);
        const sent = `${JSON.stringify(variables)} ${decodedTokens(JSON.stringify(variables))}`;
        const seen = caller.forbidden.filter((value) => !sent.includes(value) && !query.includes(value) && text.includes(value));
        if (seen.length) leaks.push(`graphql ${query.slice(0, 60)} with ${caller.who}: shows ${seen.join(', ')}: ${text.slice(0, 200)}`);
        if (answer.status >= 500) fiveXx.push(`graphql ${query.slice(0, 60)} with ${caller.who}: ${answer.status}`);
      }
    const sockets = callers.map((caller) => ({ caller, ws: subscriber(urls.gateway, `Bearer ${caller.key}`) }));
    for (const { ws } of sockets) {
      ws.subscribe('subscription($s: ID!) { sessionStatusChanged(sessionId: $s, includeCurrent: true) { sessionId orgId sessionStatus } }', { s: s1.sessionId });
      ws.subscribe('subscription($s: ID!) { variablesChanged(sessionId: $s, includeCurrent: true) { kind changes { name value } variables { name value } } }', { s: s1.sessionId });
      tried += 2;
    }
    await sleep(1000);
    // A changes s1 while they listen.
    const liveValue = `${mark}-live`;
    await call(`${urls.variables}/v1/sessions/${s1.sessionId}/variables`, { method: 'PUT', key: A.apiKey, body: { sessionVariableValues: [{ name: 'liveVar', value: liveValue }] } });
    await call(`${urls.sessions}/v1/sessions/${s1.sessionId}/events`, { method: 'POST', key: A.apiKey, body: { type: 'ROUTED' } });
    await sleep(2500);
    for (const { caller, ws } of sockets) {
      const text = JSON.stringify(ws.events);
      const seen = [...caller.forbidden, liveValue].filter((value) => value !== s1.sessionId && text.includes(value));
      if (seen.length || ws.events.some((e) => (e as { data?: unknown }).data)) leaks.push(`graphql-ws subscriptions on A's session with ${caller.who}: ${ws.events.length} events, shows ${seen.join(', ') || 'data'}: ${text.slice(0, 200)}`);
      await ws.client.dispose();
    }
    checks.check(fiveXx.length === 0, 'every cross-tenant request answered without a 5xx, every refusal with its error body', { count: fiveXx.length, sample: fiveXx.slice(0, 6) });
    checks.check(leaks.length === 0, `none of A's ids or values in any answer to ${callers.map((c) => c.who).join(', ')} (${formatCount(requests.length)} REST requests over every OpenAPI operation, ${gqlOps.length * callers.length} GraphQL operations, ${sockets.length * 2} subscriptions)`, { count: leaks.length, sample: leaks.slice(0, 6) });

    // The live changes were A's own: the comparison expects them (s1 ROUTED, liveVar added).
    const after = await snapshot();
    const expected = { ...before, session1: ['OPEN', ...(before.session1 as unknown[]).slice(1)] };
    const variablesAfter = (after.variables1 as unknown[][]).filter((v) => v[0] !== 'liveVar');
    const changed = Object.keys(before).filter((k) => JSON.stringify(k === 'variables1' ? variablesAfter : (after as Record<string, unknown>)[k]) !== JSON.stringify((expected as Record<string, unknown>)[k]));
    checks.check(changed.length === 0, "A's data unchanged by the other callers (sessions, variables, visitor, identity record, org, brands, signing keys, API keys, claim mapping, webhooks, channel, settings; read back with A's key)", Object.fromEntries(changed.map((k) => [k, { before: (expected as Record<string, unknown>)[k], after: (after as Record<string, unknown>)[k] }])));

    // ── 3. SSRF: webhook targets on private addresses refused by default ───────────────────────────
    const accepted: string[] = [];
    for (const target of SSRF_TARGETS) {
      tried++;
      const answer = await call(`${urls.sessions}/v1/webhooks`, { method: 'POST', key: A.apiKey, body: { url: target.url, events: ['IM_Session_Status'] } });
      if (answer.status < 400 || answer.status >= 500 || !Checks.hasErrorBody(answer)) accepted.push(`${target.what} (${target.url}): ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
      if (answer.status === 201) await call(`${urls.sessions}/v1/webhooks/${(answer.body as { webhookId: string }).webhookId}`, { method: 'DELETE', key: A.apiKey });
    }
    checks.check(accepted.length === 0, `${SSRF_TARGETS.length} webhook targets (loopback, private, link-local, metadata, IPv6 loopback/ULA/link-local, IPv4-mapped/NAT64/6to4, decimal/hex/octal, localhost, names resolving to 127.0.0.1, other schemes, credentials) refused with the error body`, accepted);
    const listed = await call<{ webhooks: { url: string }[] }>(`${urls.sessions}/v1/webhooks`, { key: A.apiKey });
    checks.check(listed.body.webhooks?.length === 1 && listed.body.webhooks[0]!.url === `http://1.1.1.1:9/${mark}`, 'only the public target is subscribed (the guard lets a public address through, so the refusals are its judgement)', listed.body.webhooks?.map((w) => w.url));
    await call(`${urls.sessions}/v1/webhooks/${webhook.body.webhookId}`, { method: 'DELETE', key: A.apiKey });

    // ── 4. No secret in any log line ───────────────────────────────────────────────────────────────
    await sleep(500);
    const inLogs = [...secrets].map((secret) => ({ secret, line: platform.output.find((line) => line.includes(secret)) })).filter((x) => x.line);
    checks.check(inLogs.length === 0 && platform.output.length > 0, `none of ${secrets.size} secrets (root token, API keys, HS256 and webhook secrets, JWTs and their signatures, visitor tokens) in ${formatCount(platform.output.length)} service log lines`, inLogs.slice(0, 3).map((x) => `${x.secret.slice(0, 6)}…: ${x.line!.slice(0, 200)}`));

    for (const service of SERVICES) {
      const child = platform.processes[service];
      checks.check(child.exitCode === null && child.signalCode === null, `${service} still running`, { exitCode: child.exitCode, signalCode: child.signalCode });
    }
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    return {
      load: `${negatives.length} negative JWTs at 6 entry points, ${forged.length} forged bearers on 5 surfaces, ${formatCount(requests.length + gqlOps.length * callers.length)} cross-tenant requests, ${SSRF_TARGETS.length} webhook targets`,
      faults: "hostile callers: forged tokens, another org's key, other sessions' visitor tokens, private webhook targets",
      badInputs: tried,
      lost: 0,
      doubleEffects: 0,
      checks: checks.held,
      failures: checks.failed,
      figures: { negativeTokens: negatives.length, crossTenantRequests: requests.length + gqlOps.length * callers.length + sockets.length * 2, ssrfTargets: SSRF_TARGETS.length, secretsSearched: secrets.size, logLines: platform.output.length, seconds },
    };
  },
};
