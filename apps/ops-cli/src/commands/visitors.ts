import type { ErasureResponse } from '@svp/contracts';
import { OpsError } from '../client.js';
import { type Context, WaitTimeout, until } from '../context.js';

/**
 * `visitors erase <visitorId>`: erases the visitor everywhere (their variables, their sessions'
 * variables, identity records and session data, over Kafka); waits until the erasure completed
 * unless told not to.
 */
export async function visitorsErase(ctx: Context, visitorId: string, options: { wait: boolean }): Promise<number> {
  const { body: started } = await ctx.client.json<ErasureResponse>('variables', `/v1/visitors/${encodeURIComponent(visitorId)}`, { method: 'DELETE', auth: 'apiKey' });
  let erasure = started;
  if (options.wait && erasure.status !== 'completed') {
    // Its length is not known (it runs over the bus in every service): a status line while waiting.
    const detail = (e: ErasureResponse) => `${e.status}: ${e.sessions} session(s), ${e.streams} stream(s)`;
    const line = ctx.out.status(`erase ${visitorId}`, detail(erasure));
    try {
      erasure = await until(ctx, `erasure ${started.erasureId}`, async () => {
        const { body } = await ctx.client.json<ErasureResponse>('variables', `/v1/erasures/${encodeURIComponent(started.erasureId)}`, { auth: 'apiKey' });
        line.update(0, undefined, detail(body));
        return body.status === 'completed' ? body : undefined;
      });
    } catch (error) {
      if (error instanceof WaitTimeout) throw new OpsError('TIMEOUT', `${error.message}; it is recorded and carries on (GET /v1/erasures/${started.erasureId})`, { service: 'variables' });
      throw error;
    } finally {
      line.stop();
    }
  }
  ctx.out.result(erasure, () =>
    erasure.status === 'completed'
      ? `visitor ${erasure.visitorId} erased (${erasure.erasureId}): ${erasure.sessions} session(s), ${erasure.streams} stream(s) deleted, completed at ${erasure.completedAt}`
      : `erasure ${erasure.erasureId} of visitor ${erasure.visitorId} recorded, still under way (${erasure.sessions} session(s), ${erasure.streams} stream(s))`,
  );
  return 0;
}
