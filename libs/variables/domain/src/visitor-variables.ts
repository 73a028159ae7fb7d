import type { VariableSource, VariableValue } from '@svp/contracts';
import {
  type DecisionError,
  type MappedSessionVariable,
  type SkippedVariable,
  type VariableChange,
  type VariableState,
  claimSetBy,
  exhaustive,
  isMetadataName,
  own,
  revokedSetBy,
} from './common.js';
import { DEFAULT_LIMITS, type VariableLimits, countLimitError, nameTooLong, valueLimitError, valueTooLong } from './limits.js';

/**
 * The visitor-variables aggregate (stream `visitorvars-<orgId>.<visitorId>`), giosg style: what the
 * business's page, back-end or a verified claim says about one visitor, across their sessions.
 * `submit(data, signing, replaceExisting, rooms)`: plain data is unverified, signed data (a JWT the
 * identity service checked) is verified; `replaceExisting` false merges by key, true replaces every
 * earlier variable; `rooms` limits the data to some rooms; the key `username` is the visitor's
 * display name ("Visitor" before). Pure decider: time, ids and looked-up facts (the signature
 * check's outcome, the org's limits) come in the command.
 */

/** A room a variable is limited to, by its id or by its name (as the submit named it). */
export type RoomRef = { id: string } | { name: string };

/** One visitor variable: its value and provenance, and the rooms it is limited to (none: every room). */
export interface VisitorVariableState extends VariableState {
  rooms?: RoomRef[];
}

export type VisitorVariablesState =
  | { status: 'unknown' }
  | {
      status: 'known';
      orgId: string;
      visitorId: string;
      /** The value of `username` as text, "Visitor" while there is none. */
      displayName: string;
      variables: Record<string, VisitorVariableState>;
      /**
       * The last version of each name a replace removed: a name that comes back goes on counting, so
       * a variable's versions never repeat in its history.
       */
      retired: Record<string, number>;
      /** The visitor's sessions, oldest first (what an erasure of the visitor erases with them). */
      sessions: string[];
    }
  /** Erased: the stream is about to be deleted. */
  | { status: 'erased'; orgId: string; visitorId: string };

export const initialVisitorVariablesState = (): VisitorVariablesState => ({ status: 'unknown' });

/** The display name of a visitor with no `username`. */
export const DEFAULT_DISPLAY_NAME = 'Visitor';
/** The key whose value is the visitor's display name. */
export const DISPLAY_NAME_VARIABLE = 'username';

/** The display name a `username` value gives: its text; "Visitor" for none, null or an empty string. */
export const displayNameOf = (username: VariableValue | undefined): string =>
  username === undefined || username === null || username === '' ? DEFAULT_DISPLAY_NAME : String(username);

/** Where visitor data can come from: the widget, the API (plain) or a signed JWT. Claims have their own command. */
export type VisitorSubmitSource = Extract<VariableSource, 'widget' | 'api' | 'signed'>;

export type VisitorVariablesCommand =
  | {
      type: 'SubmitVisitorVariables';
      data: {
        orgId: string;
        visitorId: string;
        /** Name → value; names are VariableName-valid (checked at the edge). */
        data: Record<string, VariableValue>;
        source: VisitorSubmitSource;
        /** True only for signed data whose signature verified (never for another source). */
        verified: boolean;
        /** The signing key of signed data. */
        kid?: string;
        replaceExisting: boolean;
        /** Limits the data to these rooms; none (or an empty list): every room. */
        rooms?: RoomRef[];
        /** Who submitted it (an API key id). */
        setBy?: string;
        now: string;
      };
    }
  | {
      /** Visitor-scope variables from the org's claim mapping, for a verified identity (source `claim`, verified). */
      type: 'ApplyClaimVariables';
      data: {
        orgId: string;
        visitorId: string;
        /** The session whose verification produced them. */
        sessionId: string;
        /** The signing key that verified the identity. */
        kid?: string;
        values: MappedSessionVariable[];
        now: string;
      };
    }
  | {
      /** The signing key `kid` was revoked: what it signed, or verified the claims of, is no longer verified. */
      type: 'UnverifyKey';
      data: { orgId: string; visitorId: string; kid: string; now: string };
    }
  | {
      /** The visitor is erased: their variables go, and then the stream is deleted. */
      type: 'EraseVisitorVariables';
      data: { orgId: string; visitorId: string; erasureId: string; now: string };
    }
  | {
      /** A session of the visitor started (SessionStarted from the sessions service). */
      type: 'LinkSession';
      data: { orgId: string; visitorId: string; sessionId: string; now: string };
    };

