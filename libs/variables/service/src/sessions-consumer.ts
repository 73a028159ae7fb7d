import { OpaqueId, SessionBlockedV1, SessionEndedV1, SessionStartedV1, TOPICS } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import { type Consumer, type MessageBus, SqlInbox, consumeEnvelopes } from '@svp/messaging';
import type { SqlClient } from '@svp/postgres';
import type { Worker } from '@svp/service-kit';
import type { Logger } from 'pino';
import type { VariablesOptions } from './set-session-variables/set-session-variables.handler.js';
import { loadSessionVariables, runSessionVariablesCommand, runStreamCommand } from './session-variables.store.js';
import { decide, sessionVariablesStream } from '@svp/variables-domain';

export const SESSIONS_CONSUMER = 'variables.sessions';

const sessionIdIsOpaque = (event: { data: { sessionId: string } }): boolean => OpaqueId.safeParse(event.data.sessionId).success;
const notOpaque = { message: 'must be an opaque id (letters, digits, _ and -)', path: ['data', 'sessionId'] };

/**
 * The variables service follows the sessions' lifecycle from sessions.events.v1: SessionStarted's
 * sessionVariableValues become the session's variables (as given, source `widget`); SessionEnded and
 * SessionBlocked discard them (reads no longer return them). At least once from the bus, one effect
 * per event id: the inbox, and the stream's own record of the event that caused each append.
 */
export function sessionsConsumer(deps: { bus: MessageBus; sql: SqlClient; store: EventStore; logger: Logger; options: VariablesOptions }): Worker {
  let consumer: Consumer | undefined;
  return {
    name: SESSIONS_CONSUMER,
    async start() {
      const inbox = await SqlInbox.create(deps.sql);
      consumer = await consumeEnvelopes({
        bus: deps.bus,
        groupId: SESSIONS_CONSUMER,
        topics: [TOPICS.sessions],
        fromBeginning: true,
        logger: deps.logger,
        schema: {
          SessionStarted: SessionStartedV1.refine(sessionIdIsOpaque, notOpaque),
          SessionEnded: SessionEndedV1.refine(sessionIdIsOpaque, notOpaque),
          SessionBlocked: SessionBlockedV1.refine(sessionIdIsOpaque, notOpaque),
        },
        unknownType: 'skip',
        handler: async (event) => {
          if (await inbox.has(SESSIONS_CONSUMER, event.eventId)) return;
          const run = { ...deps.options, causationId: event.eventId, ...(event.correlationId ? { correlationId: event.correlationId } : {}) };
          const { orgId } = event;
          const sessionId = event.data.sessionId;
          if (event.type === 'SessionStarted') {
            if (event.data.sessionVariableValues.length > 0) {
              // The initial values fill only names not written yet: a PUT that raced ahead of this
              // event (after POST /v1/sessions answered) is newer and is kept.
              const values = event.data.sessionVariableValues;
              const result = await runStreamCommand(
                deps.store,
                sessionVariablesStream(orgId, sessionId),
                orgId,
                () => loadSessionVariables(deps.store, orgId, sessionId),
                (state) => {
                  const held = state.status === 'active' ? state.variables : {};
                  const fresh = values.filter((v) => !Object.hasOwn(held, v.name));
                  return decide(
                    { type: 'SetSessionVariables', data: { orgId, sessionId, values: fresh, source: 'widget', setBy: 'session-start', now: event.data.startedAt } },
                    state,
                    deps.options.limits,
                  );
                },
                run,
              );
              // Values the limits refuse cannot become valid by retrying: reported, not dead-lettered forever.
              if (!result.ok) deps.logger.warn({ orgId, sessionId, eventId: event.eventId, error: result.error }, 'initial session variables refused');
            }
          } else {
            const reason = event.type === 'SessionEnded' ? event.data.reason : 'blocked';
            const now = event.type === 'SessionEnded' ? event.data.endedAt : event.data.blockedAt;
            await runSessionVariablesCommand(deps.store, { type: 'DiscardSessionVariables', data: { orgId, sessionId, reason, now } }, run);
          }
          await inbox.handleOnce(SESSIONS_CONSUMER, event.eventId, async () => undefined);
        },
      });
      await consumer.ready;
    },
    async stop() {
      await consumer?.stop();
    },
  };
}
