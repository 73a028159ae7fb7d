import type { DynamicModule } from '@nestjs/common';
import type { ConfigEnv, ServiceName } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import type { ConsumerGroupRef, MessageBus } from '@svp/messaging';
import type { ProjectionRunner } from '@svp/projections';
import type { SqlClient } from '@svp/postgres';
import type { Logger } from 'pino';
import type { ApiKeyIntrospector } from './auth.js';
import type { SignatureVerifier } from './signatures.js';
import type { ErrorRenderer } from './exception.filter.js';
import { OrgMeter } from './metering.js';
import type { ServiceMetrics } from './metrics.js';
import { registerConsumerLag } from './consumer-lag-metrics.js';
import { selectAdapters } from './infra.js';
import { ObservedEventStore } from './store-metrics.js';
import type { RouteDoc } from './openapi.js';
import type { ReadinessCheck } from './readiness.js';
import { type RunningServiceApp, type ServerAttachment, startServiceApp } from './service-app.js';
import { tracedInfra } from './tracing/infra.js';
import { tracingEnabled } from './tracing/tracing.js';

/** Everything a service is built from: its config and its ports, chosen by the mode it runs in. */
export interface ServiceInfra {
  env: ConfigEnv;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Read models, checkpoints, outbox and inbox (PostgreSQL or PGlite). */
  sql: SqlClient;
  store: EventStore;
  bus: MessageBus;
  introspector: ApiKeyIntrospector;
  /** Identity's signature check for signed data (signed visitor submits). */
  signatures: SignatureVerifier;
  /** The platform's root token (org creation, admin endpoints); undefined when not configured. */
  rootToken?: string;
}

