// @ts-check
// Scenarios c. (projection rebuild against a raw sequential read of the same events) and f. (RSS of
// each service idle and with 100,000 sessions of 10 variables projected), for tools/bench/bench.mjs.
//
// The lead's order, in one platform run:
//   const idle = await memoryScenario(platform, MODE, { phase: 'idle' });      // before seeding
//   const seed = await seedVariableEvents(platform, seedSizeFor(MODE));
//   results.push(...(await rebuildScenario(platform, MODE, { seed })));
//   results.push(...idle, ...(await memoryScenario(platform, MODE, { phase: 'loaded', idle, seed })));
//
// Self-test: `node tools/bench/rebuild.mjs [--full] [--sessions N] [--profile DIR]` (after npm run build)
// starts the distributed platform like bench.mjs, runs the four steps above and prints the table.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { table } from './report.mjs';
import { machineBusy } from './service-tail.mjs';
import { compare, median } from './stats.mjs';

const root = resolve(import.meta.dirname, '../..');
export const SERVICES = /** @type {const} */ (['identity', 'sessions', 'variables', 'gateway']);
const PROJECTION = 'session_variables';
/** The PostgresEventStore's readAll page while a subscription catches up (libs/event-store/src/postgres). */
export const STORE_PAGE_SIZE = 500;
/** Sessions whose writes interleave in the log (a busy org: 1,000 conversations open at once). */
const CONCURRENT_SESSIONS = 1_000;
/** The idle bound of issue 7 f. */
const IDLE_RSS_BOUND_MB = 120;

/**
 * @typedef {{ name: 'quick' | 'full', runs: number, seconds: number, warmupSeconds: number, connections: number }} Mode
 * @typedef {{ urls: Record<string, string>, rootToken: string, processes: Record<string, import('node:child_process').ChildProcess>,
 *   restart(service: string): Promise<void>, schemaPrefix: string, databaseUrl: string, kafkaBrokers: string, close(): Promise<void> }} Platform
 * @typedef {{ orgId: string, apiKey: string, sessions: number, variablesPerSession: number, events: number, head: string,
 *   sessionPrefix: string, seedSeconds: number, catchUpSeconds: number, label: string }} Seed
 */

