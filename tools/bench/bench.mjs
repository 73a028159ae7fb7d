// @ts-check
// npm run bench [-- --quick]: each scenario beside its baseline, in the same run on the same machine;
// prints the table, writes bench-results/<date>.json, docs/benchmarks.md and docs/benchmarks.svg.
// Never part of npm test or CI (no gate on a time). See docs/benchmarks.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createClient as createRedisClient } from 'redis';
import { SignJWT, jwtVerify } from 'jose';
import { markdown, svgChart, table } from './report.mjs';
import { deleteTopics, kafkaClientsScenario } from './kafka-clients.mjs';
import { compare, median } from './stats.mjs';
import { openLoopLatency } from './open-loop.mjs';
import { coreShare, machineBusy, schedstat, serviceTail, tailBetween } from './service-tail.mjs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { serveBaseline } from './serve-baseline.mjs';
import { memoryScenario, startPlatform, rebuildScenario, seedSizeFor, seedVariableEvents, servicesCpu } from './rebuild.mjs';

const root = resolve(import.meta.dirname, '../..');
const quick = process.argv.includes('--quick');
const MODE = quick
  ? { name: 'quick', runs: 3, seconds: 1.5, warmupSeconds: 0.5, connections: 16 }
  : { name: 'full', runs: 5, seconds: 10, warmupSeconds: 3, connections: 16 };

/** Closed-loop HTTP load with autocannon: requests per second over `seconds`, 2xx only (anything else fails the run). */
async function httpRate(options) {
  const result = await autocannon({ connections: MODE.connections, ...options, duration: options.seconds });
  const ok = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${options.url}: ${result.non2xx} non-2xx answers and ${result.errors} errors in the run`);
  return ok / options.seconds;
}

/** The same closed loop in-process: `connections` callers each awaiting `operation` again and again for `seconds`; operations per second. */
async function inProcessRate(operation, seconds, connections = MODE.connections) {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        await operation();
        done++;
      }
    }),
  );
  return done / seconds;
}

/** Runs warm-up (discarded) then `count` measured runs of figure and baseline, alternating. */
const measureRuns = (count) => async (figure, baseline) => {
  await figure(MODE.warmupSeconds);
  await baseline(MODE.warmupSeconds);
  const runs = { figure: [], baseline: [] };
  for (let i = 0; i < count; i++) {
    runs.figure.push(await figure(MODE.seconds));
    runs.baseline.push(await baseline(MODE.seconds));
  }
  return runs;
};

/** measureRuns with MODE.runs. */
const measure = measureRuns(MODE.runs);

async function post(url, key, body) {
  const answer = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!answer.ok) throw new Error(`${url} answered ${answer.status}: ${await answer.text()}`);
  return answer.json();
}

/** e. JWT verifications per second through the identity service's HTTP API, against jose's raw verify of the same token. */
async function jwtScenario(platform) {
  const org = await post(`${platform.urls.identity}/v1/orgs`, platform.rootToken, { name: 'Bench JWT' });
  const { kid, secret } = await post(`${platform.urls.identity}/v1/signing-keys`, org.apiKey, { alg: 'HS256' });
  const key = new TextEncoder().encode(secret);
  const token = await new SignJWT({ external_id: 'cust-42', plan: 'gold' }).setProtectedHeader({ alg: 'HS256', kid }).setIssuedAt().setExpirationTime('2h').sign(key);
  const check = await post(`${platform.urls.identity}/internal/v1/signatures/verify`, org.apiKey, { token });
  if (!check.valid) throw new Error(`the bench token does not verify: ${JSON.stringify(check)}`);
  const body = JSON.stringify({ token });
  const runs = await measure(
    (seconds) => httpRate({ url: `${platform.urls.identity}/internal/v1/signatures/verify`, method: 'POST', headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' }, body, seconds }),
    (seconds) => inProcessRate(() => jwtVerify(token, key, { algorithms: ['HS256'] }), seconds),
  );
  return {
    id: 'jwt',
    title: 'e. JWT verifications',
    unit: 'verifications/s',
    figureLabel: `identity POST /internal/v1/signatures/verify, ${MODE.connections} connections`,
    baselineLabel: `jose jwtVerify in-process, ${MODE.connections} concurrent callers`,
    runs: MODE.runs,
    ...compare({ ...runs, higherIsBetter: true }),
    target: { ratio: 0.8, text: 'at least 0.8x raw jose' },
  };
}

// --writes 1,16: other concurrencies for scenario a (default 1, 16 and 64, as the issue asks).
const writesAt = process.argv.indexOf('--writes');
const WRITE_CONCURRENCY = writesAt > 0 ? (process.argv[writesAt + 1] ?? '').split(',').map(Number) : [1, 16, 64];

/** The baseline of a at concurrency n needs n connections of its own beside the services' pools: say so plainly rather than fail midway. */
async function enoughConnections(platform, needed) {
  const client = new pg.Client({ connectionString: platform.databaseUrl });
  await client.connect();
  const { rows } = await client.query("SELECT current_setting('max_connections')::int - (SELECT count(*) FROM pg_stat_activity)::int AS free");
  await client.end();
  if (rows[0].free < needed)
    throw new Error(`scenario a needs ${needed} free PostgreSQL connections beside the services' pools and finds ${rows[0].free} (max_connections, less what other clients hold): stop other clients or raise max_connections`);
}

