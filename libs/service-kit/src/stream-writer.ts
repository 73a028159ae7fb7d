import { randomUUID } from 'node:crypto';
import { type EventStore, type RecordedEvent, WrongExpectedRevisionError } from '@svp/event-store';
import { delay, isTransientError } from '@svp/messaging';
import type { CommandMetrics, CommandTypeMetrics } from './metrics.js';
import type { Context } from '@opentelemetry/api';
import { traceCommand, traceMetadata, tracingEnabled, withContext } from './tracing/index.js';

/** How a stream folds into the state its decider reads. */
export interface StreamFold<S, E> {
  initial(): S;
  evolve(state: S, event: E): S;
}

/** What a decider answers: events (maybe with notes for the caller), or a refusal. */
export type WriterDecision<E, F, Extra = object> = ({ ok: true; events: E[] } & Extra) | { ok: false; error: F };

/** One command for a stream: a pure decision on the state, and what its events are stored with. */
export interface StreamCommand<S, E, F, Extra = object> {
  /** The command's type (`SetSessionVariables`), for the command metrics. */
  type?: string;
  decide(state: S): WriterDecision<E, F, Extra>;
  /** The org, and the request or message the events belong to. */
  metadata: { orgId: string; correlationId?: string; causationId?: string };
}

export type WriterResult<E, F, Extra = object> =
  | ({
      ok: true;
      /** Global position of the last event appended with it (or of the stream's head when it decided nothing). */
      position: bigint;
      events: E[];
      /** True when the command's cause was already in the stream (a redelivered message): nothing was decided. */
      duplicate: boolean;
    } & Partial<Extra>)
  | { ok: false; error: F };

export interface StreamWriterOptions {
  /** Attempts of a batch on an optimistic-concurrency conflict (another process wrote the stream); then it fails. Default 8. */
  maxConflictRetries?: number;
  /** Most commands decided and appended together. Default 200. */
  maxBatch?: number;
  /** Wait before retry n after a conflict: a random share of `n * 10` ms (at most 200 ms). */
  conflictBackoff?: (attempt: number) => number;
  /** Counts each command by type and outcome, with its latency from `run()` to its settling (the queue included). */
  metrics?: CommandMetrics;
}

interface Queued<S, E, F, Extra> {
  command: StreamCommand<S, E, F, Extra>;
  resolve(result: WriterResult<E, F, Extra>): void;
  reject(error: unknown): void;
  /** The command's span (tracing on): its events carry it in their metadata. */
  trace?: Context;
  /** The command type's bound metric children, and when it arrived (process.hrtime.bigint()); with metrics only. */
  metrics?: CommandTypeMetrics;
  started?: bigint;
}

/** How one command of a batch ended: a result, or an error thrown for it alone. */
type Settled = { result: WriterResult<{ type: string; data: unknown }, unknown, object> } | { thrown: unknown };

