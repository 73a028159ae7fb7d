import { exhaustive } from './decision.js';
import { type SessionEvent, snapshotOf } from './session.js';
import type { SessionTimeouts } from './settings.js';

/**
 * The durable timers a session event sets, for the sessions service's timer store to keep and fire
 * (as `Expire` and `EndExpired` commands). One timer per session and kind: a newer one replaces the
 * older of its kind. A timer that fires late or twice is harmless: the decider answers `[]` to a stale
 * one (activity moved on, expiry cleared, session over), so several instances may race to fire it.
 */
export type SessionTimer =
  | { kind: 'expire'; orgId: string; sessionId: string; dueAt: string; activity: number }
  | { kind: 'end-expired'; orgId: string; sessionId: string; dueAt: string; expiredAt: string };

export function sessionTimerAfter(event: SessionEvent, timeouts: SessionTimeouts): SessionTimer | null {
  const { orgId, sessionId, at } = event.data;
  switch (event.type) {
    case 'SessionExpired':
      return { kind: 'end-expired', orgId, sessionId, dueAt: plusSeconds(at, timeouts.expiredEndAfterSeconds), expiredAt: at };
    case 'SessionResumed':
    case 'VisitorPresenceChanged':
      return null;
    case 'SessionStarted':
    case 'SessionRouted':
    case 'SessionAssigned':
    case 'MessageRecorded':
    case 'SessionHeld':
    case 'SessionEnded':
    case 'SessionBlocked': {
      const snapshot = snapshotOf(event);
      if (!snapshot || snapshot.sessionStatus === 'ENDED' || snapshot.sessionStatus === 'BLOCKED') return null;
      return { kind: 'expire', orgId, sessionId, dueAt: plusSeconds(at, timeouts.inactivityTimeoutSeconds), activity: snapshot.activity };
    }
    default:
      return exhaustive(event);
  }
}

const plusSeconds = (iso: string, seconds: number): string => new Date(Date.parse(iso) + seconds * 1000).toISOString();
