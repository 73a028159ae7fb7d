import type { SessionEvent, SessionSnapshot } from './session.js';
import { DEFAULT_SESSION_TIMEOUTS } from './settings.js';
import { sessionTimerAfter } from './timers.js';

// The durable timers each session event sets (the timer store keeps one per session and kind).

const ref = { orgId: 'org_1', sessionId: 'ses_1' };
const AT = '2026-11-21T10:00:00.000Z';
const timeouts = { inactivityTimeoutSeconds: 600, expiredEndAfterSeconds: 3600 };
const snap = (over: Partial<SessionSnapshot>): SessionSnapshot => ({
  channelId: 'web_1',
  visitorId: 'vis_1',
  sessionStatus: 'OPEN',
  sessionOldStatus: 'CREATED',
  assignee: null,
  messagesCount: 0,
  activity: 2,
  ...over,
});

describe('session timers', () => {
  it('a lifecycle event of a live session sets the inactivity timer with its activity', () => {
    const routed: SessionEvent = { type: 'SessionRouted', data: { ...ref, at: AT, ...snap({}) } };
    expect(sessionTimerAfter(routed, timeouts)).toStrictEqual({ kind: 'expire', ...ref, dueAt: '2026-11-21T10:10:00.000Z', activity: 2 });
  });

  it('a visitor message sets it too, with the defaults of 30 minutes', () => {
    const message: SessionEvent = {
      type: 'MessageRecorded',
      data: { ...ref, at: AT, ...snap({ messagesCount: 1, activity: 3 }), from: 'VISITOR', statusChanged: false },
    };
    expect(sessionTimerAfter(message, DEFAULT_SESSION_TIMEOUTS)).toStrictEqual({ kind: 'expire', ...ref, dueAt: '2026-11-21T10:30:00.000Z', activity: 3 });
  });

  it('an expiry sets the end timer for that expiry', () => {
    expect(sessionTimerAfter({ type: 'SessionExpired', data: { ...ref, at: AT, activity: 2 } }, timeouts)).toStrictEqual({
      kind: 'end-expired',
      ...ref,
      dueAt: '2026-11-21T11:00:00.000Z',
      expiredAt: AT,
    });
  });

  it.each<[string, SessionEvent]>([
    ['an ended session', { type: 'SessionEnded', data: { ...ref, at: AT, ...snap({ sessionStatus: 'ENDED' }), reason: 'closed' } }],
    ['a blocked session', { type: 'SessionBlocked', data: { ...ref, at: AT, ...snap({ sessionStatus: 'BLOCKED' }) } }],
    ['a resumption (the message after it sets the timer)', { type: 'SessionResumed', data: { ...ref, at: AT, expiredAt: AT } }],
    ['a presence change', { type: 'VisitorPresenceChanged', data: { ...ref, at: AT, online: false } }],
  ])('%s sets no timer', (_what, event) => {
    expect(sessionTimerAfter(event, timeouts)).toBeNull();
  });
});
