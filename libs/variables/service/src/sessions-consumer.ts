import { OpaqueId, SessionBlockedV1, SessionEndedV1, SessionStartedV1, TOPICS } from '@svp/contracts';
import { type MessageBus, isTransientError } from '@svp/messaging';
import type { SqlClient } from '@svp/postgres';
import { type StreamWriter, type Worker, consumerWorker } from '@svp/service-kit';
import { retainUntil } from '@svp/variables-domain';
import type { Logger } from 'pino';
import type { VariableSettingsReader } from './settings.js';
import { runSessionCommand, runVisitorCommand } from './stores.js';

export const SESSIONS_CONSUMER = 'variables.sessions';

const sessionIdIsOpaque = (event: { data: { sessionId: string } }): boolean => OpaqueId.safeParse(event.data.sessionId).success;
const notOpaque = { message: 'must be an opaque id (letters, digits, _ and -)', path: ['data', 'sessionId'] };
const visitorIdIsOpaque = (event: { data: { visitorId: string } }): boolean => OpaqueId.safeParse(event.data.visitorId).success;
const visitorNotOpaque = { message: 'must be an opaque id (letters, digits, _ and -)', path: ['data', 'visitorId'] };

/** The session's visitor is being erased: the start waits (retried by the bus) until the erasure is done. */
export class VisitorBeingErased extends Error {
  override readonly name = 'VisitorBeingErased';
  constructor(orgId: string, visitorId: string) {
    super(`Visitor ${visitorId} of org ${orgId} is being erased; the session is linked once that is done`);
  }
}

export interface SessionsConsumerDeps {
  bus: MessageBus;
  sql: SqlClient;
  writer: StreamWriter;
  settings: VariableSettingsReader;
  logger: Logger;
}

/**
 * The variables service follows the sessions' lifecycle from sessions.events.v1: SessionStarted
 * links the session to its visitor (whose variables then show in the session's reads) and its
 * sessionVariableValues become the session's variables (as given, source `widget`); SessionEnded
 * and SessionBlocked discard them (reads no longer return them; the stream is deleted at once, or
 * after the org's retention). At least once from the bus, one effect per event id: the inbox, and
 * the stream's own record of the event that caused each append.
 */
export function sessionsConsumer(deps: SessionsConsumerDeps): Worker {
  return consumerWorker({
    name: SESSIONS_CONSUMER,
    bus: deps.bus,
    sql: deps.sql,
    logger: deps.logger,
    topics: [TOPICS.sessions],
    schema: {
      SessionStarted: SessionStartedV1.refine(sessionIdIsOpaque, notOpaque).refine(visitorIdIsOpaque, visitorNotOpaque),
      SessionEnded: SessionEndedV1.refine(sessionIdIsOpaque, notOpaque),
      SessionBlocked: SessionBlockedV1.refine(sessionIdIsOpaque, notOpaque),
    },
    // Waiting for an erasure to finish is retried like an outage, never dead-lettered.
    isTransient: (error) => error instanceof VisitorBeingErased || isTransientError(error),
    // Appends to the event store, before the inbox record (which cannot join them): a crash in between
    // redelivers the event, and each stream's record of its cause keeps it from a second effect.
    handle: async (event) => {
      const context = { causationId: event.eventId, ...(event.correlationId ? { correlationId: event.correlationId } : {}) };
      const { orgId } = event;
      const { sessionId } = event.data;
      const settings = await deps.settings.get(orgId);
      if (event.type === 'SessionStarted') {
        const { visitorId, channelId, brandId, sessionVariableValues, startedAt } = event.data;
        // The visitor's stream links the session first: it outlives the session's own (deleted
        // when it ends), so an erasure of the visitor finds every session they had, and one that
        // reads the visitor after this point erases this session too.
        const link = await runVisitorCommand(deps.writer, { type: 'LinkSession', data: { orgId, visitorId, sessionId, now: startedAt } }, settings.limits, context);
        // The visitor is being erased: the session is theirs once the erasure is done (retried).
        if (!link.ok) throw new VisitorBeingErased(orgId, visitorId);
        const result = await runSessionCommand(
          deps.writer,
          { type: 'StartSessionVariables', data: { orgId, sessionId, visitorId, channelId, ...(brandId ? { brandId } : {}), values: sessionVariableValues, now: startedAt } },
          settings.limits,
          context,
        );
        // Values the limits refuse cannot become valid by retrying: reported, not dead-lettered
        // forever (the session is still linked to its visitor).
        if (result.ok && result.refused)
          deps.logger.warn({ orgId, sessionId, eventId: event.eventId, error: result.refused }, 'initial session variables refused');
      } else {
        const reason = event.type === 'SessionEnded' ? event.data.reason : 'blocked';
        const endedAt = event.type === 'SessionEnded' ? event.data.endedAt : event.data.blockedAt;
        const until = retainUntil(endedAt, settings.retentionDays);
        await runSessionCommand(
          deps.writer,
          { type: 'DiscardSessionVariables', data: { orgId, sessionId, reason, ...(until ? { retainUntil: until } : {}), now: endedAt } },
          settings.limits,
          context,
        );
      }
    },
  });
}
