import type { VariableChangeKind, VariableScope, VariableSource, VariableValue } from '@svp/contracts';
import { type VariableChange, type VariableState, claimSetBy, own, revokedSetBy } from './common.js';
import { type SessionVariablesEvent, type SessionVariablesState, evolve, initialState } from './session-variables.js';
import {
  type VisitorVariablesEvent,
  type VisitorVariablesState,
  evolveVisitorVariables,
  initialVisitorVariablesState,
} from './visitor-variables.js';

/**
 * A variable's history and the state as of a past time, folded from its streams: the event store is
 * the audit log, so both read the events themselves (pure functions of them) and stay exact while a
 * stream is kept, ended sessions' streams included until their retention runs out.
 */

/** One change of a variable: the value it had from then on, with its provenance. */
export interface HistoryEntry {
  name: string;
  value: VariableValue;
  scope: VariableScope;
  source: VariableSource;
  verified: boolean;
  version: number;
  updatedAt: string;
  setBy?: string;
  eventId: string;
  change: VariableChangeKind;
}

/** A stored event as the fold needs it. */
export interface StoredEvent {
  eventId: string;
  type: string;
  data: unknown;
}

const entry = (
  scope: VariableScope,
  change: VariableChangeKind,
  c: VariableChange,
  at: string,
  eventId: string,
  setBy: string | undefined,
): HistoryEntry => ({
  name: c.name,
  value: c.value,
  scope,
  source: c.source,
  verified: c.verified,
  version: c.version,
  updatedAt: at,
  ...(setBy ? { setBy } : {}),
  eventId,
  change,
});

/** The entry for a held value that goes (discarded, erased, removed): null from then on, with its last version. */
const gone = (scope: VariableScope, change: VariableChangeKind, name: string, held: VariableState, at: string, eventId: string): HistoryEntry => ({
  name,
  value: null,
  scope,
  source: held.source,
  verified: false,
  version: held.version,
  updatedAt: at,
  eventId,
  change,
});

/** Every change of `name` in a session's stream (session and metadata scope), oldest first. */
export function sessionVariableHistory(events: readonly StoredEvent[], name: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  let state: SessionVariablesState = initialState();
  for (const stored of events) {
    const event = { type: stored.type, data: stored.data } as SessionVariablesEvent;
    const { eventId } = stored;
    const held = state.status === 'active' ? state : undefined;
    switch (event.type) {
      case 'SessionVariablesSet':
        for (const c of event.data.changes) if (c.name === name) entries.push(entry('session', 'set', c, event.data.at, eventId, event.data.setBy));
        break;
      case 'MetadataVariablesSet':
        for (const c of event.data.changes) if (c.name === name) entries.push(entry('metadata', 'set', c, event.data.at, eventId, claimSetBy(event.data.kid)));
        break;
      case 'SessionVariablesUnverified': {
        const setBy = revokedSetBy(event.data.kid);
        for (const c of event.data.changes) if (c.name === name) entries.push(entry('session', 'unverified', c, event.data.at, eventId, setBy));
        for (const c of event.data.metadataChanges) if (c.name === name) entries.push(entry('metadata', 'unverified', c, event.data.at, eventId, setBy));
        break;
      }
      case 'SessionVariablesDiscarded':
      case 'SessionVariablesErased': {
        const change = event.type === 'SessionVariablesDiscarded' ? 'discarded' : 'erased';
        const session = held && own(held.variables, name);
        const metadata = held && own(held.metadata, name);
        if (session) entries.push(gone('session', change, name, session, event.data.at, eventId));
        if (metadata) entries.push(gone('metadata', change, name, metadata, event.data.at, eventId));
        break;
      }
      case 'SessionVariablesStarted':
      case 'SessionVariablesDeleted':
        break;
    }
    state = evolve(state, event);
  }
  return entries;
}

/** Every change of `name` in a visitor's stream, oldest first. */
export function visitorVariableHistory(events: readonly StoredEvent[], name: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  let state: VisitorVariablesState = initialVisitorVariablesState();
  for (const stored of events) {
    const event = { type: stored.type, data: stored.data } as VisitorVariablesEvent;
    const { eventId } = stored;
    const held = state.status === 'known' ? own(state.variables, name) : undefined;
    switch (event.type) {
      case 'VisitorVariablesSubmitted':
        if (held && event.data.removed.includes(name)) entries.push(gone('visitor', 'removed', name, held, event.data.at, eventId));
        for (const c of event.data.changes) if (c.name === name) entries.push(entry('visitor', 'set', c, event.data.at, eventId, event.data.setBy));
        break;
      case 'VisitorClaimVariablesApplied':
        for (const c of event.data.changes) if (c.name === name) entries.push(entry('visitor', 'set', c, event.data.at, eventId, claimSetBy(event.data.kid)));
        break;
      case 'VisitorVariablesUnverified':
        for (const c of event.data.changes)
          if (c.name === name) entries.push(entry('visitor', 'unverified', c, event.data.at, eventId, revokedSetBy(event.data.kid)));
        break;
      case 'VisitorVariablesErased':
        if (held) entries.push(gone('visitor', 'erased', name, held, event.data.at, eventId));
        break;
      case 'VisitorSessionLinked':
        break;
    }
    state = evolveVisitorVariables(state, event);
  }
  return entries;
}

/** The events that had happened by `asOf` (by the time each records, `at`). */
export function eventsAsOf<E extends StoredEvent>(events: readonly E[], asOf: string): E[] {
  const limit = Date.parse(asOf);
  return events.filter((e) => Date.parse((e.data as { at: string }).at) <= limit);
}

/** A session's variables as they were at `asOf`. */
export const sessionStateAsOf = (events: readonly StoredEvent[], asOf: string): SessionVariablesState =>
  eventsAsOf(events, asOf).reduce<SessionVariablesState>((s, e) => evolve(s, { type: e.type, data: e.data } as SessionVariablesEvent), initialState());

/** A visitor's variables as they were at `asOf`. */
export const visitorStateAsOf = (events: readonly StoredEvent[], asOf: string): VisitorVariablesState =>
  eventsAsOf(events, asOf).reduce<VisitorVariablesState>(
    (s, e) => evolveVisitorVariables(s, { type: e.type, data: e.data } as VisitorVariablesEvent),
    initialVisitorVariablesState(),
  );