/** A change of one visitor variable, with the rooms it is limited to. */
export interface VisitorVariableChange extends VariableChange {
  rooms?: RoomRef[];
}

export type VisitorVariablesEvent =
  | {
      type: 'VisitorVariablesSubmitted';
      data: {
        orgId: string;
        visitorId: string;
        replaceExisting: boolean;
        /** The variables whose value or provenance changed (a resubmitted value that holds is not one). */
        changes: VisitorVariableChange[];
        /** Names an earlier submit held that this one (replaceExisting) removed. */
        removed: string[];
        /** The new display name, when it changed. */
        displayName?: string;
        kid?: string;
        setBy?: string;
        at: string;
      };
    }
  | {
      type: 'VisitorClaimVariablesApplied';
      data: {
        orgId: string;
        visitorId: string;
        sessionId: string;
        changes: VisitorVariableChange[];
        displayName?: string;
        kid?: string;
        at: string;
      };
    }
  | {
      /** What the revoked key `kid` vouched for, with verified false and the next version (values and rooms kept). */
      type: 'VisitorVariablesUnverified';
      data: { orgId: string; visitorId: string; kid: string; changes: VisitorVariableChange[]; at: string };
    }
  | { type: 'VisitorVariablesErased'; data: { orgId: string; visitorId: string; erasureId: string; at: string } }
  /**
   * A session of the visitor started. Kept in the visitor's stream, which outlives the sessions'
   * own (deleted when they end), so that an erasure of the visitor finds every session they had.
   */
  | { type: 'VisitorSessionLinked'; data: { orgId: string; visitorId: string; sessionId: string; at: string } };

export type VisitorDecision =
  | { ok: true; events: VisitorVariablesEvent[]; skipped?: SkippedVariable[] }
  | { ok: false; error: DecisionError };

const ok = (events: VisitorVariablesEvent[], skipped: SkippedVariable[] = []): VisitorDecision =>
  skipped.length > 0 ? { ok: true, events, skipped } : { ok: true, events };
const fail = (error: DecisionError): VisitorDecision => ({ ok: false, error });

export function decideVisitorVariables(
  command: VisitorVariablesCommand,
  state: VisitorVariablesState,
  limits: VariableLimits = DEFAULT_LIMITS,
): VisitorDecision {
  switch (command.type) {
    case 'SubmitVisitorVariables':
      return submit(command.data, state, limits);
    case 'ApplyClaimVariables':
      return applyClaims(command.data, state, limits);
    case 'UnverifyKey': {
      const { orgId, visitorId, kid, now } = command.data;
      if (state.status !== 'known') return ok([]);
      const changes = Object.entries(state.variables)
        .filter(([, v]) => v.verified && v.kid === kid)
        .map(([name, v]): VisitorVariableChange => ({
          name,
          value: v.value,
          source: v.source,
          verified: false,
          version: v.version + 1,
          ...(v.rooms ? { rooms: v.rooms } : {}),
        }));
      if (changes.length === 0) return ok([]);
      return ok([{ type: 'VisitorVariablesUnverified', data: { orgId, visitorId, kid, changes, at: now } }]);
    }
    case 'EraseVisitorVariables': {
      const { orgId, visitorId, erasureId, now } = command.data;
      if (state.status !== 'known') return ok([]);
      return ok([{ type: 'VisitorVariablesErased', data: { orgId, visitorId, erasureId, at: now } }]);
    }
    case 'LinkSession': {
      const { orgId, visitorId, sessionId, now } = command.data;
      // The visitor is being erased: the session belongs to whoever the visitor is once that is done
      // (the caller retries); linked already (a redelivery): nothing.
      if (state.status === 'erased')
        return fail({ code: 'CONFLICT', message: `Visitor ${visitorId} is being erased; link the session once that is done`, details: { visitorId, status: 'erased' } });
      if (state.status === 'known' && state.sessions.includes(sessionId)) return ok([]);
      return ok([{ type: 'VisitorSessionLinked', data: { orgId, visitorId, sessionId, at: now } }]);
    }
    default:
      return exhaustive(command);
  }
}

