import { randomUUID } from 'node:crypto';
import { OpaqueId, TOPICS, VisitorErasedV1 } from '@svp/contracts';
import { type EventStore, WrongExpectedRevisionError } from '@svp/event-store';
import type { MessageBus } from '@svp/messaging';
import type { SqlClient, SqlExecutor } from '@svp/postgres';
import { type ProjectedEvent, defineProjection } from '@svp/projections';
import { DELETE_STREAM_TIMER, type TimerStore, type Worker, consumerWorker, scheduleOnce } from '@svp/service-kit';
import { sessionStream } from '@svp/sessions-domain';
import type { Logger } from 'pino';

/**
 * The sessions service's part of a visitor's erasure. The variables service erases the visitor and
 * publishes VisitorErased (with the visitor's session ids) on variables.events.v1; the sessions of
 * that visitor hold personal data here too (the initial sessionVariableValues in SessionStarted), so
 * their streams are deleted: an erasure record (stream `sessionserasure-<orgId>.<erasureId>`: the
 * visitor and session ids, no personal data) drops the sessions from the read models and cancels
 * their timers, and schedules each stream's deletion once the read models and the outbox passed it.
 * Afterwards the sessions are unknown (404), as if they had never been.
 */

export const SESSIONS_ERASURE_CONSUMER = 'sessions.erasure';
export const SESSIONS_ERASED = 'SessionsErased';

export interface SessionsErasedData {
  orgId: string;
  erasureId: string;
  visitorId: string;
  sessionIds: string[];
  at: string;
}

export const sessionsErasureStream = (orgId: string, erasureId: string): string => `sessionserasure-${orgId}.${erasureId}`;

/** The sessions an erasure event names, if `event` is one. */
export const erasedSessions = (event: { type: string; data: unknown }): SessionsErasedData | undefined =>
  event.type === SESSIONS_ERASED ? (event.data as SessionsErasedData) : undefined;

type Projected = ProjectedEvent<string, unknown>;

/** Schedules the deletion of each erased session's stream. */
export function sessionDeletionsProjection(timers: TimerStore) {
  return defineProjection<Projected>({
    name: 'session_deletions',
    version: 1,
    canHandle: [SESSIONS_ERASED],
    // Its state is the timers table, not a table of its own.
    async setup() {},
    async drop() {},
    async apply(tx, _table, events) {
      for (const event of events) {
        const erased = erasedSessions(event);
        if (!erased) continue;
        for (const sessionId of erased.sessionIds) {
          const stream = sessionStream(erased.orgId, sessionId);
          // Session ids are the service's own (never reused): whatever the stream holds then goes.
          await scheduleOnce(timers, tx, event.globalPosition, {
            key: `delete:${stream}`,
            kind: DELETE_STREAM_TIMER,
            dueAt: new Date(erased.at),
            payload: { orgId: erased.orgId, stream, erasureId: erased.erasureId },
          });
        }
      }
    },
  });
}

/** Consumes VisitorErased: records the erasure of the visitor's sessions here, once per event id. */
export function sessionsErasureConsumer(deps: {
  bus: MessageBus;
  sql: SqlClient;
  store: EventStore;
  logger: Logger;
  forgetActivity: (tx: SqlExecutor, orgId: string, sessionIds: readonly string[]) => Promise<void>;
}): Worker {
  return consumerWorker({
    name: SESSIONS_ERASURE_CONSUMER,
    bus: deps.bus,
    sql: deps.sql,
    logger: deps.logger,
    topics: [TOPICS.variables],
    // Each id names a stream: an event whose ids are not opaque ids is dead-lettered with the reason.
    schema: {
      VisitorErased: VisitorErasedV1.refine((e) => [e.data.visitorId, ...(e.data.sessionIds ?? [])].every((id) => OpaqueId.safeParse(id).success), {
        message: 'must be opaque ids (letters, digits, _ and -)',
        path: ['data', 'sessionIds'],
      }),
    },
    handle: async (event) => {
      const sessionIds = event.data.sessionIds ?? [];
      if (sessionIds.length === 0) return;
      const erasureId = event.data.erasureId ?? event.eventId;
      const data: SessionsErasedData = { orgId: event.orgId, erasureId, visitorId: event.data.visitorId, sessionIds, at: event.occurredAt };
      try {
        await deps.store.appendToStream(
          sessionsErasureStream(event.orgId, erasureId),
          [{ eventId: randomUUID(), type: SESSIONS_ERASED, data, metadata: { orgId: event.orgId, causationId: event.eventId, ...(event.correlationId ? { correlationId: event.correlationId } : {}) } }],
          { expectedRevision: 'no_stream' },
        );
      } catch (error) {
        // Recorded before (a redelivery after a crash between the append and the inbox record).
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
      }
    },
    // The erased sessions' variable activity (names only) goes with the inbox record.
    record: (event, tx) => deps.forgetActivity(tx, event.orgId, event.data.sessionIds ?? []),
  });
}
