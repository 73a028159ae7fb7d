import { ReplyStatus as ReplyStatusSchema, type ReplyStatus, type SessionStatus } from '@svp/contracts';
import { UNLIMITED_USAGE, type Assignee, replyStatusOf } from './reply-status.js';
import {
  SESSION_EVENT_TYPES,
  type SessionCommand,
  type SessionDecision,
  type SessionEvent,
  type SessionSnapshot,
  type SessionState,
  decideSession,
  evolveSession,
  initialSessionState,
  sessionStream,
  snapshotOf,
  statusChanged,
} from './session.js';

// Given/when/then on the session decider: each `describe` is a state reached by folding events, each
// `it` sends one command and asserts the exact decision (events, or the error's code, message and
// details). The lifecycle table of DESIGN.md section 3 is checked row by row, for every from-status.

const ORG = 'org_1';
const SID = 'ses_1';
const CH = 'web_1';
const VIS = 'vis_1';
const T0 = '2026-11-21T10:00:00.000Z';
const T1 = '2026-11-21T10:01:00.000Z';
const T2 = '2026-11-21T10:02:00.000Z';
const T3 = '2026-11-21T10:03:00.000Z';
const T4 = '2026-11-21T10:04:00.000Z';
const NOW = '2026-11-21T11:00:00.000Z';
const LATER = '2026-11-21T11:30:00.000Z';
const ref = { orgId: ORG, sessionId: SID };
const agent1: Assignee = { id: 'agent_1', type: 'AGENT' };
const agent2: Assignee = { id: 'agent_2', type: 'AGENT' };
const bot1: Assignee = { id: 'bot_1', type: 'BOT' };
const variables = [{ name: 'UserName', value: 'John' }];

const given = (...events: SessionEvent[]): SessionState => events.reduce(evolveSession, initialSessionState());
const accepted = (...events: SessionEvent[]): SessionDecision => ({ ok: true, events });
const nothing: SessionDecision = { ok: true, events: [] };
const conflict = (action: string, sessionStatus: SessionStatus): SessionDecision => ({
  ok: false,
  error: { code: 'CONFLICT', message: `${action} is not allowed when the session is ${sessionStatus}`, details: { sessionStatus } },
});
const refusedMessage = (from: 'agent' | 'bot', replyStatus: ReplyStatus, sessionStatus: SessionStatus): SessionDecision => ({
  ok: false,
  error: {
    code: 'CONFLICT',
    message: `The ${from}'s message was refused: reply status ${replyStatus} (session ${sessionStatus})`,
    details: { replyStatus, sessionStatus },
  },
});
const snap = (over: Partial<SessionSnapshot>): SessionSnapshot => ({
  channelId: CH,
  visitorId: VIS,
  sessionStatus: 'CREATED',
  sessionOldStatus: null,
  assignee: null,
  messagesCount: 0,
  activity: 1,
  ...over,
});

// Events: the history the states below are folded from.
const started: SessionEvent = { type: 'SessionStarted', data: { ...ref, at: T0, ...snap({}), sessionVariableValues: variables } };
const routed: SessionEvent = { type: 'SessionRouted', data: { ...ref, at: T1, ...snap({ sessionStatus: 'OPEN', sessionOldStatus: 'CREATED', activity: 2 }) } };
const assigned: SessionEvent = {
  type: 'SessionAssigned',
  data: {
    ...ref,
    at: T2,
    ...snap({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'OPEN', assignee: agent1, activity: 3 }),
    assignee: agent1,
    previousAssignee: null,
    statusChanged: true,
  },
};
const agentReplied: SessionEvent = {
  type: 'MessageRecorded',
  data: {
    ...ref,
    at: T3,
    ...snap({ sessionStatus: 'ON_PROGRESS', sessionOldStatus: 'ON_HOLD', assignee: agent1, messagesCount: 1, activity: 4 }),
    from: 'AGENT',
    actorId: 'agent_1',
    statusChanged: true,
  },
};
const endedByAgent: SessionEvent = {
  type: 'SessionEnded',
  data: { ...ref, at: T4, ...snap({ sessionStatus: 'ENDED', sessionOldStatus: 'ON_PROGRESS', assignee: agent1, messagesCount: 1, activity: 5 }), reason: 'agent' },
};
const blockedWhileOpen: SessionEvent = {
  type: 'SessionBlocked',
  data: { ...ref, at: T2, ...snap({ sessionStatus: 'BLOCKED', sessionOldStatus: 'OPEN', activity: 3 }) },
};
const expiredAt = (at: string, activity: number): SessionEvent => ({ type: 'SessionExpired', data: { ...ref, at, activity } });