/**
 * A submit: merge (same key overwrites) or replace everything. Refused whole, nothing partly kept,
 * when it writes a metadata name (read-only, identity's), a name or value past the limits, or would
 * leave the visitor with more variables than the limit. A submit whose effect already holds decides `[]`.
 */
function submit(
  data: Extract<VisitorVariablesCommand, { type: 'SubmitVisitorVariables' }>['data'],
  state: VisitorVariablesState,
  limits: VariableLimits,
): VisitorDecision {
  const { orgId, visitorId, source, kid, replaceExisting, setBy, now } = data;
  if (state.status === 'erased')
    return fail({
      code: 'CONFLICT',
      message: `Visitor ${visitorId} is being erased; retry in a moment to start afresh`,
      details: { visitorId, status: 'erased' },
    });
  const values = Object.entries(data.data);
  const reserved = values.map(([name]) => name).filter(isMetadataName);
  if (reserved.length > 0)
    return fail({ code: 'FORBIDDEN', message: `Metadata variables are read-only: ${reserved.join(', ')}`, details: { names: reserved } });
  const tooLong = valueLimitError(values, limits);
  if (tooLong) return fail(tooLong);

  const current = state.status === 'known' ? state.variables : {};
  const retired = state.status === 'known' ? state.retired : {};
  const given = new Set(values.map(([name]) => name));
  const wouldHold = replaceExisting ? given.size : new Set([...Object.keys(current), ...given]).size;
  const tooMany = countLimitError('maxVisitorVariables', wouldHold, limits);
  if (tooMany) return fail(tooMany);

  const verified = source === 'signed' && data.verified;
  const rooms = normalizeRooms(data.rooms);
  const incoming = { source, verified, ...(verified && kid ? { kid } : {}), ...(rooms ? { rooms } : {}) };
  const changes = changesOf(values, current, retired, incoming);
  const removed = replaceExisting ? Object.keys(current).filter((name) => !given.has(name)) : [];
  if (changes.length === 0 && removed.length === 0) return ok([]);

  const displayName = nextDisplayName(state, changes, removed);
  return ok([
    {
      type: 'VisitorVariablesSubmitted',
      data: {
        orgId,
        visitorId,
        replaceExisting,
        changes,
        removed,
        ...(displayName !== undefined ? { displayName } : {}),
        ...(verified && kid ? { kid } : {}),
        ...(setBy ? { setBy } : {}),
        at: now,
      },
    },
  ]);
}

/**
 * Mapped claims of a verified identity: merged into the visitor's variables (source `claim`,
 * verified, every room). Never refused: what the visitor cannot hold (a metadata name, a name or
 * value past the limits, one variable too many) is skipped and named. The same claims again (a
 * redelivered event) decide `[]`.
 */
