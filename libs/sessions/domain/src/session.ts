import type { EndReason, NameValue, ReplyStatus, SessionStatus } from '@svp/contracts';
import { type Decision, accept, exhaustive, refuse } from './decision.js';
import { type Assignee, type ReplyActor, sessionReplyStatus } from './reply-status.js';

/**
 * The session aggregate (stream `session-<orgId>.<sessionId>`): one conversation's lifecycle (DESIGN.md
 * section 3), its assignee, its message count, its expiry and its visitor's presence.
 *
 * | event                               | from                                  | to          |
 * | ROUTED                              | CREATED                               | OPEN        |
 * | ASSIGNED (a transfer when assigned) | CREATED, OPEN, ON_HOLD, ON_PROGRESS   | ON_HOLD     |
 * | MESSAGE from the assignee           | ON_HOLD, ON_PROGRESS                  | ON_PROGRESS |
 * | MESSAGE from the visitor            | any but ENDED and BLOCKED             | unchanged   |
 * | MESSAGE from an agent or bot that is not the assignee: refused, details.replyStatus            |
 * | HOLD                                | ON_PROGRESS                           | ON_HOLD     |
 * | END (reason)                        | any but ENDED and BLOCKED             | ENDED       |
 * | BLOCK                               | any but ENDED and BLOCKED             | BLOCKED     |
 * Anything else is CONFLICT naming the current status (`details.sessionStatus`).
 *
 * Expiry is not a status: an idle session gets `expiredAt` (reply status SESSION_EXPIRED) when its
 * inactivity timer fires with the activity counter it was set with (nothing happened since), and
 * ends with reason `timeout` when the second timer fires while it is still expired; a visitor message
 * resumes it. Pure decider: ids, time and looked-up facts (the reply status) come in the command.
 */

/** What every session (that exists) holds, whatever its status. */
export interface SessionFacts {
  orgId: string;
  sessionId: string;
  channelId: string;
  visitorId: string;
  brandId?: string;
  messagesCount: number;
  /** The status before the last change; null until the first one. */
  sessionOldStatus: SessionStatus | null;
  startedAt: string;
  lastActivityAt: string;
  /** Bumped by every visitor message and every accepted lifecycle event: a timer set at N is stale once it moved. */
  activity: number;
  visitorOnline: boolean;
}

export type SessionState =
  | { status: 'NONE' }
  /** Nobody is assigned before the first ASSIGNED (which moves the session to ON_HOLD). */
  | (SessionFacts & { status: 'CREATED' | 'OPEN'; assignee: null; expiredAt: string | null })
  | (SessionFacts & { status: 'ON_HOLD' | 'ON_PROGRESS'; assignee: Assignee; expiredAt: string | null })
  | (SessionFacts & { status: 'ENDED'; assignee: Assignee | null; expiredAt: null; endedAt: string; endReason: EndReason })
  | (SessionFacts & { status: 'BLOCKED'; assignee: Assignee | null; expiredAt: null; endedAt: string; endReason: 'blocked' });

export type ExistingSessionState = Exclude<SessionState, { status: 'NONE' }>;
export type LiveSessionStatus = 'CREATED' | 'OPEN' | 'ON_HOLD' | 'ON_PROGRESS';
export type LiveSessionState = Extract<SessionState, { status: LiveSessionStatus }>;

export const initialSessionState = (): SessionState => ({ status: 'NONE' });

interface SessionRef {
  orgId: string;
  sessionId: string;
}

/** The public name of each lifecycle command (`POST /v1/sessions/{id}/events`), used in error messages. */
export type LifecycleAction = 'ROUTED' | 'ASSIGNED' | 'MESSAGE' | 'HOLD' | 'END' | 'BLOCK';

