import 'reflect-metadata';
import { type DynamicModule, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse as parseQueryString } from 'node:querystring';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Server } from 'node:http';
import type { ServiceName } from '@svp/contracts';
import type { Logger } from 'pino';
import { ErrorBodyFilter, type ErrorRenderer, renderError } from './exception.filter.js';
import { PinoNestLogger } from './logger.js';
import { adminRouteDocs, healthRouteDocs } from './admin.js';
import { OpsModule } from './ops.controller.js';
import { type OpsAdminOptions, OpsAdminModule, consumersRouteDocs, sessionEventsRouteDocs } from './ops-admin.js';
import type { ApiKeyIntrospector } from './auth.js';
import type { OrgMeter } from './metering.js';
import { MeteringModule, usageRouteDocs } from './metering.module.js';
import type { ProjectionRunner } from '@svp/projections';
import { ServiceMetrics } from './metrics.js';
import { buildOpenApiDocument, type RouteDoc } from './openapi.js';
import type { ReadinessCheck } from './readiness.js';
import { installHttpTracing } from './tracing/http.js';
import { tracingEnabled } from './tracing/tracing.js';

export interface ServiceAppOptions {
  name: ServiceName;
  title: string;
  /** The service's Nest module, already configured with its infrastructure. */
  module: DynamicModule;
  routes: readonly RouteDoc[];
  readiness: readonly ReadinessCheck[];
  logger: Logger;
  metrics: ServiceMetrics;
  host: string;
  port: number;
  bodyLimit: number;
  /** Projections served by the admin endpoints (GET status, POST rebuild). */
  projections?: ProjectionRunner;
  /** The root token the admin endpoints require. */
  rootToken?: string;
  /** What the consumer-lag and session-export admin endpoints read (ops-admin.ts). */
  opsAdmin?: Pick<OpsAdminOptions, 'bus' | 'consumers' | 'store' | 'sessionStreams'>;
  /** Meters every request ApiKeyGuard authenticates (per org, 429 past the quota). */
  meter?: OrgMeter;
  /** With a meter: authenticates `GET /v1/usage`, which then is served. */
  introspector?: ApiKeyIntrospector;
  /** Route prefixes that answer errors in another shape (SalesIQ's). */
  errorRenderers?: readonly ErrorRenderer[];
  /** Keep each request's raw body (`request.rawBody`), for routes that check a signature over the bytes. */
  rawBody?: boolean;
  /** Pages of these origins may call the service from a browser (CORS); `*` for any. Without it, no CORS headers. */
  corsOrigins?: readonly string[];
  /** Route prefixes that never get CORS headers (pages of other origins may not read them). */
  corsExcept?: readonly string[];
  /** More than Nest's routes on the same HTTP server (the gateway's WebSocket upgrades); detached before HTTP closes. */
  attach?: ServerAttachment;
  /** How long close() lets requests in flight finish before every connection is cut (ms; 10 s by default). */
  shutdownGraceMs?: number;
}

/**
 * Something served on the service's HTTP server beside its routes (a WebSocket endpoint): attached
 * before the server listens, closed first when it stops (upgraded sockets are not HTTP requests:
 * closing the HTTP server would not end them).
 */
export type ServerAttachment = (server: Server) => { close(): Promise<void> };

export interface RunningServiceApp {
  name: ServiceName;
  app: INestApplication;
  /** Base URL the service listens on (the real port when 0 was asked). */
  url: string;
  close(): Promise<void>;
}

/**
 * Creates a NestJS application on Fastify with everything every service serves: the error body for
 * every failure, GET /healthz, /readyz, /metrics and /docs (OpenAPI UI from the zod contracts),
 * request metrics and logs. Returns once it listens.
 */