/**
 * a. Writes: PUT /v1/sessions/{id}/variables through the variables service (event store and read
 * model on PostgreSQL; the answer waits for the read model, read-your-writes) at concurrency 1, 16
 * and 64, against raw single-row INSERTs of the same JSON body with pg at the same concurrency into
 * a table of the same PostgreSQL (default durability on both sides: synchronous_commit as the server
 * has it). Every request is a new session, so every PUT appends (a value equal to the stored one
 * would append nothing).
 */
async function writesScenario(platform) {
  await enoughConnections(platform, Math.max(...WRITE_CONCURRENCY) + 8);
  const org = await post(`${platform.urls.identity}/v1/orgs`, platform.rootToken, { name: 'Bench writes' });
  const body = JSON.stringify({ sessionVariableValues: [{ name: 'cartValue', value: 129.5 }, { name: 'plan', value: 'gold' }, { name: 'customerId', value: '6320834868293' }] });
  const schema = `${platform.schemaPrefix}baseline`;
  const admin = new pg.Client({ connectionString: platform.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await admin.query(`CREATE TABLE IF NOT EXISTS "${schema}".writes (id bigserial PRIMARY KEY, session_id text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await admin.query("SELECT current_setting('synchronous_commit') AS sync, current_setting('fsync') AS fsync");
  await admin.end();
  let counter = 0;
  const results = [];
  try {
    for (const concurrency of WRITE_CONCURRENCY) {
      const pool = new pg.Pool({ connectionString: platform.databaseUrl, max: concurrency, application_name: 'bench-baseline' });
      pool.on('error', () => undefined);
      const run = `${Date.now().toString(36)}-${concurrency}`;
      try {
        const runs = await measure(
          (seconds) =>
            httpRate({
              url: platform.urls.variables,
              connections: concurrency,
              seconds,
              requests: [
                {
                  method: 'PUT',
                  headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' },
                  body,
                  setupRequest: (request) => ({ ...request, path: `/v1/sessions/bench-w-${run}-${counter++}/variables` }),
                },
              ],
            }),
          (seconds) =>
            inProcessRate(() => pool.query(`INSERT INTO "${schema}".writes (session_id, payload) VALUES ($1, $2)`, [`bench-w-${run}-${counter++}`, body]), seconds, concurrency),
        );
        results.push({
          id: `writes-${concurrency}`,
          title: `a. Writes at concurrency ${concurrency}`,
          unit: 'writes/s',
          figureLabel: `variables PUT /v1/sessions/{id}/variables (3 variables, a new session each), ${concurrency} connection${concurrency > 1 ? 's' : ''}`,
          baselineLabel: `pg single-row INSERT of the same body, ${concurrency} concurrent (synchronous_commit ${rows[0].sync}, fsync ${rows[0].fsync})`,
          runs: MODE.runs,
          ...compare({ ...runs, higherIsBetter: true }),
          ...(concurrency === 64 ? { target: { ratio: 1.0, text: 'at least 1.0x raw INSERTs at concurrency 64' } } : {}),
        });
      } finally {
        await pool.end();
      }
    }
    return results;
  } finally {
    const cleanup = new pg.Client({ connectionString: platform.databaseUrl });
    await cleanup.connect();
    await cleanup.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await cleanup.end();
  }
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** The q-quantile (0..1) of numbers, nearest rank. @param {readonly number[]} values @param {number} q */
function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * d. Propagation: a session ends in the sessions service (SessionEnded appended to its store), its
 * outbox relay publishes it to sessions.events.v1, the variables service consumes it and appends
 * SessionVariablesDiscarded. The figure is the time between the two events' recorded_at in
 * PostgreSQL (one clock, microseconds). The baseline is produce-to-consume alone on the same broker
 * through the services' own Kafka adapter and settings (idempotent producer, acks=all): publish
 * start to the consumer's handler. One end at a time, after
 * the previous one was discarded (latency, not throughput).
 */
async function propagationScenario(platform) {
  const samples = quick ? 20 : 60;
  const org = await post(`${platform.urls.identity}/v1/orgs`, platform.rootToken, { name: 'Bench propagation' });
  const sql = new pg.Client({ connectionString: platform.databaseUrl });
  await sql.connect();
  // The baseline goes through the services' own Kafka adapter (the default client, the services'
  // producer and consumer settings), with nothing else on the path.
  const { KafkaMessageBus, silentLogger } = await import(pathToFileURL(join(root, 'libs/messaging/dist/index.js')).href);
  const bus = new KafkaMessageBus({ brokers: platform.kafkaBrokers.split(','), clientId: 'bench-propagation', logger: silentLogger });
  // A producer of its own, as the relay is another process than the consumer.
  const producerBus = new KafkaMessageBus({ brokers: platform.kafkaBrokers.split(','), clientId: 'bench-propagation-producer', logger: silentLogger });
  const topic = `bench.propagation.${Date.now()}`;
  await bus.ensureTopics([topic]);
  /** @type {Map<string, (at: number) => void>} */
  const waiting = new Map();
  const consumer = await bus.consume({ groupId: `bench-propagation-${Date.now()}`, topics: [topic], ephemeral: true, handler: async (message) => waiting.get(String(message.key))?.(performance.now()) });
  await consumer.ready;
  try {
    const endedAt = (schema, sessionId, type) =>
      sql.query(`SELECT extract(epoch FROM recorded_at) * 1000 AS at FROM "${platform.schemaPrefix}${schema}".es_events WHERE event_type = $1 AND stream_name LIKE '%' || $2`, [type, sessionId]).then((r) => (r.rows[0] ? Number(r.rows[0].at) : undefined));
    const platformRun = async () => {
      const sessions = [];
      for (let i = 0; i < samples; i++) {
        const started = await post(`${platform.urls.sessions}/v1/sessions`, org.apiKey, { channelId: 'web', sessionVariableValues: [{ name: 'cartValue', value: 129.5 }, { name: 'plan', value: 'gold' }] });
        sessions.push(started.sessionId);
      }
      // The variables service has the last session's variables: every SessionStarted is handled.
      for (let tries = 0; ; tries++) {
        const answer = await fetch(`${platform.urls.variables}/v1/sessions/${sessions.at(-1)}/variables`, { headers: { authorization: `Bearer ${org.apiKey}` } });
        if (answer.ok && (await answer.json()).variables.some((v) => v.scope === 'session')) break;
        if (tries > 400) throw new Error('the variables service did not project the started sessions');
        await sleep(25);
      }
      const latencies = [];
      for (const sessionId of sessions) {
        await post(`${platform.urls.sessions}/v1/sessions/${sessionId}/events`, org.apiKey, { type: 'END', reason: 'logout' });
        const deadline = Date.now() + 30_000;
        let discarded;
        while ((discarded = await endedAt('variables', sessionId, 'SessionVariablesDiscarded')) === undefined) {
          if (Date.now() > deadline) throw new Error(`session ${sessionId}: no SessionVariablesDiscarded within 30 s`);
          await sleep(2);
        }
        const ended = await endedAt('sessions', sessionId, 'SessionEnded');
        if (ended === undefined) throw new Error(`session ${sessionId}: no SessionEnded in the sessions store`);
        latencies.push(discarded - ended);
      }
      return latencies;
    };
    const value = JSON.stringify({ type: 'SessionEnded', version: 1, eventId: '00000000-0000-4000-8000-000000000000', occurredAt: new Date().toISOString(), orgId: org.orgId, data: { sessionId: 'x'.repeat(24), reason: 'logout', endedAt: new Date().toISOString() } });
    const kafkaRun = async () => {
      const latencies = [];
      for (let i = 0; i < samples; i++) {
        const key = `k-${Date.now()}-${i}`;
        const received = new Promise((done) => waiting.set(key, done));
        const sent = performance.now();
        await producerBus.publish([{ topic, key, value }]);
        const timeout = setTimeout(() => waiting.get(key)?.(Number.NaN), 30_000);
        const at = await received;
        clearTimeout(timeout);
        waiting.delete(key);
        if (Number.isNaN(at)) throw new Error('raw Kafka: a message was not consumed within 30 s');
        latencies.push(at - sent);
      }
      return latencies;
    };
    await platformRun(); // warm-up
    await kafkaRun();
    const runs = { p50: { figure: [], baseline: [] }, p99: { figure: [], baseline: [] } };
    for (let i = 0; i < MODE.runs; i++) {
      const figure = await platformRun();
      const baseline = await kafkaRun();
      for (const [name, q] of [['p50', 0.5], ['p99', 0.99]]) {
        runs[name].figure.push(quantile(figure, q));
        runs[name].baseline.push(quantile(baseline, q));
      }
    }
    return ['p50', 'p99'].map((name) => {
      const compared = compare({ ...runs[name], higherIsBetter: false });
      return {
        id: `propagation-${name}`,
        title: `d. Propagation ${name}`,
        unit: 'ms',
        figureLabel: `SessionEnded → SessionVariablesDiscarded (sessions outbox → Kafka → variables), ${samples} ends a run`,
        baselineLabel: 'Kafka alone: publish → handler through the services\' own adapter (kafkajs, same settings), same broker',
        runs: MODE.runs,
        ...compared,
        ...(name === 'p99' ? { target: { text: 'p99 within 25 ms of raw Kafka', met: compared.figure <= compared.baseline + 25 } } : {}),
      };
    });
  } finally {
    await consumer.stop();
    await bus.close();
    await producerBus.close();
    await deleteTopics(platform.kafkaBrokers.split(','), [topic, `${topic}.dlq`]).catch(() => undefined);
    await sql.end();
  }
}

/**
 * b. Reads: GET /v1/sessions/{id}/variables (a session of 10 variables, the read model on PostgreSQL)
 * against a bare Node handler answering the same JSON from memory, and the same handler building it
 * from a Redis hash (HGETALL; what teams keep session data in today). Then the service's p99 at half
 * its peak rate.
 */
async function readsScenario(platform) {
  const org = await post(`${platform.urls.identity}/v1/orgs`, platform.rootToken, { name: 'Bench reads' });
  const sessionId = `bench-read-${Date.now()}`;
  const values = Array.from({ length: 10 }, (_, i) => ({ name: `var${i}`, value: i % 3 === 0 ? i * 1000 : i % 3 === 1 ? `value number ${i}` : i % 2 === 0 }));
  const url = `${platform.urls.variables}/v1/sessions/${sessionId}/variables`;
  const put = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ sessionVariableValues: values }) });
  if (!put.ok) throw new Error(`PUT answered ${put.status}: ${await put.text()}`);
  let body = '';
  for (let tries = 0; tries < 100; tries++) {
    body = await (await fetch(url, { headers: { authorization: `Bearer ${org.apiKey}` } })).text();
    if (JSON.parse(body).variables.filter((v) => v.scope === 'session').length === 10) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const { variables } = JSON.parse(body);

  const answerFile = join(tmpdir(), `svp-bench-answer-${process.pid}.json`);
  writeFileSync(answerFile, body);
  const bare = await serveBaseline('bare', answerFile);
  const redis = createRedisClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
  const hash = `bench:session:${sessionId}`;
  await redis.del(hash);
  await redis.hSet(hash, Object.fromEntries(variables.map((v) => [v.name, JSON.stringify(v)])));
  const fromRedis = await serveBaseline('redis', hash);
  try {
    const service = (seconds) => httpRate({ url, headers: { authorization: `Bearer ${org.apiKey}` }, seconds });
    const results = [];
    for (const [baselineUrl, label, id, target] of [
      [bare.url, 'a bare Node handler answering the same JSON from memory, in its own process', 'reads-bare', { ratio: 0.7, text: 'at least 0.7x the bare handler' }],
      [fromRedis.url, 'the same handler reading a Redis hash (HGETALL), in its own process', 'reads-redis', { ratio: 1.0, text: 'at least 1.0x the Redis handler' }],
    ]) {
      const runs = await measure(service, (seconds) => httpRate({ url: baselineUrl, seconds }));
      results.push({
        id,
        title: id === 'reads-bare' ? 'b. Reads vs bare handler' : 'b. Reads vs Redis handler',
        unit: 'requests/s',
        figureLabel: `variables GET /v1/sessions/{id}/variables (10 variables), ${MODE.connections} connections`,
        baselineLabel: label,
        runs: MODE.runs,
        ...compare({ ...runs, higherIsBetter: true }),
        target,
      });
    }
    // p99 at half the peak (the service's median rate above), runs of the service and, at the same
    // rate, of the bare handler: what the shared machine alone adds to a tail. And at a tenth of the
    // peak (no target): how the tail grows with the load on the shared cores.
    const peak = results[0].figure;
    // (The tenth in full mode only: quick mode keeps to its 3 minutes.)
    const fractions = [[0.5, 'reads-p99', 'b. Reads p99 at half the peak'], ...(quick ? [] : [[0.1, 'reads-p99-tenth', 'b. Reads p99 at a tenth of the peak']])];
    for (const [fraction, id, title] of fractions) {
      const rate = Math.max(1, Math.round(peak * fraction));
      // Open loop, evenly spaced (tools/bench/open-loop.mjs: autocannon's overallRate sends in bursts at the peak).
      const tail = (target, headers = {}) => openLoopLatency({ url: target, headers, rate, seconds: MODE.seconds, connections: MODE.connections });
      const p99 = { figure: [], baseline: [], p50: [] };
      // Where the tail is spent, per run of the service: inside it (its own request histogram and
      // event-loop delay, read from its /metrics before and after the run) and in the load generator
      // (this process's event-loop delay: a late send counts against the service too).
      const where = { over10: [], serverP99: [], loopP99: [], loopMax: [], clientLoopMax: [], clientLoopP99: [], serviceWaitMsPerS: [], serviceOnCoreMsPerS: [], generatorWaitMsPerS: [], machineBusy: [], machineSteal: [] };
      const variablesPid = /** @type {number} */ (platform.processes.variables.pid);
      for (let i = 0; i < MODE.runs; i++) {
        const before = await serviceTail(platform.urls.variables);
        const clientLoop = monitorEventLoopDelay({ resolution: 1 });
        clientLoop.enable();
        const [serviceSched, generatorSched, busy, runStarted] = [schedstat(variablesPid), schedstat(process.pid), machineBusy(), performance.now()];
        const figure = await tail(url, { authorization: `Bearer ${org.apiKey}` });
        const runSeconds = (performance.now() - runStarted) / 1000;
        const service = coreShare(serviceSched, schedstat(variablesPid), runSeconds);
        const generator = coreShare(generatorSched, schedstat(process.pid), runSeconds);
        const cores = busy();
        where.machineBusy.push(cores.busy);
        where.machineSteal.push(cores.steal);
        where.serviceWaitMsPerS.push(service.waitingMsPerS);
        where.serviceOnCoreMsPerS.push(service.onCoreMsPerS);
        where.generatorWaitMsPerS.push(generator.waitingMsPerS);
        clientLoop.disable();
        const after = await serviceTail(platform.urls.variables);
        const inside = tailBetween(before, after);
        where.over10.push(inside.over10ms);
        where.serverP99.push(inside.p99);
        where.loopP99.push(after.loopP99);
        where.loopMax.push(after.loopMax);
        // Sampled every 1 ms; the histogram holds whole intervals (an idle loop reads 1 ms): the delay is what is over it.
        where.clientLoopP99.push(Math.max(0, clientLoop.percentile(99) / 1e6 - 1));
        where.clientLoopMax.push(Math.max(0, clientLoop.max / 1e6 - 1));
        p99.figure.push(figure.p99);
        p99.p50.push(figure.p50);
        p99.baseline.push((await tail(bare.url)).p99);
      }
      const compared = compare({ figure: p99.figure, baseline: p99.baseline, higherIsBetter: false });
      const inService = {
        requestsOver10msPercent: median(where.over10) * 100,
        handlerP99AtMostMs: median(where.serverP99),
        eventLoopDelayP99Ms: median(where.loopP99),
        eventLoopDelayMaxMs: median(where.loopMax),
        loadGeneratorLoopDelayP99Ms: median(where.clientLoopP99),
        loadGeneratorLoopDelayMaxMs: median(where.clientLoopMax),
        variablesLoopOnCoreMsPerS: median(where.serviceOnCoreMsPerS),
        variablesLoopWaitingForCoreMsPerS: median(where.serviceWaitMsPerS),
        loadGeneratorWaitingForCoreMsPerS: median(where.generatorWaitMsPerS),
        machineBusyPercent: median(where.machineBusy) * 100,
        machineStealPercent: median(where.machineSteal) * 100,
        runs: { ...where, clientP99: p99.figure },
      };
      results.push({
        id,
        title,
        unit: 'ms',
        figureLabel: `variables GET p99 at ${rate} requests/s evenly spaced (open loop, latency from the scheduled send), at most ${MODE.connections} connections (p50 ${compare({ figure: p99.p50, baseline: p99.p50, higherIsBetter: false }).figure.toFixed(1)} ms)`,
        baselineLabel: `the bare handler's p99 at the same rate`,
        runs: MODE.runs,
        ...compared,
        ...(fraction === 0.5 ? { target: { text: 'p99 under 10 ms', met: compared.figure < 10 } } : {}),
        inService,
      });
      console.log(
        `  ${title}: inside variables ${inService.requestsOver10msPercent.toFixed(2)} % of the requests took over 10 ms (its p99 at most ${inService.handlerP99AtMostMs} ms, histogram bucket), ` +
          `its event-loop delay p99 ${inService.eventLoopDelayP99Ms.toFixed(1)} ms, max ${inService.eventLoopDelayMaxMs.toFixed(1)} ms; ` +
          `the load generator's event-loop delay p99 ${inService.loadGeneratorLoopDelayP99Ms.toFixed(1)} ms, max ${inService.loadGeneratorLoopDelayMaxMs.toFixed(1)} ms; ` +
          `per second of the run, the variables event loop ${inService.variablesLoopOnCoreMsPerS.toFixed(0)} ms on a core and ${inService.variablesLoopWaitingForCoreMsPerS.toFixed(0)} ms ready but waiting for one, ` +
          `the load generator ${inService.loadGeneratorWaitingForCoreMsPerS.toFixed(0)} ms waiting; both cores ${inService.machineBusyPercent.toFixed(0)} % busy, ${inService.machineStealPercent.toFixed(1)} % stolen by the hypervisor (medians of ${MODE.runs} runs)`,
      );
    }
    return results;
  } finally {
    await bare.close();
    await fromRedis.close();
    await redis.del(hash);
    await redis.quit();
  }
}

