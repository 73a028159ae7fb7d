import { MAX_RETENTION_DAYS, VARIABLE_LIMIT_CEILINGS } from '@svp/contracts';
import { DEFAULT_LIMITS, type LimitName, type VariableLimits } from './limits.js';
import { decide } from './session-variables.js';
import {
  DEFAULT_SETTINGS,
  VARIABLE_SETTINGS_EVENT_TYPES,
  type VariableSettings,
  type VariableSettingsCommand,
  type VariableSettingsEvent,
  type VariableSettingsState,
  decideSettings,
  evolveSettings,
  initialSettingsState,
  retainUntil,
  settingsOf,
  variableSettingsStream,
} from './settings.js';

// Given/when/then on the per-org variable settings decider, one `describe` per state.

const now = '2026-11-21T10:00:00.000Z';
const later = '2026-11-21T10:05:00.000Z';
const orgId = 'org1';
const given = (...events: VariableSettingsEvent[]): VariableSettingsState => events.reduce(evolveSettings, initialSettingsState());
const configure = (change: { limits?: Partial<VariableLimits>; retentionDays?: number }, at = now): VariableSettingsCommand => ({
  type: 'ConfigureVariables',
  data: { orgId, ...change, now: at },
});
const changed = (limits: Partial<VariableLimits>, retentionDays = 0, at = now): VariableSettingsEvent => ({
  type: 'VariableSettingsChanged',
  data: { orgId, limits: { ...DEFAULT_LIMITS, ...limits }, retentionDays, at },
});
const after = (state: VariableSettingsState, command: VariableSettingsCommand): VariableSettingsState => {
  const decision = decideSettings(command, state);
  return decision.ok ? decision.events.reduce(evolveSettings, state) : state;
};
const LIMIT_NAMES: LimitName[] = ['maxNameLength', 'maxValueBytes', 'maxSessionVariables', 'maxVisitorVariables'];