export async function startServiceApp(options: ServiceAppOptions): Promise<RunningServiceApp> {
  const { logger, metrics } = options;
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit,
    logger: false,
    return503OnClosing: true,
    // Errors Fastify answers before routing (a malformed URL, say) get the error body too.
    frameworkErrors: (error: Error, request: { url?: string }, reply: { code(status: number): { send(...args: never[]): unknown } }) => {
      const { status, body } = renderError(error, request?.url, options.errorRenderers);
      (reply.code(status) as unknown as { send(payload: unknown): unknown }).send(body);
    },
  });
  // The service's own module beside the operator endpoints (/healthz, /readyz, /metrics, /admin),
  // so every route, operators' included, answers errors through the same filter and body.
  const root: DynamicModule = {
    module: ServiceRootModule,
    imports: [
      options.module,
      OpsModule.register({
        service: options.name,
        readiness: options.readiness,
        metrics,
        logger,
        projections: options.projections,
        rootToken: options.rootToken,
      }),
      ...(options.meter ? [MeteringModule.register({ meter: options.meter, introspector: options.introspector })] : []),
      ...(options.opsAdmin ? [OpsAdminModule.register({ service: options.name, logger, rootToken: options.rootToken, ...options.opsAdmin })] : []),
    ],
  };
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
    ...(options.rawBody ? { rawBody: true } : {}),
  });
  installStrictBodyParsers(app, options.bodyLimit);
  app.useGlobalFilters(new ErrorBodyFilter(logger, options.errorRenderers));
  if (options.corsOrigins) {
    const cors = {
      origin: options.corsOrigins.includes('*') ? '*' : [...options.corsOrigins],
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-correlation-id'],
      exposedHeaders: ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After'],
      maxAge: 600,
    };
    const except = options.corsExcept ?? [];
    // @fastify/cors's per-request delegate: the excepted prefixes get no CORS headers (same-origin only).
    (app.enableCors as (delegate: unknown) => void)((request: { url?: string }, callback: (error: Error | null, options: unknown) => void) =>
      callback(null, corsExcepted(request.url, except) ? { origin: false } : cors),
    );
  }
  const fastify = app.getHttpAdapter().getInstance();
  // A server span per request, continuing the caller's traceparent (docs/tracing.md); nothing when tracing is off.
  if (tracingEnabled()) installHttpTracing(fastify);

  // Errors Fastify raises itself (bad JSON, oversized body) reach the same filter: Nest installs the
  // Fastify error handler and routes them through its exception filters.
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    if (route !== '/metrics' && route !== '/healthz' && route !== '/readyz')
      logger.info({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  const document = buildOpenApiDocument(options.title, '1.0.0', [
    ...options.routes,
    ...healthRouteDocs,
    ...(options.meter && options.introspector ? usageRouteDocs : []),
    ...(options.projections ? adminRouteDocs : []),
    ...(options.opsAdmin ? consumersRouteDocs : []),
    ...(options.opsAdmin?.sessionStreams && options.opsAdmin.store ? sessionEventsRouteDocs : []),
  ]);
  await fastify.register(fastifySwagger as never, { mode: 'static', specification: { document } });
  await fastify.register(fastifySwaggerUi as never, { routePrefix: '/docs' });

  const attached = options.attach?.(fastify.server);
  await app.listen({ port: options.port, host: options.host });
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${host}:${port}`;
  logger.info({ url }, `${options.name} listening`);
  return {
    name: options.name,
    app,
    url,
    close: async () => {
      await attached?.close();
      // Fastify 5 waits out keepAliveTimeout (72 s) for a keep-alive connection that goes idle after
      // close() began (fastify/fastify#7044): a request in flight finishes, then its connection is
      // closed as it goes idle; after the grace period every connection is.
      const server = fastify.server;
      const reap = setInterval(() => server.closeIdleConnections(), 50);
      const cutOff = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      try {
        await app.close();
      } finally {
        clearInterval(reap);
        clearTimeout(cutOff);
      }
    },
  };
}

/**
 * Whether a request's path falls under one of the prefixes served without CORS. The path is compared
 * decoded, as the router matches it (`/%64emo/config` is `/demo/config`); one that cannot be decoded
 * is excepted too (it gets no CORS headers). Pure.
 */
export function corsExcepted(url: string | undefined, prefixes: readonly string[]): boolean {
  if (prefixes.length === 0) return false;
  let path: string;
  try {
    path = decodeURIComponent((url ?? '/').split('?')[0]!);
  } catch {
    return true;
  }
  return prefixes.some((prefix) => path.startsWith(prefix));
}

@Module({})
class ServiceRootModule {}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON bodies are decoded as strict UTF-8: a body with invalid byte sequences is `400
 * VALIDATION_FAILED` (`details.reason: "INVALID_UTF8"`), where Fastify's own parser would replace
 * them with U+FFFD and let the request through, storing text the caller never sent (found by the
 * bad-input drill, docs/reliability.md). The rest is Fastify's default JSON parser, `__proto__` and
 * `constructor` keys refused as before; Nest's raw body (`request.rawBody`) is kept where the service
 * asks for it. Registered before Nest's own parsers, which then stand aside: the form parser Nest
 * would add is registered here unchanged.
 */
function installStrictBodyParsers(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const json = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit }, (request, body, done) => {
    let text: string;
    try {
      text = strictUtf8.decode(body);
    } catch {
      done(Object.assign(new Error('The request body is not valid UTF-8'), { statusCode: 400, code: 'INVALID_UTF8' }), undefined);
      return;
    }
    json(request as never, text, done);
  });
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit }, (_request, body, done) => done(null, parseQueryString(body.toString())));
}