const MISSING = [];

/**
 * Waits until the services are back to their idle CPU use (`idle`: CPU seconds per second measured
 * right after start; within 1.5x of it or 2 % of a core more, at most 2 minutes): after the writes
 * of a, the other services still consume tens of thousands of integration events (an inbox
 * transaction each), and a scenario started meanwhile would measure that too. Resolves to the
 * seconds waited.
 */
async function settle(platform, idle) {
  const started = Date.now();
  const total = () => servicesCpu(platform);
  let before = total();
  while (Date.now() - started < 120_000) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = total();
    if (now - before <= Math.max(idle * 1.5, idle + 0.02)) break;
    before = now;
  }
  return (Date.now() - started) / 1000;
}

/** The services' CPU seconds per second while nothing is asked of them (over 3 s). */
async function idleCpu(platform) {
  await new Promise((r) => setTimeout(r, 2000));
  const before = servicesCpu(platform);
  await new Promise((r) => setTimeout(r, 3000));
  return (servicesCpu(platform) - before) / 3;
}

const SCENARIOS = {
  a: writesScenario,
  b: readsScenario,
  d: propagationScenario,
  e: jwtScenario,
  // Quick mode: 2 runs a figure (g has six), to keep within 3 minutes.
  g: (platform) => {
    const mode = quick ? { ...MODE, runs: 2 } : MODE;
    return kafkaClientsScenario({ brokers: platform.kafkaBrokers, mode, measure: measureRuns(mode.runs) });
  },
};
// --only a,d: some scenarios (while working on one; the report then holds only those).
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : undefined;