// Commands (all at NOW unless said).
const start = (over: Partial<{ channelId: string; visitorId: string; brandId: string }> = {}): SessionCommand => ({
  type: 'StartSession',
  data: { ...ref, channelId: CH, visitorId: VIS, sessionVariableValues: variables, now: NOW, ...over },
});
const route: SessionCommand = { type: 'Route', data: { ...ref, now: NOW } };
const assign = (a: Assignee): SessionCommand => ({ type: 'Assign', data: { ...ref, assigneeId: a.id, assigneeType: a.type, now: NOW } });
const visitorSays = (now = NOW): SessionCommand => ({ type: 'RecordMessage', data: { ...ref, from: 'VISITOR', now } });
const actorSays = (actor: { id?: string; type: 'AGENT' | 'BOT' }, replyStatus: ReplyStatus = 'ACCEPTED'): SessionCommand => ({
  type: 'RecordMessage',
  data: { ...ref, from: actor.type, ...(actor.id !== undefined ? { actorId: actor.id } : {}), replyStatus, now: NOW },
});
const hold: SessionCommand = { type: 'Hold', data: { ...ref, now: NOW } };
const end = (reason: 'logout' | 'timeout' | 'closed' | 'agent' | 'blocked' = 'closed'): SessionCommand => ({ type: 'End', data: { ...ref, reason, now: NOW } });
const block: SessionCommand = { type: 'Block', data: { ...ref, now: NOW } };
const expire = (activity: number, now = NOW): SessionCommand => ({ type: 'Expire', data: { ...ref, activity, now } });
const endExpired = (at: string): SessionCommand => ({ type: 'EndExpired', data: { ...ref, expiredAt: at, now: LATER } });
const presence = (online: boolean): SessionCommand => ({ type: 'SetVisitorPresence', data: { ...ref, online, now: NOW } });

const states = {
  CREATED: given(started),
  OPEN: given(started, routed),
  ON_HOLD: given(started, routed, assigned),
  ON_PROGRESS: given(started, routed, assigned, agentReplied),
  ENDED: given(started, routed, assigned, agentReplied, endedByAgent),
  BLOCKED: given(started, routed, blockedWhileOpen),
} satisfies Record<SessionStatus, SessionState>;

const fold = (state: SessionState, decision: SessionDecision): SessionState => {
  if (!decision.ok) throw new Error(decision.error.message);
  return decision.events.reduce(evolveSession, state);
};

