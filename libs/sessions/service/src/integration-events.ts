import {
  type ImSessionStatus,
  type MessageRecordedV1,
  type SessionAssignedV1,
  type SessionBlockedV1,
  type SessionEndedV1,
  type SessionStartedV1,
  type SessionStatusChangedV1,
  TOPICS,
} from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import type { OutgoingMessage } from '@svp/messaging';
import { type SessionEvent, SESSION_EVENT_TYPES, sessionReplyStatus, snapshotOf } from '@svp/sessions-domain';
import { integrationMessage } from '@svp/service-kit';

const SESSION_TYPES: ReadonlySet<string> = new Set(SESSION_EVENT_TYPES);

/**
 * The IM_Session_Status fields (DESIGN.md section 1) of a stored session event, or null when it is no
 * status change to announce. Published as SessionStatusChanged and delivered to webhooks. Announced:
 * the start (CREATED), every status change, and every assignment (a transfer changes the assignee
 * even within ON_HOLD). Expiry, resumption, presence and messages that leave the status as it was are
 * not. The reply status is the one the session alone decides (SESSION_ENDED, SESSION_BLOCKED,
 * UNASSIGNED or ACCEPTED); channel-side statuses are read with GET …/reply-status.
 */
export function imSessionStatusOf(event: Pick<RecordedEvent, 'type' | 'data'>): ImSessionStatus | null {
  if (!SESSION_TYPES.has(event.type)) return null;
  const e = { type: event.type, data: event.data } as SessionEvent;
  const snapshot = snapshotOf(e);
  if (!snapshot) return null;
  const announce =
    e.type === 'SessionAssigned' || (e.type === 'MessageRecorded' ? e.data.statusChanged : true);
  if (!announce) return null;
  return {
    currentAssigneeId: snapshot.assignee?.id ?? null,
    sessionStatus: snapshot.sessionStatus,
    replyStatus: sessionReplyStatus({ status: snapshot.sessionStatus, assignee: snapshot.assignee, expiredAt: null, visitorOnline: true }),
    sessionOldStatus: snapshot.sessionOldStatus,
    sessionId: e.data.sessionId,
    messagesCount: snapshot.messagesCount,
    assigneeType: snapshot.assignee?.type ?? null,
    channelId: snapshot.channelId,
    eventTime: e.data.at,
    eventType: 'IM_Session_Status',
    orgId: e.data.orgId,
  };
}

type Envelope = SessionStartedV1 | SessionStatusChangedV1 | SessionAssignedV1 | MessageRecordedV1 | SessionEndedV1 | SessionBlockedV1;

/**
 * The sessions service's stored events published on sessions.events.v1, keyed by session id (order
 * per session holds). One stored event may give two messages (e.g. SessionEnded and its
 * SessionStatusChanged); each gets its own event id, derived from the stored one.
 */
export function toIntegrationMessages(event: RecordedEvent): OutgoingMessage[] {
  if (!SESSION_TYPES.has(event.type)) return [];
  const e = { type: event.type, data: event.data } as SessionEvent;
  const base = {
    occurredAt: event.recordedAt.toISOString(),
    orgId: e.data.orgId,
    ...(typeof event.metadata.correlationId === 'string' ? { correlationId: event.metadata.correlationId } : {}),
    causationId: event.eventId,
  };
  const envelopes: Envelope[] = [];
  switch (e.type) {
    case 'SessionStarted':
      envelopes.push({
        ...base,
        eventId: event.eventId,
        type: 'SessionStarted',
        version: 1,
        data: {
          sessionId: e.data.sessionId,
          visitorId: e.data.visitorId,
          channelId: e.data.channelId,
          ...(e.data.brandId ? { brandId: e.data.brandId } : {}),
          sessionVariableValues: e.data.sessionVariableValues,
          startedAt: e.data.at,
        },
      });
      break;
    case 'SessionAssigned':
      envelopes.push({
        ...base,
        eventId: event.eventId,
        type: 'SessionAssigned',
        version: 1,
        data: { sessionId: e.data.sessionId, assigneeId: e.data.assignee.id, assigneeType: e.data.assignee.type, previousAssigneeId: e.data.previousAssignee?.id ?? null },
      });
      break;
    case 'MessageRecorded':
      envelopes.push({
        ...base,
        eventId: event.eventId,
        type: 'MessageRecorded',
        version: 1,
        data: { sessionId: e.data.sessionId, from: e.data.from, ...(e.data.actorId ? { actorId: e.data.actorId } : {}), messagesCount: e.data.messagesCount },
      });
      break;
    case 'SessionEnded':
      envelopes.push({
        ...base,
        eventId: event.eventId,
        type: 'SessionEnded',
        version: 1,
        data: { sessionId: e.data.sessionId, visitorId: e.data.visitorId, reason: e.data.reason, endedAt: e.data.at },
      });
      break;
    case 'SessionBlocked':
      envelopes.push({
        ...base,
        eventId: event.eventId,
        type: 'SessionBlocked',
        version: 1,
        data: { sessionId: e.data.sessionId, visitorId: e.data.visitorId, blockedAt: e.data.at },
      });
      break;
    default:
      break;
  }
  const status = imSessionStatusOf(event);
  if (status) envelopes.push({ ...base, eventId: statusEventId(event.eventId), type: 'SessionStatusChanged', version: 1, data: status });
  return envelopes.map((envelope) => integrationMessage(TOPICS.sessions, e.data.sessionId, envelope));
}

/**
 * The event id of the SessionStatusChanged a stored event gives: a UUID derived from the stored
 * event's id (its last group changed), the same on every relay, so consumers' inboxes absorb repeats.
 */
export function statusEventId(storedEventId: string): string {
  const last = storedEventId.slice(-12);
  const flipped = [...last].map((c) => (Number.parseInt(c, 16) ^ 0xf).toString(16)).join('');
  return `${storedEventId.slice(0, -12)}${flipped}`;
}
