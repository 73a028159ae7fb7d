import { describe, expect, it } from '@jest/globals';
import { type Command } from 'commander';
import { buildProgram, resolveUrls, runCli } from './cli.js';
import { formatLag } from './commands/lag.js';
import { formatProjections } from './commands/projections.js';
import { parseFrom } from './commands/webhooks.js';
import { endlessBody, fakeServices, testDeps } from './__fixtures__/fake-services.js';
import { table } from './output.js';

const IDENTITY = 'http://127.0.0.1:4001';
const SESSIONS = 'http://127.0.0.1:4002';
const VARIABLES = 'http://127.0.0.1:4003';

const projection = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  version: 1,
  table: `${name}_v1`,
  state: 'live',
  position: '120',
  head: '125',
  lag: '5',
  failures: 0,
  ...extra,
});

describe('svp-ops: one entry point, --help on every command', () => {
  const leaves = (command: Command, path: string[] = []): string[][] =>
    command.commands.length === 0 ? [path] : command.commands.flatMap((c) => leaves(c, [...path, c.name()]));
  const { deps } = testDeps(fakeServices({}).fetch);
  const commands = leaves(buildProgram(deps, () => async () => undefined));

  it('has the commands of the brief', () => {
    expect(commands.map((c) => c.join(' ')).sort()).toEqual([
      'lag',
      'projections rebuild',
      'projections status',
      'sessions export',
      'signing-keys list',
      'signing-keys revoke',
      'signing-keys rotate',
      'visitors erase',
      'webhooks replay',
    ]);
  });

  it.each(commands.map((c) => [c.join(' ')]))('given `%s --help`, then it prints its usage and examples on stdout and exits 0', async (name) => {
    const { deps: d, out } = testDeps(fakeServices({}).fetch);
    expect(await runCli([...name.split(' '), '--help'], d)).toBe(0);
    expect(out.stdout).toContain(`Usage: svp-ops ${name}`);
    expect(out.stdout).toContain('Examples:');
    expect(out.stdout).toContain('$ svp-ops');
  });

  it('given --help at the top, then it lists every command group, the exit codes and the docs', async () => {
    const { deps: d, out } = testDeps(fakeServices({}).fetch);
    expect(await runCli(['--help'], d)).toBe(0);
    for (const group of ['projections', 'lag', 'webhooks', 'signing-keys', 'visitors', 'sessions']) expect(out.stdout).toContain(group);
    expect(out.stdout).toContain('Exit codes:');
    expect(out.stdout).toContain('docs/ops-cli.md');
  });

  it('given --version, then it prints the version', async () => {
    const { deps: d, out } = testDeps(fakeServices({}).fetch);
    expect(await runCli(['--version'], d)).toBe(0);
    expect(out.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('argument parsing: usage mistakes exit 2 and say why', () => {
  it.each([
    [['bogus'], /unknown command 'bogus'/],
    [['lag', '--service', 'nope'], /Allowed choices are gateway, identity, sessions, variables/],
    [['projections', 'rebuild'], /missing required argument 'projection'/],
    [['webhooks', 'replay'], /required option '--from <time>' not specified/],
    [['signing-keys', 'rotate', 'kid_1', '--grace', '-5'], /whole number of seconds/],
    [['--timeout', 'zero', 'lag'], /--timeout must be a positive number/],
  ])('given %j, then exit 2 with the reason on stderr', async (argv, reason) => {
    const { deps, out } = testDeps(fakeServices({}).fetch);
    expect(await runCli(argv as string[], deps)).toBe(2);
    expect(out.stderr).toMatch(reason);
    expect(out.stdout).toBe('');
  });

  it('given a bad --from, then exit 2 naming both accepted forms, and nothing is sent', async () => {
    const services = fakeServices({});
    const { deps, out } = testDeps(services.fetch);
    expect(await runCli(['webhooks', 'replay', '--from', 'yesterday'], deps)).toBe(2);
    expect(out.stderr).toContain("--from 'yesterday' is neither an ISO 8601 time");
    expect(services.seen).toEqual([]);
  });

  it('given no root token anywhere, then an admin command exits 2 saying where to put it (as JSON with --json)', async () => {
    const { deps, json } = testDeps(fakeServices({}).fetch, { PLATFORM_ROOT_TOKEN: undefined });
    expect(await runCli(['projections', 'status', '--json'], deps)).toBe(2);
    expect(json()).toEqual({ error: { code: 'USAGE', message: expect.stringContaining('PLATFORM_ROOT_TOKEN') } });
  });

  it('takes global options before or after the command', async () => {
    for (const argv of [
      ['--json', '--root-token', 'root_flag', 'projections', 'status', '--service', 'identity'],
      ['projections', 'status', '--service', 'identity', '--json', '--root-token', 'root_flag'],
    ]) {
      const services = fakeServices({ [`GET ${IDENTITY}/admin/v1/projections`]: { body: { projections: [] } } });
      const { deps, json } = testDeps(services.fetch);
      expect(await runCli(argv, deps)).toBe(0);
      expect(services.seen.map((r) => [r.url, r.authorization])).toEqual([[`${IDENTITY}/admin/v1/projections`, 'Bearer root_flag']]);
      expect(json()).toEqual({ services: [{ service: 'identity', url: IDENTITY, projections: [] }] });
    }
  });
});

describe('service URLs', () => {
  it('come from the flag, else <SERVICE>_URL, else the documented port (or <SERVICE>_PORT) on --host', () => {
    const urls = resolveUrls({ host: '10.0.0.5', identityUrl: 'http://id.internal:9001/' }, { SESSIONS_URL: 'http://sessions:4002', VARIABLES_PORT: '5003' });
    expect(urls).toEqual({ identity: 'http://id.internal:9001/', sessions: 'http://sessions:4002', variables: 'http://10.0.0.5:5003', gateway: 'http://10.0.0.5:4000' });
  });
});

describe('errors: the service\'s error body shown, exit 1', () => {
  const refusing = () =>
    fakeServices({
      'DELETE /v1/signing-keys/kid_gone': { status: 404, body: { error: { code: 'NOT_FOUND', message: 'No signing key kid_gone', details: { kid: 'kid_gone' } } } },
    });

  it('for people: the message and the details on stderr', async () => {
    const { deps, out } = testDeps(refusing().fetch);
    expect(await runCli(['signing-keys', 'revoke', 'kid_gone'], deps)).toBe(1);
    expect(out.stderr).toContain('svp-ops: identity answered 404 NOT_FOUND: No signing key kid_gone');
    expect(out.stderr).toContain('"kid": "kid_gone"');
    expect(out.stdout).toBe('');
  });

  it('with --json: the error document on stdout, with the service, status, URL and details', async () => {
    const { deps, json } = testDeps(refusing().fetch);
    expect(await runCli(['signing-keys', 'revoke', 'kid_gone', '--json'], deps)).toBe(1);
    expect(json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'identity answered 404 NOT_FOUND: No signing key kid_gone', service: 'identity', status: 404, url: `${IDENTITY}/v1/signing-keys/kid_gone`, details: { kid: 'kid_gone' } },
    });
  });

  it('a service that is not reachable is named, with the flag to set', async () => {
    const { deps, json } = testDeps((async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:4003') });
    }) as typeof fetch);
    expect(await runCli(['visitors', 'erase', 'v1', '--json'], deps)).toBe(1);
    expect(json().error).toMatchObject({ code: 'UNREACHABLE', service: 'variables', message: expect.stringContaining('ECONNREFUSED'), details: { hint: 'set --variables-url or VARIABLES_URL' } });
  });
});

describe('projections', () => {
  it('status asks each service with the root token; a service that fails is shown beside the others and exits 1', async () => {
    const services = fakeServices({
      [`GET ${IDENTITY}/admin/v1/projections`]: { body: { projections: [projection('orgs')] } },
      [`GET ${SESSIONS}/admin/v1/projections`]: { status: 403, body: { error: { code: 'FORBIDDEN', message: 'This needs the root token' } } },
      [`GET ${VARIABLES}/admin/v1/projections`]: { body: { projections: [projection('session_variables', { rebuild: { table: 'session_variables_v1_2', position: '60', head: '125', eventsApplied: 60, progress: 48 } })] } },
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['projections', 'status', '--json'], deps)).toBe(1);
    expect(services.seen.every((r) => r.authorization === 'Bearer root_test')).toBe(true);
    const result = json();
    expect(result.services.map((s: { service: string }) => s.service)).toEqual(['identity', 'sessions', 'variables']);
    expect(result.services[1]).toEqual({ service: 'sessions', url: SESSIONS, error: expect.objectContaining({ code: 'FORBIDDEN', status: 403 }) });
    expect(result.services[2].projections[0].rebuild.progress).toBe(48);
  });

  it('formats a table for people, with the rebuild progress', () => {
    const text = formatProjections([
      { service: 'variables', url: VARIABLES, projections: [projection('session_variables', { rebuild: { table: 't2', position: '6', head: '12', eventsApplied: 6, progress: 50 } }) as never] },
      { service: 'sessions', url: SESSIONS, error: { code: 'UNREACHABLE', message: 'sessions is not reachable' } },
    ]);
    expect(text.split('\n')).toEqual([
      'SERVICE    PROJECTION         STATE  POSITION  HEAD  LAG  NOTE',
      'variables  session_variables  live   120       125   5    rebuilding 50% (6 events)',
      'sessions   (unreachable)      error  -         -     -    sessions is not reachable',
    ]);
  });

  it('rebuild finds the service by name, starts it, polls until the rebuild it started switched in, and reports it', async () => {
    let polls = 0;
    const startedAt = '2026-12-02T12:00:00.000Z';
    const services = fakeServices({
      [`GET ${IDENTITY}/admin/v1/projections`]: { body: { projections: [projection('orgs')] } },
      [`GET ${SESSIONS}/admin/v1/projections`]: { body: { projections: [projection('sessions')] } },
      [`GET ${VARIABLES}/admin/v1/projections`]: () => {
        if (polls === 0) return { body: { projections: [projection('session_variables')] } };
        polls++;
        const running = { state: 'running', startedAt };
        if (polls <= 3) return { body: { projections: [projection('session_variables', { rebuild: { table: 'session_variables_v1_2', position: '1', head: '2', eventsApplied: polls * 10, progress: polls * 30 }, lastRebuild: running })] } };
        return { body: { projections: [projection('session_variables', { table: 'session_variables_v1_2', lastRebuild: { state: 'switched', startedAt, finishedAt: startedAt, table: 'session_variables_v1_2', eventsApplied: 40 } })] } };
      },
      [`POST ${VARIABLES}/admin/v1/projections/session_variables/rebuild`]: () => {
        polls = 1;
        return { status: 202, body: { projection: 'session_variables', state: 'rebuilding', startedAt, statusUrl: '/admin/v1/projections' } };
      },
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['projections', 'rebuild', 'session_variables', '--json', '--poll-interval', '10'], deps)).toBe(0);
    expect(json()).toMatchObject({ service: 'variables', projection: 'session_variables', state: 'switched', startedAt, table: 'session_variables_v1_2', previousTable: 'session_variables_v1', eventsApplied: 40 });
    expect(services.seen.filter((r) => r.method === 'POST').map((r) => r.authorization)).toEqual(['Bearer root_test']);
  });

  it('rebuild that failed: its error shown, exit 1', async () => {
    const startedAt = '2026-12-02T12:00:00.000Z';
    let started = false;
    const services = fakeServices({
      [`GET ${SESSIONS}/admin/v1/projections`]: () => ({
        body: { projections: [projection('sessions', started ? { lastRebuild: { state: 'failed', startedAt, finishedAt: startedAt, error: 'relation does not exist' } } : {})] },
      }),
      [`POST ${SESSIONS}/admin/v1/projections/sessions/rebuild`]: () => {
        started = true;
        return { status: 202, body: { startedAt } };
      },
    });
    const { deps, out } = testDeps(services.fetch);
    expect(await runCli(['projections', 'rebuild', 'sessions', '--service', 'sessions'], deps)).toBe(1);
    expect(out.stdout).toContain('the rebuild of sessions failed: relation does not exist; the live table sessions_v1 stays active');
  });

  it('rebuild of a name no service has: NOT_FOUND listing what there is', async () => {
    const services = fakeServices({
      [`GET ${IDENTITY}/admin/v1/projections`]: { body: { projections: [projection('orgs')] } },
      [`GET ${SESSIONS}/admin/v1/projections`]: { body: { projections: [] } },
      [`GET ${VARIABLES}/admin/v1/projections`]: { body: { projections: [] } },
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['projections', 'rebuild', 'nope', '--json'], deps)).toBe(1);
    expect(json().error).toMatchObject({ code: 'NOT_FOUND', details: { projections: ['identity/orgs'] } });
  });

  it('rebuild that does not finish within --wait-timeout: exit 1, it carries on', async () => {
    const startedAt = '2026-12-02T12:00:00.000Z';
    const services = fakeServices({
      [`GET ${SESSIONS}/admin/v1/projections`]: { body: { projections: [projection('sessions', { lastRebuild: { state: 'running', startedAt } })] } },
      [`POST ${SESSIONS}/admin/v1/projections/sessions/rebuild`]: { status: 202, body: { startedAt } },
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['projections', 'rebuild', 'sessions', '-s', 'sessions', '--wait-timeout', '5', '--json'], deps)).toBe(1);
    expect(json().error).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('carries on in sessions') });
  });
});

