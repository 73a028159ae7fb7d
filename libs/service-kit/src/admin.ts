import { RebuildAbortedError, RebuildInProgressError, type ProjectionRunner, type ProjectionStatus } from '@svp/projections';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RouteDoc } from './openapi.js';
import { AppError } from './app-error.js';
import { bearerToken } from './auth.js';
import { toErrorResponse } from './exception.filter.js';

/** A projection's status as JSON (positions as strings: they are 64-bit). */
export function projectionStatusJson(status: ProjectionStatus) {
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

/**
 * Operator endpoints (root token): projection status and lag, and a rebuild from position 0 beside
 * the live table, followed by an atomic switch. The rebuild runs in the background; its progress
 * shows in GET /admin/v1/projections. One rebuild per projection at a time: the runner claims the
 * name synchronously, and a second request while one runs gets 409 Conflict.
 */
export function registerAdminRoutes(fastify: FastifyInstance, runner: ProjectionRunner, rootToken: string | undefined, logger: Logger): void {
  const authorize = (authorization: string | undefined) => {
    if (!rootToken) throw new AppError('FORBIDDEN', 'Admin endpoints need PLATFORM_ROOT_TOKEN to be set on this service');
    const token = bearerToken(authorization);
    if (!token) throw new AppError('UNAUTHENTICATED', 'Missing "Authorization: Bearer <root token>" header');
    if (token !== rootToken) throw new AppError('FORBIDDEN', 'Admin endpoints need the root token');
  };
  const fail = (reply: { code(n: number): { send(b: unknown): unknown } }, error: unknown) => {
    const refused = error instanceof RebuildInProgressError ? new AppError('CONFLICT', error.message) : error;
    const { status, body } = toErrorResponse(refused);
    return reply.code(status).send(body);
  };

  fastify.get('/admin/v1/projections', async (request, reply) => {
    try {
      authorize(request.headers.authorization);
      return { projections: (await runner.statuses()).map(projectionStatusJson) };
    } catch (error) {
      return fail(reply, error);
    }
  });

  fastify.post<{ Params: { name: string } }>('/admin/v1/projections/:name/rebuild', async (request, reply) => {
    try {
      authorize(request.headers.authorization);
      const { name } = request.params;
      // No await from here to runner.rebuild(): the check and the runner's claim of the name happen
      // in one synchronous step, so of two simultaneous requests exactly one gets 202.
      const known = runner.projectionNames;
      if (!known.includes(name)) throw new AppError('NOT_FOUND', `No projection '${name}' here`, { projections: known });
      if (runner.isRebuilding(name)) throw new RebuildInProgressError(name);
      void runner
        .rebuild(name, { onProgress: (p) => logger.info({ projection: name, position: p.position.toString(), head: p.head.toString(), ratio: p.ratio }, 'rebuild progress') })
        .then(
          (result) => logger.info({ projection: name, table: result.table, eventsApplied: result.eventsApplied }, 'rebuild switched in'),
          (err: unknown) =>
            err instanceof RebuildAbortedError
              ? logger.warn({ projection: name }, 'rebuild abandoned: the runner was stopped; the live table stays active')
              : logger.error({ err, projection: name }, 'rebuild failed; the live table carries on'),
        );
      return reply.code(202).send({ projection: name, state: 'rebuilding', statusUrl: '/admin/v1/projections' });
    } catch (error) {
      return fail(reply, error);
    }
  });
}

const ProjectionStatusJson = z.object({
  name: z.string(),
  version: z.number().int(),
  table: z.string(),
  state: z.enum(['catching-up', 'live', 'stopped', 'failed']),
  position: z.string(),
  head: z.string().nullable(),
  lag: z.string().nullable(),
  failures: z.number().int(),
  error: z.string().optional(),
  rebuild: z
    .object({ table: z.string(), position: z.string(), head: z.string(), eventsApplied: z.number().int(), progress: z.number() })
    .optional(),
});

/** The admin endpoints in the service's OpenAPI document. */
export const adminRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/admin/v1/projections',
    summary: 'Projections of this service: state, checkpoint, head, lag, and rebuild progress (root token)',
    tags: ['admin'],
    responses: { 200: z.object({ projections: z.array(ProjectionStatusJson) }) },
    errors: [401, 403],
    auth: 'rootToken',
  },
  {
    method: 'post',
    path: '/admin/v1/projections/{name}/rebuild',
    summary: 'Rebuild a projection from position 0 beside the live table, then switch (root token); runs in the background',
    tags: ['admin'],
    params: z.object({ name: z.string() }),
    responses: { 202: z.object({ projection: z.string(), state: z.literal('rebuilding'), statusUrl: z.string() }) },
    errors: [401, 403, 404, 409],
    auth: 'rootToken',
  },
];
