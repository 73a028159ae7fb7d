import { randomUUID } from 'node:crypto';
import { type EventStore, WrongExpectedRevisionError } from '@svp/event-store';
import {
  type SkippedVariable,
  type VisitorDecision,
  type VisitorVariablesCommand,
  type VisitorVariablesEvent,
  type VisitorVariablesState,
  decideVisitorVariables,
  evolveVisitorVariables,
  initialVisitorVariablesState,
  visitorVariablesStream,
} from '@svp/variables-domain';
import type { RunOptions } from './session-variables.store.js';

/** Loads a visitor-variables stream and folds it into the decider's state. */
export async function loadVisitorVariables(store: EventStore, orgId: string, visitorId: string) {
  const events = await store.readStream(visitorVariablesStream(orgId, visitorId));
  const state = events.reduce<VisitorVariablesState>(
    (s, e) => evolveVisitorVariables(s, { type: e.type, data: e.data } as VisitorVariablesEvent),
    initialVisitorVariablesState(),
  );
  const last = events.at(-1);
  return { state, revision: last?.streamRevision, position: last?.globalPosition ?? 0n, events };
}

export type VisitorRunResult =
  | {
      ok: true;
      /** Global position of the last event appended (or of the stream's head when nothing changed). */
      position: bigint;
      events: VisitorVariablesEvent[];
      skipped: SkippedVariable[];
    }
  | { ok: false; error: Extract<VisitorDecision, { ok: false }>['error'] };

/**
 * Command → load the visitor's stream → pure decide → append with the revision read. On a
 * concurrency conflict the whole decision runs again (it is pure), `maxConflictRetries` attempts in
 * all; then the conflict is thrown (WrongExpectedRevisionError). A refused command answers
 * `{ ok: false, error }` and appends nothing.
 */
export async function runVisitorVariablesCommand(store: EventStore, command: VisitorVariablesCommand, options: RunOptions): Promise<VisitorRunResult> {
  const { orgId, visitorId } = command.data;
  const stream = visitorVariablesStream(orgId, visitorId);
  const metadata = {
    orgId,
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
    ...(options.causationId ? { causationId: options.causationId } : {}),
  };
  for (let attempt = 1; ; attempt++) {
    const { state, revision, position, events } = await loadVisitorVariables(store, orgId, visitorId);
    // An integration event whose effect is already in the stream (redelivered after a crash between
    // the append and the inbox record) has no second effect, even if a later write changed the values.
    if (options.causationId && events.some((e) => e.metadata.causationId === options.causationId))
      return { ok: true, position, events: [], skipped: [] };
    const decision = decideVisitorVariables(command, state, options.limits);
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