describe('lag', () => {
  it('shows projection and consumer lag of each service; a service without projections (the gateway, 404) has none', async () => {
    const group = { groupId: 'variables.sessions', topics: ['sessions.events.v1'], lag: '3', partitions: [{ topic: 'sessions.events.v1', partition: 0, committed: '7', low: '0', high: '10', lag: '3' }] };
    const services = fakeServices({
      'GET http://127.0.0.1:4000/admin/v1/consumers': { body: { service: 'gateway', supported: true, consumers: [] } },
      [`GET ${VARIABLES}/admin/v1/projections`]: { body: { projections: [projection('session_variables')] } },
      [`GET ${VARIABLES}/admin/v1/consumers`]: { body: { service: 'variables', supported: true, consumers: [group] } },
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['lag', '--service', 'gateway', 'variables', '--json'], deps)).toBe(0);
    expect(json()).toEqual({
      services: [
        { service: 'gateway', url: 'http://127.0.0.1:4000', projections: [], consumers: { supported: true, groups: [] } },
        { service: 'variables', url: VARIABLES, projections: [{ name: 'session_variables', state: 'live', position: '120', head: '125', lag: '5' }], consumers: { supported: true, groups: [group] } },
      ],
    });
  });

  it('formats two tables for people, and says when a bus cannot tell', () => {
    const text = formatLag([
      {
        service: 'variables',
        url: VARIABLES,
        projections: [{ name: 'session_variables', state: 'live', position: '120', head: '125', lag: '5' }],
        consumers: { supported: true, groups: [{ groupId: 'variables.sessions', topics: ['t'], lag: '3', partitions: [{ topic: 't', partition: 0, committed: null, low: '0', high: '3', lag: '3' }] }] },
      },
      { service: 'sessions', url: SESSIONS, projections: [], consumers: { supported: false, reason: 'platformatic', groups: [] } },
    ]);
    expect(text).toContain('variables  session_variables  live   120       125   5');
    expect(text).toContain('variables  variables.sessions  t             0          none       3    3');
    expect(text).toContain('sessions   (not available)     platformatic');
  });
});

