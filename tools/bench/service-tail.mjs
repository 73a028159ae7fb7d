// @ts-check
// Where the p99 of b. is spent: inside the variables service (its own /metrics), and waiting for a
// core (the scheduler counters of its event loop and of the load generator).
import { readFileSync } from 'node:fs';

export const READ_ROUTE = 'route="/v1/sessions/:sessionId/variables"';

/**
 * prom-client samples the event loop every 10 ms (its default eventLoopMonitoringPrecision), and
 * Node's monitorEventLoopDelay records the whole interval between samples: an idle loop reads 10 ms.
 * What is over it is the delay.
 */
export const PROM_CLIENT_LOOP_RESOLUTION_MS = 10;

/**
 * What a service's /metrics says of the read route's latency and of its event loop: the cumulative
 * buckets of svp_http_request_duration_seconds for GET on the read route, and prom-client's
 * event-loop delay p99 and max beyond its sampling interval (seconds there, ms here), which it
 * measures since its last scrape.
 * @param {string} baseUrl
 */
export async function serviceTail(baseUrl) {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`${baseUrl}/metrics answered ${response.status}: the tail cannot be read`);
  return parseServiceTail(await response.text());
}

/** serviceTail's reading of one /metrics text. @param {string} text */
export function parseServiceTail(text) {
  /** @type {Map<number, number>} */
  const buckets = new Map();
  let loopP99 = NaN;
  let loopMax = NaN;
  const valueOf = (/** @type {string} */ line) => Number(line.slice(line.lastIndexOf(' ') + 1));
  const delayMs = (/** @type {string} */ line) => Math.max(0, valueOf(line) * 1000 - PROM_CLIENT_LOOP_RESOLUTION_MS);
  for (const line of text.split('\n')) {
    if (line.startsWith('svp_http_request_duration_seconds_bucket{') && line.includes(READ_ROUTE) && line.includes('method="GET"')) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (!le) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + valueOf(line));
    } else if (line.startsWith('nodejs_eventloop_lag_p99_seconds')) loopP99 = delayMs(line);
    else if (line.startsWith('nodejs_eventloop_lag_max_seconds')) loopMax = delayMs(line);
  }
  return { buckets, loopP99, loopMax };
}

/**
 * The read route's requests between two scrapes: the share over 10 ms and the p99's upper bound (the
 * smallest bucket holding 99 % of them), ms.
 * @param {{ buckets: Map<number, number> }} before @param {{ buckets: Map<number, number> }} after
 */
export function tailBetween(before, after) {
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const count = (/** @type {number} */ le) => (after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0);
  const total = count(Infinity);
  if (total <= 0) return { requests: 0, over10ms: NaN, p99: NaN };
  // The share over 10 ms needs a bucket at 10 ms (libs/service-kit's request histogram has one).
  if (!after.buckets.has(0.01)) throw new Error('the request histogram has no le="0.01" bucket: the share over 10 ms cannot be read');
  const p99Bound = bounds.find((le) => count(le) >= 0.99 * total) ?? Infinity;
  return { requests: total, over10ms: 1 - count(0.01) / total, p99: p99Bound * 1000 };
}

/**
 * A thread's scheduler counters (/proc/<pid>/schedstat, the thread group leader: a Node process's
 * event loop): ns on a core, ns ready but waiting for one (on the run queue), timeslices. Undefined
 * where the kernel does not keep them.
 * @param {number} pid
 */
export function schedstat(pid) {
  try {
    const [runNs, waitNs, slices] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { runNs: runNs ?? 0, waitNs: waitNs ?? 0, slices: slices ?? 0 };
  } catch {
    return undefined;
  }
}

/**
 * Per second of the run between two schedstat readings: ms on a core and ms waiting for one.
 * @param {ReturnType<typeof schedstat>} before @param {ReturnType<typeof schedstat>} after @param {number} seconds
 */
export function coreShare(before, after, seconds) {
  if (!before || !after || seconds <= 0) return { onCoreMsPerS: NaN, waitingMsPerS: NaN, waitPerSliceMs: NaN };
  const slices = after.slices - before.slices;
  return {
    onCoreMsPerS: (after.runNs - before.runNs) / 1e6 / seconds,
    waitingMsPerS: (after.waitNs - before.waitNs) / 1e6 / seconds,
    waitPerSliceMs: slices > 0 ? (after.waitNs - before.waitNs) / 1e6 / slices : 0,
  };
}

/**
 * The machine's cores since the last reading (/proc/stat), as shares of all of them: busy (stolen
 * time included), and stolen (time the hypervisor gave this VM's cores to someone else).
 */
export function machineBusy() {
  const read = () => {
    // user nice system idle iowait irq softirq steal (guest and guest_nice are counted in user and nice)
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    return { idle, steal: fields[7] ?? 0, total: fields.reduce((a, b) => a + b, 0) };
  };
  const start = read();
  return () => {
    const end = read();
    const total = end.total - start.total;
    return total > 0 ? { busy: 1 - (end.idle - start.idle) / total, steal: (end.steal - start.steal) / total } : { busy: NaN, steal: NaN };
  };
}