function applyClaims(
  data: Extract<VisitorVariablesCommand, { type: 'ApplyClaimVariables' }>['data'],
  state: VisitorVariablesState,
  limits: VariableLimits,
): VisitorDecision {
  const { orgId, visitorId, sessionId, kid, values, now } = data;
  if (state.status === 'erased') return ok([]);
  const current = state.status === 'known' ? state.variables : {};
  const retired = state.status === 'known' ? state.retired : {};

  // The last value given for a name wins; names and values the visitor cannot hold are skipped.
  const skipped: SkippedVariable[] = [];
  const latest = new Map<string, MappedSessionVariable>();
  for (const variable of values) {
    if (isMetadataName(variable.name)) skipped.push({ name: variable.name, claim: variable.claim, reason: 'METADATA_NAME' });
    else if (nameTooLong(variable.name, limits)) skipped.push({ name: variable.name, claim: variable.claim, reason: 'NAME_TOO_LONG' });
    else if (valueTooLong(variable.value, limits)) skipped.push({ name: variable.name, claim: variable.claim, reason: 'VALUE_TOO_LONG' });
    else latest.set(variable.name, variable);
  }
  let held = Object.keys(current).length;
  for (const [name, variable] of latest) {
    if (Object.hasOwn(current, name)) continue;
    if (held < limits.maxVisitorVariables) held++;
    else {
      latest.delete(name);
      skipped.push({ name, claim: variable.claim, reason: 'TOO_MANY_VARIABLES' });
    }
  }

  const incoming = { source: 'claim' as const, verified: true, ...(kid ? { kid } : {}) };
  const changes = changesOf([...latest].map(([name, v]): [string, VariableValue] => [name, v.value]), current, retired, incoming);
  if (changes.length === 0) return ok([], skipped);
  const displayName = nextDisplayName(state, changes, []);
  return ok(
    [
      {
        type: 'VisitorClaimVariablesApplied',
        data: {
          orgId,
          visitorId,
          sessionId,
          changes,
          ...(displayName !== undefined ? { displayName } : {}),
          ...(kid ? { kid } : {}),
          at: now,
        },
      },
    ],
    skipped,
  );
}

interface Provenance {
  source: VariableSource;
  verified: boolean;
  kid?: string;
  rooms?: RoomRef[];
}

/** Values that differ from what is held (value, source, verification, signing key or rooms) are changes. */
function changesOf(
  values: readonly [string, VariableValue][],
  current: Record<string, VisitorVariableState>,
  retired: Record<string, number>,
  incoming: Provenance,
): VisitorVariableChange[] {
  const changes: VisitorVariableChange[] = [];
  for (const [name, value] of values) {
    const existing = own(current, name);
    if (
      existing &&
      Object.is(existing.value, value) &&
      existing.source === incoming.source &&
      existing.verified === incoming.verified &&
      existing.kid === incoming.kid &&
      sameRooms(existing.rooms, incoming.rooms)
    )
      continue;
    const version = (existing?.version ?? own(retired, name) ?? 0) + 1;
    changes.push({ name, value, source: incoming.source, verified: incoming.verified, version, ...(incoming.rooms ? { rooms: incoming.rooms } : {}) });
  }
  return changes;
}

/** The display name after these changes, or undefined when it stays what it was. */
function nextDisplayName(state: VisitorVariablesState, changes: readonly VisitorVariableChange[], removed: readonly string[]): string | undefined {
  const before = state.status === 'known' ? state.displayName : DEFAULT_DISPLAY_NAME;
  const change = changes.find((c) => c.name === DISPLAY_NAME_VARIABLE);
  const after = change ? displayNameOf(change.value) : removed.includes(DISPLAY_NAME_VARIABLE) ? DEFAULT_DISPLAY_NAME : before;
  return after === before ? undefined : after;
}

