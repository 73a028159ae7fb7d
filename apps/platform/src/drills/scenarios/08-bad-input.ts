import { randomBytes, randomUUID } from 'node:crypto';
import { ConfigEnv, type ServiceName } from '@svp/contracts';
import { Checks, type Drill, formatCount, pool } from '../drill.js';
import { call } from '../http.js';
import {
  POLLUTION_MARKER,
  bodyVerdict,
  type RawAnswer,
  type RawCase,
  type Surface,
  errorShapeHolds,
  graphqlCases,
  loadOperations,
  mutateBody,
  pathValues,
  pollutedJson,
  queryValues,
  rawCases,
  seeded,
  sendOverSocket,
  sendRaw,
  surfaceOf,
  validValue,
} from './fuzz-support.js';

const SERVICES: ServiceName[] = ['identity', 'sessions', 'variables', 'gateway'];
/**
 * The services' body limit: BODY_LIMIT_BYTES as the services read it (the config schema of
 * @svp/contracts, its default when unset, as on the drills' platform), so the oversized cases stay over it.
 */
const BODY_LIMIT = ConfigEnv.shape.BODY_LIMIT_BYTES.parse(process.env.BODY_LIMIT_BYTES);

interface BadRequest {
  service: ServiceName;
  method: string;
  path: string;
  /** What is broken, for the report. */
  what: string;
  authorization?: string;
  body?: string | Uint8Array;
  contentType?: string;
  /** Malformed for certain: a 2xx to it is a failure (else it may be accepted: its validity depends on the product). */
  mustRefuse: boolean;
  /** Why it must be refused (or why it may be accepted). */
  why: string;
}

type Verdict = { refuse: boolean; why: string };
/** The first certain reason among several (a request is refused for certain when any part of it is broken for certain). */
const either = (...verdicts: (Verdict | undefined)[]): Verdict => verdicts.find((v) => v?.refuse) ?? verdicts.find((v) => v !== undefined) ?? { refuse: false, why: 'well-formed' };

/** A GraphQL answer that refused: a 4xx, or a 2xx whose `errors` is not empty (every element of a batch). */
function graphqlAccepted(body: unknown): boolean {
  const one = (b: unknown) => !(b !== null && typeof b === 'object' && Array.isArray((b as { errors?: unknown }).errors) && (b as { errors: unknown[] }).errors.length > 0);
  return Array.isArray(body) ? body.some(one) : one(body);
}

/** Flips a few bytes of a body (often into invalid UTF-8 or invalid JSON): plain fuzzing. */
function flipBytes(text: string, random: () => number): Uint8Array {
  const buffer = Buffer.from(text, 'utf8');
  const flips = 1 + Math.floor(random() * 3);
  for (let i = 0; i < flips && buffer.length; i++) buffer[Math.floor(random() * buffer.length)] = Math.floor(random() * 256);
  return buffer;
}

/**
 * Drill 8. Bad input, generated: every operation of the checked-in OpenAPI documents (docs/openapi,
 * generated from the zod contracts) with path parameters plausible and not, documented query
 * parameters broken, bodies made from the request schemas and then broken (wrong types, missing
 * required, extra keys, huge strings, numbers out of range, nulls), raw bytes, invalid UTF-8, deep and
 * wide JSON, prototype-pollution keys, oversized bodies and wrong content types; GraphQL with
 * malformed, huge and deep queries, wrong variable types and batches; each with the org's API key (so
 * validation is reached), and a share without a key or with a garbage one. Each request is tagged: it must
 * be refused (malformed for certain: not JSON, invalid UTF-8, over the body limit, a schema rule broken
 * for certain, a wrong content type, pollution keys, no or a garbage key) or it may be accepted (its
 * validity depends on the product: extra keys, plausible ids, flips that stay valid). The generator runs
 * until the must-refuse ones reach the target. Checks: no 5xx, no transport failure, no 2xx to a
 * must-refuse request, every 4xx with its surface's error body, no service died, /healthz answers, and no
 * polluted property in any later answer.
 */