async function main() {
  const started = Date.now();
  const platform = await startPlatform({ VARIABLES_RETENTION_DAYS: '1' });
  const results = [];
  try {
    console.log(`npm run bench: ${MODE.name} mode, ${MODE.runs} runs of ${MODE.seconds} s after ${MODE.warmupSeconds} s of warm-up, ${MODE.connections} connections`);
    const wanted = (/** @type {string} */ letter) => !only || only.includes(letter);
    const log = (/** @type {string} */ line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
    // f. idle first: before any scenario has loaded the services.
    const idle = wanted('f') ? await memoryScenario(platform, MODE, { phase: 'idle' }) : [];
    const idleRate = await idleCpu(platform);
    log(`the services idle at ${(idleRate * 100).toFixed(1)} % of a core together`);
    for (const [letter, scenario] of Object.entries(SCENARIOS)) {
      if (!wanted(letter)) continue;
      log(`scenario ${letter} (after ${(await settle(platform, idleRate)).toFixed(0)} s for the services to go back to idle)`);
      const outcome = await scenario(platform);
      results.push(...(Array.isArray(outcome) ? outcome : [outcome]));
    }
    // c. and f. loaded last: the seed restarts the variables service and leaves its read model large.
    if (wanted('c') || wanted('f')) {
      log('seeding the variable events of c and f');
      const seed = await seedVariableEvents(platform, seedSizeFor(MODE));
      log(`seeded ${seed.events} events in ${seed.seedSeconds.toFixed(1)} s; live projections caught up in ${seed.catchUpSeconds.toFixed(1)} s`);
      if (wanted('c')) {
        log('scenario c');
        results.push(...(await rebuildScenario(platform, MODE, { seed, measure, log })));
      }
      if (wanted('f')) results.push(...idle, ...(await memoryScenario(platform, MODE, { phase: 'loaded', idle, seed })));
    }
  } finally {
    await platform.close();
  }
  const date = new Date().toISOString();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`\n${table(results)}\n`);
  mkdirSync(join(root, 'bench-results'), { recursive: true });
  const json = join(root, 'bench-results', `${date.slice(0, 19).replace(/:/g, '-')}-${MODE.name}.json`);
  writeFileSync(json, `${JSON.stringify({ date, mode: MODE, machine, results, missing: MISSING }, null, 2)}\n`);
  const analysis = readFileSync(join(root, 'tools/bench/analysis.md'), 'utf8');
  writeFileSync(join(root, 'docs/benchmarks.md'), markdown(results, { mode: MODE.name, date: date.slice(0, 10), machine, missing: MISSING, analysis }));
  writeFileSync(join(root, 'docs/benchmarks.svg'), svgChart(results));
  console.log(`wrote ${json}, docs/benchmarks.md and docs/benchmarks.svg in ${Math.round((Date.now() - started) / 1000)} s`);
}

await main();