/** Background work that must happen (projections, outbox relay, consumers): durable and restartable. */
export interface Worker {
  name: string;
  /** The consumer group it runs and its topics, for the consumer lag (GET /admin/v1/consumers). */
  consumes?: ConsumerGroupRef;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceParts {
  module: DynamicModule;
  routes: readonly RouteDoc[];
  readiness?: readonly ReadinessCheck[];
  workers?: readonly Worker[];
  /** The service's projections, for the admin endpoints. */
  projections?: ProjectionRunner;
  /** The service's streams that belong to a session: served as its event history (GET /admin/v1/orgs/{orgId}/sessions/{sessionId}/events). */
  sessionStreams?: (orgId: string, sessionId: string) => readonly string[];
  /** How the service's shared routes (GET /v1/usage) check keys, when not infra.introspector (identity checks its own). */
  introspector?: ApiKeyIntrospector;
  /** Route prefixes that answer errors in another API's shape. */
  errorRenderers?: readonly ErrorRenderer[];
  /**
   * What the service serves on its HTTP server besides routes (the gateway's graphql-ws endpoint),
   * given the service's meter so that it meters what it serves like every request.
   */
  attach?: (context: { meter: OrgMeter }) => ServerAttachment;
  /** Origins whose pages may call the service from a browser (CORS). */
  corsOrigins?: readonly string[];
  /** Route prefixes left out of CORS (same-origin pages only). */
  corsExcept?: readonly string[];
  /** Keep raw request bodies (`request.rawBody`): a route checks a signature over the bytes. */
  rawBody?: boolean;
}

/** A service: its name and how to compose it from infrastructure. */
export interface ServiceDefinition {
  name: ServiceName;
  title: string;
  build(infra: ServiceInfra): Promise<ServiceParts>;
}

export interface RunningService extends RunningServiceApp {
  infra: ServiceInfra;
}

export function portOf(env: ConfigEnv, name: ServiceName): number {
  const ports: Record<ServiceName, number> = {
    gateway: env.GATEWAY_PORT,
    identity: env.IDENTITY_PORT,
    sessions: env.SESSIONS_PORT,
    variables: env.VARIABLES_PORT,
  };
  return ports[name];
}

/**
 * Builds a service, starts its workers, then serves HTTP. `close()` stops in the reverse order:
 * HTTP first (in-flight requests finish), then workers; the caller closes the shared infrastructure.
 * Every request an ApiKeyGuard authenticates is metered per org (ORG_REQUESTS_PER_MINUTE, or the
 * org's own quota); the meter flushes its counts like a worker, and a last time after HTTP closes.
 */
export async function runService(
  definition: ServiceDefinition,
  infra: ServiceInfra,
  listen: { host: string; port: number } = { host: infra.env.HOST, port: portOf(infra.env, definition.name) },
): Promise<RunningService> {
  // Traced (docs/tracing.md): appends carry the trace context in the events' metadata, the bus in message headers.
  if (tracingEnabled()) infra = tracedInfra(infra);
  // Every append of the service is timed (svp_event_store_append_duration_seconds), whichever path makes it.
  const parts = await definition.build({ ...infra, store: new ObservedEventStore(infra.store, infra.metrics.appendDuration, selectAdapters(infra.env).store) });
  // The consumer groups the service's workers run: their lag on /metrics and GET /admin/v1/consumers.
  const consumers = (parts.workers ?? []).flatMap((worker) => (worker.consumes ? [worker.consumes] : []));
  registerConsumerLag(infra.metrics, infra.bus, consumers);
  const meter = new OrgMeter({
    service: definition.name,
    sql: infra.sql,
    defaultRequestsPerMinute: infra.env.ORG_REQUESTS_PER_MINUTE,
    metrics: infra.metrics,
    logger: infra.logger,
  });
  const started: Worker[] = [];
  try {
    // The meter last: stopped first once HTTP has closed, so its final flush sees every request.
    for (const worker of [...(parts.workers ?? []), meter]) {
      await worker.start();
      started.push(worker);
    }
    const app = await startServiceApp({
      name: definition.name,
      title: definition.title,
      module: parts.module,
      routes: parts.routes,
      readiness: [
        { name: 'database', check: async () => (await infra.sql.query('SELECT 1 AS ok')).rows.length === 1 },
        { name: 'event-store', check: async () => (await infra.store.headPosition()) >= 0n },
        { name: 'bus', check: () => infra.bus.ping() },
        ...(parts.readiness ?? []),
      ],
      logger: infra.logger,
      metrics: infra.metrics,
      host: listen.host,
      port: listen.port,
      bodyLimit: infra.env.BODY_LIMIT_BYTES,
      // The whole process has SHUTDOWN_TIMEOUT_MS, and the embedded mode closes four services in turn:
      // a quarter each for requests in flight, leaving time for the workers and connections after.
      shutdownGraceMs: Math.floor(infra.env.SHUTDOWN_TIMEOUT_MS / 4),
      projections: parts.projections,
      rootToken: infra.rootToken ?? infra.env.PLATFORM_ROOT_TOKEN,
      opsAdmin: {
        bus: infra.bus,
        consumers,
        store: infra.store,
        ...(parts.sessionStreams ? { sessionStreams: parts.sessionStreams } : {}),
      },
      meter,
      introspector: parts.introspector ?? infra.introspector,
      ...(parts.errorRenderers ? { errorRenderers: parts.errorRenderers } : {}),
      ...(parts.attach ? { attach: parts.attach({ meter }) } : {}),
      ...(parts.corsOrigins ? { corsOrigins: parts.corsOrigins } : {}),
      ...(parts.corsExcept ? { corsExcept: parts.corsExcept } : {}),
      ...(parts.rawBody ? { rawBody: true } : {}),
    });
    return {
      ...app,
      infra,
      close: async () => {
        await app.close();
        for (const worker of started.reverse()) await worker.stop().catch((err) => infra.logger.error({ err, worker: worker.name }, 'worker stop failed'));
      },
    };
  } catch (error) {
    for (const worker of started.reverse()) await worker.stop().catch(() => undefined);
    throw error;
  }
}