describe('webhooks replay', () => {
  it('parses --from as ISO 8601 with an offset or a duration back from now', () => {
    const now = new Date('2026-12-02T12:00:00Z');
    expect(parseFrom('2026-12-02T10:00:00+01:00', now)).toBe('2026-12-02T09:00:00.000Z');
    expect(parseFrom('2h', now)).toBe('2026-12-02T10:00:00.000Z');
    expect(parseFrom('30m', now)).toBe('2026-12-02T11:30:00.000Z');
    expect(parseFrom('7d', now)).toBe('2026-11-25T12:00:00.000Z');
    expect(() => parseFrom('2026-12-02T10:00:00', now)).toThrow(/ISO 8601/);
    expect(() => parseFrom('2026-13-40T10:00:00Z', now)).toThrow(/ISO 8601/);
  });

  it("replays to the org's active webhooks with its API key, then follows each replay until delivered", async () => {
    let looks = 0;
    const services = fakeServices({
      'GET /v1/webhooks': {
        body: {
          webhooks: [
            { webhookId: 'wh_a', url: 'https://a.example/hooks', status: 'ACTIVE' },
            { webhookId: 'wh_b', url: 'https://b.example/hooks', status: 'DISABLED' },
          ],
        },
      },
      'POST /v1/webhooks/wh_a/replay': { status: 202, body: { enqueued: 4, replayId: '6f0c0a52-5d1b-4a8e-9a39-9a2f3c1d2e3f' } },
      'GET /v1/webhooks/wh_a/replays/6f0c0a52-5d1b-4a8e-9a39-9a2f3c1d2e3f': () => {
        looks++;
        const delivered = Math.min(4, looks * 2);
        return { body: { webhookId: 'wh_a', replayId: '6f0c0a52-5d1b-4a8e-9a39-9a2f3c1d2e3f', enqueued: 4, pending: 4 - delivered, delivered, failed: 0, cancelled: 0, done: delivered === 4 } };
      },
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['webhooks', 'replay', '--from', '2h', '--json'], deps)).toBe(0);
    expect(services.seen.every((r) => r.authorization === 'Bearer svp_test')).toBe(true);
    expect(services.seen.find((r) => r.method === 'POST')!.body).toEqual({ from: '2026-12-02T10:00:00.000Z' });
    expect(json()).toEqual({
      from: '2026-12-02T10:00:00.000Z',
      waited: true,
      done: true,
      webhooks: [{ webhookId: 'wh_a', url: 'https://a.example/hooks', replayId: '6f0c0a52-5d1b-4a8e-9a39-9a2f3c1d2e3f', enqueued: 4, pending: 0, delivered: 4, failed: 0, cancelled: 0, done: true }],
    });
  });

  it('a delivery that failed makes the exit code 1; the service refusing a webhook (409) is an error', async () => {
    const failed = fakeServices({
      'POST /v1/webhooks/wh_a/replay': { status: 202, body: { enqueued: 1, replayId: '6f0c0a52-5d1b-4a8e-9a39-9a2f3c1d2e3f' } },
      'GET /v1/webhooks/wh_a/replays/6f0c0a52-5d1b-4a8e-9a39-9a2f3c1d2e3f': { body: { webhookId: 'wh_a', replayId: 'x', enqueued: 1, pending: 0, delivered: 0, failed: 1, cancelled: 0, done: true } },
    });
    const a = testDeps(failed.fetch);
    expect(await runCli(['webhooks', 'replay', '--from', '1d', '--webhook', 'wh_a', '--json'], a.deps)).toBe(1);
    expect(a.json().webhooks[0]).toMatchObject({ failed: 1, done: true });

    const refused = fakeServices({ 'POST /v1/webhooks/wh_off/replay': { status: 409, body: { error: { code: 'CONFLICT', message: 'Webhook wh_off is DISABLED; enable it first', details: { status: 'DISABLED' } } } } });
    const b = testDeps(refused.fetch);
    expect(await runCli(['webhooks', 'replay', '--from', '1d', '-w', 'wh_off'], b.deps)).toBe(1);
    expect(b.out.stderr).toContain('sessions answered 409 CONFLICT: Webhook wh_off is DISABLED; enable it first');
  });
});

