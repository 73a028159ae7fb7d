import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { eventually } from '@svp/testing';
import { call, createOrg } from './slice.js';

/**
 * The slice's assertions, shared by the embedded and the distributed test so both modes are held to
 * exactly the same behaviour.
 */
export async function checkSlice(urls: Record<ServiceName, string>, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Acme');
  const other = await createOrg(urls.identity, rootToken, 'Other');
  const sessionId = `s-${randomUUID()}`;
  const variablesUrl = `${urls.variables}/v1/sessions/${sessionId}/variables`;

  // Write: types are kept ("6320834868293" stays a string, 42 a number).
  const put = await call(variablesUrl, {
    method: 'PUT',
    key: org.apiKey,
    body: { sessionVariableValues: [{ name: 'UserName', value: 'John' }, { name: 'id', value: '6320834868293' }, { name: 'cart', value: 42 }] },
  });
  expect(put.status).toBe(200);
  const byName = (vars: { name: string }[]) => Object.fromEntries(vars.map((v) => [v.name, v]));
  expect(byName(put.body.variables)).toMatchObject({
    UserName: { value: 'John', scope: 'session', source: 'api', verified: false, version: 1 },
    id: { value: '6320834868293', version: 1 },
    cart: { value: 42, version: 1 },
  });

  // Read-your-writes: the GET right after the PUT sees it, from the projection.
  const merged = await call(variablesUrl, { method: 'PUT', key: org.apiKey, body: { sessionVariableValues: [{ name: 'cart', value: 43.5 }] } });
  expect(merged.status).toBe(200);
  const get = await call(variablesUrl, { key: org.apiKey });
  expect(get.status).toBe(200);
  expect(sessionScope(get.body.variables).map((v: { name: string; value: unknown; version: number }) => [v.name, v.value, v.version])).toEqual([
    ['cart', 43.5, 2],
    ['id', '6320834868293', 1],
    ['UserName', 'John', 1],
  ]);
  for (const v of sessionScope(get.body.variables)) expect(Number.isNaN(Date.parse(v.updatedAt))).toBe(false);
  // The metadata scope is always there: never authenticated, so authenticatedStatus is false (never empty).
  expect(get.body.variables.filter((v: { scope: string }) => v.scope === 'metadata').map((v: { name: string; value: unknown; version: number }) => [v.name, v.value, v.version])).toEqual([
    ['providedName', null, 0],
    ['providedEmail', null, 0],
    ['authenticatedExternalId', null, 0],
    ['authenticatedStatus', false, 0],
  ]);

  // Tenant isolation: session ids are per org. Another org sees nothing of this session, and its own
  // session with the same id is a different one: neither write shows in the other's reads.
  expect(sessionScope((await call(variablesUrl, { key: other.apiKey })).body.variables)).toEqual([]);
  const foreign = await call(variablesUrl, { method: 'PUT', key: other.apiKey, body: { sessionVariableValues: [{ name: 'UserName', value: 'Mallory' }] } });
  expect(foreign.status).toBe(200);
  expect(sessionScope(foreign.body.variables).map((v: { name: string; value: unknown }) => [v.name, v.value])).toEqual([['UserName', 'Mallory']]);
  const mine = await call(variablesUrl, { key: org.apiKey });
  expect(mine.body.variables.find((v: { name: string }) => v.name === 'UserName').value).toBe('John');

  // The integration event reaches a consumer in another service (sessions) over the bus.
  const activity = await eventually(async () => {
    const answer = await call(`${urls.sessions}/internal/v1/sessions/${sessionId}/variable-activity`, { key: org.apiKey });
    return answer.status === 200 && answer.body.changesTotal === 2 ? answer.body : undefined;
  }, 'the sessions service to receive both SessionVariablesChanged events');
  expect(activity).toMatchObject({ orgId: org.orgId, sessionId, changesTotal: 2, variableNames: ['UserName', 'cart', 'id'], discarded: false });
  const otherActivity = await eventually(async () => {
    const answer = await call(`${urls.sessions}/internal/v1/sessions/${sessionId}/variable-activity`, { key: other.apiKey });
    return answer.status === 200 ? answer.body : undefined;
  }, "the other org's variable activity");
  expect(otherActivity).toMatchObject({ orgId: other.orgId, changesTotal: 1, variableNames: ['UserName'] });

  // Bad input gets a 4xx with the error body, never a 500.
  const noKey = await call(variablesUrl);
  expect([noKey.status, noKey.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
  const badKey = await call(variablesUrl, { key: 'svp_not-a-key' });
  expect([badKey.status, badKey.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
  const longKey = await call(variablesUrl, { key: `svp_${'a'.repeat(600)}` });
  expect([longKey.status, longKey.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
  const anonymousIntrospection = await call(`${urls.identity}/internal/v1/api-keys/introspect`, { method: 'POST' });
  expect([anonymousIntrospection.status, anonymousIntrospection.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
  const badBody = await call(variablesUrl, { method: 'PUT', key: org.apiKey, body: { sessionVariableValues: [{ name: '1bad', value: { nested: true } }] } });
  expect(badBody.status).toBe(400);
  expect(badBody.body.error.code).toBe('VALIDATION_FAILED');
  expect(badBody.body.error.details.issues.length).toBeGreaterThan(0);
  const badJson = await call(variablesUrl, { method: 'PUT', key: org.apiKey, rawBody: '{"sessionVariableValues": [' });
  expect([badJson.status, badJson.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  const proto = await call(variablesUrl, { method: 'PUT', key: org.apiKey, body: { sessionVariableValues: [{ name: '__proto__', value: 1 }] } });
  expect([proto.status, proto.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  const readOnly = await call(variablesUrl, { method: 'PUT', key: org.apiKey, body: { sessionVariableValues: [{ name: 'authenticatedStatus', value: true }] } });
  expect([readOnly.status, readOnly.body.error.code]).toEqual([403, 'FORBIDDEN']);
  const tooLarge = await call(variablesUrl, { method: 'PUT', key: org.apiKey, body: { sessionVariableValues: [{ name: 'a', value: 'x'.repeat(300_000) }] } });
  expect([tooLarge.status, tooLarge.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  const badUrl = await call(`${urls.variables}/v1/sessions/x%FF/variables`, { key: org.apiKey });
  expect([badUrl.status, badUrl.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  const unknownRoute = await call(`${urls.variables}/v1/nothing-here`, { key: org.apiKey });
  expect([unknownRoute.status, unknownRoute.body.error.code]).toEqual([404, 'NOT_FOUND']);
  // The root token is checked before the body: an anonymous caller learns nothing of the schema.
  const noRoot = await call(`${urls.identity}/v1/orgs`, { method: 'POST', body: { nonsense: true } });
  expect([noRoot.status, noRoot.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
  const wrongRoot = await call(`${urls.identity}/v1/orgs`, { method: 'POST', key: org.apiKey, body: { name: 'x' } });
  expect([wrongRoot.status, wrongRoot.body.error.code]).toEqual([403, 'FORBIDDEN']);
}

/** The session-scope entries of a variables answer (the metadata scope is always there too). */
export const sessionScope = <V extends { scope: string }>(variables: V[]): V[] => variables.filter((v) => v.scope === 'session');

/** Every service serves /healthz, /readyz, /metrics (Prometheus text) and /docs (OpenAPI UI and JSON). */
export async function checkOperability(urls: Record<ServiceName, string>): Promise<void> {
  for (const [name, url] of Object.entries(urls)) {
    expect((await call(`${url}/healthz`)).body).toEqual({ status: 'ok', service: name });
    const ready = await eventually(async () => {
      const answer = await call(`${url}/readyz`);
      return answer.status === 200 ? answer.body : undefined;
    }, `${name} to be ready`);
    expect(ready).toMatchObject({ status: 'ready', service: name, checks: { database: { ok: true }, 'event-store': { ok: true }, bus: { ok: true } } });
    const metrics = await call<string>(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.body).toContain('svp_http_requests_total');
    expect(metrics.body).toContain(`service="${name}"`);
    const ui = await call<string>(`${url}/docs`);
    expect(ui.status).toBe(200);
    const doc = await call(`${url}/docs/json`);
    expect(doc.body.openapi).toBe('3.1.0');
  }
  const variablesDoc = await call(`${urls.variables}/docs/json`);
  expect(Object.keys(variablesDoc.body.paths)).toContain('/v1/sessions/{sessionId}/variables');
  expect(Object.keys(variablesDoc.body.paths['/v1/sessions/{sessionId}/variables'])).toEqual(expect.arrayContaining(['put', 'get']));
}
