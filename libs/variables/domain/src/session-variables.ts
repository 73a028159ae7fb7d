import type { NameValue, VariableSource, VariableValue } from '@svp/contracts';

/**
 * The session-variables aggregate (stream `sessionvars-<orgId>.<sessionId>`): the session-scope
 * variables of one conversation and, beside them, its metadata variables (what a verified identity
 * says: providedName, providedEmail, authenticatedExternalId, authenticatedStatus). Both end with the
 * session. Pure decider: time, ids and looked-up facts come in the command.
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
  | {
      status: 'active';
      orgId: string;
      sessionId: string;
      /** Session scope, written by widget, API, agents, bots and mapped claims. */
      variables: Record<string, VariableState>;
      /** Metadata scope, read-only, written from verified identity only (names in METADATA_NAMES). */
      metadata: Record<string, VariableState>;
    }
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
export type MetadataName = (typeof METADATA_NAMES)[number];

/**
 * The metadata of a session nobody authenticated: `authenticatedStatus` is always true or false,
 * never empty; the others are empty (null) until an identity is verified.
 */
export const UNAUTHENTICATED_METADATA: Readonly<Record<MetadataName, VariableValue>> = {
  providedName: null,
  providedEmail: null,
  authenticatedExternalId: null,
  authenticatedStatus: false,
};

const isMetadataName = (name: string): name is MetadataName => (METADATA_NAMES as readonly string[]).includes(name);

/** A session-scope variable produced from a verified claim by the org's claim mapping. */
export interface MappedSessionVariable {
  name: string;
  value: VariableValue;
  /** The claim it was read from. */
  claim: string;
}

/** `setBy` of what a verified claim wrote: the key that verified it, when known. */
export const claimSetBy = (kid: string | undefined): string => (kid ? `claim:${kid}` : 'claim');

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
  | { type: 'DiscardSessionVariables'; data: { orgId: string; sessionId: string; reason?: string; now: string } }
  | {
      /** An identity was verified for the session (a failed verification is no command: it changes nothing). */
      type: 'ApplyVerifiedIdentity';
      data: {
        orgId: string;
        sessionId: string;
        /** The signing key that verified the token. */
        kid?: string;
        externalId: string | null;
        name: string | null;
        email: string | null;
        /** Session-scope variables from the org's claim mapping. */
        mapped: MappedSessionVariable[];
        now: string;
      };
    };

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
  | {
      /** The metadata variables changed (source `claim`, verified); `kid` is the key that verified the identity. */
      type: 'MetadataVariablesSet';
      data: { orgId: string; sessionId: string; changes: VariableChange[]; kid?: string; at: string };
    }
  | { type: 'SessionVariablesDiscarded'; data: { orgId: string; sessionId: string; reason?: string; count: number; at: string } };

export type DecisionError =
  | { code: 'LIMIT_EXCEEDED'; message: string; details: Record<string, unknown> }
  | { code: 'FORBIDDEN'; message: string; details: Record<string, unknown> }
  | { code: 'CONFLICT'; message: string; details: Record<string, unknown> };

/**
 * A mapped claim variable that was not stored, and why: a metadata name (read-only), a value longer
 * than the limit, or one variable too many for the session. A verified identity is never refused
 * for it (its metadata still holds); the caller reports these.
 */
export interface SkippedVariable {
  name: string;
  claim: string;
  reason: 'METADATA_NAME' | 'VALUE_TOO_LONG' | 'TOO_MANY_VARIABLES';
}

export type Decision =
  | { ok: true; events: SessionVariablesEvent[]; skipped?: SkippedVariable[] }
  | { ok: false; error: DecisionError };

const ok = (events: SessionVariablesEvent[], skipped: SkippedVariable[] = []): Decision =>
  skipped.length > 0 ? { ok: true, events, skipped } : { ok: true, events };
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
      const reserved = values.filter((v) => isMetadataName(v.name)).map((v) => v.name);
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
      // `count` is the session-scope variables discarded; the metadata goes with them.
      const count = state.status === 'active' ? Object.keys(state.variables).length : 0;
      return ok([{ type: 'SessionVariablesDiscarded', data: { orgId, sessionId, ...(reason ? { reason } : {}), count, at: now } }]);
    }
    case 'ApplyVerifiedIdentity':
      return applyVerifiedIdentity(command.data, state, limits);
    default:
      return exhaustive(command);
  }
}

/**
 * A verified identity becomes the session's metadata (source `claim`, verified) and its mapped
 * session variables. Only what differs from the current state is a change, so the same identity
 * again (a redelivered event) decides `[]`. A session that ended keeps nothing: `[]`, not an error.
 */
