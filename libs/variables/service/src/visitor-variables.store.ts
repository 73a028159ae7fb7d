import type { EventStore } from '@svp/event-store';
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
import { type RunOptions, runStreamCommand } from './session-variables.store.js';

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
  return runStreamCommand(
    store,
    visitorVariablesStream(orgId, visitorId),
    orgId,
    () => loadVisitorVariables(store, orgId, visitorId),
    (state) => decideVisitorVariables(command, state, options.limits),
    options,
  );
}
