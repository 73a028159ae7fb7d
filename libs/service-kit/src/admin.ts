import { HealthResponse, type ProjectionStatusJson, ProjectionsResponse, ReadinessResponse } from '@svp/contracts';
import type { ProjectionStatus } from '@svp/projections';
import { z } from 'zod';
import type { RouteDoc } from './openapi.js';

/** A projection's status as JSON (positions as strings: they are 64-bit). */
export function projectionStatusJson(status: ProjectionStatus): ProjectionStatusJson {
  return {
    name: status.name,
    version: status.version,
    table: status.table,
    state: status.state,
    position: status.position.toString(),
    head: status.head?.toString() ?? null,
    lag: status.lag?.toString() ?? null,
    failures: status.failures,
    ...(status.error ? { error: status.error.message } : {}),
    ...(status.retryAt ? { retryAt: status.retryAt.toISOString() } : {}),
    ...(status.rebuild
      ? {
          rebuild: {
            table: status.rebuild.table,
            position: status.rebuild.position.toString(),
            head: status.rebuild.head.toString(),
            eventsApplied: status.rebuild.eventsApplied,
            progress: Math.round(status.rebuild.ratio * 1000) / 10,
          },
        }
      : {}),
  };
}

/** Liveness, readiness and metrics, served by every service. */
export const healthRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness: the process answers', tags: ['operations'], responses: { 200: HealthResponse }, errors: [], auth: 'none' },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: database, event store, bus and projections reachable and healthy (503 when not)',
    tags: ['operations'],
    responses: { 200: ReadinessResponse, 503: ReadinessResponse },
    errors: [],
    auth: 'none',
  },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics (text exposition format)', tags: ['operations'], responses: { 200: undefined }, errors: [], auth: 'none' },
];

/** The admin endpoints in the service's OpenAPI document. */
export const adminRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/admin/v1/projections',
    summary: 'Projections of this service: state, checkpoint, head, lag, and rebuild progress (root token)',
    tags: ['admin'],
    responses: { 200: ProjectionsResponse },
    errors: [401, 403],
    auth: 'rootToken',
  },
  {
    method: 'post',
    path: '/admin/v1/projections/{name}/rebuild',
    summary: 'Rebuild a projection from position 0 beside the live table, then switch (root token); runs in the background',
    tags: ['admin'],
    params: z.object({ name: z.string() }),
    responses: { 202: z.object({ projection: z.string(), state: z.literal('rebuilding'), startedAt: z.string(), statusUrl: z.string() }) },
    errors: [401, 403, 404, 409],
    auth: 'rootToken',
  },
];
