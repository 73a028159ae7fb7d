import { SessionEndedV1, SessionStartedV1, SessionStatusChangedV1, TOPICS } from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import { imSessionStatusOf, statusEventId, toIntegrationMessages } from './integration-events.js';

const eventId = '7d0c4f7e-3c55-4b8e-9a0e-2f4b8f0c1a22';
const recorded = (type: string, data: unknown): RecordedEvent => ({
  eventId,
  type,
  data,
  metadata: { orgId: 'org_1', correlationId: 'corr' },
  streamName: 'session-org_1.s1',
  streamRevision: 0n,
  globalPosition: 7n,
  recordedAt: new Date('2026-11-21T10:00:00.000Z'),
});
const snapshot = { channelId: 'web', visitorId: 'v1', sessionOldStatus: null, assignee: null, messagesCount: 0, activity: 1 };
const base = { orgId: 'org_1', sessionId: 's1', at: '2026-11-21T10:00:00.000Z' };

describe('sessions integration events', () => {
  it('given a started session, then SessionStarted with the initial variables and a SessionStatusChanged (CREATED), keyed by session', () => {
    const messages = toIntegrationMessages(
      recorded('SessionStarted', { ...base, ...snapshot, sessionStatus: 'CREATED', sessionVariableValues: [{ name: 'id', value: '6320834868293' }] }),
    );
    expect(messages.map((m) => [m.topic, m.key])).toEqual([
      [TOPICS.sessions, 's1'],
      [TOPICS.sessions, 's1'],
    ]);
    const started = SessionStartedV1.parse(JSON.parse(messages[0]!.value));
    expect(started).toMatchObject({ eventId, correlationId: 'corr', data: { sessionId: 's1', sessionVariableValues: [{ name: 'id', value: '6320834868293' }] } });
    const status = SessionStatusChangedV1.parse(JSON.parse(messages[1]!.value));
    expect(status.eventId).toBe(statusEventId(eventId));
    expect(status.eventId).not.toBe(eventId);
    expect(status.data).toEqual({
      currentAssigneeId: null,
      sessionStatus: 'CREATED',
      replyStatus: 'UNASSIGNED',
      sessionOldStatus: null,
      sessionId: 's1',
      messagesCount: 0,
      assigneeType: null,
      channelId: 'web',
      eventTime: base.at,
      eventType: 'IM_Session_Status',
      orgId: 'org_1',
    });
  });

  it('given an ended session, then SessionEnded (the variables discard on it) and the status change', () => {
    const messages = toIntegrationMessages(
      recorded('SessionEnded', { ...base, ...snapshot, sessionStatus: 'ENDED', sessionOldStatus: 'OPEN', reason: 'logout' }),
    );
    expect(SessionEndedV1.parse(JSON.parse(messages[0]!.value)).data).toEqual({ sessionId: 's1', visitorId: 'v1', reason: 'logout', endedAt: base.at });
    expect(SessionStatusChangedV1.parse(JSON.parse(messages[1]!.value)).data).toMatchObject({ sessionStatus: 'ENDED', sessionOldStatus: 'OPEN', replyStatus: 'SESSION_ENDED' });
  });

  it('given a message that leaves the status as it was, or expiry and presence, then no status change is announced', () => {
    const visitorMessage = recorded('MessageRecorded', { ...base, ...snapshot, sessionStatus: 'OPEN', from: 'VISITOR', statusChanged: false, messagesCount: 1 });
    expect(imSessionStatusOf(visitorMessage)).toBeNull();
    expect(toIntegrationMessages(visitorMessage).map((m) => JSON.parse(m.value).type)).toEqual(['MessageRecorded']);
    expect(toIntegrationMessages(recorded('SessionExpired', { ...base, activity: 3 }))).toEqual([]);
    expect(toIntegrationMessages(recorded('VisitorPresenceChanged', { ...base, online: false }))).toEqual([]);
  });

  it('given another service’s event, then nothing', () => {
    expect(toIntegrationMessages(recorded('SessionVariablesSet', { sessionId: 's1' }))).toEqual([]);
  });

  it('derives the status event id deterministically, as a UUID', () => {
    expect(statusEventId(eventId)).toBe(statusEventId(eventId));
    expect(statusEventId(eventId)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
