import {
  type SessionVariablesChangedV1,
  type SessionVariablesDiscardedV1,
  TOPICS,
  type VisitorErasedV1,
  type VisitorVariablesChangedV1,
} from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import type { OutgoingMessage } from '@svp/messaging';
import { integrationMessage } from '@svp/service-kit';
import {
  type ErasureEvent,
  type SessionVariablesEvent,
  type VariableSettingsEvent,
  type VisitorVariableChange,
  type VisitorVariablesEvent,
  claimSetBy,
  revokedSetBy,
  roomLabel,
} from '@svp/variables-domain';

type VariablesDomainEvent = SessionVariablesEvent | VisitorVariablesEvent | ErasureEvent | VariableSettingsEvent;

/**
 * Which stored domain events are published on variables.events.v1, and as what: the outbox relay
 * calls this for every event of the global log. The integration event reuses the stored event's id,
 * so a re-publication after a crash is recognised by consumers' inboxes. Keyed by session id
 * (session changes, discards) or visitor id (visitor changes, erasures): order per key holds.
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
  const domain = { type: event.type, data: event.data } as VariablesDomainEvent;
  const sessionChanged = (sessionId: string, data: Omit<SessionVariablesChangedV1['data'], 'sessionId'>): OutgoingMessage[] => {
    const message: SessionVariablesChangedV1 = { ...envelope, type: 'SessionVariablesChanged', version: 1, data: { sessionId, ...data } };
    return [integrationMessage(TOPICS.variables, sessionId, message)];
  };
  const visitorChanged = (visitorId: string, data: Omit<VisitorVariablesChangedV1['data'], 'visitorId'>): OutgoingMessage[] => {
    const message: VisitorVariablesChangedV1 = { ...envelope, type: 'VisitorVariablesChanged', version: 1, data: { visitorId, ...data } };
    return [integrationMessage(TOPICS.variables, visitorId, message)];
  };
  switch (domain.type) {
    case 'SessionVariablesSet':
      return sessionChanged(domain.data.sessionId, { changes: domain.data.changes, ...(domain.data.setBy ? { setBy: domain.data.setBy } : {}) });
    case 'MetadataVariablesSet':
      // Published as a change of the session's variables, each change marked `scope: 'metadata'`
      // (source 'claim', verified true, set by the key that verified the identity).
      return sessionChanged(domain.data.sessionId, {
        changes: domain.data.changes.map((c) => ({ ...c, scope: 'metadata' as const })),
        setBy: claimSetBy(domain.data.kid),
      });
    case 'SessionVariablesUnverified':
      // A revoked key: the values it vouched for, verified false (metadata changes marked as such).
      return sessionChanged(domain.data.sessionId, {
        changes: [...domain.data.changes, ...domain.data.metadataChanges.map((c) => ({ ...c, scope: 'metadata' as const }))],
        setBy: revokedSetBy(domain.data.kid),
      });
    case 'SessionVariablesDiscarded': {
      const { sessionId, reason, count, retainUntil } = domain.data;
      const message: SessionVariablesDiscardedV1 = {
        ...envelope,
        type: 'SessionVariablesDiscarded',
        version: 1,
        data: { sessionId, count, ...(reason ? { reason } : {}), ...(retainUntil ? { retainUntil } : {}) },
      };
      return [integrationMessage(TOPICS.variables, sessionId, message)];
    }
    case 'SessionVariablesErased': {
      // The session's variables went with its visitor's erasure (VisitorErased follows on the visitor's key).
      const { sessionId, erasureId } = domain.data;
      const message: SessionVariablesDiscardedV1 = { ...envelope, type: 'SessionVariablesDiscarded', version: 1, data: { sessionId, count: 0, erasureId } };
      return [integrationMessage(TOPICS.variables, sessionId, message)];
    }
    case 'VisitorVariablesSubmitted': {
      const { visitorId, replaceExisting, changes, removed, displayName } = domain.data;
      return visitorChanged(visitorId, {
        replaceExisting,
        changes: changes.map(publicChange),
        ...(displayName !== undefined ? { displayName } : {}),
        ...(removed.length > 0 ? { removed } : {}),
      });
    }
    case 'VisitorClaimVariablesApplied': {
      // Mapped claims merge (never replace): source 'claim', verified, every room.
      const { visitorId, changes, displayName } = domain.data;
      return visitorChanged(visitorId, { replaceExisting: false, changes: changes.map(publicChange), ...(displayName !== undefined ? { displayName } : {}) });
    }
    case 'VisitorVariablesUnverified':
      return visitorChanged(domain.data.visitorId, { replaceExisting: false, changes: domain.data.changes.map(publicChange) });
    case 'VisitorErasureRecorded': {
      const { visitorId, erasureId, sessionIds } = domain.data;
      const message: VisitorErasedV1 = { ...envelope, type: 'VisitorErased', version: 1, data: { visitorId, erasureId, sessionIds } };
      return [integrationMessage(TOPICS.variables, visitorId, message)];
    }
    // Internal steps: the session's link to its visitor, a deleted session's tombstone, the visitor stream's own erasure marker (the
    // record above is what is published), the erasure's progress, the org's settings.
    case 'SessionVariablesStarted':
    case 'SessionVariablesDeleted':
    case 'VisitorVariablesErased':
    case 'VisitorSessionLinked':
    case 'VisitorErasureExecuted':
    case 'VisitorErasureCompleted':
    case 'VariableSettingsChanged':
      return [];
    default:
      return []; // not a variables event (another service's, in the embedded shared store)
  }
}

/** A visitor variable's change as v1 publishes it: its rooms as the ids or names the submit gave (what a read for a room is compared with). */
const publicChange = ({ rooms, ...change }: VisitorVariableChange): VisitorVariablesChangedV1['data']['changes'][number] => ({
  ...change,
  ...(rooms ? { rooms: rooms.map(roomLabel) } : {}),
});
