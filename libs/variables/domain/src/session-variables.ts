import type { EndReason, NameValue, VariableSource, VariableValue } from '@svp/contracts';
import {
  type DecisionError,
  METADATA_NAMES,
  type MappedSessionVariable,
  type MetadataName,
  SESSION_START_SET_BY,
  type SkippedVariable,
  type VariableChange,
  type VariableState,
  claimSetBy,
  exhaustive,
  isMetadataName,
  kidOfSetBy,
  own,
  revokedSetBy,
} from './common.js';
import { DEFAULT_LIMITS, type VariableLimits, countLimitError, nameTooLong, valueLimitError, valueTooLong } from './limits.js';

/**
 * The session-variables aggregate (stream `sessionvars-<orgId>.<sessionId>`): the session-scope
 * variables of one conversation and, beside them, its metadata variables (what a verified identity
 * says: providedName, providedEmail, authenticatedExternalId, authenticatedStatus), and which
 * visitor the session belongs to. All end with the session. Pure decider: time, ids and looked-up
 * facts (the org's limits and retention) come in the command.
 */

/** Who a session belongs to, from the sessions service's SessionStarted. */
export interface SessionLink {
  visitorId: string;
  channelId: string;
  brandId?: string;
}

export type SessionVariablesState =
  | { status: 'empty' }
  | {
      status: 'active';
      orgId: string;
      sessionId: string;
      /** Known once the session's start arrived from the sessions service (a PUT alone does not know it). */
      link?: SessionLink;
      /** Session scope, written by widget, API, agents, bots and mapped claims. */
      variables: Record<string, VariableState>;
      /** Metadata scope, read-only, written from verified identity only (names in METADATA_NAMES). */
      metadata: Record<string, VariableState>;
    }
  | { status: 'discarded'; orgId: string; sessionId: string; link?: SessionLink }
  /** Erased with its visitor: the stream is about to be deleted. */
  | { status: 'erased'; orgId: string; sessionId: string }
  /** Ended (or erased) and its events deleted: only the tombstone remains; nothing is written to it again. */
  | { status: 'closed'; orgId: string; sessionId: string };

export const initialState = (): SessionVariablesState => ({ status: 'empty' });

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
  | {
      /**
       * The session started (SessionStarted from the sessions service): it belongs to `visitorId`, and
       * its initial sessionVariableValues fill the names not written yet (a PUT that raced ahead is newer).
       */
      type: 'StartSessionVariables';
      data: { orgId: string; sessionId: string; visitorId: string; channelId: string; brandId?: string; values: NameValue[]; now: string };
    }
  | {
      type: 'DiscardSessionVariables';
      data: {
        orgId: string;
        sessionId: string;
        reason?: EndReason;
        /** Until when the stream is kept for audit (the org's retention); absent: deleted at once. */
        retainUntil?: string;
        now: string;
      };
    }
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
    }
  | {
      /** The signing key `kid` was revoked: what it vouched for is no longer verified. */
      type: 'UnverifyKey';
      data: { orgId: string; sessionId: string; kid: string; now: string };
    }
  | {
      /** The session's visitor is erased: the session's variables go, and then the stream is deleted. */
      type: 'EraseSessionVariables';
      data: { orgId: string; sessionId: string; erasureId: string; now: string };
    };