export const badInputDrill: Drill = {
  id: 8,
  name: 'bad-input',
  title: 'at least 10,000 generated malformed requests across every endpoint and GraphQL: no 5xx, no crash, every answer has the error body',
  async run({ platform, pick, log }) {
    const checks = new Checks();
    const started = Date.now();
    const target = pick({ ci: 10_000, full: 25_000 });
    const deep = pick({ ci: 5_000, full: 20_000 });
    const random = seeded(8);
    const urls = platform.urls as Record<ServiceName, string>;

    // The org the requests run as (quota lifted by the operator, so validation is reached, not the rate limit).
    const org = await platform.newOrg('Drill 8 bad input');
    const key = org.apiKey;
    const quota = await call(`${urls.identity}/v1/orgs/${org.orgId}/quota`, { method: 'PUT', key: platform.rootToken, body: { requestsPerMinute: 10_000_000 } });
    checks.check(quota.status === 200, 'the fuzz org\'s quota lifted by the root token', quota.status);
    const throwaway = await platform.newOrg('Drill 8 quota target');
    const visitorId = `drill8-v-${randomUUID()}`;
    const session = await call<{ sessionId: string }>(`${urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', visitorId, sessionVariableValues: [{ name: 'drill8', value: 'kept' }] } });
    checks.check(session.status === 201, 'a session to aim at', session.status);
    const sessionId = session.body.sessionId;
    // A bystander: a session of the same org that no request aims at (its variable must stay as written).
    const bystander = await call<{ sessionId: string }>(`${urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', sessionVariableValues: [{ name: 'bystander', value: 'kept' }] } });
    const brand = await call<{ brandId: string; name: string }>(`${urls.identity}/v1/orgs/${org.orgId}/brands`, { method: 'POST', key, body: { name: `drill8-${randomBytes(3).toString('hex')}` } });
    const signing = await call<{ kid: string }>(`${urls.identity}/v1/signing-keys`, { method: 'POST', key, body: { alg: 'HS256' } });
    const channel = await call(`${urls.sessions}/v1/channels`, { method: 'POST', key, body: { channelId: 'drill8', name: 'Drill 8' } });
    const apiKey = await call<{ keyId: string }>(`${urls.identity}/v1/api-keys`, { method: 'POST', key, body: { name: 'drill8 spare', scopes: ['variables:read'] } });
    await call(`${urls.variables}/v1/visitors/${visitorId}/variables`, { method: 'POST', key, body: { data: { tier: 'gold' }, signing: 'plain', replaceExisting: false } });
    checks.check([brand.status, signing.status, channel.status, apiKey.status].every((s) => s === 201), 'a brand, a signing key, a channel and an API key to aim at', [brand.status, signing.status, channel.status, apiKey.status]);

    /** Real ids by parameter name (used for reads and writes; destructive operations get only unknown ones). */
    const plausible: Record<string, string[]> = {
      orgId: [org.orgId],
      sessionId: [sessionId],
      visitorId: [visitorId],
      kid: [signing.body.kid],
      keyId: [apiKey.body.keyId],
      channelId: ['drill8'],
      portal: [brand.body.name],
      name: ['drill8'],
      webhookId: [`wh_${randomBytes(8).toString('hex')}`],
      replayId: [`rp_${randomBytes(8).toString('hex')}`],
      erasureId: [`er_${randomBytes(8).toString('hex')}`],
    };
    const garbageKeys = ['', 'Bearer', 'Bearer ', `Bearer svp_${randomBytes(24).toString('base64url')}`, `Bearer svpv_${randomBytes(40).toString('base64url')}`, `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${'k'.repeat(6000)}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', `Bearer ${key} extra`, `bearer  ${key.slice(0, -2)}`];

    const operations = loadOperations();
    const requests: BadRequest[] = [];
    let mustRefuse = 0;
    const add = (request: Omit<BadRequest, 'mustRefuse' | 'why'>, verdict: Verdict) => {
      requests.push({ ...request, mustRefuse: verdict.refuse, why: verdict.why });
      if (verdict.refuse) mustRefuse++;
    };
    const NO_KEY: Verdict = { refuse: true, why: 'no or a garbage credential' };
    const ORG_KEY_ON_ROOT: Verdict = { refuse: true, why: 'the org key on a root-token operation' };
    /** Path values that cannot be decoded (the router refuses the URL). */
    const undecodable = new Set(['bad percent-encoding', 'encoded invalid UTF-8']);
    const bodyOps: { op: (typeof operations)[number]; path: string; base: unknown; mutations: { what: string; body: unknown }[] }[] = [];
    for (const op of operations) {
      if (op.path === '/graphql') continue; // GraphQL below
      const destructive = op.method === 'DELETE' || op.path.endsWith('/rotate') || op.path.endsWith('/rebuild');
      const authOf = (kind: 'org' | 'root') => `Bearer ${kind === 'root' ? platform.rootToken : key}`;
      // The root-only operations are tried with the org key (refused) and, where harmless, with the root token (validated).
      const keyKinds: ('org' | 'root')[] = op.root ? (destructive ? ['org'] : ['org', 'root']) : ['org'];
      const fill = (values: Record<string, string>) => op.path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'x');
      const defaults = Object.fromEntries(op.pathParams.map((p) => [p, encodeURIComponent(destructive ? `drill8-${randomBytes(4).toString('hex')}` : p === 'orgId' && op.path.endsWith('/quota') ? throwaway.orgId : (plausible[p]?.[0] ?? 'x'))]));
      const realPath = fill(defaults);
      const base = op.body ? validValue(op.body) : undefined;
      const baseBody = base === undefined ? undefined : JSON.stringify(base).replace(/https:\/\/example\.com\/drill8/g, 'https://drill8.invalid/hook');
      const verdictOf = (init: Partial<BadRequest>) => bodyVerdict(op.body, init.body, init.contentType, BODY_LIMIT);
      const push = (what: string, path: string, init: Partial<BadRequest> = {}, kinds = keyKinds, extra?: Verdict) => {
        const body = op.method === 'GET' ? undefined : verdictOf(init);
        for (const kind of kinds) add({ service: op.service, method: op.method, path, what: `${what}${kind === 'root' ? ' (root token)' : ''}`, authorization: authOf(kind), ...init }, either(op.root && kind === 'org' ? ORG_KEY_ON_ROOT : undefined, extra, body));
      };
      // Path parameters, plausible and implausible.
      for (const param of op.pathParams)
        for (const { what, value } of pathValues(destructive || (op.path.endsWith('/quota')) ? [] : (plausible[param] ?? [])))
          push(`${param} ${what}`, fill({ ...defaults, [param]: value }), baseBody === undefined ? {} : { body: baseBody }, keyKinds, { refuse: undecodable.has(what), why: undecodable.has(what) ? 'a path that cannot be decoded' : `path ${param} ${what}` });
      // Query parameters.
      for (const { what, value } of queryValues(op.query)) push(`query ${what}`, `${realPath}?${value}`, baseBody === undefined ? {} : { body: baseBody }, keyKinds, { refuse: false, why: `query ${what}` });
      // No key, garbage keys.
      for (const authorization of garbageKeys) add({ service: op.service, method: op.method, path: realPath, what: `authorization ${JSON.stringify(authorization.slice(0, 24))}`, ...(authorization ? { authorization } : {}), ...(baseBody === undefined ? {} : { body: baseBody }) }, op.open ? { refuse: false, why: 'a credential on an open operation' } : NO_KEY);
      if (op.body) {
        const mutations = mutateBody(op.body);
        bodyOps.push({ op, path: realPath, base, mutations });
        for (const { what, body } of mutations) push(`body ${what}`, realPath, { body: JSON.stringify(body) ?? 'null' });
        for (const raw of rawCases(base, BODY_LIMIT, random, { oversized: true, deep })) push(`raw ${raw.what}`, realPath, { ...(raw.body === undefined ? {} : { body: raw.body }), ...(raw.contentType === undefined ? {} : { contentType: raw.contentType }) });
        // Pollution keys nested in every object of the body.
        for (const [name, value] of Object.entries((base ?? {}) as Record<string, unknown>)) if (value !== null && typeof value === 'object' && !Array.isArray(value)) push(`proto keys in ${name}`, realPath, { body: pollutedJson(base, [name]) });
        // The same broken bodies without a key: refused before validation, with the error body.
        for (const { what, body } of mutations.slice(0, 20)) add({ service: op.service, method: op.method, path: realPath, what: `body ${what} (no key)`, body: JSON.stringify(body) ?? 'null' }, NO_KEY);
      } else if (op.method !== 'GET') {
        // A body where none is expected.
        for (const raw of rawCases({}, BODY_LIMIT, random, { oversized: false, deep: 1000 }).slice(0, 12)) push(`unexpected body: ${raw.what}`, realPath, { ...(raw.body === undefined ? {} : { body: raw.body }), ...(raw.contentType === undefined ? {} : { contentType: raw.contentType }) });
      }
    }

    // GraphQL: every malformed case with the org key, without one and with a garbage one.
    const gqlCases: RawCase[] = graphqlCases({ sessionId, visitorId }, { deep });
    for (const c of gqlCases)
      for (const authorization of [`Bearer ${key}`, undefined, garbageKeys[3]])
        add(
          { service: 'gateway', method: 'POST', path: '/graphql', what: `graphql ${c.what}${authorization === undefined ? ' (no key)' : authorization === garbageKeys[3] ? ' (garbage key)' : ''}`, ...(authorization ? { authorization } : {}), ...(c.body === undefined ? {} : { body: c.body }), ...(c.contentType === undefined ? {} : { contentType: c.contentType }) },
          either(authorization === garbageKeys[3] ? NO_KEY : undefined, bodyVerdict(undefined, c.body, c.contentType, BODY_LIMIT), { refuse: c.refuse === true, why: c.refuse ? 'refused by the GraphQL rules or the gateway\'s limits' : 'well-formed GraphQL' }),
        );
    const generated = requests.length;
    const generatedMust = mustRefuse;

    // Up to the target of must-refuse requests: random bodies of every operation with a few bytes flipped, random mutations, broken queries.
    const gqlBase = JSON.stringify({ query: 'mutation($s: ID!, $v: [NameValueInput!]!) { setSessionVariables(sessionId: $s, values: $v) { name value } }', variables: { s: sessionId, v: [{ name: 'fuzz', value: 'x' }] } });
    while (mustRefuse < target && requests.length < target * 3) {
      const roll = random();
      if (roll < 0.2) {
        const body = flipBytes(gqlBase, random);
        add({ service: 'gateway', method: 'POST', path: '/graphql', what: 'graphql flipped bytes', authorization: `Bearer ${key}`, body }, bodyVerdict(undefined, body, undefined, BODY_LIMIT));
        continue;
      }
      const { op, path, base, mutations } = bodyOps[Math.floor(random() * bodyOps.length)]!;
      const orgKeyOnRoot = op.root && op.path.startsWith('/admin/');
      const auth = op.root && !orgKeyOnRoot ? `Bearer ${platform.rootToken}` : `Bearer ${key}`;
      if (roll < 0.6) {
        const body = flipBytes(JSON.stringify(base ?? {}).replace(/https:\/\/example\.com\/drill8/g, 'https://drill8.invalid/hook'), random);
        add({ service: op.service, method: op.method, path, what: 'flipped bytes', authorization: auth, body }, either(orgKeyOnRoot ? ORG_KEY_ON_ROOT : undefined, bodyVerdict(op.body, body, undefined, BODY_LIMIT)));
      } else {
        // Two mutations merged: a body broken in more than one place.
        const a = mutations[Math.floor(random() * mutations.length)]!;
        const b = mutations[Math.floor(random() * mutations.length)]!;
        const merged = a.body !== null && typeof a.body === 'object' && b.body !== null && typeof b.body === 'object' && !Array.isArray(a.body) && !Array.isArray(b.body) ? { ...b.body, ...a.body } : a.body;
        const body = JSON.stringify(merged) ?? 'null';
        add({ service: op.service, method: op.method, path, what: `mutations ${a.what} + ${b.what}`, authorization: auth, body }, either(orgKeyOnRoot ? ORG_KEY_ON_ROOT : undefined, bodyVerdict(op.body, body, undefined, BODY_LIMIT)));
      }
    }
    const mayAccept = requests.length - mustRefuse;
    log(`  ${formatCount(requests.length)} requests: ${formatCount(mustRefuse)} malformed for certain (must be refused), ${formatCount(mayAccept)} of uncertain validity (may be accepted); ${formatCount(generated)} generated case by case (${formatCount(generatedMust)} must be refused), the rest random; ${operations.length} operations; body limit ${formatCount(BODY_LIMIT)} bytes`);

    // Send them, 32 at a time, in a shuffled order (so no service sees one kind only).
    const order = requests.map((_, i) => i).sort(() => random() - 0.5);
    const fiveXx: string[] = [];
    const transport: string[] = [];
    const badShape: string[] = [];
    const statuses = new Map<number, number>();
    const mustStatuses = new Map<number, number>();
    const mayStatuses = new Map<number, number>();
    /** Must-refuse requests that were accepted (2xx, or a GraphQL 2xx without errors). */
    const accepted: string[] = [];
    const acceptedWhy = new Map<string, number>();
    let mayAccepted = 0;
    const sendStarted = Date.now();
    await pool(order, 32, async (index) => {
      const r = requests[index]!;
      const init = { method: r.method, ...(r.authorization === undefined ? {} : { authorization: r.authorization }), ...(r.contentType === undefined ? {} : { contentType: r.contentType }) };
      const url = `${urls[r.service]}${r.path}`;
      const answer: RawAnswer = r.body !== undefined && r.body.length > BODY_LIMIT ? await sendOverSocket(url, { ...init, body: r.body }) : await sendRaw(url, { ...init, ...(r.body === undefined ? {} : { body: r.body }) });
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const byClass = r.mustRefuse ? mustStatuses : mayStatuses;
      byClass.set(answer.status, (byClass.get(answer.status) ?? 0) + 1);
      const label = `${r.method} ${r.service}${r.path.slice(0, 80)} [${r.what}]`;
      if (answer.status === 0) transport.push(`${label}: ${answer.error}`);
      else if (answer.status >= 500) fiveXx.push(`${label}: ${answer.status} ${answer.text.slice(0, 200)}`);
      else {
        const surface: Surface = surfaceOf(r.path.replace(/\?.*$/, ''));
        if (answer.status >= 400 && !errorShapeHolds(surface, answer)) badShape.push(`${label}: ${answer.status} ${answer.text.slice(0, 160)}`);
        else if (surface === 'graphql' && answer.status === 200 && (answer.body as { errors?: unknown })?.errors !== undefined && !errorShapeHolds(surface, answer)) badShape.push(`${label}: 200 ${answer.text.slice(0, 160)}`);
        // The key introspection judges its bearer: `{ active: false }` is its refusal (RFC 7662's shape).
        const introspectionRefused = r.path.startsWith('/internal/v1/api-keys/introspect') && (answer.body as { active?: unknown } | undefined)?.active === false;
        const wasAccepted = answer.status >= 200 && answer.status < 300 && (surface !== 'graphql' || graphqlAccepted(answer.body)) && !introspectionRefused;
        if (wasAccepted && r.mustRefuse) {
          accepted.push(`${label} (${r.why}): ${answer.status} ${answer.text.slice(0, 160)}`);
          acceptedWhy.set(r.why, (acceptedWhy.get(r.why) ?? 0) + 1);
        } else if (wasAccepted) mayAccepted++;
      }
    });
    const sendSeconds = (Date.now() - sendStarted) / 1000;
    const tally = (map: Map<number, number>) => [...map.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    log(`  sent in ${sendSeconds.toFixed(1)} s: must be refused ${tally(mustStatuses)}; may be accepted ${tally(mayStatuses)}`);
    if (accepted.length) log(`  accepted although malformed for certain: ${[...acceptedWhy.entries()].map(([why, n]) => `${why} ×${n}`).join('; ')}\n    ${accepted.map((line) => line.slice(0, 240)).join('\n    ')}`);

    checks.check(fiveXx.length === 0, `no 5xx among ${formatCount(requests.length)} bad requests`, { count: fiveXx.length, sample: fiveXx.slice(0, 8) });
    checks.check(transport.length === 0, 'every malformed request got an HTTP answer (no reset, no timeout)', { count: transport.length, sample: transport.slice(0, 8) });
    checks.check(accepted.length === 0 && mustRefuse >= target, `no 2xx among ${formatCount(mustRefuse)} requests malformed for certain (at least ${formatCount(target)}: not JSON, invalid UTF-8, over the body limit, too deep, wrong types, missing fields, wrong content types, pollution keys, no key)`, { count: accepted.length, byReason: Object.fromEntries(acceptedWhy), sample: [...acceptedWhy.keys()].flatMap((why) => accepted.filter((line) => line.includes(`(${why})`)).slice(0, 4)) });
    checks.check(badShape.length === 0, 'every 4xx carries its surface\'s error body (rest: code UPPER_SNAKE + message; /api/v2: numeric code + message; GraphQL: errors[] with extensions.code)', { count: badShape.length, sample: badShape.slice(0, 8) });

    // No service died; each still answers /healthz.
    for (const service of SERVICES) {
      const child = platform.processes[service];
      checks.check(child.exitCode === null && child.signalCode === null, `${service} still running (no crash)`, { exitCode: child.exitCode, signalCode: child.signalCode });
      const health = await call(`${urls[service]}/healthz`).catch(() => ({ status: 0 }));
      checks.check(health.status === 200, `${service} /healthz answers 200 after the bad input`, health.status);
    }

    // Prototype pollution had no effect: fresh reads carry no polluted property, and the polluted names grant nothing.
    const fresh = await call<{ sessionId: string; visitorId: string }>(`${urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', visitorId: `drill8-fresh-${randomUUID()}` } });
    const reads = [
      `${urls.sessions}/v1/sessions/${sessionId}`,
      `${urls.sessions}/v1/sessions/${fresh.body.sessionId}`,
      `${urls.variables}/v1/sessions/${sessionId}/variables`,
      `${urls.variables}/v1/sessions/${fresh.body.sessionId}/variables`,
      `${urls.variables}/v1/visitors/${visitorId}`,
      `${urls.variables}/v1/visitors/${fresh.body.visitorId}`,
      `${urls.variables}/v1/variables/settings`,
      `${urls.identity}/v1/orgs/${org.orgId}`,
      `${urls.identity}/v1/identity/claim-mapping`,
      `${urls.identity}/v1/api-keys`,
      `${urls.identity}/v1/signing-keys`,
      `${urls.sessions}/v1/session-settings`,
      `${urls.sessions}/v1/channels/drill8`,
      `${urls.variables}/api/v2/${brand.body.name}/visitorsessions/${sessionId}?key=drill8`,
    ];
    const polluted: string[] = [];
    for (const url of reads) {
      const answer = await call(url, { key });
      const text = JSON.stringify(answer.body);
      if (text.includes(POLLUTION_MARKER) || /"isAdmin"/.test(text)) polluted.push(`${url}: ${text.slice(0, 200)}`);
    }
    const gqlRead = await call(`${urls.gateway}/graphql`, { method: 'POST', key, body: { query: 'query($s: ID!, $v: ID!) { session(id: $s) { sessionId sessionStatus variables { name value } metadata { authenticatedStatus } } visitor(id: $v) { displayName variables { name value } } }', variables: { s: fresh.body.sessionId, v: visitorId } } });
    if (JSON.stringify(gqlRead.body).includes(POLLUTION_MARKER)) polluted.push(`graphql: ${JSON.stringify(gqlRead.body).slice(0, 200)}`);
    checks.check(polluted.length === 0 && reads.length > 0, `no polluted property in ${reads.length + 1} later reads (sessions, variables, visitors, org, keys, settings, SalesIQ, GraphQL)`, polluted.slice(0, 5));
    const kept = await call<{ variables: { name: string; value: unknown; version: number }[] }>(`${urls.variables}/v1/sessions/${bystander.body.sessionId}/variables`, { key });
    checks.check(kept.body.variables?.some((v) => v.name === 'bystander' && v.value === 'kept' && v.version === 1) === true, 'a bystander session of the same org still holds its variable as written (version 1)', kept.body);
    // The polluted names (isAdmin, scopes) grant nothing: the org key is still no root, a garbage key still no key.
    for (const service of SERVICES) {
      const admin = await call(`${urls[service]}/admin/v1/consumers`, { key });
      checks.check(admin.status === 403 || admin.status === 401, `${service}: the org key is still refused on the admin API`, admin.status);
      const nobody = await call(`${urls[service]}/v1/usage`, { key: `svp_${randomBytes(24).toString('base64url')}` });
      checks.check(nobody.status === 401, `${service}: a garbage key is still refused`, nobody.status);
    }

    const seconds = Math.round((Date.now() - started) / 100) / 10;
    return {
      load: `${formatCount(requests.length)} bad requests (${formatCount(mustRefuse)} malformed for certain, ${formatCount(mayAccept)} of uncertain validity) over ${operations.length} OpenAPI operations and POST /graphql, 32 at a time, in ${sendSeconds.toFixed(1)} s`,
      faults: 'bad input only (schema mutations, raw and invalid UTF-8 bytes, deep/wide/oversized JSON, __proto__ keys, wrong content types, bad keys)',
      badInputs: mustRefuse,
      lost: 0,
      doubleEffects: 0,
      checks: checks.held,
      failures: checks.failed,
      figures: {
        requests: requests.length,
        mustRefuse,
        mayAccept,
        mayAcceptAnswered2xx: mayAccepted,
        mustRefuseAnswered2xx: accepted.length,
        mustRefuseStatuses: tally(mustStatuses),
        mayAcceptStatuses: tally(mayStatuses),
        generatedCaseByCase: generated,
        generatedCaseByCaseMustRefuse: generatedMust,
        bodyLimitBytes: BODY_LIMIT,
        operations: operations.length,
        '5xx': fiveXx.length,
        transportFailures: transport.length,
        badErrorBodies: badShape.length,
        sendSeconds: Math.round(sendSeconds * 10) / 10,
        requestsPerSecond: Math.round(requests.length / sendSeconds),
        seconds,
      },
    };
  },
};