describe('signing keys', () => {
  it('rotate sends the grace period and a public key read from a file, and shows the new key (and an HS256 secret once)', async () => {
    const services = fakeServices({
      'POST /v1/signing-keys/kid_old/rotate': { status: 201, body: { kid: 'kid_new', alg: 'HS256', secret: 's3cr3t', createdAt: 'c', replaces: 'kid_old', graceUntil: '2026-12-02T13:00:00Z' } },
    });
    const { deps, out, files } = testDeps(services.fetch);
    files.set('new.pem', '-----BEGIN PUBLIC KEY-----');
    expect(await runCli(['signing-keys', 'rotate', 'kid_old', '--grace', '3600', '--public-key-file', 'new.pem', '--new-kid', 'kid_new'], deps)).toBe(0);
    expect(services.seen[0]!.body).toEqual({ graceSeconds: 3600, publicKey: '-----BEGIN PUBLIC KEY-----', kid: 'kid_new' });
    expect(out.stdout).toContain('kid_old rotated: kid_new (HS256) replaces it; kid_old stays valid until 2026-12-02T13:00:00Z');
    expect(out.stdout).toContain('(shown only now; its UTF-8 bytes are the HMAC key): s3cr3t');
  });

  it('rotate with a file that cannot be read: exit 2, nothing sent', async () => {
    const services = fakeServices({});
    const { deps, out } = testDeps(services.fetch);
    expect(await runCli(['signing-keys', 'rotate', 'kid_old', '--jwks-file', 'missing.json'], deps)).toBe(2);
    expect(out.stderr).toContain('Cannot read missing.json');
    expect(services.seen).toEqual([]);
  });

  it('list prints a table of the keys', async () => {
    const services = fakeServices({
      'GET /v1/signing-keys': { body: { signingKeys: [{ kid: 'kid_a', alg: 'HS256', status: 'revoked', createdAt: '2026-12-01', fingerprint: 'f', revokedAt: '2026-12-02' }] } },
    });
    const { deps, out } = testDeps(services.fetch);
    expect(await runCli(['signing-keys', 'list'], deps)).toBe(0);
    expect(out.stdout.split('\n')[1]).toBe('kid_a  HS256  revoked  -      2026-12-01  -            -            2026-12-02');
  });
});