export type SessionVariablesEvent =
  | {
      type: 'SessionVariablesSet';
      /** `kid`: the key that verified the identity the (mapped claim) changes came from. */
      data: { orgId: string; sessionId: string; changes: VariableChange[]; setBy?: string; kid?: string; at: string };
    }
  | {
      /** The metadata variables changed (source `claim`, verified); `kid` is the key that verified the identity. */
      type: 'MetadataVariablesSet';
      data: { orgId: string; sessionId: string; changes: VariableChange[]; kid?: string; at: string };
    }
  | {
      type: 'SessionVariablesDiscarded';
      data: { orgId: string; sessionId: string; reason?: EndReason; count: number; retainUntil?: string; at: string };
    }
  | {
      type: 'SessionVariablesStarted';
      data: { orgId: string; sessionId: string; visitorId: string; channelId: string; brandId?: string; at: string };
    }
  | {
      /**
       * What the revoked key `kid` vouched for is no longer verified: each change keeps its value (but
       * `authenticatedStatus`, which turns false), with verified false and the next version.
       */
      type: 'SessionVariablesUnverified';
      data: { orgId: string; sessionId: string; kid: string; changes: VariableChange[]; metadataChanges: VariableChange[]; at: string };
    }
  | { type: 'SessionVariablesErased'; data: { orgId: string; sessionId: string; erasureId: string; at: string } }
  /**
   * The tombstone: the session's events were deleted from the event store (its session ended, or its
   * visitor was erased) and this stays in their place, holding no personal data, so that a late write
   * (an identity verified after the end, a PUT) finds the session closed instead of starting afresh.
   */
  | { type: 'SessionVariablesDeleted'; data: { orgId: string; sessionId: string; reason: 'ended' | 'erased'; at: string } };

export type Decision =
  | {
      ok: true;
      events: SessionVariablesEvent[];
      /** Mapped claims that could not be stored (the rest were). */
      skipped?: SkippedVariable[];
      /** The initial values of a started session, refused whole by the limits (the start itself is kept). */
      refused?: DecisionError;
    }
  | { ok: false; error: DecisionError };

const ok = (events: SessionVariablesEvent[], extra: { skipped?: SkippedVariable[]; refused?: DecisionError } = {}): Decision => ({
  ok: true,
  events,
  ...(extra.skipped && extra.skipped.length > 0 ? { skipped: extra.skipped } : {}),
  ...(extra.refused ? { refused: extra.refused } : {}),
});
const fail = (error: DecisionError): Decision => ({ ok: false, error });

const endedError = (sessionId: string): DecisionError => ({
  code: 'CONFLICT',
  message: `The variables of session ${sessionId} were discarded (the session ended)`,
  details: { sessionId, status: 'discarded' },
});
const closedError = (sessionId: string): DecisionError => ({
  code: 'CONFLICT',
  message: `Session ${sessionId} ended and its variables were deleted`,
  details: { sessionId, status: 'closed' },
});
const erasedError = (sessionId: string): DecisionError => ({
  code: 'CONFLICT',
  message: `The variables of session ${sessionId} are being erased with its visitor; retry in a moment to start afresh`,
  details: { sessionId, status: 'erased' },
});

