import type { ConsumerGroupJson, ConsumersResponse } from '@svp/contracts';
import type { Service } from '../client.js';
import type { Context } from '../context.js';
import { table } from '../output.js';
import { type ProjectionJson, eachService, fetchProjections } from './projections.js';

export interface ServiceLag {
  service: Service;
  url: string;
  projections?: Array<Pick<ProjectionJson, 'name' | 'state' | 'position' | 'head' | 'lag'>>;
  consumers?: { supported: boolean; reason?: string; groups: ConsumerGroupJson[] };
  error?: { code: string; message: string };
}

/** `lag`: every projection's lag (events behind the store's head) and every consumer group's (messages behind the topic's end). */
export async function lag(ctx: Context, services: readonly Service[]): Promise<number> {
  const result = await eachService<ServiceLag>(services, ctx, async (service) => {
    const [projections, consumers] = await Promise.all([
      fetchProjections(ctx, service),
      ctx.client.json<ConsumersResponse>(service, '/admin/v1/consumers', { auth: 'root' }),
    ]);
    return {
      projections: projections.map(({ name, state, position, head, lag }) => ({ name, state, position, head, lag })),
      consumers: { supported: consumers.body.supported, ...(consumers.body.reason ? { reason: consumers.body.reason } : {}), groups: consumers.body.consumers },
    };
  });
  ctx.out.result({ services: result }, () => formatLag(result));
  return result.some((r) => r.error) ? 1 : 0;
}

export function formatLag(result: readonly ServiceLag[]): string {
  const projections = table(
    ['SERVICE', 'PROJECTION', 'STATE', 'POSITION', 'HEAD', 'LAG (events)'],
    result.flatMap((r) => (r.projections ?? []).map((p) => [r.service, p.name, p.state, p.position, p.head, p.lag])),
  );
  type Row = Array<string | number | null>;
  const consumers = table(
    ['SERVICE', 'CONSUMER GROUP', 'TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG (messages)'],
    result.flatMap((r): Row[] =>
      r.consumers && !r.consumers.supported
        ? [[r.service, '(not available)', r.consumers.reason ?? null, null, null, null, null]]
        : (r.consumers?.groups ?? []).flatMap((g): Row[] =>
            g.partitions.length === 0
              ? [[r.service, g.groupId, g.topics.join(','), null, null, null, g.lag]]
              : g.partitions.map((p) => [r.service, g.groupId, p.topic, p.partition, p.committed ?? 'none', p.high, p.lag]),
          ),
    ),
  );
  const failures = result.filter((r) => r.error).map((r) => `${r.service}: ${r.error!.message}`);
  return [projections, '', consumers, ...(failures.length ? ['', ...failures] : [])].join('\n');
}