interface StreamQueue {
  jobs: Queued<any, any, any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Command → load stream → pure decide → append with the revision read, with two things more than a
 * plain loop (STYLE.md habit 7):
 *
 * - **Commands on one stream queue up in this process** instead of racing each other into conflicts:
 *   while a batch is being appended, the next commands wait, and are then decided together on the
 *   freshly read state, one after another (each sees the events of those before it), and appended
 *   in one write. Under load this is group commit: many writers on one session cost one read and one
 *   append per batch, and every one of them succeeds or is refused on its own merits.
 * - **Writers in other processes** are met by optimistic concurrency: a conflict reloads the stream
 *   and decides the whole batch again (the decisions are pure), `maxConflictRetries` attempts with a
 *   small random backoff; past that each command of the batch fails with the conflict error.
 *
 * A command whose cause (`metadata.causationId`, a consumed message's id) is already in the stream,
 * or earlier in the same batch, decides nothing: a message redelivered after a crash between the
 * append and the inbox record has no second effect, even if a later write changed the values.
 */
export class StreamWriter {
  private readonly queues = new Map<string, StreamQueue>();
  private readonly maxConflictRetries: number;
  private readonly maxBatch: number;
  private readonly conflictBackoff: (attempt: number) => number;
  private readonly metrics?: CommandMetrics;

  constructor(
    private readonly store: EventStore,
    options: StreamWriterOptions = {},
  ) {
    this.maxConflictRetries = Math.max(1, options.maxConflictRetries ?? 8);
    this.maxBatch = Math.max(1, options.maxBatch ?? 200);
    this.conflictBackoff = options.conflictBackoff ?? ((attempt) => Math.random() * Math.min(200, attempt * 10));
    this.metrics = options.metrics;
  }

  /** Runs one command on `stream`; resolves once its events are stored (or it was refused). */
  run<S, E extends { type: string; data: unknown }, F, Extra = object>(
    stream: string,
    fold: StreamFold<S, E>,
    command: StreamCommand<S, E, F, Extra>,
  ): Promise<WriterResult<E, F, Extra>> {
    // Traced: a span per command, whose context its events carry in their metadata. Untraced, the
    // command goes straight to its queue: no closure, no promise but its own. Its metrics are
    // recorded where it settles (settleJob), not by a `then` around it.
    if (tracingEnabled()) return traceCommand(command, stream, (trace) => this.enqueue(stream, fold, command, trace));
    return this.enqueue(stream, fold, command);
  }

  private enqueue<S, E extends { type: string; data: unknown }, F, Extra>(
    stream: string,
    fold: StreamFold<S, E>,
    command: StreamCommand<S, E, F, Extra>,
    trace?: Context,
  ): Promise<WriterResult<E, F, Extra>> {
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(stream);
      const metrics = this.metrics?.forType(command.type ?? 'unknown');
      const job: Queued<S, E, F, Extra> = { command, resolve, reject, trace, metrics, started: metrics ? process.hrtime.bigint() : undefined };
      if (queue) {
        queue.jobs.push(job);
        return;
      }
      queue = { jobs: [job] };
      this.queues.set(stream, queue);
      void this.drain(stream, queue, fold as StreamFold<unknown, { type: string; data: unknown }>);
    });
  }

  /** Commands waiting or being written (for metrics and tests). */
  get pending(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.jobs.length;
    return n;
  }

  private async drain(stream: string, queue: StreamQueue, fold: StreamFold<unknown, { type: string; data: unknown }>): Promise<void> {
    try {
      while (queue.jobs.length > 0) {
        // The batch stays in the queue while it is written, so new commands join the queue behind it.
        const batch = queue.jobs.slice(0, this.maxBatch);
        // Traced: the batch's append is a child of its first command's span (the others are linked).
        const trace = batch[0]!.trace;
        await (trace ? withContext(trace, () => this.settle(stream, fold, batch)) : this.settle(stream, fold, batch));
        queue.jobs.splice(0, batch.length);
      }
    } finally {
      this.queues.delete(stream);
    }
  }

