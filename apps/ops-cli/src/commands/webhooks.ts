import type { WebhookReplayStatus } from '@svp/contracts';
import { OpsError, usageError } from '../client.js';
import { type Context, WaitTimeout, until } from '../context.js';
import { table } from '../output.js';

interface WebhookJson {
  webhookId: string;
  url: string;
  status: 'ACTIVE' | 'DISABLED' | 'DELETED';
}

export interface ReplayedWebhook extends Omit<WebhookReplayStatus, 'webhookId'> {
  webhookId: string;
  url?: string;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--from`: an ISO 8601 time with an offset (`2026-12-02T10:00:00Z`), or a duration back from now
 * (`90s`, `30m`, `2h`, `7d`, `1w`). Answers the instant in ISO 8601 (UTC).
 */
export function parseFrom(value: string, now: Date): string {
  const relative = /^(\d+)\s*([smhdw])$/.exec(value.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!]!).toISOString();
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value.trim())) {
    const at = new Date(value.trim());
    if (!Number.isNaN(at.getTime())) return at.toISOString();
  }
  throw usageError(`--from '${value}' is neither an ISO 8601 time with an offset (2026-12-02T10:00:00Z) nor a duration back from now (30m, 2h, 7d)`);
}

/**
 * `webhooks replay --from <time>`: sends again every IM_Session_Status of the org since then, to
 * the webhooks named (all the org's active ones by default), then follows each replay's deliveries
 * with a progress bar until none is pending. Exit 1 when a delivery failed or was cancelled.
 */
export async function webhooksReplay(ctx: Context, options: { from: string; webhooks?: string[]; wait: boolean }): Promise<number> {
  const from = parseFrom(options.from, ctx.now());
  let targets: Array<{ webhookId: string; url?: string }>;
  if (options.webhooks && options.webhooks.length > 0) targets = options.webhooks.map((webhookId) => ({ webhookId }));
  else {
    const { body } = await ctx.client.json<{ webhooks: WebhookJson[] }>('sessions', '/v1/webhooks', { auth: 'apiKey' });
    targets = body.webhooks.filter((w) => w.status === 'ACTIVE').map(({ webhookId, url }) => ({ webhookId, url }));
    if (targets.length === 0) throw new OpsError('NOT_FOUND', 'The org has no active webhook to replay to', { service: 'sessions', details: { webhooks: body.webhooks.map((w) => ({ webhookId: w.webhookId, status: w.status })) } });
  }
  const replays: ReplayedWebhook[] = [];
  for (const target of targets) {
    const { body } = await ctx.client.json<{ enqueued: number; replayId: string }>('sessions', `/v1/webhooks/${encodeURIComponent(target.webhookId)}/replay`, {
      method: 'POST',
      auth: 'apiKey',
      body: { from },
    });
    replays.push({ ...target, replayId: body.replayId, enqueued: body.enqueued, pending: body.enqueued, delivered: 0, failed: 0, cancelled: 0, done: body.enqueued === 0 });
  }
  if (options.wait) {
    const total = replays.reduce((sum, r) => sum + r.enqueued, 0);
    const bar = ctx.out.progress('replay', total);
    try {
      await until(ctx, 'the replayed deliveries', async () => {
        for (const replay of replays) {
          if (replay.done) continue;
          const { body } = await ctx.client.json<WebhookReplayStatus>('sessions', `/v1/webhooks/${encodeURIComponent(replay.webhookId)}/replays/${replay.replayId}`, { auth: 'apiKey' });
          Object.assign(replay, body);
        }
        const finished = replays.reduce((sum, r) => sum + r.delivered + r.failed + r.cancelled, 0);
        bar.update(finished, undefined, `delivered ${replays.reduce((sum, r) => sum + r.delivered, 0)}`);
        return replays.every((r) => r.done) ? true : undefined;
      });
    } catch (error) {
      if (!(error instanceof WaitTimeout)) throw error;
      ctx.out.note(`svp-ops: ${error.message}; the deliveries go on being retried by the sessions service`);
    } finally {
      bar.stop();
    }
  }
  const done = replays.every((r) => r.done);
  const clean = replays.every((r) => r.failed === 0 && r.cancelled === 0);
  ctx.out.result({ from, waited: options.wait, done, webhooks: replays }, () =>
    [
      `Replayed every IM_Session_Status since ${from}:`,
      table(
        ['WEBHOOK', 'URL', 'REPLAY', 'ENQUEUED', 'DELIVERED', 'FAILED', 'CANCELLED', 'PENDING'],
        replays.map((r) => [r.webhookId, r.url ?? null, r.replayId, r.enqueued, options.wait ? r.delivered : '?', options.wait ? r.failed : '?', options.wait ? r.cancelled : '?', options.wait ? r.pending : '?']),
      ),
    ].join('\n'),
  );
  return !options.wait || (done && clean) ? 0 : 1;
}