export type SessionCommand =
  | {
      type: 'StartSession';
      data: SessionRef & { channelId: string; visitorId: string; brandId?: string; sessionVariableValues: NameValue[]; now: string };
    }
  | { type: 'Route'; data: SessionRef & { now: string } }
  | { type: 'Assign'; data: SessionRef & { assigneeId: string; assigneeType: Assignee['type']; now: string } }
  | { type: 'RecordMessage'; data: SessionRef & RecordMessageData }
  | { type: 'Hold'; data: SessionRef & { now: string } }
  | { type: 'End'; data: SessionRef & { reason: EndReason; now: string } }
  | { type: 'Block'; data: SessionRef & { now: string } }
  /** The inactivity timer fired; `activity` is the counter it was set with. */
  | { type: 'Expire'; data: SessionRef & { activity: number; now: string } }
  /** The second timer fired; `expiredAt` is the expiry it was set for. */
  | { type: 'EndExpired'; data: SessionRef & { expiredAt: string; now: string } }
  | { type: 'SetVisitorPresence'; data: SessionRef & { online: boolean; now: string } };

/**
 * A visitor's message needs no reply status; an agent's or bot's carries the one its caller derived
 * (replyStatusOf, with the channel and the usage) and is refused unless it is ACCEPTED.
 */
export type RecordMessageData =
  | { from: 'VISITOR'; actorId?: string; now: string }
  | { from: 'AGENT' | 'BOT'; actorId?: string; replyStatus: ReplyStatus; now: string };

/**
 * The session as it is after the event: carried by every lifecycle event, so a projection, an
 * IM_Session_Status webhook or a timer needs no state (they copy it).
 */
export interface SessionSnapshot {
  channelId: string;
  visitorId: string;
  sessionStatus: SessionStatus;
  sessionOldStatus: SessionStatus | null;
  assignee: Assignee | null;
  messagesCount: number;
  activity: number;
}

interface EventBase extends SessionRef {
  at: string;
}

export type SessionEvent =
  | { type: 'SessionStarted'; data: EventBase & SessionSnapshot & { brandId?: string; sessionVariableValues: NameValue[] } }
  | { type: 'SessionRouted'; data: EventBase & SessionSnapshot }
  /** `statusChanged` is false for a transfer within ON_HOLD. */
  | { type: 'SessionAssigned'; data: EventBase & SessionSnapshot & { assignee: Assignee; previousAssignee: Assignee | null; statusChanged: boolean } }
  /** `statusChanged` is true only for the assignee's message that moves ON_HOLD to ON_PROGRESS. */
  | { type: 'MessageRecorded'; data: EventBase & SessionSnapshot & { from: RecordMessageData['from']; actorId?: string; statusChanged: boolean } }
  | { type: 'SessionHeld'; data: EventBase & SessionSnapshot & { assignee: Assignee } }
  | { type: 'SessionEnded'; data: EventBase & SessionSnapshot & { reason: EndReason } }
  /** Blocking ends the session too (end reason `blocked`). */
  | { type: 'SessionBlocked'; data: EventBase & SessionSnapshot }
  /** `activity` is the counter the timer was set with (unchanged by expiry); `at` is the expiry. */
  | { type: 'SessionExpired'; data: EventBase & { activity: number } }
  /** A visitor message resumed an expired session; `expiredAt` is the expiry it cleared. */
  | { type: 'SessionResumed'; data: EventBase & { expiredAt: string } }
  | { type: 'VisitorPresenceChanged'; data: EventBase & { online: boolean } };

export type SessionDecision = Decision<SessionEvent>;