describe('variable settings decider', () => {
  it('registers its event type and names the stream by org; the defaults are the platform limits and no retention', () => {
    expect(VARIABLE_SETTINGS_EVENT_TYPES).toEqual(['VariableSettingsChanged']);
    expect(variableSettingsStream(orgId)).toBe('variablesettings-org1');
    expect(DEFAULT_SETTINGS).toEqual({ limits: { maxNameLength: 128, maxValueBytes: 4096, maxSessionVariables: 250, maxVisitorVariables: 250 }, retentionDays: 0 });
  });

  describe('given an org that never configured them', () => {
    const state = initialSettingsState();

    it('then the defaults are in force (the platform\'s, or those given)', () => {
      expect(state).toEqual({ status: 'default' });
      expect(settingsOf(state)).toEqual(DEFAULT_SETTINGS);
      const platform: VariableSettings = { limits: { ...DEFAULT_LIMITS, maxValueBytes: 1024 }, retentionDays: 7 };
      expect(settingsOf(state, platform)).toEqual(platform);
    });

    it('when one limit is changed, then the whole settings are recorded, the other limits keeping the defaults', () => {
      expect(decideSettings(configure({ limits: { maxValueBytes: 1024 } }), state)).toEqual({ ok: true, events: [changed({ maxValueBytes: 1024 })] });
    });

    it('when only the retention is changed, then the limits are the defaults', () => {
      expect(decideSettings(configure({ retentionDays: 30 }), state)).toEqual({ ok: true, events: [changed({}, 30)] });
    });

    it('when the platform defaults are not the built-in ones, then a partial change keeps those', () => {
      const platform: VariableSettings = { limits: { ...DEFAULT_LIMITS, maxValueBytes: 1024 }, retentionDays: 7 };
      expect(decideSettings(configure({ limits: { maxNameLength: 64 } }), state, platform)).toEqual({
        ok: true,
        events: [changed({ maxValueBytes: 1024, maxNameLength: 64 }, 7)],
      });
    });

    it('when they are set to the defaults, then they are pinned all the same', () => {
      expect(decideSettings(configure({ limits: DEFAULT_LIMITS, retentionDays: 0 }), state)).toEqual({ ok: true, events: [changed({}, 0)] });
    });

    it('when settings are changed, then they are configured from then on', () => {
      const next = after(state, configure({ limits: { maxSessionVariables: 10 }, retentionDays: 30 }));
      expect(next).toEqual({ status: 'configured', orgId, limits: { ...DEFAULT_LIMITS, maxSessionVariables: 10 }, retentionDays: 30, updatedAt: now });
      expect(settingsOf(next)).toEqual({ limits: { ...DEFAULT_LIMITS, maxSessionVariables: 10 }, retentionDays: 30 });
    });

    it.each(LIMIT_NAMES)('when %s is set to its ceiling or to 1, then it is accepted', (name) => {
      expect(decideSettings(configure({ limits: { [name]: VARIABLE_LIMIT_CEILINGS[name] } }), state)).toMatchObject({ ok: true, events: [{ data: { limits: { [name]: VARIABLE_LIMIT_CEILINGS[name] } } }] });
      expect(decideSettings(configure({ limits: { [name]: 1 } }), state)).toMatchObject({ ok: true, events: [{ data: { limits: { [name]: 1 } } }] });
    });

    it.each(LIMIT_NAMES.flatMap((name) => [0, -1, 1.5, Number.NaN, VARIABLE_LIMIT_CEILINGS[name] + 1].map((value): [LimitName, number] => [name, value])))(
      'when %s is set to %p, then VALIDATION_FAILED names the limit and its ceiling',
      (name, value) => {
        expect(decideSettings(configure({ limits: { maxValueBytes: 1024, [name]: value } }), state)).toEqual({
          ok: false,
          error: { code: 'VALIDATION_FAILED', message: `limits.${name} must be an integer from 1 to ${VARIABLE_LIMIT_CEILINGS[name]}`, details: { limit: name, max: VARIABLE_LIMIT_CEILINGS[name] } },
        });
      },
    );

    it.each([-1, 1.5, MAX_RETENTION_DAYS + 1])('when the retention is %p days, then VALIDATION_FAILED', (retentionDays) => {
      expect(decideSettings(configure({ retentionDays }), state)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: { max: MAX_RETENTION_DAYS } } });
    });

    it('when the retention is 0 or the most allowed, then it is accepted', () => {
      expect(decideSettings(configure({ retentionDays: MAX_RETENTION_DAYS }), state)).toEqual({ ok: true, events: [changed({}, MAX_RETENTION_DAYS)] });
      expect(decideSettings(configure({ retentionDays: 0 }), state)).toEqual({ ok: true, events: [changed({}, 0)] });
    });
  });

  describe('given an org that configured them', () => {
    const state = given(changed({ maxValueBytes: 1024, maxSessionVariables: 10 }, 30));

    it('when the same settings are given again (a resent command), then nothing is decided', () => {
      expect(decideSettings(configure({ limits: { maxValueBytes: 1024, maxSessionVariables: 10 }, retentionDays: 30 }, later), state)).toEqual({ ok: true, events: [] });
      expect(decideSettings(configure({ limits: { maxValueBytes: 1024 } }, later), state)).toEqual({ ok: true, events: [] });
      expect(decideSettings(configure({}, later), state)).toEqual({ ok: true, events: [] });
    });

    it('when one limit is changed, then the others keep their configured value, and the retention too', () => {
      expect(decideSettings(configure({ limits: { maxNameLength: 64 } }, later), state)).toEqual({
        ok: true,
        events: [changed({ maxValueBytes: 1024, maxSessionVariables: 10, maxNameLength: 64 }, 30, later)],
      });
    });

    it('when only the retention is changed, then the limits are kept', () => {
      expect(decideSettings(configure({ retentionDays: 0 }, later), state)).toEqual({ ok: true, events: [changed({ maxValueBytes: 1024, maxSessionVariables: 10 }, 0, later)] });
    });

    it('when a limit is out of range, then VALIDATION_FAILED and nothing changes', () => {
      expect(decideSettings(configure({ limits: { maxSessionVariables: 0 }, retentionDays: 1 }, later), state)).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', details: { limit: 'maxSessionVariables', max: VARIABLE_LIMIT_CEILINGS.maxSessionVariables } },
      });
    });

    it('when the settings are changed, then the latest are in force', () => {
      const next = after(state, configure({ limits: { maxValueBytes: 2048 } }, later));
      expect(next).toEqual({ status: 'configured', orgId, limits: { ...DEFAULT_LIMITS, maxValueBytes: 2048, maxSessionVariables: 10 }, retentionDays: 30, updatedAt: later });
      expect(settingsOf(next, { limits: { ...DEFAULT_LIMITS, maxValueBytes: 1 }, retentionDays: 1 })).toEqual({
        limits: { ...DEFAULT_LIMITS, maxValueBytes: 2048, maxSessionVariables: 10 },
        retentionDays: 30,
      });
    });

    it('then its limits are what the session decider enforces', () => {
      const tooMany = decide(
        { type: 'SetSessionVariables', data: { orgId, sessionId: 's1', values: Array.from({ length: 11 }, (_, i) => ({ name: `v${i}`, value: i })), source: 'api', now } },
        { status: 'empty' },
        settingsOf(state).limits,
      );
      expect(tooMany).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxSessionVariables', max: 10, wouldHold: 11 } } });
    });
  });

  describe('retainUntil', () => {
    it('when there is no retention, then the variables are deleted at once (no date)', () => {
      expect(retainUntil(now, 0)).toBeUndefined();
      expect(retainUntil(now, -1)).toBeUndefined();
    });

    it('when there is a retention, then it is that many days after the end, in UTC', () => {
      expect(retainUntil('2026-11-21T10:00:00.000Z', 1)).toBe('2026-11-22T10:00:00.000Z');
      expect(retainUntil('2026-11-21T10:00:00Z', 30)).toBe('2026-12-21T10:00:00.000Z');
    });

    it('when the end is given with an offset, then the date is the same instant', () => {
      expect(retainUntil('2026-11-21T12:00:00+02:00', 1)).toBe('2026-11-22T10:00:00.000Z');
      expect(retainUntil('2026-11-21T05:30:00-04:30', 1)).toBe('2026-11-22T10:00:00.000Z');
    });
  });
});
