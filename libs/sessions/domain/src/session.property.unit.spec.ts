import fc from 'fast-check';
import { ReplyStatus as ReplyStatusSchema, type EndReason, type ReplyStatus, type SessionStatus } from '@svp/contracts';
import { UNLIMITED_USAGE, type ReplyActor, replyStatusOf } from './reply-status.js';
import { type SessionCommand, type SessionState, decideSession, evolveSession, initialSessionState, snapshotOf, statusChanged } from './session.js';

// Random command sequences folded through decide/evolve never reach an illegal state.

type Step =
  | { kind: 'start'; same: boolean }
  | { kind: 'route' }
  | { kind: 'assign'; who: number }
  | { kind: 'visitor' }
  | { kind: 'actor'; who: number; reply: ReplyStatus | 'derive' }
  | { kind: 'hold' }
  | { kind: 'end'; reason: EndReason }
  | { kind: 'block' }
  | { kind: 'expire'; delta: number }
  | { kind: 'endExpired'; current: boolean }
  | { kind: 'presence'; online: boolean };

const ORG = 'org_1';
const SID = 'ses_1';
const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const ACTORS: ReplyActor[] = [
  { id: 'agent_1', type: 'AGENT' },
  { id: 'agent_2', type: 'AGENT' },
  { id: 'bot_1', type: 'BOT' },
  { type: 'AGENT' },
];
const ASSIGNEES = ACTORS.filter((a): a is Required<ReplyActor> => a.id !== undefined);
const TERMINAL: SessionStatus[] = ['ENDED', 'BLOCKED'];

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), same: fc.boolean() }),
  fc.record({ kind: fc.constant('route' as const) }),
  fc.record({ kind: fc.constant('assign' as const), who: fc.nat({ max: ASSIGNEES.length - 1 }) }),
  fc.record({ kind: fc.constant('visitor' as const) }),
  fc.record({
    kind: fc.constant('actor' as const),
    who: fc.nat({ max: ACTORS.length - 1 }),
    reply: fc.oneof({ arbitrary: fc.constant('derive' as const), weight: 4 }, { arbitrary: fc.constantFrom(...ReplyStatusSchema.options), weight: 1 }),
  }),
  fc.record({ kind: fc.constant('hold' as const) }),
  fc.record({ kind: fc.constant('end' as const), reason: fc.constantFrom<EndReason>('logout', 'timeout', 'closed', 'agent', 'blocked') }),
  fc.record({ kind: fc.constant('block' as const) }),
  fc.record({ kind: fc.constant('expire' as const), delta: fc.constantFrom(-1, 0, 0, 0, 1) }),
  fc.record({ kind: fc.constant('endExpired' as const), current: fc.boolean() }),
  fc.record({ kind: fc.constant('presence' as const), online: fc.boolean() }),
);

/** The command a step stands for, in the state it is sent in (timers read the counter they were set with). */
function toCommand(s: Step, state: SessionState, i: number): SessionCommand {
  const ref = { orgId: ORG, sessionId: SID };
  const now = new Date(T0 + i * 60_000).toISOString();
  switch (s.kind) {
    case 'start':
      return { type: 'StartSession', data: { ...ref, channelId: 'web_1', visitorId: s.same ? 'vis_1' : 'vis_2', sessionVariableValues: [], now } };
    case 'route':
      return { type: 'Route', data: { ...ref, now } };
    case 'assign': {
      const a = ASSIGNEES[s.who]!;
      return { type: 'Assign', data: { ...ref, assigneeId: a.id, assigneeType: a.type, now } };
    }
    case 'visitor':
      return { type: 'RecordMessage', data: { ...ref, from: 'VISITOR', now } };
    case 'actor': {
      const actor = ACTORS[s.who]!;
      const replyStatus =
        s.reply !== 'derive' ? s.reply : state.status === 'NONE' ? 'ACCEPTED' : replyStatusOf({ session: state, actor, channel: null, usage: UNLIMITED_USAGE });
      return { type: 'RecordMessage', data: { ...ref, from: actor.type, ...(actor.id !== undefined ? { actorId: actor.id } : {}), replyStatus, now } };
    }
    case 'hold':
      return { type: 'Hold', data: { ...ref, now } };
    case 'end':
      return { type: 'End', data: { ...ref, reason: s.reason, now } };
    case 'block':
      return { type: 'Block', data: { ...ref, now } };
    case 'expire':
      return { type: 'Expire', data: { ...ref, activity: (state.status === 'NONE' ? 0 : state.activity) + s.delta, now } };
    case 'endExpired': {
      const current = state.status !== 'NONE' ? state.expiredAt : null;
      return { type: 'EndExpired', data: { ...ref, expiredAt: s.current && current ? current : '2020-01-01T00:00:00.000Z', now } };
    }
    case 'presence':
      return { type: 'SetVisitorPresence', data: { ...ref, online: s.online, now } };
  }
}

