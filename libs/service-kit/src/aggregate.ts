import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '@svp/contracts';
import { type EventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { AppError } from './app-error.js';
import type { CommandMetrics, CommandOutcome, ServiceMetrics } from './metrics.js';
import { tracingEnabled } from './tracing/tracing.js';
import { type TracedCommand, traceCommand } from './tracing/work.js';

/** A pure decider as the command runner sees it. */
export interface Decider<C, S, E extends { type: string; data: unknown }> {
  initial(): S;
  evolve(state: S, event: E): S;
  /** Events, or an error with a public code. */
  decide(command: C, state: S): { ok: true; events: E[] } | { ok: false; error: { code: ErrorCode; message: string; details?: unknown } };
}

export interface CommandResult<S> {
  state: S;
  /** Global position of the last event appended, or of the stream's head when nothing was decided. */
  position: bigint;
  decided: number;
}

export interface RunCommandOptions {
  /** Attempts on a concurrency conflict before the caller gets 409. Default 5. */
  maxRetries?: number;
  /** Where the command's type, outcome and latency are counted. */
  metrics?: CommandMetrics;
}

/**
 * Command → load the stream → pure decide → append with the revision read. On a concurrency conflict
 * the whole decision runs again (it is pure); after `maxRetries` the caller gets 409.
 */
export async function runCommand<C, S, E extends { type: string; data: unknown }>(
  store: EventStore,
  stream: string,
  decider: Decider<C, S, E>,
  command: C | ((state: S) => C),
  metadata: Record<string, unknown>,
  options: RunCommandOptions = {},
): Promise<CommandResult<S>> {
  const { maxRetries = 5, metrics } = options;
  const started = metrics ? performance.now() : 0;
  let type = typeof command === 'function' ? undefined : commandType(command);
  let outcome: CommandOutcome = 'error';
  try {
    for (let attempt = 1; ; attempt++) {
      const events = await store.readStream(stream);
      const state = events.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as E), decider.initial());
      const last = events.at(-1);
      const cmd = typeof command === 'function' ? (command as (state: S) => C)(state) : command;
      type ??= commandType(cmd);
      const decision = decider.decide(cmd, state);
      if (!decision.ok) {
        outcome = 'refused';
        throw new AppError(decision.error.code, decision.error.message, decision.error.details);
      }
      if (decision.events.length === 0) {
        outcome = 'ok';
        return { state, position: last?.globalPosition ?? 0n, decided: 0 };
      }
      try {
        const result = await store.appendToStream(
          stream,
          decision.events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata })),
          { expectedRevision: last ? last.streamRevision : 'no_stream' },
        );
        outcome = 'ok';
        return { state: decision.events.reduce(decider.evolve, state), position: result.lastGlobalPosition, decided: decision.events.length };
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (attempt >= maxRetries) {
          outcome = 'conflict';
          throw new AppError('CONFLICT', `Too many concurrent changes to ${stream}; try again`, { stream });
        }
      }
    }
  } finally {
    metrics?.observe(type ?? 'unknown', outcome, (performance.now() - started) / 1000);
  }
}

/** runCommand on one store, counted in the service's command metrics (when it has them). */
export type CommandRunner = <C, S, E extends { type: string; data: unknown }>(
  stream: string,
  decider: Decider<C, S, E>,
  command: C | ((state: S) => C),
  metadata: Record<string, unknown>,
) => Promise<CommandResult<S>>;

export function commandRunner(store: EventStore, metrics?: ServiceMetrics): CommandRunner {
  const options: RunCommandOptions = metrics ? { metrics: metrics.commands } : {};
  const run: CommandRunner = (stream, decider, command, metadata) => runCommand(store, stream, decider, command, metadata, options);
  if (!tracingEnabled()) return run;
  // Traced: a span per command; its append stamps the span's context into the events' metadata.
  return (stream, decider, command, metadata) =>
    traceCommand({ type: commandType(command), metadata: metadata as TracedCommand['metadata'] }, stream, () => run(stream, decider, command, metadata));
}

/** A command's `type` (every command of the platform has one), for the metrics. */
export function commandType(command: unknown): string | undefined {
  const type = (command as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}
