import {
  type SessionVariablesChangedV1,
  type SessionVariablesDiscardedV1,
  TOPICS,
} from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import type { OutgoingMessage } from '@svp/messaging';
import { integrationMessage } from '@svp/service-kit';
import { type SessionVariablesEvent, claimSetBy } from '@svp/variables-domain';

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
  const domain = { type: event.type, data: event.data } as SessionVariablesEvent;
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
      // Published as a change of the session's variables (the v1 contract has no scope field): the
      // changes carry source 'claim' and verified true, set by the key that verified the identity.
      const message: SessionVariablesChangedV1 = {
        ...envelope,
        type: 'SessionVariablesChanged',
        version: 1,
        data: { sessionId: domain.data.sessionId, changes: domain.data.changes, setBy: claimSetBy(domain.data.kid) },
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
    default:
      return []; // not a variables event (another service's, in the embedded shared store)
  }
}