export function decide(command: SessionVariablesCommand, state: SessionVariablesState, limits: VariableLimits = DEFAULT_LIMITS): Decision {
  switch (command.type) {
    case 'SetSessionVariables': {
      const { orgId, sessionId, values, source, setBy, now } = command.data;
      if (state.status === 'discarded') return fail(endedError(sessionId));
      if (state.status === 'erased') return fail(erasedError(sessionId));
      if (state.status === 'closed') return fail(closedError(sessionId));
      const reserved = values.filter((v) => isMetadataName(v.name)).map((v) => v.name);
      if (reserved.length > 0)
        return fail({ code: 'FORBIDDEN', message: `Metadata variables are read-only: ${reserved.join(', ')}`, details: { names: reserved } });
      const refused = valuesError(values, state, limits);
      if (refused) return fail(refused);
      const changes = changesOf(values, state.status === 'active' ? state.variables : {}, source);
      if (changes.length === 0) return ok([]);
      return ok([{ type: 'SessionVariablesSet', data: { orgId, sessionId, changes, ...(setBy ? { setBy } : {}), at: now } }]);
    }
    case 'StartSessionVariables': {
      const { orgId, sessionId, visitorId, channelId, brandId, values, now } = command.data;
      // A start that arrives after the end (or the erasure) changes nothing.
      if (state.status === 'discarded' || state.status === 'erased' || state.status === 'closed') return ok([]);
      const events: SessionVariablesEvent[] = [];
      if (state.status === 'empty' || !state.link)
        events.push({ type: 'SessionVariablesStarted', data: { orgId, sessionId, visitorId, channelId, ...(brandId ? { brandId } : {}), at: now } });
      const held = state.status === 'active' ? state.variables : {};
      // Metadata names cannot be session variables: refused with the rest, like any write of them.
      const fresh = values.filter((v) => !Object.hasOwn(held, v.name));
      if (fresh.length === 0) return ok(events);
      const reserved = fresh.filter((v) => isMetadataName(v.name)).map((v) => v.name);
      const refused: DecisionError | undefined =
        reserved.length > 0
          ? { code: 'FORBIDDEN', message: `Metadata variables are read-only: ${reserved.join(', ')}`, details: { names: reserved } }
          : valuesError(fresh, state, limits);
      if (refused) return ok(events, { refused });
      const changes = changesOf(fresh, held, 'widget');
      if (changes.length > 0) events.push({ type: 'SessionVariablesSet', data: { orgId, sessionId, changes, setBy: SESSION_START_SET_BY, at: now } });
      return ok(events);
    }
    case 'DiscardSessionVariables': {
      const { orgId, sessionId, reason, retainUntil, now } = command.data;
      if (state.status === 'discarded' || state.status === 'erased' || state.status === 'closed') return ok([]);
      // `count` is the session-scope variables discarded; the metadata goes with them.
      const count = state.status === 'active' ? Object.keys(state.variables).length : 0;
      return ok([
        {
          type: 'SessionVariablesDiscarded',
          data: { orgId, sessionId, ...(reason ? { reason } : {}), count, ...(retainUntil ? { retainUntil } : {}), at: now },
        },
      ]);
    }
    case 'ApplyVerifiedIdentity':
      return applyVerifiedIdentity(command.data, state, limits);
    case 'UnverifyKey': {
      const { orgId, sessionId, kid, now } = command.data;
      if (state.status !== 'active') return ok([]);
      const changes = unverifiedChanges(state.variables, kid);
      const metadataChanges = unverifiedChanges(state.metadata, kid);
      if (changes.length === 0 && metadataChanges.length === 0) return ok([]);
      return ok([{ type: 'SessionVariablesUnverified', data: { orgId, sessionId, kid, changes, metadataChanges, at: now } }]);
    }
    case 'EraseSessionVariables': {
      const { orgId, sessionId, erasureId, now } = command.data;
      // Nothing stored, erased already, or only the tombstone left: nothing to erase.
      if (state.status === 'empty' || state.status === 'erased' || state.status === 'closed') return ok([]);
      return ok([{ type: 'SessionVariablesErased', data: { orgId, sessionId, erasureId, at: now } }]);
    }
    default:
      return exhaustive(command);
  }
}

/** The first limit that `values`, written into the session's variables, would break. */
function valuesError(values: readonly NameValue[], state: SessionVariablesState, limits: VariableLimits): DecisionError | undefined {
  const tooLong = valueLimitError(
    values.map((v) => [v.name, v.value] as const),
    limits,
  );
  if (tooLong) return tooLong;
  const held = state.status === 'active' ? Object.keys(state.variables) : [];
  return countLimitError('maxSessionVariables', new Set([...held, ...values.map((v) => v.name)]).size, limits);
}

/** The changes `values` make (the last value given for a name wins; a value and source that hold are no change). */
function changesOf(values: readonly NameValue[], current: Record<string, VariableState>, source: VariableSource): VariableChange[] {
  const latest = new Map(values.map((v) => [v.name, v.value]));
  const changes: VariableChange[] = [];
  for (const [name, value] of latest) {
    const existing = own(current, name);
    if (existing && Object.is(existing.value, value) && existing.source === source) continue;
    changes.push({ name, value, source, verified: false, version: (existing?.version ?? 0) + 1 });
  }
  return changes;
}