export function evolveVisitorVariables(state: VisitorVariablesState, event: VisitorVariablesEvent): VisitorVariablesState {
  switch (event.type) {
    case 'VisitorVariablesSubmitted':
    case 'VisitorClaimVariablesApplied': {
      const { orgId, visitorId, changes, displayName, kid, at } = event.data;
      const known = state.status === 'known' ? state : undefined;
      const removed = event.type === 'VisitorVariablesSubmitted' ? event.data.removed : [];
      const setBy = event.type === 'VisitorVariablesSubmitted' ? event.data.setBy : claimSetBy(kid);
      const variables = new Map(Object.entries(known?.variables ?? {}));
      const retired = new Map(Object.entries(known?.retired ?? {}));
      for (const name of removed) {
        const gone = variables.get(name);
        if (gone) retired.set(name, gone.version);
        variables.delete(name);
      }
      for (const c of changes) {
        retired.delete(c.name);
        variables.set(c.name, {
          value: c.value,
          source: c.source,
          verified: c.verified,
          version: c.version,
          updatedAt: at,
          ...(setBy ? { setBy } : {}),
          ...(c.verified && kid ? { kid } : {}),
          ...(c.rooms ? { rooms: c.rooms } : {}),
        });
      }
      return {
        status: 'known',
        orgId,
        visitorId,
        displayName: displayName ?? known?.displayName ?? DEFAULT_DISPLAY_NAME,
        // Object.fromEntries defines own properties: no name can reach an object's prototype.
        variables: Object.fromEntries(variables),
        retired: Object.fromEntries(retired),
        sessions: known?.sessions ?? [],
      };
    }
    case 'VisitorSessionLinked': {
      if (state.status === 'erased') return state;
      const { orgId, visitorId, sessionId } = event.data;
      const known = state.status === 'known' ? state : undefined;
      return {
        status: 'known',
        orgId,
        visitorId,
        displayName: known?.displayName ?? DEFAULT_DISPLAY_NAME,
        variables: known?.variables ?? {},
        retired: known?.retired ?? {},
        sessions: known?.sessions.includes(sessionId) ? known.sessions : [...(known?.sessions ?? []), sessionId],
      };
    }
    case 'VisitorVariablesUnverified': {
      if (state.status !== 'known') return state;
      const { kid, changes, at } = event.data;
      const variables = new Map(Object.entries(state.variables));
      for (const c of changes) {
        const existing = variables.get(c.name);
        variables.set(c.name, {
          value: c.value,
          source: c.source,
          verified: false,
          version: c.version,
          updatedAt: at,
          setBy: revokedSetBy(kid),
          ...(existing?.rooms ? { rooms: existing.rooms } : {}),
        });
      }
      return { ...state, variables: Object.fromEntries(variables) };
    }
    case 'VisitorVariablesErased':
      return { status: 'erased', orgId: event.data.orgId, visitorId: event.data.visitorId };
    default:
      return exhaustive(event);
  }
}

/** The id or the name a room reference names (what a read asking for a room is compared with). */
export const roomLabel = (room: RoomRef): string => ('id' in room ? room.id : room.name);

/**
 * Whether a variable limited to `rooms` is visible to a read that names `readRooms` (ids or names):
 * a variable without rooms is visible everywhere; one with rooms only to a read naming one of them.
 */
export function visibleInRooms(rooms: readonly RoomRef[] | undefined, readRooms: readonly string[]): boolean {
  if (!rooms || rooms.length === 0) return true;
  return rooms.some((room) => readRooms.includes(roomLabel(room)));
}

const roomKey = (room: RoomRef): string => ('id' in room ? `id:${room.id}` : `name:${room.name}`);

/** Rooms as stored: each once, in the order given; an empty list is no limit. */
function normalizeRooms(rooms: readonly RoomRef[] | undefined): RoomRef[] | undefined {
  if (!rooms || rooms.length === 0) return undefined;
  const seen = new Set<string>();
  const unique: RoomRef[] = [];
  for (const room of rooms) {
    const key = roomKey(room);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push('id' in room ? { id: room.id } : { name: room.name });
  }
  return unique;
}

function sameRooms(a: readonly RoomRef[] | undefined, b: readonly RoomRef[] | undefined): boolean {
  const left = (a ?? []).map(roomKey).sort();
  const right = (b ?? []).map(roomKey).sort();
  return left.length === right.length && left.every((key, i) => key === right[i]);
}

/** Stream of one visitor's variables; visitor ids are the org's own, so the stream carries the org id. */
export const visitorVariablesStream = (orgId: string, visitorId: string): string => `visitorvars-${visitorKey(orgId, visitorId)}`;

/** The key of one org's visitor (read-model id, stream id): `<orgId>.<visitorId>`. */
export const visitorKey = (orgId: string, visitorId: string): string => `${orgId}.${visitorId}`;

/** Event type names as stored; registered once here, never derived from class names. */
export const VISITOR_VARIABLES_EVENT_TYPES = [
  'VisitorVariablesSubmitted',
  'VisitorClaimVariablesApplied',
  'VisitorVariablesUnverified',
  'VisitorVariablesErased',
  'VisitorSessionLinked',
] as const satisfies readonly VisitorVariablesEvent['type'][];
// Compile-time check that every event of the union is registered above.
const _everyEventTypeRegistered: Exclude<VisitorVariablesEvent['type'], (typeof VISITOR_VARIABLES_EVENT_TYPES)[number]> extends never ? true : never = true;
