import type { OpsClient } from './client.js';
import type { Output } from './output.js';

/** What every command gets: the client, the output, and the clock (injected: tests run them instantly). */
export interface Context {
  client: OpsClient;
  out: Output;
  sleep(ms: number): Promise<void>;
  now(): Date;
  /** Between two looks at something that is under way (a rebuild, a replay, an erasure). */
  pollMs: number;
  /** How long a command waits for work under way to finish before it gives up (exit 1). */
  waitTimeoutMs: number;
  writeFile(path: string, data: string): Promise<void>;
}

/** Polls `look` until it answers something, or throws once `waitTimeoutMs` passed. */
export async function until<T>(ctx: Context, what: string, look: () => Promise<T | undefined>): Promise<T> {
  const deadline = ctx.now().getTime() + ctx.waitTimeoutMs;
  for (;;) {
    const answer = await look();
    if (answer !== undefined) return answer;
    if (ctx.now().getTime() >= deadline) throw new WaitTimeout(what, ctx.waitTimeoutMs);
    await ctx.sleep(ctx.pollMs);
  }
}

export class WaitTimeout extends Error {
  override readonly name = 'WaitTimeout';
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`gave up waiting for ${what} after ${Math.round(ms / 1000)} s (--wait-timeout)`);
  }
}