export function decideSession(command: SessionCommand, state: SessionState): SessionDecision {
  if (command.type === 'StartSession') return start(command.data, state);
  if (state.status === 'NONE') return refuse('NOT_FOUND', `Session ${command.data.sessionId} not found`, { sessionId: command.data.sessionId });
  const base: EventBase = { orgId: state.orgId, sessionId: state.sessionId, at: command.data.now };
  switch (command.type) {
    case 'Route':
      if (state.status !== 'CREATED') return notAllowed('ROUTED', state);
      return accept([{ type: 'SessionRouted', data: { ...base, ...snapshot(state, 'OPEN') } }]);
    case 'Assign': {
      if (!isLive(state)) return notAllowed('ASSIGNED', state);
      const { assigneeId, assigneeType } = command.data;
      const assignee: Assignee = { id: assigneeId, type: assigneeType };
      const previous = state.assignee;
      // The same assignee again: the assignment holds (a resent command, or a no-op transfer).
      if (previous && previous.id === assignee.id && previous.type === assignee.type) return accept([]);
      return accept([
        {
          type: 'SessionAssigned',
          data: { ...base, ...snapshot(state, 'ON_HOLD', { assignee }), assignee, previousAssignee: previous, statusChanged: state.status !== 'ON_HOLD' },
        },
      ]);
    }
    case 'RecordMessage':
      return recordMessage(command.data, state, base);
    case 'Hold':
      if (state.status !== 'ON_PROGRESS') return notAllowed('HOLD', state);
      return accept([{ type: 'SessionHeld', data: { ...base, ...snapshot(state, 'ON_HOLD'), assignee: state.assignee } }]);
    case 'End':
      if (!isLive(state)) return notAllowed('END', state);
      return accept([{ type: 'SessionEnded', data: { ...base, ...snapshot(state, 'ENDED'), reason: command.data.reason } }]);
    case 'Block':
      if (!isLive(state)) return notAllowed('BLOCK', state);
      return accept([{ type: 'SessionBlocked', data: { ...base, ...snapshot(state, 'BLOCKED') } }]);
    case 'Expire':
      // A timer that is stale (something happened since it was set, or the session is over or
      // already expired) decides nothing: it is not an error.
      if (!isLive(state) || state.expiredAt !== null || command.data.activity !== state.activity) return accept([]);
      return accept([{ type: 'SessionExpired', data: { ...base, activity: state.activity } }]);
    case 'EndExpired':
      if (!isLive(state) || state.expiredAt === null || state.expiredAt !== command.data.expiredAt) return accept([]);
      return accept([{ type: 'SessionEnded', data: { ...base, ...snapshot(state, 'ENDED'), reason: 'timeout' } }]);
    case 'SetVisitorPresence':
      // The presence of an ended session's visitor no longer matters: nothing to record, no error
      // (a widget disconnecting after the end is normal).
      if (!isLive(state) || state.visitorOnline === command.data.online) return accept([]);
      return accept([{ type: 'VisitorPresenceChanged', data: { ...base, online: command.data.online } }]);
    default:
      return exhaustive(command);
  }
}

function start(data: Extract<SessionCommand, { type: 'StartSession' }>['data'], state: SessionState): SessionDecision {
  const { orgId, sessionId, channelId, visitorId, brandId, sessionVariableValues, now } = data;
  if (state.status !== 'NONE') {
    // The same start again (a resent command) is no change; anything else is another session under
    // the same id. The initial variables are not compared: the variables service holds them.
    const same = state.sessionId === sessionId && state.channelId === channelId && state.visitorId === visitorId && state.brandId === brandId;
    return same
      ? accept([])
      : refuse('CONFLICT', `Session ${sessionId} exists (${state.status}) with other data`, { sessionId, sessionStatus: state.status });
  }
  return accept([
    {
      type: 'SessionStarted',
      data: {
        orgId,
        sessionId,
        at: now,
        channelId,
        visitorId,
        ...(brandId !== undefined ? { brandId } : {}),
        sessionVariableValues,
        sessionStatus: 'CREATED',
        sessionOldStatus: null,
        assignee: null,
        messagesCount: 0,
        activity: 1,
      },
    },
  ]);
}

