import { randomUUID } from 'node:crypto';
import { type EventStore, type RecordedEvent, WrongExpectedRevisionError } from '@svp/event-store';
import {
  type Decision,
  type SessionVariablesCommand,
  type SessionVariablesEvent,
  type SessionVariablesState,
  type SkippedVariable,
  type VariableLimits,
  decide,
  evolve,
  initialState,
  sessionVariablesStream,
} from '@svp/variables-domain';

/** Loads a session-variables stream and folds it into the decider's state. */
export async function loadSessionVariables(store: EventStore, orgId: string, sessionId: string) {
  const events = await store.readStream(sessionVariablesStream(orgId, sessionId));
  const state = events.reduce<SessionVariablesState>(
    (s, e) => evolve(s, { type: e.type, data: e.data } as SessionVariablesEvent),
    initialState(),
  );
  const last = events.at(-1);
  return { state, revision: last?.streamRevision, position: last?.globalPosition ?? 0n, events };
}

export interface RunOptions {
  limits: VariableLimits;
  /** Attempts on an optimistic-concurrency conflict; the last conflict is thrown (WrongExpectedRevisionError). */
  maxConflictRetries: number;
  /** The request (or message) the events belong to. */
  correlationId?: string;
  /** The integration event that caused them (a consumer sets it). */
  causationId?: string;
}

export type RunResult =
  | {
      ok: true;
      /** Global position of the last event appended (or of the stream's head when nothing changed). */
      position: bigint;
      events: SessionVariablesEvent[];
      skipped: SkippedVariable[];
    }
  | { ok: false; error: Extract<Decision, { ok: false }>['error'] };

/** What both variables aggregates' deciders answer. */
type AnyDecision<E, F> = { ok: true; events: E[]; skipped?: SkippedVariable[] } | { ok: false; error: F };

/**
 * Command → load stream → pure decide → append with the revision read, for either variables aggregate.
 * On a concurrency conflict the whole decision runs again (it is pure), `maxConflictRetries` attempts
 * in all; then the conflict is thrown. A refused command answers `{ ok: false, error }` (nothing
 * appended). An integration event whose effect is already in the stream (redelivered after a crash
 * between the append and the inbox record) has no second effect, even if a later write changed the
 * values: the stream records each event's cause.
 */
export async function runStreamCommand<S, E extends { type: string; data: unknown }, F>(
  store: EventStore,
  stream: string,
  orgId: string,
  load: () => Promise<{ state: S; revision: bigint | undefined; position: bigint; events: RecordedEvent[] }>,
  decideOn: (state: S) => AnyDecision<E, F>,
  options: RunOptions,
): Promise<{ ok: true; position: bigint; events: E[]; skipped: SkippedVariable[] } | { ok: false; error: F }> {
  const metadata = {
    orgId,
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
    ...(options.causationId ? { causationId: options.causationId } : {}),
  };
  for (let attempt = 1; ; attempt++) {
    const { state, revision, position, events } = await load();
    if (options.causationId && events.some((e) => e.metadata.causationId === options.causationId))
      return { ok: true, position, events: [], skipped: [] };
    const decision = decideOn(state);
    if (!decision.ok) return decision;
    const skipped = decision.skipped ?? [];
    if (decision.events.length === 0) return { ok: true, position, events: [], skipped };
    try {
      const result = await store.appendToStream(
        stream,
        decision.events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata })),
        { expectedRevision: revision ?? 'no_stream' },
      );
      return { ok: true, position: result.lastGlobalPosition, events: decision.events, skipped };
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError && attempt < options.maxConflictRetries) continue;
      throw error;
    }
  }
}

/** A session-variables command, run with `runStreamCommand`. */
export async function runSessionVariablesCommand(store: EventStore, command: SessionVariablesCommand, options: RunOptions): Promise<RunResult> {
  const { orgId, sessionId } = command.data;
  return runStreamCommand(
    store,
    sessionVariablesStream(orgId, sessionId),
    orgId,
    () => loadSessionVariables(store, orgId, sessionId),
    (state) => decide(command, state, options.limits),
    options,
  );
}