  /**
   * Writes a batch and settles each of its commands. A command whose decision throws fails alone; an
   * append that fails for another reason than a conflict (a value the database refuses, say) is
   * tried again one command at a time, so that one bad command never fails the others with it.
   */
  private async settle(stream: string, fold: StreamFold<unknown, { type: string; data: unknown }>, batch: readonly Queued<any, any, any, any>[]): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
    let outcomes: Settled[];
    try {
      outcomes = await this.writeBatch(stream, fold, batch);
    } catch (error) {
      // One at a time only after an error that says the append cannot have been stored (the data
      // was refused): a conflict, or a failure whose outcome is unknown (a connection lost even on
      // the identical retry), fails the batch as it is, never writing a command twice.
      if (batch.length === 1 || error instanceof WrongExpectedRevisionError || isTransientError(error)) {
        for (const job of batch) settleJob(job, { thrown: error });
        return;
      }
      for (const job of batch) await this.settle(stream, fold, [job]);
      return;
    }
    for (let i = 0; i < batch.length; i++) settleJob(batch[i]!, outcomes[i]!);
  }

  /**
   * An append that failed for another reason than a conflict may still have been stored (the
   * connection dropped after the commit): it is retried once as it is, same event ids and expected
   * revision, which the store takes as the same append (idempotent by event id), so nothing is
   * written twice whichever way the first one went.
   */
  private async append(stream: string, events: Parameters<EventStore['appendToStream']>[1], expected: bigint | 'no_stream') {
    try {
      return await this.store.appendToStream(stream, events, { expectedRevision: expected });
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) throw error;
      await delay(20);
      return this.store.appendToStream(stream, events, { expectedRevision: expected });
    }
  }

  private async writeBatch(
    stream: string,
    fold: StreamFold<unknown, { type: string; data: unknown }>,
    batch: readonly Queued<unknown, { type: string; data: unknown }, unknown, object>[],
  ): Promise<Settled[]> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.readStream(stream);
      let state = stored.reduce((s, e) => fold.evolve(s, { type: e.type, data: e.data }), fold.initial());
      const last = stored.at(-1);
      const head = last?.globalPosition ?? 0n;
      const causes = new Set(stored.map((e: RecordedEvent) => e.metadata.causationId).filter((c): c is string => typeof c === 'string'));
      const toAppend: { eventId: string; type: string; data: unknown; metadata: Record<string, unknown> }[] = [];
      const outcomes: ({ ok: true; events: { type: string; data: unknown }[]; duplicate: boolean; extra: object } | { ok: false; error: unknown } | { thrown: unknown })[] = [];
      for (const { command, trace } of batch) {
        const cause = command.metadata.causationId;
        if (cause && causes.has(cause)) {
          outcomes.push({ ok: true, events: [], duplicate: true, extra: {} });
          continue;
        }
        let decision: WriterDecision<{ type: string; data: unknown }, unknown>;
        try {
          decision = command.decide(state);
        } catch (error) {
          // A bug or an unexpected state in one decision: that command fails, the others go on.
          outcomes.push({ thrown: error });
          continue;
        }
        if (!decision.ok) {
          outcomes.push({ ok: false, error: decision.error });
          continue;
        }
        const { ok: _ok, events, ...extra } = decision;
        state = events.reduce((s, e) => fold.evolve(s, e), state);
        if (cause && events.length > 0) causes.add(cause);
        // Plain assignments: no spread of empty objects per command (tracing off: `trace` is undefined).
        const metadata: Record<string, unknown> = { orgId: command.metadata.orgId };
        if (command.metadata.correlationId) metadata.correlationId = command.metadata.correlationId;
        if (cause) metadata.causationId = cause;
        if (trace) Object.assign(metadata, traceMetadata(trace));
        for (const e of events) toAppend.push({ eventId: randomUUID(), type: e.type, data: e.data, metadata });
        outcomes.push({ ok: true, events, duplicate: false, extra });
      }
      let position = head;
      if (toAppend.length > 0) {
        try {
          position = (await this.append(stream, toAppend, last ? last.streamRevision : 'no_stream')).lastGlobalPosition;
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError) || attempt >= this.maxConflictRetries) throw error;
          await delay(this.conflictBackoff(attempt));
          continue;
        }
      }
      return outcomes.map((o): Settled => {
        if ('thrown' in o) return o;
        return { result: o.ok ? { ok: true, position, events: o.events, duplicate: o.duplicate, ...o.extra } : o };
      });
    }
  }
}

/** Settles one command and, with metrics, counts its outcome and its latency from its arrival. */
function settleJob(job: Queued<any, any, any, any>, outcome: Settled): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (job.metrics && job.started !== undefined) {
    const seconds = Number(process.hrtime.bigint() - job.started) / 1e9;
    if ('thrown' in outcome) job.metrics.record(outcome.thrown instanceof WrongExpectedRevisionError ? 'conflict' : 'error', seconds);
    else job.metrics.record(outcome.result.ok ? 'ok' : 'refused', seconds);
  }
  if ('thrown' in outcome) job.reject(outcome.thrown);
  else job.resolve(outcome.result);
}
