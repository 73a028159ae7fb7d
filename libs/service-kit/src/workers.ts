import { hostname } from 'node:os';
import { crashPlanFromEnv, outboxCrashHook } from './fault-injection.js';
import type { EventStore, RecordedEvent } from '@svp/event-store';
import { type OutgoingMessage, OutboxRelay } from '@svp/messaging';
import { type DocumentCacheOptions, type DocumentProjection, type Projection, ProjectionRunner, type ProjectionState, type ProjectionStatus } from '@svp/projections';
import { AppError } from './app-error.js';
import type { ReadinessCheck } from './readiness.js';
import type { DocumentReader } from './read-model.js';
import type { ServiceInfra, Worker } from './runtime.js';
import { withTraceHeaders } from './tracing/traced-bus.js';
import { tracingEnabled } from './tracing/tracing.js';
import { traceProjectionBatch } from './tracing/work.js';

export interface ProjectionWorker extends Worker {
  readonly runner: ProjectionRunner;
  /** Not ready while a projection has failed (it retries by itself). */
  readonly readiness: ReadinessCheck;
}

const PROJECTION_STATES: readonly ProjectionState[] = ['catching-up', 'live', 'stopped', 'failed'];

/** Runs a service's projections from the store's global log into its SQL database. */
export function projectionWorker(infra: Pick<ServiceInfra, 'sql' | 'store' | 'logger' | 'metrics'>, projections: readonly Projection[]): ProjectionWorker {
  const runner = new ProjectionRunner({
    sql: infra.sql,
    store: infra.store,
    projections,
    onError: (projection, error) => infra.logger.error({ err: error, projection }, 'projection failed; retrying'),
    // Traced: a span per batch, continuing the trace of the events it applies.
    ...(tracingEnabled() ? { aroundBatch: traceProjectionBatch } : {}),
  });
  // One read of the statuses (the store's head, stopped projections' checkpoints) serves both gauges of a scrape.
  let reading: Promise<ProjectionStatus[]> | undefined;
  const statuses = () => (reading ??= runner.statuses().finally(() => (reading = undefined)));
  infra.metrics.gauge('svp_projection_lag_events', 'Global positions a projection is behind the head of the log (about events on PostgreSQL)', ['projection'], async (gauge) => {
    for (const status of await statuses()) if (status.lag !== null) gauge.set({ projection: status.name }, Number(status.lag));
  });
  infra.metrics.gauge('svp_projection_state', 'A projection\'s state: 1 for the state it is in (catching-up, live, stopped, failed), 0 for the others', ['projection', 'state'], async (gauge) => {
    for (const status of await statuses())
      for (const state of PROJECTION_STATES) gauge.set({ projection: status.name, state }, status.state === state ? 1 : 0);
  });
  infra.metrics.gauge('svp_read_cache_lookups', 'Lookups in the in-memory caches of read models since start, by outcome', ['projection', 'outcome'], async (gauge) => {
    for (const stats of runner.cacheStats()) {
      gauge.set({ projection: stats.projection, outcome: 'hit' }, stats.hits);
      gauge.set({ projection: stats.projection, outcome: 'miss' }, stats.misses);
    }
  });
  return {
    name: 'projections',
    runner,
    start: () => runner.start(),
    stop: () => runner.stop(),
    readiness: {
      name: 'projections',
      check: async () => (await runner.statuses()).every((s) => s.state !== 'failed'),
    },
  };
}

/**
 * Read-your-writes: resolves once the projection has applied the global log up to `position`; a
 * projection too far behind answers 503 (the write is stored either way).
 */
