import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { eventually } from '@svp/testing';
import { SignJWT } from 'jose';
import { call, createOrg } from './slice.js';

type Urls = Record<ServiceName, string>;

/**
 * Widget keys and visitor tokens over the real HTTP API of every service: what a browser may do
 * (its own session and visitor, nothing else), in both modes.
 */
export async function checkVisitorTokens(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Widget Co');
  const other = await createOrg(urls.identity, rootToken, 'Other Widget Co');
  const widget = (await call(`${urls.identity}/v1/api-keys`, { method: 'POST', key: org.apiKey, body: { name: 'shop widget', scopes: ['widget'] } })).body.apiKey as string;
  const start = (key: string, body: Record<string, unknown> = {}) => call(`${urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', ...body } });

  // A widget key starts a session and gets its visitor token; it cannot name a visitor, nor read anything.
  const started = await start(widget, { sessionVariableValues: [{ name: 'page', value: '/cart' }] });
  expect(started.status).toBe(201);
  expect(started.body).toMatchObject({ sessionId: expect.any(String), visitorId: expect.any(String), sessionStatus: 'CREATED', visitorToken: expect.stringMatching(/^svpv_/) });
  expect(Date.parse(started.body.visitorTokenExpiresAt) - Date.now()).toBeGreaterThan(60_000);
  const { sessionId, visitorId, visitorToken } = started.body as { sessionId: string; visitorId: string; visitorToken: string };
  // A widget key may name one of its org's brands (identity lists them to any key of the org), never another org's.
  const brandOf = async (owner: { orgId: string; apiKey: string }, name: string) =>
    (await call(`${urls.identity}/v1/orgs/${owner.orgId}/brands`, { method: 'POST', key: owner.apiKey, body: { name } })).body.brandId as string;
  const [ownBrand, otherBrand] = [await brandOf(org, 'widget-shop'), await brandOf(other, 'other-shop')];
  const branded = await start(widget, { brandId: ownBrand });
  expect(branded.status).toBe(201);
  expect((await call(`${urls.sessions}/v1/sessions/${branded.body.sessionId}`, { key: org.apiKey })).body).toMatchObject({ brandId: ownBrand });
  const foreign = await start(widget, { brandId: otherBrand });
  expect([foreign.status, foreign.body.error?.code, foreign.body.error?.details]).toEqual([404, 'NOT_FOUND', { field: 'brandId', brandId: otherBrand }]);
  const named = await start(widget, { visitorId: 'someone-else' });
  expect([named.status, named.body.error.code]).toEqual([403, 'FORBIDDEN']);
  expect((await call(`${urls.variables}/v1/sessions/${sessionId}/variables`, { key: widget })).status).toBe(403);
  expect((await call(`${urls.sessions}/v1/sessions/${sessionId}`, { key: widget })).status).toBe(403);

  // The visitor token: its own session and visitor, read and write (as the widget).
  const v = (path: string) => `${urls.variables}${path}`;
  await eventually(async () => ((await call(v(`/v1/sessions/${sessionId}/variables`), { key: visitorToken })).body.variables?.some((x: { name: string }) => x.name === 'page') ? true : undefined), 'the initial variable');
  const put = await call(v(`/v1/sessions/${sessionId}/variables`), { method: 'PUT', key: visitorToken, body: { sessionVariableValues: [{ name: 'cart', value: 3 }] } });
  expect(put.status).toBe(200);
  expect(put.body.variables.find((x: { name: string }) => x.name === 'cart')).toMatchObject({ value: 3, source: 'widget', verified: false });
  const submitted = await call(v(`/v1/visitors/${visitorId}/variables`), { method: 'POST', key: visitorToken, body: { data: { username: 'Ann' }, signing: 'plain', replaceExisting: false } });
  expect([submitted.status, submitted.body.displayName, submitted.body.variables[0].source]).toEqual([200, 'Ann', 'widget']);
  expect((await call(v(`/v1/visitors/${visitorId}`), { key: visitorToken })).status).toBe(200);
  expect((await call(v(`/v1/sessions/${sessionId}/variables/cart/history`), { key: visitorToken })).status).toBe(200);
  expect((await call(`${urls.sessions}/v1/sessions/${sessionId}`, { key: visitorToken })).body).toMatchObject({ sessionId, visitorId, sessionStatus: 'CREATED' });
  expect((await call(`${urls.sessions}/v1/sessions/${sessionId}/reply-status`, { key: visitorToken })).status).toBe(200);

  // Another session of the same org, and everything that is not the visitor's own: 403, never data.
  const elsewhere = (await start(org.apiKey, { visitorId: `v-${randomUUID()}`, sessionVariableValues: [{ name: 'secret', value: 'not yours' }] })).body as { sessionId: string; visitorId: string };
  const denied: [string, string, unknown?][] = [
    ['GET', v(`/v1/sessions/${elsewhere.sessionId}/variables`)],
    ['PUT', v(`/v1/sessions/${elsewhere.sessionId}/variables`), { sessionVariableValues: [{ name: 'x', value: 1 }] }],
    ['GET', v(`/v1/sessions/${elsewhere.sessionId}/variables/secret/history`)],
    ['GET', v(`/v1/visitors/${elsewhere.visitorId}`)],
    ['POST', v(`/v1/visitors/${elsewhere.visitorId}/variables`), { data: { x: 1 }, signing: 'plain', replaceExisting: false }],
    ['GET', v(`/v1/visitors/${elsewhere.visitorId}/variables/x/history`)],
    ['DELETE', v(`/v1/visitors/${visitorId}`)],
    ['GET', v('/v1/variables/settings')],
    ['PUT', v('/v1/variables/settings'), { retentionDays: 1 }],
    ['POST', v('/internal/v1/variables/sessions/batch'), { sessionIds: [elsewhere.sessionId] }],
    ['GET', `${urls.sessions}/v1/sessions/${elsewhere.sessionId}`],
    ['GET', `${urls.sessions}/v1/sessions`],
    ['POST', `${urls.sessions}/v1/sessions/${elsewhere.sessionId}/events`, { type: 'END', reason: 'logout' }],
    ['POST', `${urls.sessions}/v1/sessions/${sessionId}/events`, { type: 'ASSIGNED', assigneeId: 'agent-1', assigneeType: 'AGENT' }],
    ['POST', `${urls.sessions}/v1/sessions/${elsewhere.sessionId}/visitor-token`],
    ['POST', `${urls.sessions}/v1/webhooks`, { url: 'http://127.0.0.1:1/x', events: ['IM_Session_Status'] }],
    ['GET', `${urls.identity}/v1/identity/sessions/${elsewhere.sessionId}`],
    ['POST', `${urls.identity}/v1/identity/verify`, { token: 'x.y.z', sessionId: elsewhere.sessionId }],
    ['GET', `${urls.identity}/v1/signing-keys`],
    ['GET', `${urls.identity}/v1/api-keys`],
  ];
  for (const [method, url, body] of denied) {
    const answer = await call(url, { method, key: visitorToken, ...(body === undefined ? {} : { body }) });
    expect({ method, url, status: answer.status, code: answer.body.error?.code }).toEqual({ method, url, status: 403, code: 'FORBIDDEN' });
    expect(JSON.stringify(answer.body)).not.toContain('not yours');
  }
  const salesIq = await call(`${urls.variables}/api/v2/any/visitorsessions/${sessionId}?key=cart`, { key: visitorToken });
  expect([salesIq.status, salesIq.body.error.code]).toEqual([403, 1103]);
  // Another org does not know the token's session at all.
  expect((await call(v(`/v1/sessions/${sessionId}/variables`), { key: other.apiKey })).body.variables.filter((x: { scope: string }) => x.scope === 'session')).toEqual([]);
  // A tampered token is no credential.
  const tampered = `${visitorToken.slice(0, -4)}AAAA`;
  expect((await call(v(`/v1/sessions/${sessionId}/variables`), { key: tampered })).status).toBe(401);

  // Signing in from the page: its own session only, as its visitor.
  const signingKey = (await call(`${urls.identity}/v1/signing-keys`, { method: 'POST', key: org.apiKey, body: { alg: 'HS256' } })).body as { kid: string; secret: string };
  const identityToken = await new SignJWT({ external_id: 'cust-1', name: 'Ann' })
    .setProtectedHeader({ alg: 'HS256', kid: signingKey.kid })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(signingKey.secret));
  const verified = await call(`${urls.identity}/v1/identity/verify`, { method: 'POST', key: visitorToken, body: { token: identityToken, sessionId } });
  expect([verified.status, verified.body.authenticated]).toEqual([200, true]);
  await eventually(
    async () => ((await call(v(`/v1/sessions/${sessionId}/variables`), { key: visitorToken })).body.variables.find((x: { name: string }) => x.name === 'authenticatedStatus')?.value === true ? true : undefined),
    'the page sign-in in the metadata',
  );
  expect((await call(`${urls.identity}/v1/identity/sessions/${sessionId}`, { key: visitorToken })).body).toMatchObject({ authenticated: true, externalId: 'cust-1' });

  // A fresh token for the live session; a returning visitor proves themselves with an earlier token.
  const refreshed = await call(`${urls.sessions}/v1/sessions/${sessionId}/visitor-token`, { method: 'POST', key: visitorToken });
  expect(refreshed.body).toMatchObject({ sessionId, visitorId, visitorToken: expect.stringMatching(/^svpv_/) });
  const again = await start(widget, { visitorToken });
  expect([again.status, again.body.visitorId]).toEqual([201, visitorId]);
  const foreignProof = await start(widget, { visitorToken: (await start(other.apiKey)).body.visitorToken });
  expect([foreignProof.status, foreignProof.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);

  // Logout: the visitor ends their session; its variables are discarded and its token is not renewed.
  const ended = await call(`${urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key: visitorToken, body: { type: 'END', reason: 'logout' } });
  expect([ended.status, ended.body.sessionStatus]).toEqual([200, 'ENDED']);
  await eventually(
    async () => ((await call(v(`/v1/sessions/${sessionId}/variables`), { key: refreshed.body.visitorToken })).body.variables.every((x: { scope: string }) => x.scope !== 'session') ? true : undefined),
    'the session variables discarded after logout',
  );
  const renewal = await call(`${urls.sessions}/v1/sessions/${sessionId}/visitor-token`, { method: 'POST', key: visitorToken });
  expect([renewal.status, renewal.body.error.code]).toEqual([409, 'CONFLICT']);
  // A token of a session the visitor logged out of proves nobody any more (the previous user stays gone);
  // one of a session that ended otherwise (closed, a timeout) still brings the visitor back.
  const afterLogout = await start(widget, { visitorToken: refreshed.body.visitorToken });
  expect([afterLogout.status, afterLogout.body.error?.code, afterLogout.body.error?.details?.reason]).toEqual([401, 'UNAUTHENTICATED', 'LOGGED_OUT']);
  const closed = await call(`${urls.sessions}/v1/sessions/${again.body.sessionId}/events`, { method: 'POST', key: again.body.visitorToken, body: { type: 'END', reason: 'closed' } });
  expect(closed.body.sessionStatus).toBe('ENDED');
  const back = await start(widget, { visitorToken: again.body.visitorToken });
  expect([back.status, back.body.visitorId]).toEqual([201, visitorId]);
  // A visitor ends their own session as a visitor does (logout, closing the chat), not as an agent.
  const asAgent = await call(`${urls.sessions}/v1/sessions/${back.body.sessionId}/events`, { method: 'POST', key: back.body.visitorToken, body: { type: 'END', reason: 'agent' } });
  expect([asAgent.status, asAgent.body.error.code]).toEqual([403, 'FORBIDDEN']);
  // A session the business blocked (BLOCK, or END with reason blocked) proves its visitor no more either.
  for (const block of [{ type: 'BLOCK' }, { type: 'END', reason: 'blocked' }]) {
    const session = (await start(widget, { visitorToken: back.body.visitorToken })).body as { sessionId: string; visitorToken: string };
    expect((await call(`${urls.sessions}/v1/sessions/${session.sessionId}/events`, { method: 'POST', key: org.apiKey, body: block })).status).toBe(200);
    const refused = await start(widget, { visitorToken: session.visitorToken });
    expect([refused.status, refused.body.error?.details?.reason]).toEqual([401, 'SESSION_BLOCKED']);
  }
}