describe('visitors erase', () => {
  it('given an erasure still under way (202), then it polls GET /v1/erasures/{id} until completed', async () => {
    let looks = 0;
    const erasure = { erasureId: 'era_1', visitorId: 'v1', status: 'pending', sessions: 2, streams: 3, requestedAt: 'r', completedAt: null };
    const services = fakeServices({
      'DELETE /v1/visitors/v1': { status: 202, body: erasure },
      'GET /v1/erasures/era_1': () => ({ body: ++looks < 3 ? erasure : { ...erasure, status: 'completed', completedAt: 'done' } }),
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['visitors', 'erase', 'v1', '--json'], deps)).toBe(0);
    expect(json()).toEqual({ ...erasure, status: 'completed', completedAt: 'done' });
    expect(looks).toBe(3);
  });

  it('with --no-wait, answers the recorded erasure at once', async () => {
    const services = fakeServices({ 'DELETE /v1/visitors/v1': { status: 202, body: { erasureId: 'era_1', visitorId: 'v1', status: 'pending', sessions: 0, streams: 1, requestedAt: 'r', completedAt: null } } });
    const { deps, out } = testDeps(services.fetch);
    expect(await runCli(['visitors', 'erase', 'v1', '--no-wait'], deps)).toBe(0);
    expect(out.stdout).toContain('erasure era_1 of visitor v1 recorded, still under way');
    expect(services.seen).toHaveLength(1);
  });
});

