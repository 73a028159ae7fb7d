import type { NameValue, VariableSource, VariableValue } from '@svp/contracts';

/**
 * The session-variables aggregate (stream `sessionvars-<sessionId>`): the session-scope variables of
 * one conversation. Pure decider: time, ids and looked-up facts come in the command.
 */

export interface VariableState {
  value: VariableValue;
  source: VariableSource;
  verified: boolean;
  version: number;
  updatedAt: string;
  setBy?: string;
}

export type SessionVariablesState =
  | { status: 'empty' }
  | { status: 'active'; orgId: string; sessionId: string; variables: Record<string, VariableState> }
  | { status: 'discarded'; orgId: string; sessionId: string };

export const initialState = (): SessionVariablesState => ({ status: 'empty' });

export interface VariableLimits {
  /** Most session-scope variables a session may hold. */
  maxVariables: number;
  /** Longest string value, in UTF-8 bytes. */
  maxValueBytes: number;
}
export const DEFAULT_LIMITS: VariableLimits = { maxVariables: 100, maxValueBytes: 4096 };

/** Names the metadata scope owns: only identity writes them. */
export const METADATA_NAMES = ['providedName', 'providedEmail', 'authenticatedExternalId', 'authenticatedStatus'] as const;

export type SessionVariablesCommand =
  | {
      type: 'SetSessionVariables';
      data: {
        orgId: string;
        sessionId: string;
        values: NameValue[];
        source: Extract<VariableSource, 'widget' | 'api' | 'agent' | 'bot'>;
        setBy?: string;
        now: string;
      };
    }
  | { type: 'DiscardSessionVariables'; data: { orgId: string; sessionId: string; reason?: string; now: string } };

export interface VariableChange {
  name: string;
  value: VariableValue;
  source: VariableSource;
  verified: boolean;
  version: number;
}

export type SessionVariablesEvent =
  | {
      type: 'SessionVariablesSet';
      data: { orgId: string; sessionId: string; changes: VariableChange[]; setBy?: string; at: string };
    }
  | { type: 'SessionVariablesDiscarded'; data: { orgId: string; sessionId: string; reason?: string; count: number; at: string } };

export type DecisionError =
  | { code: 'LIMIT_EXCEEDED'; message: string; details: Record<string, unknown> }
  | { code: 'FORBIDDEN'; message: string; details: Record<string, unknown> }
  | { code: 'CONFLICT'; message: string; details: Record<string, unknown> };

export type Decision = { ok: true; events: SessionVariablesEvent[] } | { ok: false; error: DecisionError };

const ok = (events: SessionVariablesEvent[]): Decision => ({ ok: true, events });
const fail = (error: DecisionError): Decision => ({ ok: false, error });

export function decide(
  command: SessionVariablesCommand,
  state: SessionVariablesState,
  limits: VariableLimits = DEFAULT_LIMITS,
): Decision {
  switch (command.type) {
    case 'SetSessionVariables': {
      const { orgId, sessionId, values, source, setBy, now } = command.data;
      if (state.status === 'discarded')
        return fail({ code: 'CONFLICT', message: `The variables of session ${sessionId} were discarded (the session ended)`, details: { sessionId } });
      const reserved = values.filter((v) => (METADATA_NAMES as readonly string[]).includes(v.name)).map((v) => v.name);
      if (reserved.length > 0)
        return fail({ code: 'FORBIDDEN', message: `Metadata variables are read-only: ${reserved.join(', ')}`, details: { names: reserved } });
      for (const { name, value } of values)
        if (typeof value === 'string' && utf8Length(value) > limits.maxValueBytes)
          return fail({ code: 'LIMIT_EXCEEDED', message: `Value of '${name}' is longer than ${limits.maxValueBytes} bytes`, details: { name, maxValueBytes: limits.maxValueBytes } });
      const current = state.status === 'active' ? state.variables : {};
      // The last value given for a name wins; values equal to the current one are no change.
      const latest = new Map(values.map((v) => [v.name, v.value]));
      const changes: VariableChange[] = [];
      for (const [name, value] of latest) {
        const existing = current[name];
        if (existing && Object.is(existing.value, value) && existing.source === source) continue;
        changes.push({ name, value, source, verified: false, version: (existing?.version ?? 0) + 1 });
      }
      const count = new Set([...Object.keys(current), ...latest.keys()]).size;
      if (count > limits.maxVariables)
        return fail({ code: 'LIMIT_EXCEEDED', message: `A session holds at most ${limits.maxVariables} session variables`, details: { maxVariables: limits.maxVariables, wouldHold: count } });
      if (changes.length === 0) return ok([]);
      return ok([{ type: 'SessionVariablesSet', data: { orgId, sessionId, changes, ...(setBy ? { setBy } : {}), at: now } }]);
    }
    case 'DiscardSessionVariables': {
      const { orgId, sessionId, reason, now } = command.data;
      if (state.status === 'discarded') return ok([]);
      const count = state.status === 'active' ? Object.keys(state.variables).length : 0;
      return ok([{ type: 'SessionVariablesDiscarded', data: { orgId, sessionId, ...(reason ? { reason } : {}), count, at: now } }]);
    }
    default:
      return exhaustive(command);
  }
}

export function evolve(state: SessionVariablesState, event: SessionVariablesEvent): SessionVariablesState {
  switch (event.type) {
    case 'SessionVariablesSet': {
      const { orgId, sessionId, changes, setBy, at } = event.data;
      if (state.status === 'discarded') return state;
      const variables = { ...(state.status === 'active' ? state.variables : {}) };
      for (const c of changes)
        variables[c.name] = { value: c.value, source: c.source, verified: c.verified, version: c.version, updatedAt: at, ...(setBy ? { setBy } : {}) };
      return { status: 'active', orgId, sessionId, variables };
    }
    case 'SessionVariablesDiscarded':
      return { status: 'discarded', orgId: event.data.orgId, sessionId: event.data.sessionId };
    default:
      return exhaustive(event);
  }
}

/**
 * Stream of one session's variables. Session ids are chosen by clients, so each org has its own
 * namespace: the stream carries the org id too (`.` cannot occur in either id).
 */
export const sessionVariablesStream = (orgId: string, sessionId: string): string => `sessionvars-${sessionKey(orgId, sessionId)}`;

/** The key of one org's session (read-model id, stream id): `<orgId>.<sessionId>`. */
export const sessionKey = (orgId: string, sessionId: string): string => `${orgId}.${sessionId}`;

/** Event type names as stored; registered once here, never derived from class names. */
export const SESSION_VARIABLES_EVENT_TYPES = ['SessionVariablesSet', 'SessionVariablesDiscarded'] as const;

function exhaustive(value: never): never {
  throw new Error(`Unhandled: ${JSON.stringify(value)}`);
}

const encoder = new TextEncoder();
const utf8Length = (value: string): number => encoder.encode(value).length;
