// @ts-check
// Starts a read baseline of tools/bench/baseline-server.mjs in a process of its own (for bench.mjs and floor.mjs).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Starts a read baseline (tools/bench/baseline-server.mjs) in a process of its own, like the service
 * it is compared with (not on the load generator's thread); answers its URL, pid and close().
 */
export async function serveBaseline(/** @type {'bare' | 'redis'} */ kind, /** @type {string} */ argument) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'baseline-server.mjs'), kind, argument], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((done, fail) => {
    child.once('exit', (code) => fail(new Error(`the ${kind} baseline exited with code ${code}`)));
    child.stdout.once('data', (chunk) => done(Number(String(chunk).trim())));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: /** @type {number} */ (child.pid),
    close: () =>
      new Promise((done) => {
        child.removeAllListeners('exit');
        child.once('exit', () => done(undefined));
        child.kill('SIGTERM');
      }),
  };
}