describe('session decider (property)', () => {
  it('folding only decided events never reaches an illegal state', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let state = initialSessionState();
        let acceptedMessages = 0;
        /** The status before the last change, as a model keeps it. */
        let oldStatus: SessionStatus | null = null;
        steps.forEach((s, i) => {
          const command = toCommand(s, state, i);
          const decision = decideSession(command, state);
          const before = state;

          if (!decision.ok) {
            // Refusals: NOT_FOUND only before the start; CONFLICT names the current status.
            if (before.status === 'NONE') expect(decision.error.code).toBe(command.type === 'StartSession' ? 'CONFLICT' : 'NOT_FOUND');
            else {
              expect(decision.error.code).toBe('CONFLICT');
              expect(decision.error.details.sessionStatus).toBe(before.status);
              expect(decision.error.message).toContain(before.status);
            }
            return;
          }

          for (const event of decision.events) {
            const prior = state;
            state = evolveSession(state, event);
            if (event.type === 'MessageRecorded') acceptedMessages++;
            const snapshot = snapshotOf(event);
            if (state.status === 'NONE') throw new Error('an accepted event left no session');
            if (snapshot) {
              // The snapshot is the session as it is after the event: a projection copies it.
              expect(snapshot).toStrictEqual({
                channelId: state.channelId,
                visitorId: state.visitorId,
                sessionStatus: state.status,
                sessionOldStatus: state.sessionOldStatus,
                assignee: state.assignee,
                messagesCount: state.messagesCount,
                activity: state.activity,
              });
              // Every lifecycle event moves the activity counter by one, and only they do.
              expect(state.activity).toBe(prior.status === 'NONE' ? 1 : prior.activity + 1);
            } else if (prior.status !== 'NONE') expect(state.activity).toBe(prior.activity);
            // statusChanged says exactly whether the status moved.
            expect(statusChanged(event)).toBe(prior.status !== state.status);
            if (prior.status !== state.status) oldStatus = prior.status === 'NONE' ? null : prior.status;
            if (event.type === 'SessionResumed') expect(state.expiredAt).toBeNull();
          }
          if (state.status === 'NONE') return;

          // messagesCount never decreases and equals the messages accepted.
          expect(state.messagesCount).toBe(acceptedMessages);
          if (before.status !== 'NONE') expect(state.messagesCount).toBeGreaterThanOrEqual(before.messagesCount);
          // ENDED and BLOCKED are terminal.
          if (before.status === 'ENDED' || before.status === 'BLOCKED') expect(state).toBe(before);
          // Who is assigned follows the status.
          if (state.status === 'ON_HOLD' || state.status === 'ON_PROGRESS') expect(state.assignee).not.toBeNull();
          if (state.status === 'CREATED' || state.status === 'OPEN') expect(state.assignee).toBeNull();
          // sessionOldStatus is the status before the last change.
          expect(state.sessionOldStatus).toBe(oldStatus);
          // A resumed session is no longer expired; an ended one carries no expiry.
          if (command.type === 'RecordMessage' && command.data.from === 'VISITOR') expect(state.expiredAt).toBeNull();
          if (TERMINAL.includes(state.status)) {
            expect(state.expiredAt).toBeNull();
            expect(state).toHaveProperty('endedAt');
            if (state.status === 'BLOCKED') expect(state.endReason).toBe('blocked');
          }
          // A stale timer, or a timer on an ended session, never errs and never changes anything.
          if (command.type === 'Expire' && before.status !== 'NONE' && command.data.activity !== before.activity) expect(decision.events).toEqual([]);
        });
      }),
      { numRuns: 1000 },
    );
  });
});
