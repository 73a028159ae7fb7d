import { IdentityVerifiedV1, OpaqueId, TOPICS } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import { type Consumer, type MessageBus, SqlInbox, consumeEnvelopes } from '@svp/messaging';
import type { SqlClient } from '@svp/postgres';
import type { Worker } from '@svp/service-kit';
import type { Logger } from 'pino';
import { applyClaimVariables } from './apply-claim-variables/apply-claim-variables.handler.js';
import { applyVerifiedIdentity } from './apply-verified-identity/apply-verified-identity.handler.js';
import type { VariablesOptions } from './set-session-variables/set-session-variables.handler.js';

export const IDENTITY_CONSUMER = 'variables.identity';

const visitorScoped = (data: IdentityVerifiedV1['data']): boolean => !!data.visitorId && (data.variables ?? []).some((v) => v.scope === 'visitor');

/**
 * IdentityVerified as this consumer accepts it: a verified identity's session id, and its visitor id
 * when visitor-scope claims are mapped for it, also name a stream and a read-model document, so each
 * must be an opaque id (as every HTTP path's is); an event where one is not goes to the dead-letter
 * topic with the reason instead of being retried.
 */
const IdentityVerifiedForSession = IdentityVerifiedV1.refine((event) => !event.data.authenticated || !event.data.sessionId || OpaqueId.safeParse(event.data.sessionId).success, {
  message: 'must be an opaque id (letters, digits, _ and -)',
  path: ['data', 'sessionId'],
}).refine((event) => !event.data.authenticated || !visitorScoped(event.data) || OpaqueId.safeParse(event.data.visitorId).success, {
  message: 'must be an opaque id (letters, digits, _ and -)',
  path: ['data', 'visitorId'],
});

/**
 * The variables service learns of verified identities from identity.events.v1 (never from the
 * identity service's database): each successful verification becomes the session's metadata
 * variables and its session-scope mapped claim variables, and, when it names the visitor, the
 * visitor-scope mapped claims become that visitor's variables. At least once from the bus, one
 * effect per event id. The other event types of the topic (OrgCreated, ApiKeyIssued,
 * SigningKeyChanged, …) are not in the schema map and are skipped (committed, not dead-lettered).
 */
export function identityConsumer(deps: { bus: MessageBus; sql: SqlClient; store: EventStore; logger: Logger; options: VariablesOptions }): Worker {
  let consumer: Consumer | undefined;
  return {
    name: IDENTITY_CONSUMER,
    async start() {
      const inbox = await SqlInbox.create(deps.sql);
      consumer = await consumeEnvelopes({
        bus: deps.bus,
        groupId: IDENTITY_CONSUMER,
        topics: [TOPICS.identity],
        // A new group starts at the oldest event kept, not at the end: a verification published before
        // this consumer first joined (a first deployment, the embedded platform starting) still counts.
        fromBeginning: true,
        logger: deps.logger,
        schema: { IdentityVerified: IdentityVerifiedForSession },
        unknownType: 'skip',
        handler: async (event) => {
          // Handled before (a redelivery, or the relay publishing again after a crash): no second effect.
          if (await inbox.has(IDENTITY_CONSUMER, event.eventId)) return;
          const result = await applyVerifiedIdentity(deps.store, event, deps.options);
          if (result && result.skipped.length > 0)
            deps.logger.warn({ orgId: event.orgId, sessionId: event.data.sessionId, eventId: event.eventId, skipped: result.skipped }, 'mapped claim variables not stored');
          // The visitor's stream is another stream: a crash between the two appends redelivers the
          // event, and each decider, finding its values already held, decides nothing the second time.
          const visitorResult = await applyClaimVariables(deps.store, event, deps.options);
          if (visitorResult && visitorResult.skipped.length > 0)
            deps.logger.warn({ orgId: event.orgId, visitorId: event.data.visitorId, eventId: event.eventId, skipped: visitorResult.skipped }, 'mapped visitor claim variables not stored');
          // The effect is an append to the event store, which cannot join the inbox's SQL transaction
          // (KurrentDB is another system; on PGlite, a single connection, a store transaction inside
          // the inbox's would wait for it forever). So the event id is recorded after the effect: a
          // crash in between redelivers the event, and the command, finding an event caused by it in
          // the stream (its causationId), appends nothing, even if a later write changed the values;
          // concurrent deliveries are serialised by the expected revision.
          await inbox.handleOnce(IDENTITY_CONSUMER, event.eventId, async () => undefined);
        },
      });
      await consumer.ready;
    },
    async stop() {
      await consumer?.stop();
    },
  };
}