function recordMessage(data: RecordMessageData, state: ExistingSessionState, base: EventBase): SessionDecision {
  const actorId = data.actorId !== undefined ? { actorId: data.actorId } : {};
  if (data.from === 'VISITOR') {
    if (!isLive(state)) return notAllowed('MESSAGE', state);
    const resumed: SessionEvent[] =
      state.expiredAt !== null ? [{ type: 'SessionResumed', data: { ...base, expiredAt: state.expiredAt } }] : [];
    return accept([
      ...resumed,
      {
        type: 'MessageRecorded',
        data: { ...base, ...snapshot(state, state.status, { messagesCount: state.messagesCount + 1 }), from: 'VISITOR', ...actorId, statusChanged: false },
      },
    ]);
  }
  // An agent's or bot's message: refused unless the reply status the caller derived is ACCEPTED, and
  // unless the session agrees on its own part of it (ended, blocked, expired, assignee).
  const actor: ReplyActor = data.actorId !== undefined ? { id: data.actorId, type: data.from } : { type: data.from };
  const replyStatus = data.replyStatus !== 'ACCEPTED' ? data.replyStatus : sessionReplyStatus(state, actor);
  if (replyStatus !== 'ACCEPTED' || (state.status !== 'ON_HOLD' && state.status !== 'ON_PROGRESS'))
    return refuse('CONFLICT', `The ${data.from === 'AGENT' ? 'agent' : 'bot'}'s message was refused: reply status ${replyStatus} (session ${state.status})`, {
      replyStatus,
      sessionStatus: state.status,
    });
  return accept([
    {
      type: 'MessageRecorded',
      data: {
        ...base,
        ...snapshot(state, 'ON_PROGRESS', { messagesCount: state.messagesCount + 1 }),
        from: data.from,
        ...actorId,
        statusChanged: state.status === 'ON_HOLD',
      },
    },
  ]);
}

export function evolveSession(state: SessionState, event: SessionEvent): SessionState {
  if (event.type === 'SessionStarted') {
    const { orgId, sessionId, channelId, visitorId, brandId, at, activity } = event.data;
    return {
      status: 'CREATED',
      orgId,
      sessionId,
      channelId,
      visitorId,
      ...(brandId !== undefined ? { brandId } : {}),
      assignee: null,
      messagesCount: 0,
      sessionOldStatus: null,
      startedAt: at,
      lastActivityAt: at,
      activity,
      expiredAt: null,
      visitorOnline: true,
    };
  }
  if (!isLive(state)) return state;
  switch (event.type) {
    case 'SessionRouted':
      return { ...moved(state, event.data), status: 'OPEN', assignee: null, expiredAt: state.expiredAt };
    case 'SessionAssigned':
      return { ...moved(state, event.data), status: 'ON_HOLD', assignee: event.data.assignee, expiredAt: state.expiredAt };
    case 'MessageRecorded': {
      const facts = moved(state, event.data);
      const { sessionStatus, assignee } = event.data;
      if (sessionStatus === 'ON_PROGRESS' && assignee) return { ...facts, status: 'ON_PROGRESS', assignee, expiredAt: state.expiredAt };
      // A visitor's message leaves the status (and the assignee) as they were.
      if (state.status === 'ON_HOLD' || state.status === 'ON_PROGRESS') return { ...facts, status: state.status, assignee: state.assignee, expiredAt: state.expiredAt };
      return { ...facts, status: state.status, assignee: null, expiredAt: state.expiredAt };
    }
    case 'SessionHeld':
      return { ...moved(state, event.data), status: 'ON_HOLD', assignee: event.data.assignee, expiredAt: state.expiredAt };
    case 'SessionEnded':
      return { ...moved(state, event.data), status: 'ENDED', assignee: state.assignee, expiredAt: null, endedAt: event.data.at, endReason: event.data.reason };
    case 'SessionBlocked':
      return { ...moved(state, event.data), status: 'BLOCKED', assignee: state.assignee, expiredAt: null, endedAt: event.data.at, endReason: 'blocked' };
    case 'SessionExpired':
      return { ...state, expiredAt: event.data.at };
    case 'SessionResumed':
      return { ...state, expiredAt: null };
    case 'VisitorPresenceChanged':
      return { ...state, visitorOnline: event.data.online };
    default:
      return exhaustive(event);
  }
}

/**
 * Whether an event changed the session's status (an IM_Session_Status webhook is due): the start
 * counts, as a change to CREATED; an assignment within ON_HOLD (a transfer) and a message that leaves
 * the status as it was do not; expiry, resumption and presence are no status.
 */
