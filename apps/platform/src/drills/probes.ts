import type { ConsumersResponse, ExportedEvent, ProjectionsResponse, ServiceName } from '@svp/contracts';
import { call } from './http.js';
import type { DrillPlatform } from './drill.js';
import { until } from './drill.js';

/**
 * What the drills read back from the running platform to count losses and double effects: the
 * stored events of a session (the ops export, root token), metrics, consumer lag and outbox depth.
 */

/** The events of a session's streams in one service's store, as stored (GET /admin/v1/orgs/{org}/sessions/{id}/events). */
export async function sessionEvents(platform: DrillPlatform, service: ServiceName, orgId: string, sessionId: string): Promise<ExportedEvent[]> {
  const response = await fetch(`${platform.urls[service]}/admin/v1/orgs/${orgId}/sessions/${sessionId}/events`, {
    headers: { authorization: `Bearer ${platform.rootToken}` },
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${service} session export answered ${response.status}: ${text.slice(0, 300)}`);
  const lines = text.split('\n').filter((l) => l.trim());
  const events = lines.map((l) => JSON.parse(l) as ExportedEvent & { error?: unknown });
  const failed = events.find((e) => e.error);
  if (failed) throw new Error(`${service} session export failed part-way: ${JSON.stringify(failed.error)}`);
  return events;
}

/** The Prometheus samples of one metric on one service: `{ labels, value }` per series. */
export async function metricSamples(url: string, name: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ labels, value: Number(match[4]) });
  }
  return samples;
}

/** The outbox depth of every service (svp_outbox_depth_events summed per service). */
export async function outboxDepths(platform: DrillPlatform): Promise<Record<ServiceName, number>> {
  const services: ServiceName[] = ['identity', 'sessions', 'variables'];
  const depths = {} as Record<ServiceName, number>;
  for (const service of services) depths[service] = (await metricSamples(platform.urls[service], 'svp_outbox_depth_events')).reduce((sum, s) => sum + s.value, 0);
  return depths;
}

/** Waits until every service's outbox is drained (depth 0); answers whether it was within the time. */
export function outboxDrained(platform: DrillPlatform, timeoutMs: number): Promise<boolean> {
  return until(async () => Object.values(await outboxDepths(platform)).every((d) => d === 0), timeoutMs, 500);
}

/** A service's consumer groups with their lag (GET /admin/v1/consumers, root token). */
export async function consumerGroups(platform: DrillPlatform, service: ServiceName): Promise<ConsumersResponse> {
  const response = await fetch(`${platform.urls[service]}/admin/v1/consumers`, { headers: { authorization: `Bearer ${platform.rootToken}` } });
  if (response.status !== 200) throw new Error(`${service} /admin/v1/consumers answered ${response.status}`);
  return (await response.json()) as ConsumersResponse;
}

/** Total lag of every consumer group of the services that consume (sessions, variables, identity). */
export async function totalConsumerLag(platform: DrillPlatform): Promise<number> {
  let lag = 0;
  for (const service of ['identity', 'sessions', 'variables'] as ServiceName[]) {
    const groups = await consumerGroups(platform, service);
    for (const group of groups.consumers) lag += Number(group.lag);
  }
  return lag;
}

/** The projections of a service as GET /admin/v1/projections shows them (root token). */
export async function projections(platform: DrillPlatform, service: ServiceName): Promise<ProjectionsResponse['projections']> {
  const answer = await call<ProjectionsResponse>(`${platform.urls[service]}/admin/v1/projections`, { key: platform.rootToken });
  if (answer.status !== 200) throw new Error(`${service} /admin/v1/projections answered ${answer.status}`);
  return answer.body.projections;
}
