import { OpaqueId, TOPICS, VisitorErasedV1 } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import type { MessageBus } from '@svp/messaging';
import type { SqlClient } from '@svp/postgres';
import { type ProjectedEvent, type ProjectionRunner, defineProjection } from '@svp/projections';
import {
  type ClaimedTimer,
  DELETE_STREAM_TIMER,
  type ServiceMetrics,
  type StreamDeletionPayload,
  type TimerStore,
  type Worker,
  commandRunner,
  consumerWorker,
  deleteStreamWhenPassed,
  scheduleStreamDeletion,
} from '@svp/service-kit';
import { type SessionIdentityEvent, sessionIdentityStream } from '@svp/identity-domain';
import type { Logger } from 'pino';
import { identityDecider } from './identity-core.js';

/**
 * Identity's part of a visitor's erasure. The variables service erases the visitor and publishes
 * VisitorErased (with the visitor's session ids) on variables.events.v1; identity then erases the
 * identity records of those sessions (names, emails, external ids of every verification): an erased
 * event in each record's stream drops its read model, and the stream is deleted from the event store
 * once identity's read models and outbox have passed it (the same durable timers as the variables
 * service's deletions).
 */

/** Where identity keeps its timers (its own table: services share the embedded database). */
export const IDENTITY_TIMERS_TABLE = 'identity_timers';
export const VARIABLES_CONSUMER = 'identity.variables';

type Projected = ProjectedEvent<SessionIdentityEvent['type'], SessionIdentityEvent['data']>;

/** Schedules the deletion of each erased identity record's stream. */
export function identityDeletionsProjection(timers: TimerStore) {
  return defineProjection<Projected>({
    name: 'identity_deletions',
    version: 1,
    canHandle: ['SessionIdentityErased'],
    // Its state is the timers table, not a table of its own.
    async setup() {},
    async drop() {},
    async apply(tx, _table, events) {
      for (const event of events) {
        const data = event.data as Extract<SessionIdentityEvent, { type: 'SessionIdentityErased' }>['data'];
        await scheduleStreamDeletion(timers, tx, event, data.orgId, new Date(data.at), { erasureId: data.erasureId });
      }
    },
  });
}

/** Fires identity's timers: deletes erased records' streams once the read models and the relay passed them. */
export function identityTimerHandler(deps: { store: EventStore; runner: ProjectionRunner; outboxCheckpoint: () => Promise<bigint | undefined>; logger: Logger }) {
  return async (timer: ClaimedTimer): Promise<void> => {
    if (timer.kind !== DELETE_STREAM_TIMER) {
      deps.logger.warn({ kind: timer.kind, key: timer.key }, 'unknown identity timer; dropped');
      return;
    }
    const payload = timer.payload as StreamDeletionPayload;
    const deleted = await deleteStreamWhenPassed(deps, payload);
    if (deleted.length > 0) deps.logger.info({ orgId: payload.orgId, stream: payload.stream, erasureId: payload.erasureId }, 'erased identity record deleted');
  };
}

/**
 * Erases the identity records of a VisitorErased's sessions, one EraseSessionIdentity command each,
 * through the command runner like identity's other commands: counted in the command metrics and,
 * tracing on, a command span each.
 */
export function visitorErasedHandler(deps: { store: EventStore; metrics?: ServiceMetrics }): (event: VisitorErasedV1) => Promise<void> {
  const run = commandRunner(deps.store, deps.metrics);
  return async (event) => {
    const erasureId = event.data.erasureId ?? event.eventId;
    for (const sessionId of event.data.sessionIds ?? []) {
      // The decider erases a record once: a redelivery (or a record never written) decides nothing.
      await run(
        sessionIdentityStream(event.orgId, sessionId),
        identityDecider,
        { type: 'EraseSessionIdentity', data: { orgId: event.orgId, sessionId, erasureId, now: event.occurredAt } },
        { orgId: event.orgId, causationId: event.eventId, ...(event.correlationId ? { correlationId: event.correlationId } : {}) },
      );
    }
  };
}

/** Consumes VisitorErased: erases the identity records of the visitor's sessions, once per event id. */
export function visitorErasedConsumer(deps: { bus: MessageBus; sql: SqlClient; store: EventStore; logger: Logger; metrics?: ServiceMetrics }): Worker {
  const handle = visitorErasedHandler(deps);
  return consumerWorker({
    name: VARIABLES_CONSUMER,
    bus: deps.bus,
    sql: deps.sql,
    logger: deps.logger,
    topics: [TOPICS.variables],
    // Each session id names a stream: one that is not an opaque id is dead-lettered with the reason.
    schema: {
      VisitorErased: VisitorErasedV1.refine((e) => (e.data.sessionIds ?? []).every((id) => OpaqueId.safeParse(id).success), {
        message: 'must be opaque ids (letters, digits, _ and -)',
        path: ['data', 'sessionIds'],
      }),
    },
    handle,
  });
}
