import {
  DEFAULT_EXPIRED_END_AFTER_SECONDS,
  DEFAULT_INACTIVITY_TIMEOUT_SECONDS,
  SESSION_SETTINGS_EVENT_TYPES,
  type SessionSettingsCommand,
  type SessionSettingsEvent,
  type SessionSettingsState,
  decideSessionSettings,
  evolveSessionSettings,
  initialSessionSettingsState,
  sessionSettingsStream,
  sessionTimeoutsOf,
} from './settings.js';

// Given/when/then on the per-org session settings decider, one `describe` per state.

const ORG = 'org_1';
const T0 = '2026-11-21T10:00:00.000Z';
const NOW = '2026-11-21T11:00:00.000Z';
const DAY = 24 * 60 * 60;
const given = (...events: SessionSettingsEvent[]): SessionSettingsState => events.reduce(evolveSessionSettings, initialSessionSettingsState());
const set = (inactivityTimeoutSeconds: number, expiredEndAfterSeconds: number): SessionSettingsCommand => ({
  type: 'SetSessionTimeouts',
  data: { orgId: ORG, inactivityTimeoutSeconds, expiredEndAfterSeconds, now: NOW },
});
const timeoutsSet = (inactivityTimeoutSeconds: number, expiredEndAfterSeconds: number, at = T0): SessionSettingsEvent => ({
  type: 'SessionTimeoutsSet',
  data: { orgId: ORG, inactivityTimeoutSeconds, expiredEndAfterSeconds, at },
});

describe('session settings decider', () => {
  it('registers its event type, names the stream by org, and defaults to 30 minutes and 30 minutes', () => {
    expect(SESSION_SETTINGS_EVENT_TYPES).toEqual(['SessionTimeoutsSet']);
    expect(sessionSettingsStream(ORG)).toBe('sessionsettings-org_1');
    expect(DEFAULT_INACTIVITY_TIMEOUT_SECONDS).toBe(1800);
    expect(DEFAULT_EXPIRED_END_AFTER_SECONDS).toBe(1800);
  });

  describe('given an org that never set them', () => {
    const state = initialSessionSettingsState();

    it('then the defaults are in force', () => {
      expect(sessionTimeoutsOf(state)).toStrictEqual({ inactivityTimeoutSeconds: 1800, expiredEndAfterSeconds: 1800 });
    });

    it('when they are set, then SessionTimeoutsSet', () => {
      expect(decideSessionSettings(set(600, 3600), state)).toStrictEqual({ ok: true, events: [timeoutsSet(600, 3600, NOW)] });
    });

    it('when they are set to the defaults, then they are pinned all the same', () => {
      expect(decideSessionSettings(set(1800, 1800), state)).toStrictEqual({ ok: true, events: [timeoutsSet(1800, 1800, NOW)] });
    });

    it.each<[string, number, number, string, number, number]>([
      ['the bounds themselves', 1, 1, '', 0, 0],
      ['the upper bounds themselves', 7 * DAY, 30 * DAY, '', 0, 0],
      ['an inactivity timeout under 1 s', 0, 60, 'inactivityTimeoutSeconds', 1, 7 * DAY],
      ['an inactivity timeout over 7 days', 7 * DAY + 1, 60, 'inactivityTimeoutSeconds', 1, 7 * DAY],
      ['a fractional inactivity timeout', 60.5, 60, 'inactivityTimeoutSeconds', 1, 7 * DAY],
      ['an end delay under 1 s', 60, 0, 'expiredEndAfterSeconds', 1, 30 * DAY],
      ['an end delay over 30 days', 60, 30 * DAY + 1, 'expiredEndAfterSeconds', 1, 30 * DAY],
      ['an infinite end delay', 60, Number.POSITIVE_INFINITY, 'expiredEndAfterSeconds', 1, 30 * DAY],
    ])('when set with %s, then %s', (_what, inactivity, end, field, min, max) => {
      const decision = decideSessionSettings(set(inactivity, end), state);
      if (field === '') expect(decision.ok).toBe(true);
      else
        expect(decision).toStrictEqual({
          ok: false,
          error: {
            code: 'VALIDATION_FAILED',
            message: `${field} must be a whole number of seconds from ${min} to ${max}`,
            details: { field, value: field === 'inactivityTimeoutSeconds' ? inactivity : end, min, max },
          },
        });
    });
  });

  describe('given an org that set them', () => {
    const state = given(timeoutsSet(600, 3600));

    it('then its own are in force', () => {
      expect(state).toStrictEqual({ status: 'SET', orgId: ORG, inactivityTimeoutSeconds: 600, expiredEndAfterSeconds: 3600, updatedAt: T0 });
      expect(sessionTimeoutsOf(state)).toStrictEqual({ inactivityTimeoutSeconds: 600, expiredEndAfterSeconds: 3600 });
    });

    it('when the same are set again, then nothing is decided', () => {
      expect(decideSessionSettings(set(600, 3600), state)).toStrictEqual({ ok: true, events: [] });
    });

    it('when one changes, then SessionTimeoutsSet with both', () => {
      expect(decideSessionSettings(set(600, 7200), state)).toStrictEqual({ ok: true, events: [timeoutsSet(600, 7200, NOW)] });
    });
  });
});