describe('sessions export', () => {
  const line = (service: string, stream: string, revision: number, recordedAt: string, type: string) =>
    JSON.stringify({ service, stream, streamRevision: String(revision), globalPosition: String(revision + 100), eventId: `${stream}-${revision}`, type, recordedAt, data: {}, metadata: {} });
  const exportRoutes = (variablesBody?: string, variablesCount = 2) => ({
    [`GET ${IDENTITY}/admin/v1/orgs/org_1/sessions/s1/events`]: { text: `${line('identity', 'sessionidentity-org_1.s1', 0, '2026-12-02T10:00:02Z', 'IdentityVerified')}\n`, headers: { 'x-event-count': '1' } },
    [`GET ${SESSIONS}/admin/v1/orgs/org_1/sessions/s1/events`]: {
      text: `${line('sessions', 'session-org_1.s1', 0, '2026-12-02T10:00:00Z', 'SessionStarted')}\n${line('sessions', 'session-org_1.s1', 1, '2026-12-02T10:00:03Z', 'SessionEnded')}\n`,
      headers: { 'x-event-count': '2' },
    },
    [`GET ${VARIABLES}/admin/v1/orgs/org_1/sessions/s1/events`]: {
      text: variablesBody ?? `${line('variables', 'sessionvars-org_1.s1', 0, '2026-12-02T10:00:01Z', 'SessionVariablesSet')}\n${line('variables', 'sessionvars-org_1.s1', 1, '2026-12-02T10:00:03Z', 'SessionVariablesDiscarded')}`,
      headers: { 'x-event-count': String(variablesCount) },
    },
  });

  it('reads every service with the root token and merges the events in time order (one JSON document with --json)', async () => {
    const services = fakeServices(exportRoutes());
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['sessions', 'export', 's1', '--org', 'org_1', '--json'], deps)).toBe(0);
    const document = json();
    expect(document).toMatchObject({ orgId: 'org_1', sessionId: 's1', counts: { identity: 1, sessions: 2, variables: 2 } });
    expect(document.events.map((e: { type: string }) => e.type)).toEqual(['SessionStarted', 'SessionVariablesSet', 'IdentityVerified', 'SessionEnded', 'SessionVariablesDiscarded']);
    expect(services.seen.every((r) => r.authorization === 'Bearer root_test')).toBe(true);
  });

  it('writes NDJSON to --out, one event a line, and says so', async () => {
    const { deps, out, files } = testDeps(fakeServices(exportRoutes()).fetch);
    expect(await runCli(['sessions', 'export', 's1', '--org', 'org_1', '--out', 's1.ndjson'], deps)).toBe(0);
    const lines = files.get('s1.ndjson')!.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ service: 'sessions', type: 'SessionStarted' });
    expect(out.stdout).toContain('exported 5 event(s) of session s1 (identity 1, sessions 2, variables 2) to s1.ndjson');
  });

  it('finds the org from the API key when --org is not given', async () => {
    const services = fakeServices({ ...exportRoutes(), [`POST ${IDENTITY}/internal/v1/api-keys/introspect`]: { body: { active: true, orgId: 'org_1', keyId: 'k', scopes: [] } } });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['sessions', 'export', 's1', '--service', 'sessions', '--json'], deps)).toBe(0);
    expect(json().counts).toEqual({ sessions: 2 });
    expect(services.seen[0]).toMatchObject({ path: '/internal/v1/api-keys/introspect', authorization: 'Bearer svp_test' });
  });

  it('an export cut short (fewer lines than announced, or an error line) fails with exit 1', async () => {
    const short = testDeps(fakeServices(exportRoutes(undefined, 3)).fetch);
    expect(await runCli(['sessions', 'export', 's1', '--org', 'org_1', '--json'], short.deps)).toBe(1);
    expect(short.json().error).toMatchObject({ code: 'INCOMPLETE', message: 'variables sent 2 of the 3 events it announced (a stream deleted or truncated while exporting?)' });

    const broken = testDeps(fakeServices(exportRoutes(`${JSON.stringify({ error: { code: 'SERVICE_UNAVAILABLE', message: 'The export stopped part-way' } })}\n`)).fetch);
    expect(await runCli(['sessions', 'export', 's1', '--org', 'org_1'], broken.deps)).toBe(1);
    expect(broken.out.stderr).toContain('variables stopped the export part-way: The export stopped part-way');
  });

  it('a line that is not an ExportedEvent (libs/contracts) fails with exit 1, naming the service', async () => {
    const { deps, json } = testDeps(fakeServices(exportRoutes(`${JSON.stringify({ service: 'variables', stream: 'x' })}\n`, 1)).fetch);
    expect(await runCli(['sessions', 'export', 's1', '--org', 'org_1', '--json'], deps)).toBe(1);
    expect(json().error).toMatchObject({ code: 'BAD_EXPORT', service: 'variables', message: expect.stringContaining('not an event') });
  });

  it('a service that refuses leaves no other body open: the streams already answered are cancelled (no socket keeps the process alive)', async () => {
    const sessions = endlessBody([line('sessions', 'session-org_1.s1', 0, '2026-12-02T10:00:00Z', 'SessionStarted')]);
    const variables = endlessBody();
    const services = fakeServices({
      [`GET ${IDENTITY}/admin/v1/orgs/org_1/sessions/s1/events`]: { status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE', message: 'The export could not begin: the event store failed' } } },
      [`GET ${SESSIONS}/admin/v1/orgs/org_1/sessions/s1/events`]: { stream: sessions.stream, headers: { 'x-event-count': '2' } },
      [`GET ${VARIABLES}/admin/v1/orgs/org_1/sessions/s1/events`]: { stream: variables.stream, headers: { 'x-event-count': '0' } },
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['sessions', 'export', 's1', '--org', 'org_1', '--json'], deps)).toBe(1);
    expect(json().error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', service: 'identity', status: 503 });
    expect([sessions.state.cancelled, variables.state.cancelled]).toEqual([true, true]);
  });

  it('an export cut short in the first service cancels the bodies of the services not read yet', async () => {
    const sessions = endlessBody();
    const variables = endlessBody();
    const services = fakeServices({
      [`GET ${IDENTITY}/admin/v1/orgs/org_1/sessions/s1/events`]: { text: '', headers: { 'x-event-count': '1' } },
      [`GET ${SESSIONS}/admin/v1/orgs/org_1/sessions/s1/events`]: { stream: sessions.stream, headers: { 'x-event-count': '2' } },
      [`GET ${VARIABLES}/admin/v1/orgs/org_1/sessions/s1/events`]: { stream: variables.stream, headers: { 'x-event-count': '2' } },
    });
    const { deps, json } = testDeps(services.fetch);
    expect(await runCli(['sessions', 'export', 's1', '--org', 'org_1', '--json'], deps)).toBe(1);
    expect(json().error).toMatchObject({ code: 'INCOMPLETE', service: 'identity' });
    expect([sessions.state.cancelled, variables.state.cancelled]).toEqual([true, true]);
  });

  it('a session no service has an event of is NOT_FOUND, exit 1 (the error body with --json), and no file is written', async () => {
    const empty = { text: '', headers: { 'x-event-count': '0' } };
    const routes = {
      [`GET ${IDENTITY}/admin/v1/orgs/org_1/sessions/nobody/events`]: empty,
      [`GET ${SESSIONS}/admin/v1/orgs/org_1/sessions/nobody/events`]: empty,
      [`GET ${VARIABLES}/admin/v1/orgs/org_1/sessions/nobody/events`]: empty,
    };
    const a = testDeps(fakeServices(routes).fetch);
    expect(await runCli(['sessions', 'export', 'nobody', '--org', 'org_1', '--json'], a.deps)).toBe(1);
    expect(a.json()).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: 'No event of session nobody in org org_1 in identity, sessions, variables: an unknown session, or another org (--org)',
        details: { orgId: 'org_1', sessionId: 'nobody', services: ['identity', 'sessions', 'variables'] },
      },
    });

    const b = testDeps(fakeServices(routes).fetch);
    expect(await runCli(['sessions', 'export', 'nobody', '--org', 'org_1', '--out', 'nobody.ndjson'], b.deps)).toBe(1);
    expect(b.out.stderr).toContain('svp-ops: No event of session nobody in org org_1');
    expect(b.files.has('nobody.ndjson')).toBe(false);
  });
});