describe('session decider', () => {
  it('registers every event type once, by an explicit name', () => {
    expect(SESSION_EVENT_TYPES).toEqual([
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
    ]);
  });

  it('names the stream by org and session', () => {
    expect(sessionStream(ORG, SID)).toBe('session-org_1.ses_1');
  });

  describe('given no session', () => {
    const state = initialSessionState();

    it('when it is started, then SessionStarted carries the initial variables and the CREATED snapshot', () => {
      expect(decideSession(start(), state)).toStrictEqual(
        accepted({ type: 'SessionStarted', data: { ...ref, at: NOW, ...snap({}), sessionVariableValues: variables } }),
      );
    });

    it('when it is started for a brand, then the brand is recorded', () => {
      expect(decideSession(start({ brandId: 'brd_1' }), state)).toStrictEqual(
        accepted({ type: 'SessionStarted', data: { ...ref, at: NOW, ...snap({}), brandId: 'brd_1', sessionVariableValues: variables } }),
      );
    });

    it.each<[string, SessionCommand]>([
      ['Route', route],
      ['Assign', assign(agent1)],
      ['RecordMessage (visitor)', visitorSays()],
      ['RecordMessage (agent)', actorSays(agent1)],
      ['Hold', hold],
      ['End', end()],
      ['Block', block],
      ['Expire', expire(1)],
      ['EndExpired', endExpired(NOW)],
      ['SetVisitorPresence', presence(false)],
    ])('when %s is sent, then NOT_FOUND naming the session', (_name, command) => {
      expect(decideSession(command, state)).toStrictEqual({
        ok: false,
        error: { code: 'NOT_FOUND', message: `Session ${SID} not found`, details: { sessionId: SID } },
      });
    });

    it('when SessionStarted is folded, then the session is CREATED, unassigned, online, with nothing counted', () => {
      expect(evolveSession(state, started)).toStrictEqual({
        status: 'CREATED',
        orgId: ORG,
        sessionId: SID,
        channelId: CH,
        visitorId: VIS,
        assignee: null,
        messagesCount: 0,
        sessionOldStatus: null,
        startedAt: T0,
        lastActivityAt: T0,
        activity: 1,
        expiredAt: null,
        visitorOnline: true,
      });
    });

    it('when an event other than SessionStarted is folded, then nothing changes', () => {
      expect(evolveSession(state, routed)).toStrictEqual(state);
    });
  });

  describe('given a CREATED session', () => {
    const state = states.CREATED;

    it('when the same start is resent, then nothing is decided', () => {
      expect(decideSession(start(), state)).toStrictEqual(nothing);
    });

    it.each<[string, SessionCommand]>([
      ['another channel', start({ channelId: 'web_2' })],
      ['another visitor', start({ visitorId: 'vis_2' })],
      ['a brand', start({ brandId: 'brd_1' })],
    ])('when it is started again with %s, then CONFLICT', (_what, command) => {
      expect(decideSession(command, state)).toStrictEqual({
        ok: false,
        error: { code: 'CONFLICT', message: `Session ${SID} exists (CREATED) with other data`, details: { sessionId: SID, sessionStatus: 'CREATED' } },
      });
    });

    it('when it is routed, then it is OPEN, its old status CREATED', () => {
      expect(decideSession(route, state)).toStrictEqual(
        accepted({ type: 'SessionRouted', data: { ...ref, at: NOW, ...snap({ sessionStatus: 'OPEN', sessionOldStatus: 'CREATED', activity: 2 }) } }),
      );
    });

    it('when it is assigned to an agent, then it is ON_HOLD with that assignee', () => {
      expect(decideSession(assign(agent1), state)).toStrictEqual(
        accepted({
          type: 'SessionAssigned',
          data: {
            ...ref,
            at: NOW,
            ...snap({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'CREATED', assignee: agent1, activity: 2 }),
            assignee: agent1,
            previousAssignee: null,
            statusChanged: true,
          },
        }),
      );
    });

    it('when it is assigned to a bot, then the assignee is a BOT', () => {
      const after = fold(state, decideSession(assign(bot1), state));
      expect(after).toMatchObject({ status: 'ON_HOLD', assignee: bot1, sessionOldStatus: 'CREATED' });
    });

    it('when the visitor writes, then the message counts and the status stays', () => {
      expect(decideSession(visitorSays(), state)).toStrictEqual(
        accepted({
          type: 'MessageRecorded',
          data: { ...ref, at: NOW, ...snap({ messagesCount: 1, activity: 2 }), from: 'VISITOR', statusChanged: false },
        }),
      );
    });

    it('when an agent writes with UNASSIGNED, then 409 with the reply status', () => {
      expect(decideSession(actorSays(agent1, 'UNASSIGNED'), state)).toStrictEqual(refusedMessage('agent', 'UNASSIGNED', 'CREATED'));
    });

    it('when an agent writes claiming ACCEPTED, then the decider still finds nobody assigned', () => {
      expect(decideSession(actorSays(agent1), state)).toStrictEqual(refusedMessage('agent', 'UNASSIGNED', 'CREATED'));
    });

    it('when it is held, then CONFLICT naming CREATED', () => {
      expect(decideSession(hold, state)).toStrictEqual(conflict('HOLD', 'CREATED'));
    });

    it('when it is ended, then ENDED with the reason', () => {
      expect(decideSession(end('logout'), state)).toStrictEqual(
        accepted({ type: 'SessionEnded', data: { ...ref, at: NOW, ...snap({ sessionStatus: 'ENDED', sessionOldStatus: 'CREATED', activity: 2 }), reason: 'logout' } }),
      );
    });

    it('when it is blocked, then BLOCKED', () => {
      expect(decideSession(block, state)).toStrictEqual(
        accepted({ type: 'SessionBlocked', data: { ...ref, at: NOW, ...snap({ sessionStatus: 'BLOCKED', sessionOldStatus: 'CREATED', activity: 2 }) } }),
      );
    });

    it('when the inactivity timer fires with the current activity, then it expires', () => {
      expect(decideSession(expire(1), state)).toStrictEqual(accepted(expiredAt(NOW, 1)));
    });

    it.each([0, 2])('when the inactivity timer fires with a stale activity (%i), then nothing is decided', (activity) => {
      expect(decideSession(expire(activity), state)).toStrictEqual(nothing);
    });

    it('when the end timer fires but it never expired, then nothing is decided', () => {
      expect(decideSession(endExpired(NOW), state)).toStrictEqual(nothing);
    });

    it('when the visitor goes offline, then the presence changes; online again when online is no change', () => {
      expect(decideSession(presence(false), state)).toStrictEqual(accepted({ type: 'VisitorPresenceChanged', data: { ...ref, at: NOW, online: false } }));
      expect(decideSession(presence(true), state)).toStrictEqual(nothing);
    });

    it('when the visitor went offline, then the state says so and its activity does not move', () => {
      const after = given(started, { type: 'VisitorPresenceChanged', data: { ...ref, at: T1, online: false } });
      expect(after).toMatchObject({ visitorOnline: false, activity: 1, lastActivityAt: T0 });
      expect(decideSession(presence(true), after)).toStrictEqual(accepted({ type: 'VisitorPresenceChanged', data: { ...ref, at: NOW, online: true } }));
    });
  });

  describe('given an OPEN session', () => {
    const state = states.OPEN;

    it('then it is OPEN, its old status CREATED, nobody assigned', () => {
      expect(state).toMatchObject({ status: 'OPEN', sessionOldStatus: 'CREATED', assignee: null, activity: 2, lastActivityAt: T1 });
    });

    it('when it is routed again, then CONFLICT naming OPEN', () => {
      expect(decideSession(route, state)).toStrictEqual(conflict('ROUTED', 'OPEN'));
    });

    it('when it is assigned, then ON_HOLD, its old status OPEN', () => {
      expect(decideSession(assign(agent1), state)).toStrictEqual(
        accepted({
          type: 'SessionAssigned',
          data: {
            ...ref,
            at: NOW,
            ...snap({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'OPEN', assignee: agent1, activity: 3 }),
            assignee: agent1,
            previousAssignee: null,
            statusChanged: true,
          },
        }),
      );
    });

    it('when the visitor writes, then it stays OPEN and its old status stays CREATED', () => {
      expect(decideSession(visitorSays(), state)).toStrictEqual(
        accepted({
          type: 'MessageRecorded',
          data: { ...ref, at: NOW, ...snap({ sessionStatus: 'OPEN', sessionOldStatus: 'CREATED', messagesCount: 1, activity: 3 }), from: 'VISITOR', statusChanged: false },
        }),
      );
    });

    it('when a bot writes, then 409 UNASSIGNED', () => {
      expect(decideSession(actorSays(bot1, 'UNASSIGNED'), state)).toStrictEqual(refusedMessage('bot', 'UNASSIGNED', 'OPEN'));
    });

    it('when it is held, then CONFLICT naming OPEN', () => {
      expect(decideSession(hold, state)).toStrictEqual(conflict('HOLD', 'OPEN'));
    });

    it('when it is ended, then ENDED, its old status OPEN', () => {
      expect(decideSession(end('closed'), state)).toStrictEqual(
        accepted({ type: 'SessionEnded', data: { ...ref, at: NOW, ...snap({ sessionStatus: 'ENDED', sessionOldStatus: 'OPEN', activity: 3 }), reason: 'closed' } }),
      );
    });

    it('when it is blocked, then BLOCKED, ended with reason blocked', () => {
      const decision = decideSession(block, state);
      expect(decision).toStrictEqual(
        accepted({ type: 'SessionBlocked', data: { ...ref, at: NOW, ...snap({ sessionStatus: 'BLOCKED', sessionOldStatus: 'OPEN', activity: 3 }) } }),
      );
      expect(fold(state, decision)).toMatchObject({ status: 'BLOCKED', endReason: 'blocked', endedAt: NOW, expiredAt: null });
    });
  });

  describe('given an ON_HOLD session', () => {
    const state = states.ON_HOLD;

    it('then it is ON_HOLD with its assignee, its old status OPEN', () => {
      expect(state).toMatchObject({ status: 'ON_HOLD', sessionOldStatus: 'OPEN', assignee: agent1, activity: 3 });
    });

    it('when it is routed, then CONFLICT naming ON_HOLD', () => {
      expect(decideSession(route, state)).toStrictEqual(conflict('ROUTED', 'ON_HOLD'));
    });

    it('when it is assigned to the same agent again, then nothing is decided', () => {
      expect(decideSession(assign(agent1), state)).toStrictEqual(nothing);
    });

    it('when it is transferred to another agent, then it stays ON_HOLD: no status change, the old status stays OPEN', () => {
      expect(decideSession(assign(agent2), state)).toStrictEqual(
        accepted({
          type: 'SessionAssigned',
          data: {
            ...ref,
            at: NOW,
            ...snap({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'OPEN', assignee: agent2, activity: 4 }),
            assignee: agent2,
            previousAssignee: agent1,
            statusChanged: false,
          },
        }),
      );
    });

    it('when it is transferred to a bot with the same id, then that is another assignee', () => {
      const sameIdBot: Assignee = { id: 'agent_1', type: 'BOT' };
      expect(fold(state, decideSession(assign(sameIdBot), state))).toMatchObject({ status: 'ON_HOLD', assignee: sameIdBot });
    });

    it('when the assignee writes, then ON_PROGRESS, its old status ON_HOLD, one message counted', () => {
      expect(decideSession(actorSays(agent1), state)).toStrictEqual(
        accepted({
          type: 'MessageRecorded',
          data: {
            ...ref,
            at: NOW,
            ...snap({ sessionStatus: 'ON_PROGRESS', sessionOldStatus: 'ON_HOLD', assignee: agent1, messagesCount: 1, activity: 4 }),
            from: 'AGENT',
            actorId: 'agent_1',
            statusChanged: true,
          },
        }),
      );
    });

    it('when an agent writes without an id, then it is taken for the assignee and no actorId is recorded', () => {
      const decision = decideSession(actorSays({ type: 'AGENT' }), state);
      expect(decision.ok && decision.events[0]?.data).toMatchObject({ sessionStatus: 'ON_PROGRESS', from: 'AGENT' });
      expect(decision.ok && 'actorId' in decision.events[0]!.data).toBe(false);
    });

    it('when another agent writes, then 409 NOT_AN_ASSIGNEE', () => {
      expect(decideSession(actorSays(agent2, 'NOT_AN_ASSIGNEE'), state)).toStrictEqual(refusedMessage('agent', 'NOT_AN_ASSIGNEE', 'ON_HOLD'));
    });

    it('when another agent writes claiming ACCEPTED, then the decider still refuses it: NOT_AN_ASSIGNEE', () => {
      expect(decideSession(actorSays(agent2), state)).toStrictEqual(refusedMessage('agent', 'NOT_AN_ASSIGNEE', 'ON_HOLD'));
    });

    it('when a bot writes with the assignee agent\'s id, then NOT_AN_ASSIGNEE', () => {
      expect(decideSession(actorSays({ id: 'agent_1', type: 'BOT' }), state)).toStrictEqual(refusedMessage('bot', 'NOT_AN_ASSIGNEE', 'ON_HOLD'));
    });

    it.each(ReplyStatusSchema.options.filter((s) => s !== 'ACCEPTED'))(
      'when the assignee writes and its reply status is %s, then 409 with that reply status',
      (replyStatus) => {
        expect(decideSession(actorSays(agent1, replyStatus), state)).toStrictEqual(refusedMessage('agent', replyStatus, 'ON_HOLD'));
      },
    );

    it('when the visitor writes, then it stays ON_HOLD', () => {
      expect(decideSession(visitorSays(), state)).toStrictEqual(
        accepted({
          type: 'MessageRecorded',
          data: { ...ref, at: NOW, ...snap({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'OPEN', assignee: agent1, messagesCount: 1, activity: 4 }), from: 'VISITOR', statusChanged: false },
        }),
      );
    });

    it('when it is held, then CONFLICT naming ON_HOLD', () => {
      expect(decideSession(hold, state)).toStrictEqual(conflict('HOLD', 'ON_HOLD'));
    });

    it('when it is ended, then ENDED with the assignee kept', () => {
      const decision = decideSession(end('agent'), state);
      expect(decision).toStrictEqual(
        accepted({
          type: 'SessionEnded',
          data: { ...ref, at: NOW, ...snap({ sessionStatus: 'ENDED', sessionOldStatus: 'ON_HOLD', assignee: agent1, activity: 4 }), reason: 'agent' },
        }),
      );
      expect(fold(state, decision)).toMatchObject({ status: 'ENDED', assignee: agent1, endReason: 'agent', endedAt: NOW });
    });

    it('when it is blocked, then BLOCKED, its old status ON_HOLD', () => {
      expect(decideSession(block, state)).toStrictEqual(
        accepted({ type: 'SessionBlocked', data: { ...ref, at: NOW, ...snap({ sessionStatus: 'BLOCKED', sessionOldStatus: 'ON_HOLD', assignee: agent1, activity: 4 }) } }),
      );
    });
  });

  describe('given an ON_PROGRESS session', () => {
    const state = states.ON_PROGRESS;

    it('then it is ON_PROGRESS, its old status ON_HOLD, one message counted', () => {
      expect(state).toMatchObject({ status: 'ON_PROGRESS', sessionOldStatus: 'ON_HOLD', assignee: agent1, messagesCount: 1, activity: 4, lastActivityAt: T3 });
    });

    it('when it is routed, then CONFLICT naming ON_PROGRESS', () => {
      expect(decideSession(route, state)).toStrictEqual(conflict('ROUTED', 'ON_PROGRESS'));
    });

    it('when the assignee writes again, then the count grows, the status and the old status stay', () => {
      expect(decideSession(actorSays(agent1), state)).toStrictEqual(
        accepted({
          type: 'MessageRecorded',
          data: {
            ...ref,
            at: NOW,
            ...snap({ sessionStatus: 'ON_PROGRESS', sessionOldStatus: 'ON_HOLD', assignee: agent1, messagesCount: 2, activity: 5 }),
            from: 'AGENT',
            actorId: 'agent_1',
            statusChanged: false,
          },
        }),
      );
    });

    it('when another agent writes, then 409 NOT_AN_ASSIGNEE', () => {
      expect(decideSession(actorSays(agent2, 'NOT_AN_ASSIGNEE'), state)).toStrictEqual(refusedMessage('agent', 'NOT_AN_ASSIGNEE', 'ON_PROGRESS'));
    });

    it('when the visitor writes, then the count grows and it stays ON_PROGRESS', () => {
      const after = fold(state, decideSession(visitorSays(), state));
      expect(after).toMatchObject({ status: 'ON_PROGRESS', sessionOldStatus: 'ON_HOLD', messagesCount: 2, activity: 5, lastActivityAt: NOW });
    });

    it('when it is held, then ON_HOLD, its old status ON_PROGRESS, the assignee kept', () => {
      expect(decideSession(hold, state)).toStrictEqual(
        accepted({
          type: 'SessionHeld',
          data: { ...ref, at: NOW, ...snap({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'ON_PROGRESS', assignee: agent1, messagesCount: 1, activity: 5 }), assignee: agent1 },
        }),
      );
    });

    it('when it is transferred, then ON_HOLD with the new assignee, a status change', () => {
      expect(decideSession(assign(bot1), state)).toStrictEqual(
        accepted({
          type: 'SessionAssigned',
          data: {
            ...ref,
            at: NOW,
            ...snap({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'ON_PROGRESS', assignee: bot1, messagesCount: 1, activity: 5 }),
            assignee: bot1,
            previousAssignee: agent1,
            statusChanged: true,
          },
        }),
      );
    });

    it('when it is assigned to its assignee again, then nothing is decided (the assignment holds)', () => {
      expect(decideSession(assign(agent1), state)).toStrictEqual(nothing);
    });

    it('when it is ended, then ENDED', () => {
      expect(decideSession(end('agent'), state)).toStrictEqual(
        accepted({ ...endedByAgent, data: { ...endedByAgent.data, at: NOW } } as SessionEvent),
      );
    });

    it('when it is blocked, then BLOCKED', () => {
      expect(fold(state, decideSession(block, state))).toMatchObject({ status: 'BLOCKED', sessionOldStatus: 'ON_PROGRESS', endReason: 'blocked', messagesCount: 1 });
    });
  });

  describe('given an ENDED session', () => {
    const state = states.ENDED;

    it('then it is ENDED with its reason and time, the assignee and count kept', () => {
      expect(state).toStrictEqual({
        status: 'ENDED',
        orgId: ORG,
        sessionId: SID,
        channelId: CH,
        visitorId: VIS,
        assignee: agent1,
        messagesCount: 1,
        sessionOldStatus: 'ON_PROGRESS',
        startedAt: T0,
        lastActivityAt: T4,
        activity: 5,
        expiredAt: null,
        visitorOnline: true,
        endedAt: T4,
        endReason: 'agent',
      });
    });

    it.each<[string, SessionCommand]>([
      ['ROUTED', route],
      ['ASSIGNED', assign(agent2)],
      ['MESSAGE', visitorSays()],
      ['HOLD', hold],
      ['END', end('closed')],
      ['BLOCK', block],
    ])('when %s is sent, then CONFLICT naming ENDED', (action, command) => {
      expect(decideSession(command, state)).toStrictEqual(conflict(action, 'ENDED'));
    });

    it('when the assignee writes, even claiming ACCEPTED, then 409 SESSION_ENDED', () => {
      expect(decideSession(actorSays(agent1), state)).toStrictEqual(refusedMessage('agent', 'SESSION_ENDED', 'ENDED'));
    });

    it.each<[string, SessionCommand]>([
      ['a late inactivity timer', expire(5)],
      ['a late end timer', endExpired(NOW)],
      ['the visitor going offline', presence(false)],
      ['the same start', start()],
    ])('when %s arrives, then nothing is decided', (_what, command) => {
      expect(decideSession(command, state)).toStrictEqual(nothing);
    });

    it('when it is started again with other data, then CONFLICT', () => {
      expect(decideSession(start({ visitorId: 'vis_2' }), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { sessionStatus: 'ENDED' } } });
    });

    it('when a lifecycle event is folded anyway, then nothing changes', () => {
      expect(evolveSession(state, routed)).toBe(state);
    });
  });

  describe('given a BLOCKED session', () => {
    const state = states.BLOCKED;

    it('then it is BLOCKED and ended with reason blocked', () => {
      expect(state).toMatchObject({ status: 'BLOCKED', sessionOldStatus: 'OPEN', endReason: 'blocked', endedAt: T2, assignee: null, expiredAt: null });
    });

    it.each<[string, SessionCommand]>([
      ['ROUTED', route],
      ['ASSIGNED', assign(agent1)],
      ['MESSAGE', visitorSays()],
      ['HOLD', hold],
      ['END', end('closed')],
      ['BLOCK', block],
    ])('when %s is sent, then CONFLICT naming BLOCKED', (action, command) => {
      expect(decideSession(command, state)).toStrictEqual(conflict(action, 'BLOCKED'));
    });

    it('when a bot writes, then 409 SESSION_BLOCKED', () => {
      expect(decideSession(actorSays(bot1), state)).toStrictEqual(refusedMessage('bot', 'SESSION_BLOCKED', 'BLOCKED'));
    });

    it.each<[string, SessionCommand]>([
      ['a late inactivity timer', expire(3)],
      ['a late end timer', endExpired(NOW)],
      ['the visitor going offline', presence(false)],
    ])('when %s arrives, then nothing is decided', (_what, command) => {
      expect(decideSession(command, state)).toStrictEqual(nothing);
    });
  });

  describe('given an expired ON_HOLD session', () => {
    const state = given(started, routed, assigned, expiredAt(NOW, 3));

    it('then it keeps its status and assignee, with its expiry; expiry moves no activity', () => {
      expect(state).toMatchObject({ status: 'ON_HOLD', assignee: agent1, expiredAt: NOW, activity: 3, lastActivityAt: T2 });
    });

    it('when the same inactivity timer fires again, then nothing is decided', () => {
      expect(decideSession(expire(3), state)).toStrictEqual(nothing);
    });

    it('when the visitor writes, then the session resumes before the message is recorded', () => {
      const decision = decideSession(visitorSays(LATER), state);
      expect(decision).toStrictEqual(
        accepted(
          { type: 'SessionResumed', data: { ...ref, at: LATER, expiredAt: NOW } },
          {
            type: 'MessageRecorded',
            data: {
              ...ref,
              at: LATER,
              ...snap({ sessionStatus: 'ON_HOLD', sessionOldStatus: 'OPEN', assignee: agent1, messagesCount: 1, activity: 4 }),
              from: 'VISITOR',
              statusChanged: false,
            },
          },
        ),
      );
      const resumed = fold(state, decision);
      expect(resumed).toMatchObject({ expiredAt: null, activity: 4, messagesCount: 1 });
      // The end timer set for the expiry is stale now; the inactivity timer set at the old activity too.
      expect(decideSession(endExpired(NOW), resumed)).toStrictEqual(nothing);
      expect(decideSession(expire(3, LATER), resumed)).toStrictEqual(nothing);
      expect(decideSession(expire(4, LATER), resumed)).toStrictEqual(accepted(expiredAt(LATER, 4)));
    });

    it('when the assignee writes, even claiming ACCEPTED, then 409 SESSION_EXPIRED', () => {
      expect(decideSession(actorSays(agent1), state)).toStrictEqual(refusedMessage('agent', 'SESSION_EXPIRED', 'ON_HOLD'));
    });

    it('when the end timer fires for this expiry, then it ends with reason timeout', () => {
      const decision = decideSession(endExpired(NOW), state);
      expect(decision).toStrictEqual(
        accepted({
          type: 'SessionEnded',
          data: { ...ref, at: LATER, ...snap({ sessionStatus: 'ENDED', sessionOldStatus: 'ON_HOLD', assignee: agent1, activity: 4 }), reason: 'timeout' },
        }),
      );
      expect(fold(state, decision)).toMatchObject({ status: 'ENDED', endReason: 'timeout', endedAt: LATER, expiredAt: null });
    });

    it('when an end timer for another expiry fires, then nothing is decided', () => {
      expect(decideSession(endExpired(T4), state)).toStrictEqual(nothing);
    });

    it('when it is transferred, then the transfer is allowed and it stays expired (only the visitor resumes it)', () => {
      expect(fold(state, decideSession(assign(agent2), state))).toMatchObject({ status: 'ON_HOLD', assignee: agent2, expiredAt: NOW, activity: 4 });
    });

    it('when it is ended, then the expiry goes with it', () => {
      expect(fold(state, decideSession(end('closed'), state))).toMatchObject({ status: 'ENDED', expiredAt: null });
    });
  });

  describe('the lifecycle table (DESIGN.md section 3), row by row, from every status', () => {
    type Outcome = { to: SessionStatus } | { conflict: string } | { replyStatus: ReplyStatus };
    const ALL: SessionStatus[] = ['CREATED', 'OPEN', 'ON_HOLD', 'ON_PROGRESS', 'ENDED', 'BLOCKED'];
    /** The reply status an agent's message gets from replyStatusOf with an active channel and no limits. */
    const derived = (state: SessionState, actor: Assignee): ReplyStatus =>
      state.status === 'NONE' ? 'UNASSIGNED' : replyStatusOf({ session: state, actor, channel: null, usage: UNLIMITED_USAGE });
    const rows: [row: string, command: (state: SessionState) => SessionCommand, outcome: Record<SessionStatus, Outcome>][] = [
      [
        'ROUTED',
        () => route,
        { CREATED: { to: 'OPEN' }, OPEN: { conflict: 'ROUTED' }, ON_HOLD: { conflict: 'ROUTED' }, ON_PROGRESS: { conflict: 'ROUTED' }, ENDED: { conflict: 'ROUTED' }, BLOCKED: { conflict: 'ROUTED' } },
      ],
      [
        'ASSIGNED (to someone new: an assignment or a transfer)',
        () => assign(agent2),
        { CREATED: { to: 'ON_HOLD' }, OPEN: { to: 'ON_HOLD' }, ON_HOLD: { to: 'ON_HOLD' }, ON_PROGRESS: { to: 'ON_HOLD' }, ENDED: { conflict: 'ASSIGNED' }, BLOCKED: { conflict: 'ASSIGNED' } },
      ],
      [
        'MESSAGE from the assignee (agent_1)',
        (state) => actorSays(agent1, derived(state, agent1)),
        {
          CREATED: { replyStatus: 'UNASSIGNED' },
          OPEN: { replyStatus: 'UNASSIGNED' },
          ON_HOLD: { to: 'ON_PROGRESS' },
          ON_PROGRESS: { to: 'ON_PROGRESS' },
          ENDED: { replyStatus: 'SESSION_ENDED' },
          BLOCKED: { replyStatus: 'SESSION_BLOCKED' },
        },
      ],
      [
        'MESSAGE from the visitor',
        () => visitorSays(),
        { CREATED: { to: 'CREATED' }, OPEN: { to: 'OPEN' }, ON_HOLD: { to: 'ON_HOLD' }, ON_PROGRESS: { to: 'ON_PROGRESS' }, ENDED: { conflict: 'MESSAGE' }, BLOCKED: { conflict: 'MESSAGE' } },
      ],
      [
        'MESSAGE from an agent that is not the assignee (agent_9)',
        (state) => actorSays({ id: 'agent_9', type: 'AGENT' }, derived(state, { id: 'agent_9', type: 'AGENT' })),
        {
          CREATED: { replyStatus: 'UNASSIGNED' },
          OPEN: { replyStatus: 'UNASSIGNED' },
          ON_HOLD: { replyStatus: 'NOT_AN_ASSIGNEE' },
          ON_PROGRESS: { replyStatus: 'NOT_AN_ASSIGNEE' },
          ENDED: { replyStatus: 'SESSION_ENDED' },
          BLOCKED: { replyStatus: 'SESSION_BLOCKED' },
        },
      ],
      [
        'HOLD',
        () => hold,
        { CREATED: { conflict: 'HOLD' }, OPEN: { conflict: 'HOLD' }, ON_HOLD: { conflict: 'HOLD' }, ON_PROGRESS: { to: 'ON_HOLD' }, ENDED: { conflict: 'HOLD' }, BLOCKED: { conflict: 'HOLD' } },
      ],
      [
        'END (reason)',
        () => end('logout'),
        { CREATED: { to: 'ENDED' }, OPEN: { to: 'ENDED' }, ON_HOLD: { to: 'ENDED' }, ON_PROGRESS: { to: 'ENDED' }, ENDED: { conflict: 'END' }, BLOCKED: { conflict: 'END' } },
      ],
      [
        'BLOCK',
        () => block,
        { CREATED: { to: 'BLOCKED' }, OPEN: { to: 'BLOCKED' }, ON_HOLD: { to: 'BLOCKED' }, ON_PROGRESS: { to: 'BLOCKED' }, ENDED: { conflict: 'BLOCK' }, BLOCKED: { conflict: 'BLOCK' } },
      ],
    ];
    const cases = rows.flatMap(([row, command, outcome]) => ALL.map((from) => [row, from, command, outcome[from]] as const));

    it.each(cases)('%s from %s', (_row, from, command, outcome) => {
      const state = states[from];
      const decision = decideSession(command(state), state);
      if ('to' in outcome) {
        const after = fold(state, decision);
        expect(after.status).toBe(outcome.to);
        // sessionOldStatus is the status before the last change: it moves only when the status does.
        const before = state.status === 'NONE' ? null : state.sessionOldStatus;
        expect(after.status !== 'NONE' && after.sessionOldStatus).toBe(outcome.to === from ? before : from);
        const isMessage = command(state).type === 'RecordMessage';
        expect(after.status !== 'NONE' && state.status !== 'NONE' && after.messagesCount - state.messagesCount).toBe(isMessage ? 1 : 0);
      } else if ('conflict' in outcome) {
        expect(decision).toStrictEqual(conflict(outcome.conflict, from));
      } else {
        expect(decision).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { replyStatus: outcome.replyStatus, sessionStatus: from } } });
      }
    });
  });

  describe('statusChanged and the snapshot', () => {
    it.each<[string, boolean, SessionEvent]>([
      ['SessionStarted (a change to CREATED)', true, started],
      ['SessionRouted', true, routed],
      ['SessionAssigned from OPEN', true, assigned],
      ['SessionAssigned within ON_HOLD (a transfer)', false, { ...assigned, data: { ...assigned.data, statusChanged: false } } as SessionEvent],
      ['MessageRecorded that moved ON_HOLD to ON_PROGRESS', true, agentReplied],
      ['MessageRecorded from the visitor', false, { ...agentReplied, data: { ...agentReplied.data, from: 'VISITOR', statusChanged: false } } as SessionEvent],
      ['SessionEnded', true, endedByAgent],
      ['SessionBlocked', true, blockedWhileOpen],
      ['SessionExpired', false, expiredAt(NOW, 3)],
      ['SessionResumed', false, { type: 'SessionResumed', data: { ...ref, at: NOW, expiredAt: T4 } }],
      ['VisitorPresenceChanged', false, { type: 'VisitorPresenceChanged', data: { ...ref, at: NOW, online: false } }],
    ])('%s: status changed %s', (_name, changed, event) => {
      expect(statusChanged(event)).toBe(changed);
    });

    it('a lifecycle event carries the session as it is after it; expiry, resumption and presence carry none', () => {
      expect(snapshotOf(agentReplied)).toStrictEqual(snap({ sessionStatus: 'ON_PROGRESS', sessionOldStatus: 'ON_HOLD', assignee: agent1, messagesCount: 1, activity: 4 }));
      expect(snapshotOf(expiredAt(NOW, 3))).toBeNull();
    });
  });
});
