import { MAX_RETENTION_DAYS, VARIABLE_LIMIT_CEILINGS } from '@svp/contracts';
import { type DecisionError, exhaustive } from './common.js';
import { DEFAULT_LIMITS, type LimitName, type VariableLimits } from './limits.js';

/**
 * An org's variable settings (stream `variablesettings-<orgId>`): its limits, and how many days an
 * ended session's variables stay in the event store for audit before the stream is deleted
 * (0: at once). Pure decider; the platform's defaults come in as an argument.
 */
export interface VariableSettings {
  limits: VariableLimits;
  retentionDays: number;
}

export const DEFAULT_SETTINGS: VariableSettings = { limits: DEFAULT_LIMITS, retentionDays: 0 };

export type VariableSettingsState =
  | { status: 'default' }
  | { status: 'configured'; orgId: string; limits: VariableLimits; retentionDays: number; updatedAt: string };

export const initialSettingsState = (): VariableSettingsState => ({ status: 'default' });

export type VariableSettingsCommand = {
  type: 'ConfigureVariables';
  data: { orgId: string; limits?: Partial<VariableLimits>; retentionDays?: number; now: string };
};

export type VariableSettingsEvent = {
  type: 'VariableSettingsChanged';
  /** The whole settings after the change (limits not given keep their value). */
  data: { orgId: string; limits: VariableLimits; retentionDays: number; at: string };
};

export type SettingsDecision = { ok: true; events: VariableSettingsEvent[] } | { ok: false; error: DecisionError };

/** The settings in force: the org's own, or the platform's defaults. */
export const settingsOf = (state: VariableSettingsState, defaults: VariableSettings = DEFAULT_SETTINGS): VariableSettings =>
  state.status === 'configured' ? { limits: state.limits, retentionDays: state.retentionDays } : defaults;

const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as LimitName[];

export function decideSettings(command: VariableSettingsCommand, state: VariableSettingsState, defaults: VariableSettings = DEFAULT_SETTINGS): SettingsDecision {
  switch (command.type) {
    case 'ConfigureVariables': {
      const { orgId, now } = command.data;
      const current = settingsOf(state, defaults);
      const limits: VariableLimits = { ...current.limits };
      for (const name of LIMIT_NAMES) {
        const value = command.data.limits?.[name];
        if (value === undefined) continue;
        const ceiling = VARIABLE_LIMIT_CEILINGS[name];
        if (!Number.isInteger(value) || value < 1 || value > ceiling)
          return { ok: false, error: { code: 'VALIDATION_FAILED', message: `limits.${name} must be an integer from 1 to ${ceiling}`, details: { limit: name, max: ceiling } } };
        limits[name] = value;
      }
      const retentionDays = command.data.retentionDays ?? current.retentionDays;
      if (!Number.isInteger(retentionDays) || retentionDays < 0 || retentionDays > MAX_RETENTION_DAYS)
        return { ok: false, error: { code: 'VALIDATION_FAILED', message: `retentionDays must be an integer from 0 to ${MAX_RETENTION_DAYS}`, details: { limit: 'retentionDays', max: MAX_RETENTION_DAYS } } };
      const same = state.status === 'configured' && retentionDays === current.retentionDays && LIMIT_NAMES.every((n) => limits[n] === current.limits[n]);
      if (same) return { ok: true, events: [] };
      return { ok: true, events: [{ type: 'VariableSettingsChanged', data: { orgId, limits, retentionDays, at: now } }] };
    }
    default:
      return exhaustive(command.type);
  }
}

export function evolveSettings(_state: VariableSettingsState, event: VariableSettingsEvent): VariableSettingsState {
  switch (event.type) {
    case 'VariableSettingsChanged':
      return { status: 'configured', orgId: event.data.orgId, limits: event.data.limits, retentionDays: event.data.retentionDays, updatedAt: event.data.at };
    default:
      return exhaustive(event.type);
  }
}

/** When the variables of a session that ended at `endedAt` are deleted under `retentionDays`; undefined: at once. */
export function retainUntil(endedAt: string, retentionDays: number): string | undefined {
  if (retentionDays <= 0) return undefined;
  return new Date(Date.parse(endedAt) + retentionDays * 86_400_000).toISOString();
}

export const variableSettingsStream = (orgId: string): string => `variablesettings-${orgId}`;

export const VARIABLE_SETTINGS_EVENT_TYPES = ['VariableSettingsChanged'] as const satisfies readonly VariableSettingsEvent['type'][];