/** The variables `kid` vouches for, as no longer verified (authenticatedStatus turns false). */
function unverifiedChanges(records: Record<string, VariableState>, kid: string): VariableChange[] {
  return Object.entries(records)
    .filter(([, v]) => v.verified && v.kid === kid)
    .map(([name, v]) => ({ name, value: name === 'authenticatedStatus' ? false : v.value, source: v.source, verified: false, version: v.version + 1 }));
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
  if (state.status !== 'empty' && state.status !== 'active') return ok([]);
  const metadata = state.status === 'active' ? state.metadata : {};
  const variables = state.status === 'active' ? state.variables : {};

  const verifiedValues: Record<MetadataName, VariableValue> = {
    providedName: name,
    providedEmail: email,
    authenticatedExternalId: externalId,
    authenticatedStatus: true,
  };
  const metadataChanges = claimChangesOf(METADATA_NAMES.map((n): [string, VariableValue] => [n, verifiedValues[n]]), metadata, kid);

  // The last value given for a name wins; names and values the session cannot hold are skipped.
  const skipped: SkippedVariable[] = [];
  const latest = new Map<string, MappedSessionVariable>();
  for (const variable of mapped) {
    if (isMetadataName(variable.name)) skipped.push({ name: variable.name, claim: variable.claim, reason: 'METADATA_NAME' });
    else if (nameTooLong(variable.name, limits)) skipped.push({ name: variable.name, claim: variable.claim, reason: 'NAME_TOO_LONG' });
    else if (valueTooLong(variable.value, limits)) skipped.push({ name: variable.name, claim: variable.claim, reason: 'VALUE_TOO_LONG' });
    else latest.set(variable.name, variable);
  }
  let held = Object.keys(variables).length;
  for (const [variableName, variable] of latest) {
    if (Object.hasOwn(variables, variableName)) continue;
    if (held < limits.maxSessionVariables) held++;
    else {
      latest.delete(variableName);
      skipped.push({ name: variableName, claim: variable.claim, reason: 'TOO_MANY_VARIABLES' });
    }
  }
  const sessionChanges = claimChangesOf([...latest].map(([n, v]): [string, VariableValue] => [n, v.value]), variables, kid);

  const events: SessionVariablesEvent[] = [];
  if (metadataChanges.length > 0)
    events.push({ type: 'MetadataVariablesSet', data: { orgId, sessionId, changes: metadataChanges, ...(kid ? { kid } : {}), at: now } });
  if (sessionChanges.length > 0)
    events.push({ type: 'SessionVariablesSet', data: { orgId, sessionId, changes: sessionChanges, setBy: claimSetBy(kid), ...(kid ? { kid } : {}), at: now } });
  return ok(events, { skipped });
}

/** Values from a verified claim that differ from what is held (value, provenance or key) are changes. */
function claimChangesOf(values: [string, VariableValue][], current: Record<string, VariableState>, kid: string | undefined): VariableChange[] {
  const changes: VariableChange[] = [];
  for (const [name, value] of values) {
    const existing = own(current, name);
    if (existing && Object.is(existing.value, value) && existing.source === 'claim' && existing.verified && existing.kid === kid) continue;
    changes.push({ name, value, source: 'claim', verified: true, version: (existing?.version ?? 0) + 1 });
  }
  return changes;
}

/** Records after `changes`: each verified change vouched for by `kid`. */
function withChanges(records: Record<string, VariableState>, changes: readonly VariableChange[], at: string, setBy: string | undefined, kid: string | undefined) {
  // Spread copies own data properties (an own '__proto__' key stays an own key).
  const next: Record<string, VariableState> = { ...records };
  for (const c of changes) {
    // Optional fields assigned, not spread from a temporary object: a replay folds millions of these.
    const record: VariableState = { value: c.value, source: c.source, verified: c.verified, version: c.version, updatedAt: at };
    if (setBy) record.setBy = setBy;
    if (c.verified && kid) record.kid = kid;
    // Defined, not assigned: no name can reach an object's prototype.
    if (c.name === '__proto__') Object.defineProperty(next, c.name, { value: record, enumerable: true, writable: true, configurable: true });
    else next[c.name] = record;
  }
  return next;
}

