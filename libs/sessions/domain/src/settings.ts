import { type Decision, accept, exhaustive, isCount, refuse } from './decision.js';

/**
 * Per-org session settings (stream `sessionsettings-<orgId>`): how long an idle session waits before it
 * expires (SESSION_EXPIRED), and how long an expired one waits before it ends with reason `timeout`.
 * An org that never set them has the defaults. Pure decider: time comes in the command.
 */

export const DEFAULT_INACTIVITY_TIMEOUT_SECONDS = 30 * 60;
export const DEFAULT_EXPIRED_END_AFTER_SECONDS = 30 * 60;
export const MIN_TIMEOUT_SECONDS = 1;
export const MAX_INACTIVITY_TIMEOUT_SECONDS = 7 * 24 * 60 * 60;
export const MAX_EXPIRED_END_AFTER_SECONDS = 30 * 24 * 60 * 60;

export interface SessionTimeouts {
  inactivityTimeoutSeconds: number;
  expiredEndAfterSeconds: number;
}

export const DEFAULT_SESSION_TIMEOUTS: Readonly<SessionTimeouts> = {
  inactivityTimeoutSeconds: DEFAULT_INACTIVITY_TIMEOUT_SECONDS,
  expiredEndAfterSeconds: DEFAULT_EXPIRED_END_AFTER_SECONDS,
};

export type SessionSettingsState =
  | { status: 'DEFAULT' }
  | ({ status: 'SET'; orgId: string; updatedAt: string } & SessionTimeouts);

export const initialSessionSettingsState = (): SessionSettingsState => ({ status: 'DEFAULT' });

export type SessionSettingsCommand = { type: 'SetSessionTimeouts'; data: { orgId: string; now: string } & SessionTimeouts };

export type SessionSettingsEvent = { type: 'SessionTimeoutsSet'; data: { orgId: string; at: string } & SessionTimeouts };

export type SessionSettingsDecision = Decision<SessionSettingsEvent>;

const BOUNDS: Record<keyof SessionTimeouts, number> = {
  inactivityTimeoutSeconds: MAX_INACTIVITY_TIMEOUT_SECONDS,
  expiredEndAfterSeconds: MAX_EXPIRED_END_AFTER_SECONDS,
};

export function decideSessionSettings(command: SessionSettingsCommand, state: SessionSettingsState): SessionSettingsDecision {
  switch (command.type) {
    case 'SetSessionTimeouts': {
      const { orgId, inactivityTimeoutSeconds, expiredEndAfterSeconds, now } = command.data;
      for (const field of ['inactivityTimeoutSeconds', 'expiredEndAfterSeconds'] as const) {
        const value = command.data[field];
        const max = BOUNDS[field];
        if (!isCount(value, MIN_TIMEOUT_SECONDS, max))
          return refuse('VALIDATION_FAILED', `${field} must be a whole number of seconds from ${MIN_TIMEOUT_SECONDS} to ${max}`, {
            field,
            value,
            min: MIN_TIMEOUT_SECONDS,
            max,
          });
      }
      if (state.status === 'SET' && state.inactivityTimeoutSeconds === inactivityTimeoutSeconds && state.expiredEndAfterSeconds === expiredEndAfterSeconds)
        return accept([]);
      return accept([{ type: 'SessionTimeoutsSet', data: { orgId, inactivityTimeoutSeconds, expiredEndAfterSeconds, at: now } }]);
    }
    default:
      return exhaustive(command.type);
  }
}

export function evolveSessionSettings(_state: SessionSettingsState, event: SessionSettingsEvent): SessionSettingsState {
  switch (event.type) {
    case 'SessionTimeoutsSet': {
      const { orgId, inactivityTimeoutSeconds, expiredEndAfterSeconds, at } = event.data;
      return { status: 'SET', orgId, inactivityTimeoutSeconds, expiredEndAfterSeconds, updatedAt: at };
    }
    default:
      return exhaustive(event.type);
  }
}

/** The timeouts in force: the org's own, or the defaults. */
export const sessionTimeoutsOf = (state: SessionSettingsState): SessionTimeouts =>
  state.status === 'SET'
    ? { inactivityTimeoutSeconds: state.inactivityTimeoutSeconds, expiredEndAfterSeconds: state.expiredEndAfterSeconds }
    : { ...DEFAULT_SESSION_TIMEOUTS };

export const sessionSettingsStream = (orgId: string): string => `sessionsettings-${orgId}`;

export const SESSION_SETTINGS_EVENT_TYPES = ['SessionTimeoutsSet'] as const satisfies readonly SessionSettingsEvent['type'][];
