import type { EventStore, RecordedEvent } from '@svp/event-store';
import { type StreamFold, StreamWriter, type WriterResult } from '@svp/service-kit';
import {
  type DecisionError,
  type ErasureCommand,
  type ErasureEvent,
  type ErasureState,
  type SessionVariablesCommand,
  type SessionVariablesEvent,
  type SessionVariablesState,
  type SkippedVariable,
  type VariableLimits,
  type VariableSettings,
  type VariableSettingsCommand,
  type VariableSettingsEvent,
  type VariableSettingsState,
  type VisitorVariablesCommand,
  type VisitorVariablesEvent,
  type VisitorVariablesState,
  decide,
  decideErasure,
  decideSettings,
  decideVisitorVariables,
  erasureStream,
  evolve,
  evolveErasure,
  evolveSettings,
  evolveVisitorVariables,
  initialErasureState,
  initialSettingsState,
  initialState,
  initialVisitorVariablesState,
  sessionVariablesStream,
  variableSettingsStream,
  visitorVariablesStream,
} from '@svp/variables-domain';

/**
 * How each of the variables service's aggregates is written: its stream, its fold and its pure
 * decider, run by the service's one StreamWriter (load, decide, append with the revision read;
 * commands on one stream decided and appended together; conflicts retried).
 */

export const sessionFold: StreamFold<SessionVariablesState, SessionVariablesEvent> = { initial: initialState, evolve };
export const visitorFold: StreamFold<VisitorVariablesState, VisitorVariablesEvent> = { initial: initialVisitorVariablesState, evolve: evolveVisitorVariables };
export const settingsFold: StreamFold<VariableSettingsState, VariableSettingsEvent> = { initial: initialSettingsState, evolve: evolveSettings };
export const erasureFold: StreamFold<ErasureState, ErasureEvent> = { initial: initialErasureState, evolve: evolveErasure };

/** The request or message a command comes from (its events are stored with them). */
export interface CommandContext {
  correlationId?: string;
  /** The integration event (or erasure record) that caused the command: a second delivery decides nothing. */
  causationId?: string;
}

const metadataOf = (orgId: string, context: CommandContext) => ({
  orgId,
  ...(context.correlationId ? { correlationId: context.correlationId } : {}),
  ...(context.causationId ? { causationId: context.causationId } : {}),
});

export type SessionCommandResult = WriterResult<SessionVariablesEvent, DecisionError, { skipped?: SkippedVariable[]; refused?: DecisionError }>;
export type VisitorCommandResult = WriterResult<VisitorVariablesEvent, DecisionError, { skipped?: SkippedVariable[] }>;

export function runSessionCommand(writer: StreamWriter, command: SessionVariablesCommand, limits: VariableLimits, context: CommandContext = {}): Promise<SessionCommandResult> {
  const { orgId, sessionId } = command.data;
  return writer.run(sessionVariablesStream(orgId, sessionId), sessionFold, {
    type: command.type,
    decide: (state) => decide(command, state, limits),
    metadata: metadataOf(orgId, context),
  });
}

export function runVisitorCommand(writer: StreamWriter, command: VisitorVariablesCommand, limits: VariableLimits, context: CommandContext = {}): Promise<VisitorCommandResult> {
  const { orgId, visitorId } = command.data;
  return writer.run(visitorVariablesStream(orgId, visitorId), visitorFold, {
    type: command.type,
    decide: (state) => decideVisitorVariables(command, state, limits),
    metadata: metadataOf(orgId, context),
  });
}

export function runSettingsCommand(writer: StreamWriter, command: VariableSettingsCommand, defaults: VariableSettings, context: CommandContext = {}) {
  return writer.run(variableSettingsStream(command.data.orgId), settingsFold, {
    type: command.type,
    decide: (state) => decideSettings(command, state, defaults),
    metadata: metadataOf(command.data.orgId, context),
  });
}

export function runErasureCommand(writer: StreamWriter, command: ErasureCommand, context: CommandContext = {}) {
  const { orgId, erasureId } = command.data;
  return writer.run(erasureStream(orgId, erasureId), erasureFold, {
    type: command.type,
    decide: (state) => ({ ok: true as const, events: decideErasure(command, state) }),
    metadata: metadataOf(orgId, context),
  });
}

/** A stream folded (reads that need the events themselves: history, as-of, the erasure's steps). */
export async function loadFolded<S, E>(store: EventStore, stream: string, fold: StreamFold<S, E>): Promise<{ state: S; events: RecordedEvent[] }> {
  const events = await store.readStream(stream);
  return { state: events.reduce((s, e) => fold.evolve(s, { type: e.type, data: e.data } as E), fold.initial()), events };
}