describe('progress on a terminal (stderr a TTY)', () => {
  const HIDE_CURSOR = '\x1B[?25l';
  const SHOW_CURSOR = '\x1B[?25h';
  /** Drawn, then stopped: the cursor hidden while it runs, shown again (and the line ended) once it stopped. */
  const drawnAndStopped = (stderr: string) => {
    expect(stderr.indexOf(HIDE_CURSOR)).toBeGreaterThanOrEqual(0);
    expect(stderr.lastIndexOf(SHOW_CURSOR)).toBeGreaterThan(stderr.indexOf(HIDE_CURSOR));
    expect(stderr.endsWith('\n')).toBe(true);
  };

  const startedAt = '2026-12-02T12:00:00.000Z';
  const rebuilding = () => {
    let polls = 0;
    return fakeServices({
      [`GET ${VARIABLES}/admin/v1/projections`]: () => {
        if (polls === 0) return { body: { projections: [projection('session_variables')] } };
        polls++;
        if (polls <= 3)
          return { body: { projections: [projection('session_variables', { rebuild: { table: 't2', position: '1', head: '2', eventsApplied: polls * 10, progress: polls * 30 }, lastRebuild: { state: 'running', startedAt } })] } };
        return { body: { projections: [projection('session_variables', { lastRebuild: { state: 'switched', startedAt, finishedAt: startedAt, table: 't2', eventsApplied: 40 } })] } };
      },
      [`POST ${VARIABLES}/admin/v1/projections/session_variables/rebuild`]: () => {
        polls = 1;
        return { status: 202, body: { startedAt } };
      },
    });
  };

  it('projections rebuild draws a bar on stderr to 100 % and stops it; stdout keeps only the result', async () => {
    const { deps, out } = testDeps(rebuilding().fetch, {}, { tty: true });
    expect(await runCli(['projections', 'rebuild', 'session_variables', '--service', 'variables'], deps)).toBe(0);
    expect(out.stderr).toContain('rebuild variables/session_variables [');
    expect(out.stderr).toContain('100% | 100/100');
    drawnAndStopped(out.stderr);
    expect(out.stdout).toContain('variables: session_variables rebuilt from position 0 (40 events) and switched to t2');
    expect(out.stdout).not.toContain('\x1B');
  });

  it('with --json (or --no-progress) nothing is drawn, even on a terminal', async () => {
    const a = testDeps(rebuilding().fetch, {}, { tty: true });
    expect(await runCli(['projections', 'rebuild', 'session_variables', '--service', 'variables', '--json'], a.deps)).toBe(0);
    expect(a.out.stderr).toBe('');
    expect(a.json()).toMatchObject({ state: 'switched' });
    const b = testDeps(rebuilding().fetch, {}, { tty: true });
    expect(await runCli(['projections', 'rebuild', 'session_variables', '--service', 'variables', '--no-progress'], b.deps)).toBe(0);
    expect(b.out.stderr).toBe('');
  });

  it('visitors erase shows a status line while it waits (the erasure\'s state, the time waited), stopped once completed', async () => {
    let looks = 0;
    const erasure = { erasureId: 'era_1', visitorId: 'v1', status: 'pending', sessions: 2, streams: 3, requestedAt: 'r', completedAt: null };
    const services = fakeServices({
      'DELETE /v1/visitors/v1': { status: 202, body: erasure },
      'GET /v1/erasures/era_1': () => ({ body: ++looks < 3 ? erasure : { ...erasure, status: 'completed', completedAt: 'done' } }),
    });
    const { deps, out } = testDeps(services.fetch, {}, { tty: true });
    expect(await runCli(['visitors', 'erase', 'v1'], deps)).toBe(0);
    expect(out.stderr).toContain('erase v1 … pending: 2 session(s), 3 stream(s)');
    expect(out.stderr).toContain('erase v1 … completed: 2 session(s), 3 stream(s)');
    drawnAndStopped(out.stderr);
    expect(out.stdout).toContain('visitor v1 erased (era_1)');

    const quiet = testDeps(services.fetch, {}, { tty: true });
    looks = 0;
    expect(await runCli(['visitors', 'erase', 'v1', '--json'], quiet.deps)).toBe(0);
    expect(quiet.out.stderr).toBe('');
  });

  it('sessions export draws its bar over the events announced', async () => {
    const body = (service: string, n: number) => ({
      text: Array.from({ length: n }, (_, i) => `${JSON.stringify({ service, stream: `${service}-org_1.s1`, streamRevision: String(i), globalPosition: String(i), eventId: `${service}-${i}`, type: 'T', recordedAt: `2026-12-02T10:00:0${i}Z`, data: {}, metadata: {} })}\n`).join(''),
      headers: { 'x-event-count': String(n) },
    });
    const services = fakeServices({
      [`GET ${IDENTITY}/admin/v1/orgs/org_1/sessions/s1/events`]: body('identity', 1),
      [`GET ${SESSIONS}/admin/v1/orgs/org_1/sessions/s1/events`]: body('sessions', 2),
      [`GET ${VARIABLES}/admin/v1/orgs/org_1/sessions/s1/events`]: body('variables', 2),
    });
    const { deps, out } = testDeps(services.fetch, {}, { tty: true });
    expect(await runCli(['sessions', 'export', 's1', '--org', 'org_1', '--out', 's1.ndjson'], deps)).toBe(0);
    expect(out.stderr).toContain('export s1 [');
    expect(out.stderr).toContain('100% | 5/5 variables');
    drawnAndStopped(out.stderr);
  });
});

describe('table', () => {
  it('aligns columns and shows empty cells as -', () => {
    expect(table(['A', 'LONGER'], [['x', null], ['yyyy', 3]])).toBe('A     LONGER\nx     -\nyyyy  3');
  });
});