/** The active state after replacing its session-scope or metadata records (link and the other records kept). */
function activeWith(
  state: SessionVariablesState,
  orgId: string,
  sessionId: string,
  parts: { variables?: Record<string, VariableState>; metadata?: Record<string, VariableState> },
): SessionVariablesState {
  const active = state.status === 'active' ? state : undefined;
  const variables = parts.variables ?? active?.variables ?? {};
  const metadata = parts.metadata ?? active?.metadata ?? {};
  return active?.link
    ? { status: 'active', orgId, sessionId, link: active.link, variables, metadata }
    : { status: 'active', orgId, sessionId, variables, metadata };
}

export function evolve(state: SessionVariablesState, event: SessionVariablesEvent): SessionVariablesState {
  switch (event.type) {
    case 'SessionVariablesSet': {
      const { orgId, sessionId, changes, setBy, at } = event.data;
      if (state.status !== 'empty' && state.status !== 'active') return state;
      const variables = state.status === 'active' ? state.variables : {};
      return activeWith(state, orgId, sessionId, { variables: withChanges(variables, changes, at, setBy, event.data.kid ?? kidOfSetBy(setBy)) });
    }
    case 'MetadataVariablesSet': {
      const { orgId, sessionId, changes, kid, at } = event.data;
      if (state.status !== 'empty' && state.status !== 'active') return state;
      const metadata = state.status === 'active' ? state.metadata : {};
      return activeWith(state, orgId, sessionId, { metadata: withChanges(metadata, changes, at, claimSetBy(kid), kid) });
    }
    case 'SessionVariablesStarted': {
      const { orgId, sessionId, visitorId, channelId, brandId } = event.data;
      if (state.status !== 'empty' && state.status !== 'active') return state;
      const link: SessionLink = { visitorId, channelId, ...(brandId ? { brandId } : {}) };
      return state.status === 'active' ? { ...state, link } : { status: 'active', orgId, sessionId, link, variables: {}, metadata: {} };
    }
    case 'SessionVariablesUnverified': {
      if (state.status !== 'active') return state;
      const { kid, changes, metadataChanges, at } = event.data;
      return {
        ...state,
        variables: withChanges(state.variables, changes, at, revokedSetBy(kid), undefined),
        metadata: withChanges(state.metadata, metadataChanges, at, revokedSetBy(kid), undefined),
      };
    }
    case 'SessionVariablesDiscarded': {
      if (state.status === 'erased' || state.status === 'closed') return state;
      const link = state.status === 'active' || state.status === 'discarded' ? state.link : undefined;
      return { status: 'discarded', orgId: event.data.orgId, sessionId: event.data.sessionId, ...(link ? { link } : {}) };
    }
    case 'SessionVariablesErased':
      return { status: 'erased', orgId: event.data.orgId, sessionId: event.data.sessionId };
    case 'SessionVariablesDeleted':
      return { status: 'closed', orgId: event.data.orgId, sessionId: event.data.sessionId };
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
export const SESSION_VARIABLES_EVENT_TYPES = [
  'SessionVariablesSet',
  'MetadataVariablesSet',
  'SessionVariablesDiscarded',
  'SessionVariablesStarted',
  'SessionVariablesUnverified',
  'SessionVariablesErased',
  'SessionVariablesDeleted',
] as const satisfies readonly SessionVariablesEvent['type'][];
// Compile-time check that every event of the union is registered above.
const _everyEventTypeRegistered: Exclude<SessionVariablesEvent['type'], (typeof SESSION_VARIABLES_EVENT_TYPES)[number]> extends never ? true : never = true;
