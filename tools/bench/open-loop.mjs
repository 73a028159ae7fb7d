// @ts-check
// An open-loop load generator for latency at a fixed rate: requests are sent on a schedule evenly
// spaced at `rate` per second, whatever the answers do, over keep-alive connections (at most
// `connections` in flight; a request that finds them all busy waits for one, and that wait counts),
// and each latency is measured from the request's scheduled time, so a slow answer cannot hide the
// ones that should have been sent meanwhile (no coordinated omission).
//
// Why not autocannon's overallRate: it gives each connection a quota per second, and a connection
// sends back to back until its quota is spent, then waits for the next second. At half the peak the
// first half of every second runs at the peak, and the tail measured is the peak's.
import http from 'node:http';

/**
 * @param {{ url: string, headers?: Record<string, string>, rate: number, seconds: number, connections: number }} options
 * @returns {Promise<{ p50: number, p99: number, max: number, sent: number, rate: number }>} latencies in ms
 */
export async function openLoopLatency({ url, headers = {}, rate, seconds, connections }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(url);
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  /** @type {number[]} */
  const latencies = [];
  let failed = 0;
  const started = performance.now();
  await new Promise((done, fail) => {
    let sent = 0;
    let answered = 0;
    const send = (/** @type {number} */ scheduled) => {
      const request = http.get({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, headers, agent }, (response) => {
        if ((response.statusCode ?? 0) >= 300) failed++;
        response.resume();
        response.on('end', () => {
          latencies.push(performance.now() - scheduled);
          if (++answered === total) done(undefined);
        });
      });
      request.on('error', fail);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && started + sent * interval <= now) send(started + sent++ * interval);
      if (sent < total) setTimeout(tick, Math.max(0, started + sent * interval - performance.now()));
    };
    tick();
  });
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  if (failed > 0) throw new Error(`${url}: ${failed} of ${total} answers were not 2xx`);
  latencies.sort((a, b) => a - b);
  const at = (/** @type {number} */ q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? 0, sent: total, rate: total / elapsed };
}
