import {
  type SessionVariablesChangedV1,
  type SessionVariablesDiscardedV1,
  TOPICS,
  type VisitorVariablesChangedV1,
} from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import type { OutgoingMessage } from '@svp/messaging';
import { integrationMessage } from '@svp/service-kit';
import { type SessionVariablesEvent, type VisitorVariableChange, type VisitorVariablesEvent, claimSetBy, roomLabel } from '@svp/variables-domain';

/**
 * Which stored domain events are published, and as what: the outbox relay calls this for every
 * event of the global log. The integration event reuses the stored event's id, so a re-publication
 * after a crash is recognised by consumers' inboxes.
 */
export function toIntegrationMessages(event: RecordedEvent): OutgoingMessage[] {
  const metadata = event.metadata as { orgId?: string; correlationId?: string; causationId?: string };
  if (!metadata.orgId) return [];
  const envelope = {
    eventId: event.eventId,
    occurredAt: event.recordedAt.toISOString(),
    orgId: metadata.orgId,
    ...(metadata.correlationId ? { correlationId: metadata.correlationId } : {}),
    ...(metadata.causationId ? { causationId: metadata.causationId } : {}),
  };
  const domain = { type: event.type, data: event.data } as SessionVariablesEvent | VisitorVariablesEvent;
  switch (domain.type) {
    case 'SessionVariablesSet': {
      const message: SessionVariablesChangedV1 = {
        ...envelope,
        type: 'SessionVariablesChanged',
        version: 1,
        data: { sessionId: domain.data.sessionId, changes: domain.data.changes, ...(domain.data.setBy ? { setBy: domain.data.setBy } : {}) },
      };
      return [integrationMessage(TOPICS.variables, domain.data.sessionId, message)];
    }
    case 'MetadataVariablesSet': {
      // Published as a change of the session's variables, each change marked `scope: 'metadata'`
      // (source 'claim', verified true, set by the key that verified the identity).
      const message: SessionVariablesChangedV1 = {
        ...envelope,
        type: 'SessionVariablesChanged',
        version: 1,
        data: {
          sessionId: domain.data.sessionId,
          changes: domain.data.changes.map((c) => ({ ...c, scope: 'metadata' as const })),
          setBy: claimSetBy(domain.data.kid),
        },
      };
      return [integrationMessage(TOPICS.variables, domain.data.sessionId, message)];
    }
    case 'SessionVariablesDiscarded': {
      const message: SessionVariablesDiscardedV1 = {
        ...envelope,
        type: 'SessionVariablesDiscarded',
        version: 1,
        data: { sessionId: domain.data.sessionId, count: domain.data.count },
      };
      return [integrationMessage(TOPICS.variables, domain.data.sessionId, message)];
    }
    case 'VisitorVariablesSubmitted': {
      const { visitorId, replaceExisting, changes, removed, displayName } = domain.data;
      const message: VisitorVariablesChangedV1 = {
        ...envelope,
        type: 'VisitorVariablesChanged',
        version: 1,
        data: {
          visitorId,
          replaceExisting,
          changes: changes.map(publicChange),
          ...(displayName !== undefined ? { displayName } : {}),
          ...(removed.length > 0 ? { removed } : {}),
        },
      };
      return [integrationMessage(TOPICS.variables, visitorId, message)];
    }
    case 'VisitorClaimVariablesApplied': {
      // Mapped claims merge (never replace): source 'claim', verified, every room.
      const { visitorId, changes, displayName } = domain.data;
      const message: VisitorVariablesChangedV1 = {
        ...envelope,
        type: 'VisitorVariablesChanged',
        version: 1,
        data: { visitorId, replaceExisting: false, changes: changes.map(publicChange), ...(displayName !== undefined ? { displayName } : {}) },
      };
      return [integrationMessage(TOPICS.variables, visitorId, message)];
    }
    default:
      return []; // not a variables event (another service's, in the embedded shared store)
  }
}

/** A visitor variable's change as v1 publishes it: its rooms as the ids or names the submit gave (what a read for a room is compared with). */
const publicChange = ({ rooms, ...change }: VisitorVariableChange): VisitorVariablesChangedV1['data']['changes'][number] => ({
  ...change,
  ...(rooms ? { rooms: rooms.map(roomLabel) } : {}),
});
