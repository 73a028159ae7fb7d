import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { eventually } from '@svp/testing';
import { SignJWT } from 'jose';
import { call, createOrg } from './slice.js';
import { startWebhookReceiver } from '../drills/webhook-receiver.js';

type Urls = Record<ServiceName, string>;

/** The built CLI (npm run build / tsc -b): what an operator runs, as a child process. */
const CLI = resolve(import.meta.dirname, '../../../ops-cli/bin/svp-ops.js');

export interface OpsRun {
  code: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  stdout: string;
  stderr: string;
}

/** Runs `svp-ops <args> --json` against the running services (URLs and credentials from the environment). */
export function runOps(env: Record<string, string>, args: readonly string[]): Promise<OpsRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--json'],
      // Not the test runner's NODE_OPTIONS (--experimental-vm-modules); nothing but what the CLI documents.
      { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '', ...env }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        done({ code, json, stdout, stderr });
      },
    );
  });
}

const ok = (run: OpsRun, what: string): OpsRun => {
  if (run.code !== 0) throw new Error(`svp-ops ${what} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
};

/**
 * The ops CLI against the running services, every command with --json and a real effect checked
 * through the services themselves: a rebuild switched in, lag shown, a replayed webhook received, a
 * key rotated then revoked in identity, a session's history exported, a visitor erased.
 */
export async function checkOpsCli(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Ops CLI Co');
  const key = org.apiKey;
  const env = {
    GATEWAY_URL: urls.gateway,
    IDENTITY_URL: urls.identity,
    SESSIONS_URL: urls.sessions,
    VARIABLES_URL: urls.variables,
    PLATFORM_ROOT_TOKEN: rootToken,
    SVP_API_KEY: key,
  };
  const ops = (...args: string[]) => runOps(env, args);
  const receiver = await startWebhookReceiver();
  const dir = await mkdtemp(join(tmpdir(), 'svp-ops-'));
  try {
    // ── a session with a history in all three services, seen by a webhook ──
    const from = new Date(Date.now() - 1000).toISOString();
    const hook = await call(`${urls.sessions}/v1/webhooks`, { method: 'POST', key, body: { url: receiver.url, events: ['IM_Session_Status'] } });
    expect(hook.status).toBe(201);
    const webhookId = hook.body.webhookId as string;
    const visitorId = `v-ops-${Date.now()}`;
    const started = await call(`${urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', visitorId, sessionVariableValues: [{ name: 'UserName', value: 'Ops' }] } });
    expect(started.status).toBe(201);
    const sessionId = started.body.sessionId as string;
    for (const body of [{ type: 'ROUTED' }, { type: 'ASSIGNED', assigneeId: 'agent-1', assigneeType: 'AGENT' }, { type: 'MESSAGE', from: 'AGENT', actorId: 'agent-1' }])
      expect((await call(`${urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key, body })).status).toBe(200);
    await eventually(
      async () => ((await call(`${urls.variables}/v1/sessions/${sessionId}/variables`, { key })).body.variables?.some((v: { name: string }) => v.name === 'UserName') ? true : undefined),
      'the initial variable over Kafka',
    );
    expect((await call(`${urls.variables}/v1/sessions/${sessionId}/variables`, { method: 'PUT', key, body: { sessionVariableValues: [{ name: 'cart', value: 42 }] } })).status).toBe(200);
    const hs = await call(`${urls.identity}/v1/signing-keys`, { method: 'POST', key, body: { alg: 'HS256' } });
    expect(hs.status).toBe(201);
    const token = await new SignJWT({ external_id: 'ops-cust', name: 'Ops Person' })
      .setProtectedHeader({ alg: 'HS256', kid: hs.body.kid })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(hs.body.secret));
    expect((await call(`${urls.identity}/v1/identity/verify`, { method: 'POST', key, body: { token, sessionId } })).body.authenticated).toBe(true);
    await eventually(async () => (receiver.received.length >= 4 ? true : undefined), 'the 4 live IM_Session_Status deliveries', 15_000);
    const liveIds = receiver.received.map((r) => r.headers['x-event-id']);

    // ── errors: the service's error body, exit 1 ──
    const refused = await runOps({ ...env, PLATFORM_ROOT_TOKEN: 'root_not_it' }, ['projections', 'status', '--service', 'identity']);
    expect(refused.code).toBe(1);
    expect(refused.json.services[0].error).toMatchObject({ code: 'FORBIDDEN', status: 403, service: 'identity' });

    // ── projections status, and a rebuild that completes and shows in the status ──
    const status = ok(await ops('projections', 'status'), 'projections status').json;
    expect(status.services.map((s: { service: string }) => s.service)).toEqual(['identity', 'sessions', 'variables']);
    const variablesProjections = status.services[2].projections as Array<{ name: string; table: string; state: string }>;
    const before = variablesProjections.find((p) => p.name === 'session_variables')!;
    expect(before).toMatchObject({ state: 'live' });
    const rebuilt = ok(await ops('projections', 'rebuild', 'session_variables', '--poll-interval', '100'), 'projections rebuild').json;
    expect(rebuilt).toMatchObject({ service: 'variables', projection: 'session_variables', state: 'switched', previousTable: before.table });
    expect(rebuilt.table).not.toBe(before.table);
    expect(rebuilt.eventsApplied).toBeGreaterThan(0);
    const after = ok(await ops('projections', 'status', '--service', 'variables'), 'projections status').json.services[0].projections.find(
      (p: { name: string }) => p.name === 'session_variables',
    );
    expect(after).toMatchObject({ table: rebuilt.table, lastRebuild: { state: 'switched', table: rebuilt.table, startedAt: rebuilt.startedAt } });
    expect(after.rebuild).toBeUndefined();
    // The rebuilt read model answers the same.
    expect(
      (await call(`${urls.variables}/v1/sessions/${sessionId}/variables`, { key })).body.variables.filter((v: { scope: string }) => v.scope === 'session').map((v: { name: string; value: unknown }) => [v.name, v.value]).sort(),
    ).toEqual([
      ['UserName', 'Ops'],
      ['cart', 42],
    ]);

    // ── lag: projections and consumer groups of every service ──
    const lag = await eventually(async () => {
      const run = ok(await ops('lag'), 'lag').json;
      const variables = run.services.find((s: { service: string }) => s.service === 'variables');
      const group = variables.consumers.groups.find((g: { groupId: string }) => g.groupId === 'variables.sessions');
      return group && group.lag === '0' && group.partitions.some((p: { high: string }) => Number(p.high) > 0) ? run : undefined;
    }, 'the variables service\'s consumer of sessions.events.v1 caught up, with messages on its partitions', 30_000);
    expect(lag.services.map((s: { service: string }) => s.service)).toEqual(['gateway', 'identity', 'sessions', 'variables']);
    const groups = Object.fromEntries(lag.services.map((s: { service: string; consumers: { groups: Array<{ groupId: string }> } }) => [s.service, s.consumers.groups.map((g) => g.groupId).sort()]));
    expect(groups).toEqual({
      gateway: [expect.stringMatching(/^gateway-live-/)],
      identity: ['identity.variables'],
      sessions: ['sessions.erasure', 'sessions.variable-activity'],
      variables: ['variables.identity', 'variables.sessions'],
    });
    for (const service of lag.services) {
      expect(service.consumers.supported).toBe(true);
      for (const group of service.consumers.groups) {
        expect(group.lag).toMatch(/^\d+$/);
        for (const p of group.partitions) expect(BigInt(p.lag)).toBeLessThanOrEqual(BigInt(p.high) - BigInt(p.low));
      }
    }
    expect(lag.services.find((s: { service: string }) => s.service === 'variables').projections.map((p: { name: string }) => p.name)).toContain('session_variables');

    // ── webhooks replay from a time: the same events arrive again at the receiver ──
    const replayed = ok(await ops('webhooks', 'replay', '--from', from, '--poll-interval', '100'), 'webhooks replay').json;
    expect(replayed).toMatchObject({ from, done: true, webhooks: [{ webhookId, enqueued: 4, delivered: 4, failed: 0, pending: 0, done: true }] });
    await eventually(async () => (receiver.received.length >= 8 ? true : undefined), 'the 4 replayed deliveries at the receiver', 15_000);
    expect(receiver.received.slice(4).map((r) => r.headers['x-event-id']).sort()).toEqual([...liveIds].sort());
    expect(receiver.received.slice(4).map((r) => JSON.parse(r.body).sessionStatus)).toEqual(['CREATED', 'OPEN', 'ON_HOLD', 'ON_PROGRESS']);

    // ── signing keys: rotate, then revoke, as identity shows them ──
    const rotated = ok(await ops('signing-keys', 'rotate', hs.body.kid, '--grace', '120'), 'signing-keys rotate').json;
    expect(rotated).toMatchObject({ replaces: hs.body.kid, alg: 'HS256', kid: expect.any(String), secret: expect.any(String), graceUntil: expect.any(String) });
    const listed = ok(await ops('signing-keys', 'list'), 'signing-keys list').json.signingKeys as Array<{ kid: string; status: string; replacedBy?: string }>;
    expect(listed.find((k) => k.kid === hs.body.kid)).toMatchObject({ status: 'retiring', replacedBy: rotated.kid });
    expect(listed.find((k) => k.kid === rotated.kid)).toMatchObject({ status: 'active' });
    const revoked = ok(await ops('signing-keys', 'revoke', rotated.kid), 'signing-keys revoke').json;
    expect(revoked).toMatchObject({ kid: rotated.kid, status: 'revoked', revokedAt: expect.any(String) });
    const identityKeys = (await call(`${urls.identity}/v1/signing-keys`, { key })).body.signingKeys as Array<{ kid: string; status: string }>;
    expect(identityKeys.find((k) => k.kid === rotated.kid)?.status).toBe('revoked');
    const withRevoked = await new SignJWT({ external_id: 'x' }).setProtectedHeader({ alg: 'HS256', kid: rotated.kid }).setExpirationTime('5m').sign(new TextEncoder().encode(rotated.secret));
    expect((await call(`${urls.identity}/v1/identity/verify`, { method: 'POST', key, body: { token: withRevoked } })).body).toMatchObject({ authenticated: false, reason: 'KID_REVOKED' });

    // ── sessions export: the session's full history from the three services ──
    const exported = ok(await ops('sessions', 'export', sessionId, '--org', org.orgId), 'sessions export').json;
    expect(exported).toMatchObject({ orgId: org.orgId, sessionId });
    expect(exported.counts.sessions).toBeGreaterThanOrEqual(4);
    expect(exported.counts.variables).toBeGreaterThanOrEqual(2);
    expect(exported.counts.identity).toBeGreaterThanOrEqual(1);
    const events = exported.events as Array<{ service: string; stream: string; type: string; recordedAt: string; data: unknown }>;
    expect(events).toHaveLength(exported.counts.sessions + exported.counts.variables + exported.counts.identity);
    expect(events.map((e) => e.recordedAt)).toEqual([...events.map((e) => e.recordedAt)].sort());
    expect(new Set(events.map((e) => e.service))).toEqual(new Set(['identity', 'sessions', 'variables']));
    expect(events.filter((e) => e.service === 'sessions').every((e) => e.stream.endsWith(`.${sessionId}`))).toBe(true);
    expect(JSON.stringify(events)).toContain('"cart"');
    const file = join(dir, 'session.ndjson');
    const toFile = ok(await runOps(env, ['sessions', 'export', sessionId, '--org', org.orgId, '--out', file]), 'sessions export --out');
    expect(toFile.json).toMatchObject({ out: file, total: events.length });
    // --json to a file writes the JSON document; NDJSON is what a file gets without --json (checked by the unit tests).
    expect(JSON.parse(await readFile(file, 'utf8')).events).toHaveLength(events.length);
    // A session no service has an event of: NOT_FOUND (exit 1, the error body), not an empty export.
    const unknown = await ops('sessions', 'export', 'ses_nobody', '--org', org.orgId);
    expect([unknown.code, unknown.json?.error?.code]).toEqual([1, 'NOT_FOUND']);

    // ── visitors erase: gone from the variables service, and the exported history with it ──
    expect((await call(`${urls.variables}/v1/visitors/${visitorId}/variables`, { method: 'POST', key, body: { data: { plan: 'gold' }, signing: 'plain', replaceExisting: false } })).status).toBe(200);
    const erased = ok(await ops('visitors', 'erase', visitorId), 'visitors erase').json;
    expect(erased).toMatchObject({ visitorId, status: 'completed', sessions: 1, erasureId: expect.stringMatching(/^era_/) });
    expect((await call(`${urls.variables}/v1/visitors/${visitorId}`, { key })).body).toEqual({ visitorId, displayName: 'Visitor', variables: [] });
    expect((await call(`${urls.variables}/v1/erasures/${erased.erasureId}`, { key })).body.status).toBe('completed');
    let last: unknown;
    const afterErasure = await eventually(async () => {
      const run = ok(await ops('sessions', 'export', sessionId, '--org', org.orgId), 'sessions export after erasure').json;
      last = run.events.map((e: { service: string; type: string }) => `${e.service}:${e.type}`);
      // The sessions service deletes the stream; the variables service leaves a tombstone in its place (no personal data).
      return run.counts.sessions === 0 && run.events.every((e: { type: string }) => e.type === 'SessionVariablesDeleted') ? run : undefined;
    }, "the erased session's streams deleted in the variables and sessions services", 30_000).catch((error: Error) => {
      throw new Error(`${error.message}; the export still holds ${JSON.stringify(last)}`);
    });
    for (const personal of ['cart', 'UserName', 'Ops Person', 'ops-cust']) expect(JSON.stringify(afterErasure.events)).not.toContain(personal);
  } finally {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  }
}
