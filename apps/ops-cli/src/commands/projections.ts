import type { ProjectionStatusJson, ProjectionsResponse } from '@svp/contracts';
import { OpsError, type Service, usageError } from '../client.js';
import { type Context, WaitTimeout, until } from '../context.js';
import { table } from '../output.js';

/** A projection as GET /admin/v1/projections shows it (the schema the services document it with, libs/contracts). */
export type ProjectionJson = ProjectionStatusJson;

/** The services that keep projections (the gateway has none). */
export const PROJECTION_SERVICES: readonly Service[] = ['identity', 'sessions', 'variables'];

/** One service's projections; a service without the endpoint (404) has none. */
export async function fetchProjections(ctx: Context, service: Service): Promise<ProjectionJson[]> {
  const { status, body } = await ctx.client.json<ProjectionsResponse>(service, '/admin/v1/projections', { auth: 'root', accept: [404] });
  return status === 404 ? [] : body.projections;
}

export interface ServiceProjections {
  service: Service;
  url: string;
  projections?: ProjectionJson[];
  error?: ReturnType<OpsError['toJson']>['error'];
}

/** Asks every service; one that fails is reported beside the others (and makes the exit code 1). */
export async function eachService<T extends { service: Service; url: string; error?: unknown }>(
  services: readonly Service[],
  ctx: Context,
  look: (service: Service) => Promise<Omit<T, 'service' | 'url' | 'error'>>,
): Promise<T[]> {
  return Promise.all(
    services.map(async (service) => {
      const url = ctx.client.url(service, '');
      try {
        return { service, url, ...(await look(service)) } as T;
      } catch (error) {
        if (error instanceof OpsError && error.exitCode === 2) throw error;
        const failure = error instanceof OpsError ? error : new OpsError('FAILED', String(error), { service });
        return { service, url, error: failure.toJson().error } as T;
      }
    }),
  );
}

/** `projections status`: each projection's state, checkpoint, head, lag, rebuild progress. */
export async function projectionsStatus(ctx: Context, services: readonly Service[]): Promise<number> {
  const result = await eachService<ServiceProjections>(services, ctx, async (service) => ({ projections: await fetchProjections(ctx, service) }));
  ctx.out.result({ services: result }, () => formatProjections(result));
  return result.some((r) => r.error) ? 1 : 0;
}

export function formatProjections(result: readonly ServiceProjections[]): string {
  const rows = result.flatMap((r) =>
    r.error
      ? [[r.service, '(unreachable)', 'error', null, null, null, r.error.message]]
      : (r.projections ?? []).map((p) => [
          r.service,
          p.name,
          p.state,
          p.position,
          p.head,
          p.lag,
          p.rebuild
            ? `rebuilding ${p.rebuild.progress}% (${p.rebuild.eventsApplied} events)`
            : p.lastRebuild
              ? `last rebuild ${p.lastRebuild.state}${p.lastRebuild.finishedAt ? ` at ${p.lastRebuild.finishedAt}` : ''}`
              : p.error
                ? `error: ${p.error}`
                : null,
        ]),
  );
  return table(['SERVICE', 'PROJECTION', 'STATE', 'POSITION', 'HEAD', 'LAG', 'NOTE'], rows);
}

export interface RebuildOutcome {
  service: Service;
  projection: string;
  state: 'rebuilding' | 'switched' | 'failed' | 'abandoned';
  startedAt: string;
  finishedAt?: string;
  table?: string;
  previousTable?: string;
  eventsApplied?: number;
  error?: string;
  status?: ProjectionJson;
}

/**
 * `projections rebuild <name>`: starts the rebuild (POST), then, unless `wait` is off, polls the
 * status with a progress bar until the rebuild this call started switched in or failed.
 */
export async function projectionsRebuild(ctx: Context, name: string, options: { service?: Service; wait: boolean }): Promise<number> {
  const { service, before } = await locate(ctx, name, options.service);
  const started = await ctx.client.json<{ startedAt?: string }>(service, `/admin/v1/projections/${encodeURIComponent(name)}/rebuild`, { method: 'POST', auth: 'root' });
  const startedAt = started.body.startedAt;
  if (!options.wait || !startedAt) {
    const outcome: RebuildOutcome = { service, projection: name, state: 'rebuilding', startedAt: startedAt ?? ctx.now().toISOString(), previousTable: before.table };
    ctx.out.result(outcome, () => `${service}: rebuild of ${name} started (svp-ops projections status shows its progress)`);
    return 0;
  }
  const bar = ctx.out.progress(`rebuild ${service}/${name}`, 100);
  let status: ProjectionJson;
  try {
    status = await until(ctx, `the rebuild of ${name}`, async () => {
      const current = (await fetchProjections(ctx, service)).find((p) => p.name === name);
      if (!current) throw new OpsError('NOT_FOUND', `${service} no longer lists projection ${name}`, { service });
      const last = current.lastRebuild;
      if (current.rebuild) bar.update(current.rebuild.progress, undefined, `${current.rebuild.eventsApplied} events`);
      if (!last) throw new OpsError('REBUILD_LOST', `${service} no longer knows the rebuild of ${name} (restarted?); the live table stays active`, { service });
      if (last.startedAt !== startedAt) throw new OpsError('REBUILD_SUPERSEDED', `another rebuild of ${name} was started on ${service} (at ${last.startedAt})`, { service });
      return last.state === 'running' ? undefined : current;
    });
  } catch (error) {
    bar.stop();
    if (error instanceof WaitTimeout) throw new OpsError('TIMEOUT', `${error.message}; it carries on in ${service}`, { service });
    throw error;
  }
  const last = status.lastRebuild!;
  if (last.state === 'switched') bar.update(100);
  bar.stop();
  const outcome: RebuildOutcome = {
    service,
    projection: name,
    state: last.state as RebuildOutcome['state'],
    startedAt,
    ...(last.finishedAt ? { finishedAt: last.finishedAt } : {}),
    ...(last.table ? { table: last.table } : {}),
    previousTable: before.table,
    ...(last.eventsApplied !== undefined ? { eventsApplied: last.eventsApplied } : {}),
    ...(last.error ? { error: last.error } : {}),
    status,
  };
  ctx.out.result(outcome, () =>
    last.state === 'switched'
      ? `${service}: ${name} rebuilt from position 0 (${last.eventsApplied ?? 0} events) and switched to ${last.table} (was ${before.table}); state ${status.state}, lag ${status.lag ?? '-'}`
      : `${service}: the rebuild of ${name} ${last.state}${last.error ? `: ${last.error}` : ''}; the live table ${before.table} stays active`,
  );
  return last.state === 'switched' ? 0 : 1;
}

/** Finds the service of a projection (the one given, or the only one that has it). */
async function locate(ctx: Context, name: string, service?: Service): Promise<{ service: Service; before: ProjectionJson }> {
  const candidates = service ? [service] : PROJECTION_SERVICES;
  const found: Array<{ service: Service; before: ProjectionJson }> = [];
  const known: string[] = [];
  for (const s of candidates) {
    const projections = await fetchProjections(ctx, s);
    known.push(...projections.map((p) => `${s}/${p.name}`));
    const match = projections.find((p) => p.name === name);
    if (match) found.push({ service: s, before: match });
  }
  if (found.length === 0) throw new OpsError('NOT_FOUND', `No projection '${name}' in ${candidates.join(', ')}`, { details: { projections: known } });
  if (found.length > 1) throw usageError(`Projection '${name}' exists in ${found.map((f) => f.service).join(' and ')}: say which with --service`);
  return found[0]!;
}
