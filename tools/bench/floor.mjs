// @ts-check
// Where a read's time goes, layer by layer, beside b.'s two baselines: not part of `npm run bench`
// (it gates nothing and has no target). Run by hand after `npm run build`:
//   node tools/bench/floor.mjs [--quick]
// Starts the distributed platform as the bench does, writes one session of 10 variables, then
// measures at 16 connections (autocannon, closed loop), by turns, each after a warm-up:
//   the bare handler and the Redis handler (b.'s baselines, each in a process of its own);
//   variables GET /healthz (Nest on Fastify: routing, hooks, metrics; no auth, no I/O);
//   variables GET /v1/variables/settings (the same plus the API key guard, the per-org meter and a cached read);
//   variables GET /v1/sessions/{id}/variables (b.'s figure).
// For each it prints requests/s (median of the runs, ± the largest distance of a run) and the CPU
// that one request costs the process that answers it (and Redis's server, for the Redis handler):
// the cost of each layer, measured, on the same machine in the same run.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createClient } from 'redis';
import { cpuSeconds, startPlatform } from './rebuild.mjs';
import { serveBaseline } from './serve-baseline.mjs';
import { median, spread } from './stats.mjs';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 5;
const SECONDS = quick ? 4 : 10;
const WARMUP_SECONDS = quick ? 1 : 3;
const CONNECTIONS = 16;

/** One closed-loop run: requests/s and the CPU seconds the given processes used meanwhile (2xx only). */
async function run(/** @type {string} */ url, /** @type {Record<string, string>} */ headers, /** @type {number} */ seconds, /** @type {number[]} */ pids) {
  const before = pids.map(cpuSeconds);
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: seconds });
  const cpu = pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - /** @type {number} */ (before[i]), 0);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  return { rate: result['2xx'] / seconds, cpuPerRequestUs: (cpu / result['2xx']) * 1e6 };
}

async function main() {
  const platform = await startPlatform();
  const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  /** @type {{ close(): Promise<unknown> }[]} */
  const baselines = [];
  try {
    const variablesPid = /** @type {number} */ (platform.processes.variables.pid);
    const org = await (await fetch(`${platform.urls.identity}/v1/orgs`, { method: 'POST', headers: { authorization: `Bearer ${platform.rootToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Bench floor' }) })).json();
    const auth = { authorization: `Bearer ${org.apiKey}` };
    const sessionId = `bench-floor-${Date.now()}`;
    const readUrl = `${platform.urls.variables}/v1/sessions/${sessionId}/variables`;
    const values = Array.from({ length: 10 }, (_, i) => ({ name: `var${i}`, value: i % 3 === 0 ? i * 1000 : i % 3 === 1 ? `value number ${i}` : i % 2 === 0 }));
    const put = await fetch(readUrl, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ sessionVariableValues: values }) });
    if (!put.ok) throw new Error(`PUT answered ${put.status}: ${await put.text()}`);
    const body = await (await fetch(readUrl, { headers: auth })).text();
    const { variables } = JSON.parse(body);
    if (variables.filter((/** @type {{ scope: string }} */ v) => v.scope === 'session').length !== 10) throw new Error(`the read answered ${body}`);

    const answerFile = join(tmpdir(), `svp-bench-floor-${process.pid}.json`);
    writeFileSync(answerFile, body);
    const bare = await serveBaseline('bare', answerFile);
    baselines.push(bare);
    await redis.connect();
    const hash = `bench:floor:${sessionId}`;
    await redis.del(hash);
    await redis.hSet(hash, Object.fromEntries(variables.map((/** @type {{ name: string }} */ v) => [v.name, JSON.stringify(v)])));
    const fromRedis = await serveBaseline('redis', hash);
    baselines.push(fromRedis);
    const redisServer = Number(execFileSync('pidof', ['redis-server'], { encoding: 'utf8' }).trim().split(/\s+/)[0]);

    const targets = [
      { label: 'bare Node handler (b.\'s baseline)', url: bare.url, headers: {}, pids: [bare.pid] },
      { label: 'Redis handler (b.\'s baseline; CPU: handler + redis-server)', url: fromRedis.url, headers: {}, pids: [fromRedis.pid, redisServer] },
      { label: 'variables GET /healthz (Nest on Fastify, no auth, no I/O)', url: `${platform.urls.variables}/healthz`, headers: {}, pids: [variablesPid] },
      { label: 'variables GET /v1/variables/settings (+ API key guard, meter, cached read)', url: `${platform.urls.variables}/v1/variables/settings`, headers: auth, pids: [variablesPid] },
      { label: 'variables GET /v1/sessions/{id}/variables (b.\'s figure)', url: readUrl, headers: auth, pids: [variablesPid] },
    ];
    for (const target of targets) await run(target.url, target.headers, WARMUP_SECONDS, target.pids);
    /** @type {{ rate: number, cpuPerRequestUs: number }[][]} */
    const runs = targets.map(() => []);
    for (let i = 0; i < RUNS; i++) {
      for (const [t, target] of targets.entries()) runs[t]?.push(await run(target.url, target.headers, SECONDS, target.pids));
    }
    console.log(`\n${RUNS} runs of ${SECONDS} s a target, ${CONNECTIONS} connections, by turns; medians, ± the largest distance of a run\n`);
    console.log('| endpoint | requests/s | CPU of the answering process per request |');
    console.log('| --- | --- | --- |');
    for (const [t, target] of targets.entries()) {
      const rates = (runs[t] ?? []).map((r) => r.rate);
      const cpus = (runs[t] ?? []).map((r) => r.cpuPerRequestUs);
      const rate = median(rates);
      const cpu = median(cpus);
      console.log(`| ${target.label} | ${Math.round(rate).toLocaleString('en-US')} (±${(100 * spread(rates)).toFixed(1)} %) | ${cpu.toFixed(0)} µs (±${(100 * spread(cpus)).toFixed(1)} %) |`);
    }
  } finally {
    for (const baseline of baselines) await baseline.close();
    if (redis.isOpen) await redis.quit();
    await platform.close();
  }
}

await main();