export function statusChanged(event: SessionEvent): boolean {
  switch (event.type) {
    case 'SessionStarted':
    case 'SessionRouted':
    case 'SessionHeld':
    case 'SessionEnded':
    case 'SessionBlocked':
      return true;
    case 'SessionAssigned':
    case 'MessageRecorded':
      return event.data.statusChanged;
    case 'SessionExpired':
    case 'SessionResumed':
    case 'VisitorPresenceChanged':
      return false;
    default:
      return exhaustive(event);
  }
}

/** The snapshot a lifecycle event carries, if it is one (everything but expiry, resumption and presence). */
export function snapshotOf(event: SessionEvent): SessionSnapshot | null {
  switch (event.type) {
    case 'SessionStarted':
    case 'SessionRouted':
    case 'SessionAssigned':
    case 'MessageRecorded':
    case 'SessionHeld':
    case 'SessionEnded':
    case 'SessionBlocked': {
      const { channelId, visitorId, sessionStatus, sessionOldStatus, assignee, messagesCount, activity } = event.data;
      return { channelId, visitorId, sessionStatus, sessionOldStatus, assignee, messagesCount, activity };
    }
    case 'SessionExpired':
    case 'SessionResumed':
    case 'VisitorPresenceChanged':
      return null;
    default:
      return exhaustive(event);
  }
}

/**
 * Session ids are chosen per org (clients may pass their own), so the stream carries the org id too
 * (`.` occurs in neither id).
 */
export const sessionStream = (orgId: string, sessionId: string): string => `session-${orgId}.${sessionId}`;

/** Event type names as stored; registered once here, never derived from class names. */
export const SESSION_EVENT_TYPES = [
  'SessionStarted',
  'SessionRouted',
  'SessionAssigned',
  'MessageRecorded',
  'SessionHeld',
  'SessionEnded',
  'SessionBlocked',
  'SessionExpired',
  'SessionResumed',
  'VisitorPresenceChanged',
] as const satisfies readonly SessionEvent['type'][];
// Compile-time check that every event of the union is registered above.
const _everySessionEventRegistered: Exclude<SessionEvent['type'], (typeof SESSION_EVENT_TYPES)[number]> extends never ? true : never = true;

export const isLive = (state: SessionState): state is LiveSessionState =>
  state.status === 'CREATED' || state.status === 'OPEN' || state.status === 'ON_HOLD' || state.status === 'ON_PROGRESS';

function notAllowed(action: LifecycleAction, state: ExistingSessionState): SessionDecision {
  return refuse('CONFLICT', `${action} is not allowed when the session is ${state.status}`, { sessionStatus: state.status });
}

/**
 * The snapshot after a lifecycle event moving the session to `sessionStatus`: the old status moves
 * only on a real change, and the activity counter goes up by one.
 */
function snapshot(
  state: ExistingSessionState,
  sessionStatus: SessionStatus,
  changes: { assignee?: Assignee; messagesCount?: number } = {},
): SessionSnapshot {
  return {
    channelId: state.channelId,
    visitorId: state.visitorId,
    sessionStatus,
    sessionOldStatus: sessionStatus === state.status ? state.sessionOldStatus : state.status,
    assignee: changes.assignee ?? state.assignee,
    messagesCount: changes.messagesCount ?? state.messagesCount,
    activity: state.activity + 1,
  };
}

/** The facts after a lifecycle event: what its snapshot says, and the time of the activity. */
function moved(state: ExistingSessionState, data: EventBase & SessionSnapshot): SessionFacts {
  return {
    orgId: state.orgId,
    sessionId: state.sessionId,
    channelId: state.channelId,
    visitorId: state.visitorId,
    ...(state.brandId !== undefined ? { brandId: state.brandId } : {}),
    messagesCount: data.messagesCount,
    sessionOldStatus: data.sessionOldStatus,
    startedAt: state.startedAt,
    lastActivityAt: data.at,
    activity: data.activity,
    visitorOnline: state.visitorOnline,
  };
}