function applyVerifiedIdentity(
  data: Extract<SessionVariablesCommand, { type: 'ApplyVerifiedIdentity' }>['data'],
  state: SessionVariablesState,
  limits: VariableLimits,
): Decision {
  const { orgId, sessionId, kid, externalId, name, email, mapped, now } = data;
  if (state.status === 'discarded') return ok([]);
  const metadata = state.status === 'active' ? state.metadata : {};
  const variables = state.status === 'active' ? state.variables : {};

  const verifiedValues: Record<MetadataName, VariableValue> = {
    providedName: name,
    providedEmail: email,
    authenticatedExternalId: externalId,
    authenticatedStatus: true,
  };
  const metadataChanges = changesOf(METADATA_NAMES.map((n): [string, VariableValue] => [n, verifiedValues[n]]), metadata);

  // The last value given for a name wins; names and values the session cannot hold are skipped.
  const skipped: SkippedVariable[] = [];
  const latest = new Map<string, MappedSessionVariable>();
  for (const variable of mapped) {
    if (isMetadataName(variable.name)) skipped.push({ name: variable.name, claim: variable.claim, reason: 'METADATA_NAME' });
    else if (typeof variable.value === 'string' && utf8Length(variable.value) > limits.maxValueBytes)
      skipped.push({ name: variable.name, claim: variable.claim, reason: 'VALUE_TOO_LONG' });
    else latest.set(variable.name, variable);
  }
  let held = Object.keys(variables).length;
  for (const [variableName, variable] of latest) {
    if (Object.hasOwn(variables, variableName)) continue;
    if (held < limits.maxVariables) held++;
    else {
      latest.delete(variableName);
      skipped.push({ name: variableName, claim: variable.claim, reason: 'TOO_MANY_VARIABLES' });
    }
  }
  const sessionChanges = changesOf([...latest].map(([n, v]): [string, VariableValue] => [n, v.value]), variables);

  const events: SessionVariablesEvent[] = [];
  if (metadataChanges.length > 0)
    events.push({ type: 'MetadataVariablesSet', data: { orgId, sessionId, changes: metadataChanges, ...(kid ? { kid } : {}), at: now } });
  if (sessionChanges.length > 0)
    events.push({ type: 'SessionVariablesSet', data: { orgId, sessionId, changes: sessionChanges, setBy: claimSetBy(kid), at: now } });
  return ok(events, skipped);
}

/** Values from a verified claim that differ from what is held (value, or provenance) are changes. */
function changesOf(values: [string, VariableValue][], current: Record<string, VariableState>): VariableChange[] {
  const changes: VariableChange[] = [];
  for (const [name, value] of values) {
    const existing = Object.hasOwn(current, name) ? current[name] : undefined;
    if (existing && Object.is(existing.value, value) && existing.source === 'claim' && existing.verified) continue;
    changes.push({ name, value, source: 'claim', verified: true, version: (existing?.version ?? 0) + 1 });
  }
  return changes;
}

export function evolve(state: SessionVariablesState, event: SessionVariablesEvent): SessionVariablesState {
  switch (event.type) {
    case 'SessionVariablesSet': {
      const { orgId, sessionId, changes, setBy, at } = event.data;
      if (state.status === 'discarded') return state;
      const variables = { ...(state.status === 'active' ? state.variables : {}) };
      for (const c of changes)
        variables[c.name] = { value: c.value, source: c.source, verified: c.verified, version: c.version, updatedAt: at, ...(setBy ? { setBy } : {}) };
      return { status: 'active', orgId, sessionId, variables, metadata: state.status === 'active' ? state.metadata : {} };
    }
    case 'MetadataVariablesSet': {
      const { orgId, sessionId, changes, kid, at } = event.data;
      if (state.status === 'discarded') return state;
      const metadata = { ...(state.status === 'active' ? state.metadata : {}) };
      for (const c of changes)
        metadata[c.name] = { value: c.value, source: c.source, verified: c.verified, version: c.version, updatedAt: at, setBy: claimSetBy(kid) };
      return { status: 'active', orgId, sessionId, variables: state.status === 'active' ? state.variables : {}, metadata };
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
export const SESSION_VARIABLES_EVENT_TYPES = ['SessionVariablesSet', 'MetadataVariablesSet', 'SessionVariablesDiscarded'] as const satisfies readonly SessionVariablesEvent['type'][];
// Compile-time check that every event of the union is registered above.
const _everyEventTypeRegistered: Exclude<SessionVariablesEvent['type'], (typeof SESSION_VARIABLES_EVENT_TYPES)[number]> extends never ? true : never = true;

function exhaustive(value: never): never {
  throw new Error(`Unhandled: ${JSON.stringify(value)}`);
}

const encoder = new TextEncoder();
const utf8Length = (value: string): number => encoder.encode(value).length;
