import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '@svp/contracts';
import { type EventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { AppError } from './app-error.js';

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
  maxRetries = 5,
): Promise<CommandResult<S>> {
  for (let attempt = 1; ; attempt++) {
    const events = await store.readStream(stream);
    const state = events.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as E), decider.initial());
    const last = events.at(-1);
    const cmd = typeof command === 'function' ? (command as (state: S) => C)(state) : command;
    const decision = decider.decide(cmd, state);
    if (!decision.ok) throw new AppError(decision.error.code, decision.error.message, decision.error.details);
    if (decision.events.length === 0) return { state, position: last?.globalPosition ?? 0n, decided: 0 };
    try {
      const result = await store.appendToStream(
        stream,
        decision.events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata })),
        { expectedRevision: last ? last.streamRevision : 'no_stream' },
      );
      return { state: decision.events.reduce(decider.evolve, state), position: result.lastGlobalPosition, decided: decision.events.length };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (attempt >= maxRetries) throw new AppError('CONFLICT', `Too many concurrent changes to ${stream}; try again`, { stream });
    }
  }
}