/** The seed of a mode: 100,000 sessions × 10 variable sets (1,000,000 events) in full mode, a twentieth of it in quick mode (under 3 minutes in all). */
export function seedSizeFor(/** @type {Mode} */ mode) {
  return { sessions: mode.name === 'full' ? 100_000 : 5_000, variablesPerSession: 10 };
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const quoteIdent = (/** @type {string} */ name) => `"${name.replace(/"/g, '""')}"`;

/** A pg client on the variables service's schema, int8 read as bigint like the services do. */
async function variablesDb(/** @type {Platform} */ platform) {
  const schema = `${platform.schemaPrefix}variables`;
  const client = new pg.Client({
    connectionString: platform.databaseUrl,
    options: `-c search_path=${quoteIdent(schema)},public`,
    types: { getTypeParser: (oid, format) => (oid === 20 ? (/** @type {string} */ v) => BigInt(v) : pg.types.getTypeParser(oid, format)) },
  });
  await client.connect();
  return { client, schema };
}

async function api(/** @type {string} */ url, /** @type {string} */ token, /** @type {{ method?: string, body?: unknown }} */ { method = 'GET', body } = {}) {
  const answer = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`${method} ${url} answered ${answer.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The variables service's projections (GET /admin/v1/projections with the root token). */
async function projections(/** @type {Platform} */ platform) {
  /** @type {{ projections: { name: string, table: string, state: string, position: string, head: string | null, lag: string | null, rebuild?: unknown, error?: string }[] }} */
  const body = await api(`${platform.urls.variables}/admin/v1/projections`, platform.rootToken);
  return body.projections;
}

/** Waits until every projection of the variables service is live with no lag; resolves to the seconds it took. */
async function waitForProjectionsLive(/** @type {Platform} */ platform, timeoutMs = 30 * 60_000) {
  const started = performance.now();
  for (;;) {
    const all = await projections(platform);
    if (all.every((p) => p.state === 'live' && p.lag === '0' && !p.rebuild)) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs) throw new Error(`projections not live after ${timeoutMs} ms: ${JSON.stringify(all)}`);
    await sleep(100);
  }
}

/** The value of variable i, as the reads scenario writes them: a number, a string or a boolean. */
const valueOf = (/** @type {number} */ i) => (i % 3 === 0 ? i * 1000 : i % 3 === 1 ? `value number ${i}` : i % 2 === 0);
const VALUE_SQL = `CASE v % 3 WHEN 0 THEN to_jsonb(v * 1000) WHEN 1 THEN to_jsonb('value number ' || v) ELSE to_jsonb(v % 2 = 0) END`;

/** Gracefully stops one service process (SIGTERM, as startDistributed's stop does) and waits for its exit. */
async function stopService(/** @type {Platform} */ platform, /** @type {string} */ service) {
  const child = platform.processes[service];
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', () => done(undefined)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Writes `sessions` × `variablesPerSession` SessionVariablesSet events straight into the variables
 * service's event store (es_events, es_streams), with set-based SQL: exactly the events a
 * `PUT /v1/sessions/{id}/variables` of one variable at a time with an org API key appends (checked
 * against one written through the API: same data, metadata, types, stream names and revisions).
 *
 * Sessions `s` get variables var0…var{n-1}, one event each (version 1, source api, set by the org's
 * key); 1,000 sessions are open at a time: their writes interleave round-robin in the log, then the
 * next thousand start (so a batch of the log touches many documents, as real traffic does).
 *
 * The outbox: the relay reads the store's global log after its checkpoint (msg_outbox_checkpoints),
 * so events seeded under a running service would all be published to Kafka (1,000,000
 * SessionVariablesChanged) and consumed by sessions (an activity row per message), gateway and
 * identity, during the measurements that follow. The seed stands for history that was published
 * long ago: the variables service is stopped (SIGTERM, after its relay has published everything
 * stored so far), the events are inserted and the relay's checkpoint moved to the new head in the
 * same transaction, and the service is started again. Its projections then catch up from their
 * checkpoints (`catchUpSeconds`: the live runner's first build of the seeded log), and a few sessions
 * are read back through GET /v1/sessions/{id}/variables. Nothing else is touched: no inbox (the seed
 * consumed no message), no timers (SessionVariablesSet arms none).
 *
 * @param {Platform} platform
 * @param {{ sessions: number, variablesPerSession: number }} size
 * @returns {Promise<Seed>}
 */
export async function seedVariableEvents(platform, { sessions, variablesPerSession }) {
  const org = await api(`${platform.urls.identity}/v1/orgs`, platform.rootToken, { method: 'POST', body: { name: 'Bench rebuild' } });
  const sessionPrefix = `rb${Date.now().toString(36)}-`;
  const templateSession = `${sessionPrefix}template`;
  // One real write, to learn the key id the service stores as setBy and to compare shapes with.
  await api(`${platform.urls.variables}/v1/sessions/${templateSession}/variables`, org.apiKey, {
    method: 'PUT',
    body: { sessionVariableValues: [{ name: 'var1', value: valueOf(1) }] },
  });
  const { client, schema } = await variablesDb(platform);
  try {
    const template = (await client.query(`SELECT * FROM es_events WHERE stream_name = $1`, [`sessionvars-${org.orgId}.${templateSession}`])).rows[0];
    if (!template) throw new Error('the template write is not in the store');
    const keyId = template.data.setBy;

    // Everything stored so far is published before the service stops (the checkpoint reaches the head).
    for (let tries = 0; ; tries++) {
      const { rows } = await client.query(
        `SELECT (SELECT coalesce(max(global_position), 0) FROM es_events) AS head, (SELECT position FROM msg_outbox_checkpoints WHERE name = 'variables') AS published`,
      );
      if (rows[0].published !== null && rows[0].published >= rows[0].head) break;
      if (tries > 600) throw new Error(`the variables outbox did not publish up to ${rows[0].head} (at ${rows[0].published})`);
      await sleep(100);
    }
    await stopService(platform, 'variables');

    const seedStarted = performance.now();
    const channel = `es_appended_${schema}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
    const events = sessions * variablesPerSession;
    let head = 0n;
    await client.query('BEGIN');
    try {
      // The store's append lock: positions become visible in order (nothing else appends now anyway).
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [channel]);
      await client.query(
        `INSERT INTO es_events (stream_name, stream_revision, event_id, event_type, data, metadata, recorded_at)
         SELECT 'sessionvars-' || $1 || '.' || $2 || s, v, gen_random_uuid(), 'SessionVariablesSet',
                jsonb_build_object(
                  'orgId', $1::text, 'sessionId', $2 || s,
                  'changes', jsonb_build_array(jsonb_build_object('name', 'var' || v, 'value', ${VALUE_SQL}, 'source', 'api', 'verified', false, 'version', 1)),
                  'setBy', $3::text,
                  'at', to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                jsonb_build_object('orgId', $1::text),
                t.at + interval '2 ms'
         FROM generate_series(0, $4::int - 1) AS s, generate_series(0, $5::int - 1) AS v,
              LATERAL (SELECT now() - interval '1 day' + ((s / $6::int) * $5::int * $6::int + v * $6::int + s % $6::int) * interval '1 ms' AS at) AS t
         ORDER BY s / $6::int, v, s % $6::int`,
        [org.orgId, sessionPrefix, keyId, sessions, variablesPerSession, CONCURRENT_SESSIONS],
      );
      await client.query(
        `INSERT INTO es_streams (stream_name, revision) SELECT 'sessionvars-' || $1 || '.' || $2 || s, $4::int - 1 FROM generate_series(0, $3::int - 1) AS s`,
        [org.orgId, sessionPrefix, sessions, variablesPerSession],
      );
      head = (await client.query('SELECT max(global_position) AS head FROM es_events')).rows[0].head;
      // History: published long ago (see above).
      await client.query(
        `INSERT INTO msg_outbox_checkpoints (name, position) VALUES ('variables', $1)
         ON CONFLICT (name) DO UPDATE SET position = GREATEST(msg_outbox_checkpoints.position, EXCLUDED.position), updated_at = now()`,
        [head],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    // What autovacuum does after a million inserts anyway (hint bits, visibility map, statistics), so
    // that the first measured reader does not pay for it.
    await client.query('VACUUM (ANALYZE) es_events, es_streams');
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // The seeded event of the template's shape must equal what the service wrote (but its timestamps).
    const seeded = (await client.query(`SELECT * FROM es_events WHERE stream_name = $1 AND stream_revision = 1`, [`sessionvars-${org.orgId}.${sessionPrefix}0`])).rows[0];
    const strip = (/** @type {any} */ e) => ({ type: e.event_type, data: { ...e.data, at: undefined, sessionId: undefined }, metadata: e.metadata, revision: e.stream_revision });
    if (JSON.stringify(strip(seeded), (_, v) => (typeof v === 'bigint' ? String(v) : v)) !== JSON.stringify(strip({ ...template, stream_revision: 1n }), (_, v) => (typeof v === 'bigint' ? String(v) : v)))
      throw new Error(`seeded event differs from the service's own: ${JSON.stringify(seeded.data)} vs ${JSON.stringify(template.data)}`);

    await platform.restart('variables');
    const catchUpSeconds = await waitForProjectionsLive(platform);
    const count = Number((await client.query('SELECT count(*)::int AS n FROM es_events')).rows[0].n);

    // Read a few sessions back through the service's API: 10 session variables each, with their values.
    for (const s of [0, Math.floor(sessions / 2), sessions - 1]) {
      const { variables } = await api(`${platform.urls.variables}/v1/sessions/${sessionPrefix}${s}/variables`, org.apiKey);
      const session = variables.filter((/** @type {any} */ v) => v.scope === 'session');
      const ok =
        session.length === variablesPerSession &&
        session.every((/** @type {any} */ v) => v.value === valueOf(Number(v.name.slice(3))) && v.source === 'api' && v.version === 1 && v.verified === false);
      if (!ok) throw new Error(`session ${sessionPrefix}${s} reads ${JSON.stringify(variables)}`);
    }
    return {
      orgId: org.orgId,
      apiKey: org.apiKey,
      sessions,
      variablesPerSession,
      events: count,
      head: String(head),
      sessionPrefix,
      seedSeconds,
      catchUpSeconds,
      label: `${sessions.toLocaleString('en-US')} sessions × ${variablesPerSession} variables`,
    };
  } finally {
    await client.end();
  }
}

/** CPU seconds the four service processes have used so far. */
export function servicesCpu(/** @type {Platform} */ platform) {
  return SERVICES.reduce((sum, service) => sum + cpuSeconds(/** @type {number} */ (platform.processes[service].pid)), 0);
}

/** VmRSS of a process in MB (from /proc/<pid>/status). */
export function rssMb(/** @type {number} */ pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for pid ${pid}`);
  return kb / 1024;
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; 0 once it is gone. */
export function cpuSeconds(/** @type {number} */ pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/**
 * One rebuild of the session variables read model through the admin endpoint: from the POST to the
 * switch, the commit that points the projection's checkpoint row at the new table. That row is
 * polled in the database every 10 ms (polling the admin endpoint that often would load the service
 * being measured); the admin status is asked once a second, for a failure. Also the variables
 * process's peak RSS, and the CPU time of the process and of its PostgreSQL backends.
 */
async function timedRebuild(/** @type {Platform} */ platform) {
  const before = (await projections(platform)).find((p) => p.name === PROJECTION);
  if (!before) throw new Error(`no ${PROJECTION} projection`);
  const pid = /** @type {number} */ (platform.processes.variables.pid);
  const { client } = await variablesDb(platform);
  try {
    const activeTable = async () => (await client.query('SELECT table_name FROM proj_checkpoints WHERE projection = $1', [`${PROJECTION}_v${before.version}`])).rows[0]?.table_name;
    if ((await activeTable()) !== before.table) throw new Error(`the checkpoint row does not name ${before.table}`);
    let peakRss = rssMb(pid);
    // CPU of the backends: last value seen per backend pid (backends come and go with the pool).
    /** @type {Map<number, { first: number, last: number }>} */
    const backendCpu = new Map();
    const sampleBackends = async (first = false) => {
      for (const { pid: backend } of (await client.query(`SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'svp-variables%'`)).rows) {
        const used = cpuSeconds(Number(backend));
        const seen = backendCpu.get(Number(backend));
        if (seen) seen.last = Math.max(seen.last, used);
        else backendCpu.set(Number(backend), { first: first ? used : 0, last: used });
      }
    };
    await sampleBackends(true);
    const nodeBefore = cpuSeconds(pid);
    const started = performance.now();
    await api(`${platform.urls.variables}/admin/v1/projections/${PROJECTION}/rebuild`, platform.rootToken, { method: 'POST' });
    let nodeCpu = 0;
    for (let polls = 1; ; polls++) {
      if ((await activeTable()) !== before.table) break;
      nodeCpu = cpuSeconds(pid) - nodeBefore;
      peakRss = Math.max(peakRss, rssMb(pid));
      if (polls % 20 === 0) await sampleBackends();
      if (polls % 300 === 0) {
        const now = (await projections(platform)).find((p) => p.name === PROJECTION);
        if (now?.state === 'failed' || (now && !now.rebuild && now.table === before.table)) throw new Error(`rebuild failed: ${JSON.stringify(now)}`);
      }
      if (performance.now() - started > 60 * 60_000) throw new Error('rebuild did not switch within an hour');
      await sleep(10);
    }
    const seconds = (performance.now() - started) / 1000;
    nodeCpu = cpuSeconds(pid) - nodeBefore;
    await sampleBackends();
    const pgCpu = [...backendCpu.values()].reduce((sum, b) => sum + b.last - b.first, 0);
    return { seconds, peakRss, cpu: { node: nodeCpu, pg: pgCpu } };
  } finally {
    await client.end();
  }
}

/**
 * The baseline: a raw sequential read of the whole log from the same store with pg, as the runner
 * reads it (keyset pages of STORE_PAGE_SIZE by global_position, every column, jsonb parsed, int8 as
 * bigint, each row mapped to a recorded event); events per second.
 */
async function rawRead(/** @type {Platform} */ platform, pageSize = STORE_PAGE_SIZE) {
  const { client } = await variablesDb(platform);
  try {
    const backend = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    const cpuBefore = { node: process.cpuUsage(), pg: cpuSeconds(backend), services: servicesCpu(platform) };
    const cores = machineBusy();
    const started = performance.now();
    let after = 0n;
    let events = 0;
    /** @type {unknown} */
    let sink;
    for (;;) {
      const { rows } = await client.query(
        // The columns as the store reads them (recorded_at as epoch milliseconds: libs/event-store/src/postgres).
        `SELECT global_position, stream_name, stream_revision, event_id, event_type, data, metadata,
                floor(extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_ms FROM es_events
         WHERE global_position > $1::bigint ORDER BY global_position LIMIT $2::bigint`,
        [after, pageSize],
      );
      for (const row of rows) {
        sink = {
          eventId: row.event_id,
          type: row.event_type,
          data: row.data,
          metadata: row.metadata,
          streamName: row.stream_name,
          streamRevision: row.stream_revision,
          globalPosition: row.global_position,
          recordedAt: new Date(row.recorded_ms),
        };
      }
      events += rows.length;
      if (rows.length < pageSize) break;
      after = rows[rows.length - 1].global_position;
    }
    void sink;
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpuBefore.node);
    // What else ran meanwhile: the four services, and both cores' busy share (all processes).
    const others = { services: servicesCpu(platform) - cpuBefore.services, machineBusy: cores().busy };
    return { events, seconds, cpu: { node: (used.user + used.system) / 1e6, pg: cpuSeconds(backend) - cpuBefore.pg }, others };
  } finally {
    await client.end();
  }
}

/**
 * c. Rebuild of the session variables read model (POST /admin/v1/projections/session_variables/rebuild,
 * start to switch) in events per second of the log it replays, against the raw sequential read of
 * the same events from the same store. One rebuild and one read of warm-up, then `mode.runs` of
 * each, alternating. `measure` (optional) takes over the runs like bench.mjs's measure(figure,
 * baseline): each function ignores its seconds argument and answers events/s.
 *
 * @param {Platform} platform
 * @param {Mode} mode
 * @param {{ seed: Seed, measure?: (figure: (s?: number) => Promise<number>, baseline: (s?: number) => Promise<number>) => Promise<{ figure: number[], baseline: number[] }>, log?: (line: string) => void }} options
 */
export async function rebuildScenario(platform, mode, { seed, measure, log = () => undefined }) {
  const { client } = await variablesDb(platform);
  const events = Number((await client.query('SELECT count(*)::int AS n FROM es_events')).rows[0].n);
  await client.end();
  const peaks = /** @type {number[]} */ ([]);
  const figure = async () => {
    const { seconds, peakRss, cpu } = await timedRebuild(platform);
    peaks.push(peakRss);
    log(
      `rebuild: ${events} events in ${seconds.toFixed(2)} s = ${Math.round(events / seconds)} events/s (variables peak RSS ${peakRss.toFixed(0)} MB; ` +
        `CPU: variables ${cpu.node.toFixed(1)} s, its PostgreSQL backends ${cpu.pg.toFixed(1)} s)`,
    );
    return events / seconds;
  };
  const baseline = async () => {
    const read = await rawRead(platform);
    if (read.events !== events) throw new Error(`raw read found ${read.events} events, expected ${events}`);
    log(
      `raw read: ${read.events} events in ${read.seconds.toFixed(2)} s = ${Math.round(read.events / read.seconds)} events/s (CPU: reader ${read.cpu.node.toFixed(1)} s, its backend ${read.cpu.pg.toFixed(1)} s; ` +
        `meanwhile the services ${read.others.services.toFixed(1)} s, both cores ${(read.others.machineBusy * 100).toFixed(0)} % busy)`,
    );
    return read.events / read.seconds;
  };
  const runs =
    (await measure?.(figure, baseline)) ??
    (await (async () => {
      await figure();
      await baseline();
      const r = { figure: /** @type {number[]} */ ([]), baseline: /** @type {number[]} */ ([]) };
      for (let i = 0; i < mode.runs; i++) {
        r.figure.push(await figure());
        r.baseline.push(await baseline());
      }
      return r;
    })());
  await waitForProjectionsLive(platform);
  return [
    {
      id: 'rebuild',
      title: 'c. Projection rebuild',
      unit: 'events/s',
      figureLabel: `variables POST /admin/v1/projections/session_variables/rebuild, start to switch, ${events.toLocaleString('en-US')} events (${seed.label}${mode.name === 'quick' ? ', quick mode: a twentieth of the full seed' : ''}); variables peak RSS ${Math.round(median(peaks))} MB`,
      baselineLabel: `raw sequential read of the same events with pg (keyset pages of ${STORE_PAGE_SIZE}, JSON parsed)`,
      runs: mode.runs,
      ...compare({ ...runs, higherIsBetter: true }),
      target: { ratio: 0.5, text: 'at least 0.5x the raw read' },
      seed: { seedSeconds: seed.seedSeconds, catchUpSeconds: seed.catchUpSeconds, events },
    },
  ];
}

/**
 * f. RSS (VmRSS, MB) of each service process: `mode.runs` samples one second apart, after a settle of
 * `mode.warmupSeconds`. `idle`: call it before seeding (and before other scenarios load the
 * services): each against the 120 MB bound of the issue. `loaded`: after the seed is projected
 * (and the rebuilds ran), each against its own idle figure (pass the idle results), no target.
 *
 * @param {Platform} platform
 * @param {Mode} mode
 * @param {{ phase: 'idle' | 'loaded', idle?: readonly { id: string, figure: number }[], seed?: Seed }} options
 */
export async function memoryScenario(platform, mode, { phase, idle, seed }) {
  if (phase === 'loaded') await waitForProjectionsLive(platform);
  await sleep(mode.warmupSeconds * 1000);
  /** @type {Record<string, number[]>} */
  const samples = Object.fromEntries(SERVICES.map((s) => [s, []]));
  for (let i = 0; i < mode.runs; i++) {
    if (i > 0) await sleep(1000);
    for (const service of SERVICES) samples[service].push(rssMb(/** @type {number} */ (platform.processes[service].pid)));
  }
  return SERVICES.map((service) => {
    if (phase === 'idle') {
      return {
        id: `memory-idle-${service}`,
        title: `f. RSS idle: ${service}`,
        unit: 'MB',
        figureLabel: `${service} VmRSS idle, ${mode.runs} samples 1 s apart`,
        baselineLabel: 'the bound',
        runs: mode.runs,
        ...compare({ figure: samples[service], baseline: [IDLE_RSS_BOUND_MB], higherIsBetter: false }),
        target: { ratio: 1, text: `idle RSS under ${IDLE_RSS_BOUND_MB} MB` },
      };
    }
    const idleFigure = idle?.find((r) => r.id === `memory-idle-${service}`)?.figure;
    return {
      id: `memory-loaded-${service}`,
      title: `f. RSS loaded: ${service}`,
      unit: 'MB',
      figureLabel: `${service} VmRSS with ${seed?.label ?? 'the seed'} projected${mode.name === 'quick' ? ' (quick mode: a twentieth of the full seed)' : ''}, after the rebuilds${service === 'variables' ? ' (restarted by the seed)' : ''}, ${mode.runs} samples`,
      baselineLabel: idleFigure === undefined ? 'the idle bound' : `${service} idle`,
      runs: mode.runs,
      ...compare({ figure: samples[service], baseline: [idleFigure ?? IDLE_RSS_BOUND_MB], higherIsBetter: false }),
    };
  });
}

// ---- self-test ---------------------------------------------------------------------------------

/** A port nothing listens on (the OS picks it). */
function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => done(port));
    });
  });
}

/**
 * The distributed mode, as it runs in production: a process per service on PostgreSQL and Kafka
 * (started here when they are not running), in schemas of its own, dropped by close(). Logs at warn:
 * a line per request is not what is measured. `--profile DIR` on the command line: every service
 * writes a V8 CPU profile there when it stops (open it in Chrome DevTools or speedscope). `env`:
 * more settings of the services. Used by bench.mjs, floor.mjs and this file's self-test.
 */
export async function startPlatform(/** @type {Record<string, string>} */ env = {}) {
  const { ensureLocalInfrastructure, startDistributed } = await import(join(root, 'apps/platform/dist/distributed.js'));
  await ensureLocalInfrastructure(root);
  const prefix = `bench_${Date.now()}_`;
  const ports = { gateway: await freePort(), identity: await freePort(), sessions: await freePort(), variables: await freePort() };
  const profileAt = process.argv.indexOf('--profile');
  const nodeArgs = profileAt > 0 ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.argv[profileAt + 1] ?? 'bench-results/profiles')}`] : [];
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const running = await startDistributed({ root, ports, schemaPrefix: prefix, nodeArgs, env: { LOG_LEVEL: 'warn', ORG_REQUESTS_PER_MINUTE: '10000000', ...env } });
  return {
    ...running,
    schemaPrefix: prefix,
    databaseUrl,
    kafkaBrokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    close: async () => {
      await running.stop();
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      for (const service of SERVICES) await client.query(`DROP SCHEMA IF EXISTS "${prefix}${service}" CASCADE`);
      await client.end();
    },
  };
}

async function selfTest() {
  const full = process.argv.includes('--full');
  /** @type {Mode} */
  const mode = full ? { name: 'full', runs: 5, seconds: 20, warmupSeconds: 5, connections: 16 } : { name: 'quick', runs: 3, seconds: 5, warmupSeconds: 2, connections: 16 };
  const sessionsAt = process.argv.indexOf('--sessions');
  const size = { ...seedSizeFor(mode), ...(sessionsAt > 0 ? { sessions: Number(process.argv[sessionsAt + 1]) } : {}) };
  const log = (/** @type {string} */ line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  const started = Date.now();
  const platform = await startPlatform();
  try {
    log(`${mode.name} mode; services ${SERVICES.map((s) => `${s}=${platform.processes[s].pid}`).join(' ')}`);
    const idle = await memoryScenario(platform, mode, { phase: 'idle' });
    log(`idle RSS: ${idle.map((r) => `${r.id.slice(12)} ${r.figure.toFixed(1)} MB`).join(', ')}`);
    const seed = await seedVariableEvents(platform, size);
    log(`seeded ${seed.events} events (${seed.label}) in ${seed.seedSeconds.toFixed(1)} s; live projections caught up in ${seed.catchUpSeconds.toFixed(1)} s (${Math.round(seed.events / seed.catchUpSeconds)} events/s)`);
    const rebuild = await rebuildScenario(platform, mode, { seed, log });
    const loaded = await memoryScenario(platform, mode, { phase: 'loaded', idle, seed });
    const results = [...rebuild, ...idle, ...loaded];
    console.log(`\n${table(results)}\n`);
    console.log(JSON.stringify(results, null, 1));
  } finally {
    await platform.close();
  }
  log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await selfTest();
