import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { verifyWebhook } from '@svp/sessions-service';
import { eventually } from '@svp/testing';
import { call, createOrg } from './slice.js';
import { startWebhookReceiver } from '../drills/webhook-receiver.js';

type Urls = Record<ServiceName, string>;
const sessionScope = (variables: { scope: string }[]) => variables.filter((v) => v.scope === 'session');

/**
 * The sessions service over the real HTTP API, shared by the embedded and the distributed test: the
 * lifecycle table row by row, reply status from each source, the variables' start and discard over
 * the bus, the list. The platform must run with short webhook retries (see WEBHOOK_TEST_ENV).
 */
export async function checkSessions(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Sessions Co');
  const key = org.apiKey;
  const s = (path: string) => `${urls.sessions}${path}`;
  const start = async (body: Record<string, unknown> = {}) => {
    const answer = await call(s('/v1/sessions'), { method: 'POST', key, body: { channelId: 'web', ...body } });
    expect(answer.status).toBe(201);
    return answer.body as { sessionId: string; visitorId: string; sessionStatus: string };
  };
  const event = (sessionId: string, body: Record<string, unknown>) => call(s(`/v1/sessions/${sessionId}/events`), { method: 'POST', key, body });
  const replyStatus = async (sessionId: string, query = '') => (await call(s(`/v1/sessions/${sessionId}/reply-status${query}`), { key })).body.replyStatus;

  // Start: CREATED; the initial variables reach the variables service over the bus.
  const startedAt = Date.now();
  const first = await start({ sessionVariableValues: [{ name: 'UserName', value: 'John' }, { name: 'id', value: '6320834868293' }] });
  expect(first).toMatchObject({ sessionStatus: 'CREATED', sessionId: expect.stringMatching(/^ses_/), visitorId: expect.stringMatching(/^vis_/) });
  const initial = await eventually(async () => {
    const answer = await call(`${urls.variables}/v1/sessions/${first.sessionId}/variables`, { key });
    return sessionScope(answer.body.variables ?? []).length === 2 ? sessionScope(answer.body.variables) : undefined;
  }, 'the initial session variables in the variables service', 5000);
  const initialMs = Date.now() - startedAt;
  expect(initial).toEqual([
    expect.objectContaining({ name: 'id', value: '6320834868293', source: 'widget' }),
    expect.objectContaining({ name: 'UserName', value: 'John', source: 'widget' }),
  ]);
  expect(initialMs).toBeLessThan(1000 * (process.env.CI ? 3 : 1)); // "within a second" (slack for a loaded CI machine)

  // The lifecycle table, row by row.
  const id = first.sessionId;
  expect((await call(s(`/v1/sessions/${id}`), { key })).body).toMatchObject({ sessionStatus: 'CREATED', sessionOldStatus: null, replyStatus: 'UNASSIGNED', messagesCount: 0 });
  const unassigned = await event(id, { type: 'MESSAGE', from: 'AGENT', actorId: 'a1' });
  expect([unassigned.status, unassigned.body.error.code, unassigned.body.error.details.replyStatus]).toEqual([409, 'CONFLICT', 'UNASSIGNED']);
  expect((await event(id, { type: 'HOLD' })).body.error).toMatchObject({ code: 'CONFLICT', details: { sessionStatus: 'CREATED' } });
  expect((await event(id, { type: 'ROUTED' })).body).toMatchObject({ sessionStatus: 'OPEN', sessionOldStatus: 'CREATED' });
  expect((await event(id, { type: 'ROUTED' })).body.error).toMatchObject({ code: 'CONFLICT', details: { sessionStatus: 'OPEN' } });
  expect((await event(id, { type: 'ASSIGNED', assigneeId: 'a1', assigneeType: 'AGENT' })).body).toMatchObject({
    sessionStatus: 'ON_HOLD',
    sessionOldStatus: 'OPEN',
    currentAssigneeId: 'a1',
    assigneeType: 'AGENT',
  });
  const other = await event(id, { type: 'MESSAGE', from: 'AGENT', actorId: 'a2' });
  expect([other.status, other.body.error.details.replyStatus]).toEqual([409, 'NOT_AN_ASSIGNEE']);
  expect(await replyStatus(id, '?actorId=a2&actorType=AGENT')).toBe('NOT_AN_ASSIGNEE');
  expect(await replyStatus(id, '?actorId=a1&actorType=AGENT')).toBe('ACCEPTED');
  expect((await event(id, { type: 'MESSAGE', from: 'AGENT', actorId: 'a1' })).body).toMatchObject({ sessionStatus: 'ON_PROGRESS', sessionOldStatus: 'ON_HOLD', messagesCount: 1 });
  expect((await event(id, { type: 'MESSAGE', from: 'VISITOR' })).body).toMatchObject({ sessionStatus: 'ON_PROGRESS', messagesCount: 2 });
  expect((await event(id, { type: 'HOLD' })).body).toMatchObject({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'ON_PROGRESS' });
  expect((await event(id, { type: 'ASSIGNED', assigneeId: 'b1', assigneeType: 'BOT' })).body).toMatchObject({ sessionStatus: 'ON_HOLD', currentAssigneeId: 'b1', assigneeType: 'BOT' });
  expect((await event(id, { type: 'MESSAGE', from: 'BOT', actorId: 'b1' })).body).toMatchObject({ sessionStatus: 'ON_PROGRESS', messagesCount: 3 });
  const ended = await event(id, { type: 'END', reason: 'agent' });
  expect(ended.body).toMatchObject({ sessionStatus: 'ENDED', sessionOldStatus: 'ON_PROGRESS', endReason: 'agent', replyStatus: 'SESSION_ENDED' });
  for (const body of [{ type: 'MESSAGE', from: 'VISITOR' }, { type: 'END', reason: 'closed' }, { type: 'BLOCK' }, { type: 'ASSIGNED', assigneeId: 'a1', assigneeType: 'AGENT' }]) {
    const refused = await event(id, body);
    expect([refused.status, refused.body.error.details.sessionStatus]).toEqual([409, 'ENDED']);
  }
  // SessionEnded reaches the variables service over the bus: the session variables are discarded.
  await eventually(async () => {
    const answer = await call(`${urls.variables}/v1/sessions/${id}/variables`, { key });
    return sessionScope(answer.body.variables).length === 0 ? true : undefined;
  }, 'the session variables to be discarded after SessionEnded');

  const blocked = await start({ sessionVariableValues: [{ name: 'cart', value: 3 }] });
  const blockedVars = `${urls.variables}/v1/sessions/${blocked.sessionId}/variables`;
  await eventually(async () => (sessionScope((await call(blockedVars, { key })).body.variables ?? []).length === 1 ? true : undefined), 'the blocked session’s initial variable');
  expect((await event(blocked.sessionId, { type: 'BLOCK' })).body).toMatchObject({ sessionStatus: 'BLOCKED', replyStatus: 'SESSION_BLOCKED', endReason: 'blocked' });
  // SessionBlocked discards the session variables too.
  await eventually(async () => (sessionScope((await call(blockedVars, { key })).body.variables).length === 0 ? true : undefined), 'the variables discarded after SessionBlocked');
  const badEvent = await event(blocked.sessionId, { type: 'DANCE' });
  expect([badEvent.status, badEvent.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  const missing = await event('nope', { type: 'ROUTED' });
  expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);

  // Reply status from the channel, the limits and presence.
  const channel = await call(s('/v1/channels'), { method: 'POST', key, body: { channelId: 'wa', name: 'WhatsApp', credits: 2, outgoingLimitPerDay: 100 } });
  expect(channel.status).toBe(201);
  const live = await start({ channelId: 'wa' });
  await event(live.sessionId, { type: 'ASSIGNED', assigneeId: 'a1', assigneeType: 'AGENT' });
  expect(await replyStatus(live.sessionId)).toBe('ACCEPTED');
  for (const [state, expected] of [
    ['INACTIVE', 'CHANNEL_INACTIVE'],
    ['REVOKED', 'CHANNEL_REVOKED'],
    ['PAGE_REMOVED', 'PAGE_REMOVED'],
    ['ACCESSTOKEN_EXPIRED', 'ACCESSTOKEN_EXPIRED'],
    ['PERMISSION_REVOKED', 'PERMISSION_REVOKED'],
    ['CONFIG_SKIPPED', 'CONFIG_SKIPPED_CHANNEL'],
    ['ASSIGNED_TO_OTHER_SERVICE', 'ASSIGNED_TO_OTHER_SERVICE'],
    ['ACTIVE', 'ACCEPTED'],
  ]) {
    expect((await call(s('/v1/channels/wa'), { method: 'PATCH', key, body: { state } })).status).toBe(200);
    expect([state, await replyStatus(live.sessionId)]).toEqual([state, expected]);
  }
  const refusedOnChannel = await call(s('/v1/channels/wa'), { method: 'PATCH', key, body: { state: 'INACTIVE' } });
  expect(refusedOnChannel.status).toBe(200);
  const noSend = await event(live.sessionId, { type: 'MESSAGE', from: 'AGENT', actorId: 'a1' });
  expect([noSend.status, noSend.body.error.details.replyStatus]).toEqual([409, 'CHANNEL_INACTIVE']);
  await call(s('/v1/channels/wa'), { method: 'PATCH', key, body: { state: 'ACTIVE' } });
  expect((await call(s('/v1/channels/wa/send-failures'), { method: 'POST', key, body: { reason: 'upstream 500' } })).body.lastSendFailure).toBe('upstream 500');
  expect(await replyStatus(live.sessionId)).toBe('UNEXPECTED_ERROR');
  await call(s('/v1/channels/wa/send-failures'), { method: 'DELETE', key });
  expect(await replyStatus(live.sessionId)).toBe('ACCEPTED');
  // Two credits: two agent messages, then CREDIT_EXHAUSTED; a larger allowance, then the daily limit.
  expect((await event(live.sessionId, { type: 'MESSAGE', from: 'AGENT', actorId: 'a1' })).status).toBe(200);
  expect((await event(live.sessionId, { type: 'MESSAGE', from: 'AGENT', actorId: 'a1' })).status).toBe(200);
  expect(await replyStatus(live.sessionId)).toBe('CREDIT_EXHAUSTED');
  const exhausted = await event(live.sessionId, { type: 'MESSAGE', from: 'AGENT', actorId: 'a1' });
  expect([exhausted.status, exhausted.body.error.details.replyStatus]).toEqual([409, 'CREDIT_EXHAUSTED']);
  expect((await call(s('/v1/channels/wa'), { method: 'PATCH', key, body: { credits: null, outgoingLimitPerDay: 2 } })).body.usage).toMatchObject({ creditsUsed: 2, outgoingToday: 2 });
  expect(await replyStatus(live.sessionId)).toBe('OUTGOING_LIMIT_REACHED');
  await call(s('/v1/channels/wa'), { method: 'PATCH', key, body: { outgoingLimitPerDay: null } });
  const sandbox = await call(s('/v1/channels'), { method: 'POST', key, body: { channelId: 'sbx', name: 'Sandbox', sandbox: true, sandboxLimit: 0 } });
  expect(sandbox.body).toMatchObject({ sandbox: true, sandboxLimit: 0 });
  const inSandbox = await start({ channelId: 'sbx' });
  await event(inSandbox.sessionId, { type: 'ASSIGNED', assigneeId: 'a1', assigneeType: 'AGENT' });
  expect(await replyStatus(inSandbox.sessionId)).toBe('SANDBOX_LIMIT_REACHED');
  expect((await event(live.sessionId, { type: 'PRESENCE', online: false })).body.visitorOnline).toBe(false);
  expect(await replyStatus(live.sessionId)).toBe('ENDUSER_OFFLINE');
  await event(live.sessionId, { type: 'PRESENCE', online: true });
  expect((await call(s('/v1/channels/wa'), { method: 'PATCH', key, body: { state: 'DELETED' } })).status).toBe(200);
  expect(await replyStatus(live.sessionId)).toBe('CHANNEL_DELETED');

  // The list: filtered, newest first, paginated.
  const all = await call(s('/v1/sessions?limit=2'), { key });
  expect(all.body.sessions).toHaveLength(2);
  expect(all.body.nextCursor).toEqual(expect.any(String));
  const next = await call(s(`/v1/sessions?limit=2&cursor=${all.body.nextCursor}`), { key });
  const ids = [...all.body.sessions, ...next.body.sessions].map((x: { sessionId: string }) => x.sessionId);
  expect(new Set(ids).size).toBe(4);
  expect((await call(s('/v1/sessions?status=BLOCKED'), { key })).body.sessions.map((x: { sessionId: string }) => x.sessionId)).toEqual([blocked.sessionId]);
  expect((await call(s('/v1/sessions?channelId=sbx'), { key })).body.sessions.map((x: { sessionId: string }) => x.sessionId)).toEqual([inSandbox.sessionId]);
  expect((await call(s('/v1/sessions?assigneeId=b1'), { key })).body.sessions.map((x: { sessionId: string }) => x.sessionId)).toEqual([id]);
  const future = new Date(Date.now() + 3600_000).toISOString();
  expect((await call(s(`/v1/sessions?startedFrom=${encodeURIComponent(future)}`), { key })).body.sessions).toEqual([]);
  expect((await call(s('/v1/sessions?cursor=garbage'), { key })).status).toBe(400);
  // The read side is rebuilt from the event store on demand, beside the live table, then switched in.
  const viewBefore = (await call(s(`/v1/sessions/${id}`), { key })).body;
  const rebuild = await call(s('/admin/v1/projections/sessions/rebuild'), { method: 'POST', key: rootToken });
  expect(rebuild.status).toBe(202);
  await eventually(async () => {
    const answer = await call(s('/admin/v1/projections'), { key: rootToken });
    const status = answer.body.projections.find((p: { name: string }) => p.name === 'sessions');
    return status && !status.rebuild && status.state === 'live' && status.table !== 'rm_sessions_v1' ? status : undefined;
  }, 'the sessions projection to be rebuilt and switched in');
  expect((await call(s(`/v1/sessions/${id}`), { key })).body).toEqual(viewBefore);
  // Tenant isolation: another org sees none of it.
  const stranger = await createOrg(urls.identity, rootToken, 'Stranger');
  expect((await call(s(`/v1/sessions/${id}`), { key: stranger.apiKey })).status).toBe(404);
  expect((await call(s('/v1/sessions'), { key: stranger.apiKey })).body.sessions).toEqual([]);
}

/** Inactivity timeouts: an idle session expires, a visitor message resumes it, an expired one ends (timeout). */
export async function checkTimeouts(urls: Urls, apiKey: string): Promise<{ pendingSessionId: string; dueAt: number }> {
  const s = (path: string) => `${urls.sessions}${path}`;
  expect((await call(s('/v1/session-settings'), { key: apiKey })).body).toEqual({ inactivityTimeoutSeconds: 1800, expiredEndAfterSeconds: 1800 });
  const set = await call(s('/v1/session-settings'), { method: 'PUT', key: apiKey, body: { inactivityTimeoutSeconds: 1, expiredEndAfterSeconds: 2 } });
  expect(set.body).toEqual({ inactivityTimeoutSeconds: 1, expiredEndAfterSeconds: 2 });
  const started = await call(s('/v1/sessions'), { method: 'POST', key: apiKey, body: { channelId: 'web' } });
  const sessionId = started.body.sessionId as string;
  await eventually(async () => ((await call(s(`/v1/sessions/${sessionId}`), { key: apiKey })).body.replyStatus === 'SESSION_EXPIRED' ? true : undefined), 'the idle session to expire', 10_000);
  // A visitor message resumes it.
  const resumed = await call(s(`/v1/sessions/${sessionId}/events`), { method: 'POST', key: apiKey, body: { type: 'MESSAGE', from: 'VISITOR' } });
  expect(resumed.body).toMatchObject({ expiredAt: null, replyStatus: 'UNASSIGNED', sessionStatus: 'CREATED' });
  // Left alone, it expires again and then ends with reason timeout.
  const endedView = await eventually(async () => {
    const view = (await call(s(`/v1/sessions/${sessionId}`), { key: apiKey })).body;
    return view.sessionStatus === 'ENDED' ? view : undefined;
  }, 'the expired session to end', 15_000);
  expect(endedView).toMatchObject({ endReason: 'timeout', replyStatus: 'SESSION_ENDED' });
  // One more, left pending for the caller's restart check: it expires 3 s after its start, while the
  // service is down.
  await call(s('/v1/session-settings'), { method: 'PUT', key: apiKey, body: { inactivityTimeoutSeconds: 3, expiredEndAfterSeconds: 1 } });
  const pending = await call(s('/v1/sessions'), { method: 'POST', key: apiKey, body: { channelId: 'web' } });
  return { pendingSessionId: pending.body.sessionId, dueAt: Date.now() + 3000 };
}

/** After a restart: the pending session's timers still fire (expired, then ended with reason timeout). */
export async function checkTimeoutAfterRestart(urls: Urls, apiKey: string, sessionId: string): Promise<void> {
  // Its expiry fell while the service was down: the durable timer fires after the restart, and then
  // the second one ends it.
  const view = await eventually(async () => {
    const answer = (await call(`${urls.sessions}/v1/sessions/${sessionId}`, { key: apiKey })).body;
    return answer.sessionStatus === 'ENDED' ? answer : undefined;
  }, 'the session started before the restart to end by timeout', 20_000);
  expect(view.endReason).toBe('timeout');
}

/**
 * The environment both modes run the webhook checks with: short retries, and the local receiver on
 * 127.0.0.1 allowed (private targets are refused by default; the SSRF guard has its own tests).
 */
export const WEBHOOK_TEST_ENV = { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_RETRY_DELAYS: '100ms,200ms,300ms', WEBHOOK_RETRY_EVERY: '300ms', WEBHOOK_RETRY_FOR: '1h', WEBHOOK_TIMEOUT_MS: '2000' };

/** IM_Session_Status webhooks to a real local receiver. */
export async function checkWebhooks(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Hooks Co');
  const key = org.apiKey;
  const s = (path: string) => `${urls.sessions}${path}`;
  const receiver = await startWebhookReceiver();
  try {
    const refused = await call(s('/v1/webhooks'), { method: 'POST', key, body: { url: 'ftp://example.com/x', events: ['IM_Session_Status'] } });
    expect(refused.status).toBe(400);
    const hook = await call(s('/v1/webhooks'), { method: 'POST', key, body: { url: receiver.url, events: ['IM_Session_Status'] } });
    expect(hook.status).toBe(201);
    expect(hook.body.secret).toMatch(/^whsec_/);
    const { webhookId, secret } = hook.body as { webhookId: string; secret: string };

    // Three sessions, each through several changes: every change arrives, signed, in order per session.
    const sessions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = await call(s('/v1/sessions'), { method: 'POST', key, body: { channelId: 'web' } });
      sessions.push(started.body.sessionId);
    }
    const drive = async (sessionId: string) => {
      for (const body of [
        { type: 'ROUTED' },
        { type: 'ASSIGNED', assigneeId: 'a1', assigneeType: 'AGENT' },
        { type: 'MESSAGE', from: 'AGENT', actorId: 'a1' },
        { type: 'END', reason: 'closed' },
      ])
        expect((await call(s(`/v1/sessions/${sessionId}/events`), { method: 'POST', key, body })).status).toBe(200);
    };
    await Promise.all(sessions.map(drive));
    const expectedPerSession = ['CREATED', 'OPEN', 'ON_HOLD', 'ON_PROGRESS', 'ENDED'];
    await eventually(async () => (receiver.received.length >= 15 ? true : undefined), 'all 15 IM_Session_Status deliveries', 15_000);
    for (const r of receiver.received) {
      expect(verifyWebhook(r.body, secret, r.headers)).toMatchObject({ ok: true });
      expect(r.headers['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(r.headers['x-event-id']).toBe(JSON.parse(r.body).eventId);
    }
    const bodies = receiver.received.map((r) => JSON.parse(r.body));
    expect(Object.keys(bodies[0]).sort()).toEqual(
      ['assigneeType', 'channelId', 'currentAssigneeId', 'eventId', 'eventTime', 'eventType', 'messagesCount', 'orgId', 'replyStatus', 'sessionId', 'sessionOldStatus', 'sessionStatus'].sort(),
    );
    for (const sessionId of sessions)
      expect(bodies.filter((b) => b.sessionId === sessionId).map((b) => b.sessionStatus)).toEqual(expectedPerSession);
    // A replay older than the tolerance is refused by a receiver that checks the timestamp.
    const old = receiver.received[0]!;
    expect(verifyWebhook(old.body, secret, old.headers, { now: new Date(Date.now() + 10 * 60_000) })).toMatchObject({ ok: false, reason: 'TIMESTAMP_TOO_OLD' });

    // The receiver is down for a while: everything arrives once it is back, in order.
    receiver.respondWith(() => 503);
    const downFrom = new Date().toISOString();
    const downSession = (await call(s('/v1/sessions'), { method: 'POST', key, body: { channelId: 'web' } })).body.sessionId as string;
    await call(s(`/v1/sessions/${downSession}/events`), { method: 'POST', key, body: { type: 'ROUTED' } });
    await call(s(`/v1/sessions/${downSession}/events`), { method: 'POST', key, body: { type: 'BLOCK' } });
    await eventually(async () => {
      const log = await call(s(`/v1/webhooks/${webhookId}/deliveries`), { key });
      const attempts = (log.body.deliveries as { sessionId: string; attempts: unknown[] }[]).filter((d) => d.sessionId === downSession).flatMap((d) => d.attempts);
      return attempts.length >= 2 ? true : undefined;
    }, 'failed attempts while the receiver is down', 10_000);
    receiver.respondWith(() => 200);
    await eventually(async () => (receiver.received.filter((r) => JSON.parse(r.body).sessionId === downSession).length === 3 ? true : undefined), 'the deliveries after the receiver is back', 15_000);
    expect(receiver.received.filter((r) => JSON.parse(r.body).sessionId === downSession).map((r) => JSON.parse(r.body).sessionStatus)).toEqual(['CREATED', 'OPEN', 'BLOCKED']);
    const log = await call(s(`/v1/webhooks/${webhookId}/deliveries`), { key });
    const failedFirst = (log.body.deliveries as { sessionId: string; status: string; attempts: { statusCode: number; latencyMs: number }[] }[]).find(
      (d) => d.sessionId === downSession && d.attempts.some((a) => a.statusCode === 503),
    );
    expect(failedFirst).toMatchObject({ status: 'delivered' });
    expect(failedFirst!.attempts.at(-1)).toMatchObject({ statusCode: 200 });

    // Replay re-sends from a point.
    const before = receiver.received.length;
    const replay = await call(s(`/v1/webhooks/${webhookId}/replay`), { method: 'POST', key, body: {} });
    expect([replay.status, replay.body.enqueued]).toEqual([202, 18]);
    await eventually(async () => (receiver.received.length >= before + 18 ? true : undefined), 'the replayed deliveries', 15_000);
    // From a point: only what happened since then (the outage session's three changes), in order.
    const fromPoint = await call(s(`/v1/webhooks/${webhookId}/replay`), { method: 'POST', key, body: { from: downFrom } });
    expect([fromPoint.status, fromPoint.body.enqueued]).toEqual([202, 3]);
    await eventually(async () => (receiver.received.length >= before + 21 ? true : undefined), 'the deliveries replayed from a point', 15_000);
    expect(receiver.received.slice(before + 18).map((r) => JSON.parse(r.body).sessionStatus)).toEqual(['CREATED', 'OPEN', 'BLOCKED']);

    // 410 Gone ends the subscription.
    receiver.respondWith(() => 410);
    await call(s('/v1/sessions'), { method: 'POST', key, body: { channelId: 'web' } });
    const gone = await eventually(async () => {
      const view = (await call(s(`/v1/webhooks/${webhookId}`), { key })).body;
      return view.status === 'DISABLED' ? view : undefined;
    }, 'the subscription to end after 410', 10_000);
    expect(gone.disabledReason).toMatch(/410/);
    // Another org sees none of it.
    const stranger = await createOrg(urls.identity, rootToken, 'Stranger hooks');
    expect((await call(s(`/v1/webhooks/${webhookId}`), { key: stranger.apiKey })).status).toBe(404);
    expect((await call(s(`/v1/webhooks/${webhookId}/deliveries`), { key: stranger.apiKey })).status).toBe(404);
  } finally {
    await receiver.close();
  }
}

export const uniqueChannel = () => `ch-${randomUUID().slice(0, 8)}`;