export async function waitForProjection(runner: ProjectionRunner, name: string, position: bigint, timeoutMs = 5000): Promise<void> {
  try {
    await runner.waitForPosition(name, position, { timeoutMs });
  } catch (error) {
    throw new AppError('SERVICE_UNAVAILABLE', 'The write is stored but the read model has not caught up yet; read again shortly', {
      position: position.toString(),
      reason: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * Reads a document projection with read-your-writes; a projection too far behind answers 503. With
 * `cache`, the documents read stay in memory until this process's projection commits a batch that
 * touches them (ProjectionRunner.cachedReader): hot reads make no SQL round trip.
 */
export function documentReader<Doc>(worker: ProjectionWorker, projection: DocumentProjection<Doc, any>, options: { cache?: DocumentCacheOptions } = {}): DocumentReader<Doc> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const reader = options.cache ? worker.runner.cachedReader<Doc>(projection, options.cache) : worker.runner.reader<Doc>(projection);
  return {
    get: async (id) => (await reader.get(id)) ?? undefined,
    waitFor: (position, timeoutMs = 5000) => waitForProjection(worker.runner, projection.name, position, timeoutMs),
  };
}

export interface OutboxWorker extends Worker {
  /** Global positions stored and not yet relayed (about events on PostgreSQL). */
  depth(): Promise<bigint>;
  /** The global position up to which every stored event was relayed (undefined before the first). */
  checkpoint(): Promise<bigint | undefined>;
}

/**
 * The outbox lease's holder id of this process: its host and the service's port (a process restarted
 * on the same port takes its lease back at once; another instance, on another port or host, waits
 * for it). OUTBOX_HOLDER_ID overrides it (instances that share a host name and port, say).
 */
export function outboxHolderId(name: string, env: Partial<Record<string, unknown>> | undefined): string | undefined {
  const explicit = env?.OUTBOX_HOLDER_ID ?? process.env.OUTBOX_HOLDER_ID;
  if (typeof explicit === 'string' && explicit !== '') return explicit;
  const port = env?.[`${name.toUpperCase()}_PORT`];
  // Port 0 (any free port) names no instance: every one would share the id, so each gets a random one.
  return port === undefined || Number(port) === 0 ? undefined : `${hostname()}:${String(port)}`;
}

/** Relays a service's stored events to its Kafka topic (transactional outbox from the store's log). */
export function outboxWorker(
  infra: Pick<ServiceInfra, 'sql' | 'store' | 'bus' | 'logger' | 'metrics'> & { env?: ServiceInfra['env'] },
  name: string,
  toMessages: (event: RecordedEvent) => readonly OutgoingMessage[],
): OutboxWorker {
  let relay: OutboxRelay | undefined;
  infra.metrics.gauge('svp_outbox_depth_events', "Global positions stored and not yet relayed to the bus: the store's head minus the relay's checkpoint (about events on PostgreSQL)", ['relay'], async (gauge) => {
    if (relay) gauge.set({ relay: name }, Number(await relay.depth()));
  });
  infra.metrics.gauge('svp_outbox_lease_held', 'Whether this instance holds the outbox relay lease (1: it publishes; 0: another instance does, this one stands by)', ['relay'], async (gauge) => {
    if (relay) gauge.set({ relay: name }, relay.holdsLease ? 1 : 0);
  });
  const holder = outboxHolderId(name, infra.env as Partial<Record<string, unknown>> | undefined);
  return {
    name: `outbox:${name}`,
    async start() {
      // Traced: each message carries its event's trace context in its headers (from the metadata).
      const map = tracingEnabled() ? withTraceHeaders(toMessages) : toMessages;
      relay = await OutboxRelay.create({
        name,
        store: infra.store as EventStore,
        sql: infra.sql,
        bus: infra.bus,
        toMessages: map,
        logger: infra.logger,
        // Fault drills only: SVP_FAULT_CRASH_AT kills the process at a chosen point of the relay (docs/reliability.md).
        onBatchPoint: outboxCrashHook(crashPlanFromEnv()),
        // One instance's relay publishes; the others stand by (a lease in the same database).
        ...(holder ? { lease: { holder } } : {}),
      });
      await relay.start();
    },
    async stop() {
      await relay?.stop();
    },
    depth: async () => (relay ? relay.depth() : 0n),
    checkpoint: async () => relay?.checkpoint(),
  };
}
