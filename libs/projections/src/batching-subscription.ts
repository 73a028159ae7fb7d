import type { EventStore, RecordedEvent, Subscription } from '@svp/event-store';
import type { SqlClient } from '@svp/postgres';
import { advanceCheckpoint } from './checkpoints.js';
import { shouldFlush, type DocumentWrite } from './decisions.js';
import { foldDocumentBatchWithCache, writeDocuments } from './document-table.js';
import { eventTypeFilter, type DocumentProjection, type Projection } from './projection.js';
import { applyBatch } from './projection-tables.js';
import { ReplayDocumentCache } from './replay-document-cache.js';

export interface BatchCommitted {
  /** The checkpoint after the batch: the global position of its last event. */
  readonly position: bigint;
  /** Events in the batch. */
  readonly events: number;
  /** Events the projection applied (its types; for documents, not skipped). */
  readonly applied: number;
  /** False for a batch the projection ignored: its checkpoint moved in memory only (stored later). */
  readonly stored: boolean;
}

export interface BatchingSubscriptionOptions {
  readonly store: EventStore;
  readonly sql: SqlClient;
  readonly projection: Projection;
  /** The table the batches go to, and the checkpoint row that must point at it. */
  readonly table: string;
  readonly checkpointKey: string;
  /** The checkpoint to start after (exclusive). */
  readonly from: bigint;
  readonly batchSize: number;
  /**
   * Events per batch while catching up, that is until the store reports that it has delivered what
   * was stored when the subscription started (`batchSize` when omitted). Larger batches mean fewer
   * transactions and, for documents, fewer writes: the events of one document in a batch are
   * folded into one write. When it is larger than `batchSize`, a batch is written while catching up
   * when full, when the store reports the catch-up, or after CATCH_UP_LINGER_MS at most (not
   * `lingerMs`, which would cut batches while pages are read).
   */
  readonly catchUpBatchSize?: number;
  /** How long a partial batch waits for more events before it is written anyway. */
  readonly lingerMs: number;
  /**
   * A batch with no event of the projection's types changes nothing in its table: it moves the
   * checkpoint in memory at once (its waiters are told, read-your-writes holds) and in the table up
   * to this long later, with the next batch that writes or on close (default
   * DEFERRED_CHECKPOINT_MS; 0 writes every batch's checkpoint at once). A crash meanwhile only
   * replays events the projection ignores. Not with `replayCache`.
   */
  readonly deferCheckpointMs?: number;
  /**
   * Only for a document projection and a table that nothing reads or writes but this subscription
   * (a rebuild's): keeps up to this many documents in memory (a ReplayDocumentCache; at least as
   * many as a batch holds events), written to the table when they leave it and when it is drained
   * (once caught up, and on close with `flush`), and folds each batch while the batch ahead of it
   * is written. The table's rows then lag behind its checkpoint until the drain.
   */
  readonly replayCache?: number;
  /**
   * Synchronously after each batch's commit, before anyone waiting for its position is told (a
   * read-your-writes cache forgets the documents the batch touched here).
   */
  readonly onCommitted?: (events: readonly RecordedEvent[]) => void;
  /** After each committed batch, outside its transaction; awaited before the next batch. */
  readonly onBatch?: (batch: BatchCommitted) => void | Promise<void>;
  /** After a checkpoint that ignored batches moved in memory was written to the table (see `deferCheckpointMs`). */
  readonly onCheckpointStored?: (position: bigint) => void;
  /** After the subscription caught up and everything it had delivered was written. */
  readonly onCaughtUp?: () => void;
  /** Once, when a batch or the subscription fails; nothing more is written after it. */
  readonly onFailure: (error: unknown) => void;
  /** Wraps each batch's transaction (tracing: a span per batch); the write as it is when omitted. */
  readonly aroundBatch?: BatchWrapper;
}

/** Runs a batch's write (`write` resolves to the events applied) inside whatever the wrapper adds. */
export type BatchWrapper = (projection: string, events: readonly RecordedEvent[], write: () => Promise<number>) => Promise<number>;

type Phase = 'idle' | 'running' | 'closing' | 'closed' | 'failed';

/**
 * The linger of a partial batch while catching up with `catchUpBatchSize`: only a fallback (the
 * store reports the catch-up, which writes the partial batch at once), long enough not to cut
 * batches while pages are being read.
 */
export const CATCH_UP_LINGER_MS = 1_000;

/**
 * How long the stored checkpoint may stay behind the one in memory after batches the projection
 * ignores: a service with many projections would otherwise commit a transaction in each of them for
 * every event any of them reads.
 */
export const DEFERRED_CHECKPOINT_MS = 1_000;

/**
 * One subscription to the global log feeding one table: collects events into batches (until the
 * batch is full, the subscription has caught up, or a partial batch has lingered) and writes each
 * batch and the checkpoint in one transaction. Batches are written one at a time, in order; while
 * one is written the next one fills (reading the log overlaps writing the read model).
 *
 * A flush has two steps, each in order: it takes the buffer (with `replayCache`, and folds it),
 * then it writes. Without the cache a batch is taken once the one before is written (so a batch
 * written under load takes everything buffered meanwhile); with it, once every batch but the one
 * before is written.
 */
export class BatchingSubscription {
  private phase: Phase = 'idle';
  private committed: bigint;
  private lastQueued: bigint;
  private buffer: RecordedEvent[] = [];
  /** Set once the store reported the catch-up: from then on batches are `batchSize` and linger `lingerMs`. */
  private caughtUp = false;
  /** Settles when the last flush queued has taken its batch (the next one takes the buffer after it). */
  private chain: Promise<void> = Promise.resolve();
  /** The last write queued, and the one before it (settled: they never reject). */
  private writing: Promise<void> = Promise.resolve();
  private writingBefore: Promise<void> = Promise.resolve();
  /** The position of the last event taken for a write. */
  private lastTaken: bigint;
  private timer: NodeJS.Timeout | undefined;
  private subscription: Subscription | undefined;
  private failure: unknown;
  private closing: Promise<void> | undefined;
  private waiters: { position: bigint; resolve: () => void; reject: (error: unknown) => void }[] = [];

  private readonly cache: ReplayDocumentCache | undefined;
  private readonly accepts: (type: string) => boolean;
  private readonly deferMs: number;
  /** The position committed in memory and not yet in the table (batches the projection ignores). */
  private deferred: bigint | undefined;
  private deferTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BatchingSubscriptionOptions) {
    this.committed = options.from;
    this.lastQueued = options.from;
    this.lastTaken = options.from;
    // A batch's documents always fit (so those of the batch being written are still in it).
    const capacity = Math.max(options.replayCache ?? 0, options.batchSize, options.catchUpBatchSize ?? 0);
    this.cache = options.replayCache !== undefined && options.projection.kind === 'document' ? new ReplayDocumentCache(capacity) : undefined;
    this.accepts = eventTypeFilter(options.projection);
    this.deferMs = options.replayCache !== undefined ? 0 : (options.deferCheckpointMs ?? DEFERRED_CHECKPOINT_MS);
  }

  /** The checkpoint written last by this subscription (its start position before the first batch). */
  get position(): bigint {
    return this.committed;
  }

  get error(): unknown {
    return this.failure;
  }

  start(): void {
    if (this.phase !== 'idle') throw new Error('BatchingSubscription.start() called twice');
    this.phase = 'running';
    const subscription = this.options.store.subscribeToAll((event) => this.onEvent(event), {
      after: this.options.from,
      onCaughtUp: () => this.onCaughtUp(),
      // Live: a write waiting for its position (read-your-writes) does not wait out the linger.
      onHead: () => {
        if (this.phase === 'running' && this.buffer.length > 0) this.enqueueFlush().catch(() => undefined);
      },
      onError: (error) => this.fail(error),
    });
    this.subscription = subscription;
    subscription.done.catch((error: unknown) => this.fail(error));
  }

  /** Resolves once the checkpoint written by this subscription is at or past `position`. */
  waitForPosition(position: bigint): Promise<void> {
    if (this.committed >= position) return Promise.resolve();
    if (this.phase === 'failed') return Promise.reject(this.failure);
    if (this.phase === 'closed') return Promise.reject(new Error('The subscription is closed'));
    return new Promise((resolve, reject) => this.waiters.push({ position, resolve, reject }));
  }

  /**
   * Stops delivery, waits for the batch being written and, with `flush`, writes what is buffered.
   * Never rejects: a failure of the last batch leaves the checkpoint where it was.
   */
  close({ flush = false }: { flush?: boolean } = {}): Promise<void> {
    this.closing ??= this.closeOnce(flush);
    return this.closing;
  }

  private async closeOnce(flush: boolean): Promise<void> {
    const failed = this.phase === 'failed';
    if (!failed) this.phase = 'closing';
    this.clearTimer();
    await this.subscription?.stop().catch(() => undefined);
    if (!failed && flush) await this.enqueueFlush({ drain: true }).catch(() => undefined);
    await this.chain;
    await this.writing;
    // What the projection ignored is not replayed by the next start (unless this write fails: then it is).
    if (this.phase !== 'failed') await this.writeDeferredCheckpoint({ failOnError: false });
    if (this.phase === 'closing') this.phase = 'closed';
    this.buffer = [];
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure ?? new Error('The subscription was closed'));
  }

  /**
   * Not async: only an event that seals a batch returns a promise (the back-pressure); the others
   * return nothing, so the store delivers the next one without awaiting a promise per event.
   */
  private onEvent(event: RecordedEvent): Promise<void> | undefined {
    if (this.phase !== 'running') {
      if (this.phase === 'failed') return Promise.reject(this.failure);
      return undefined;
    }
    if (event.globalPosition <= this.lastQueued) return undefined; // a redelivery: already queued or written
    this.buffer.push(event);
    this.lastQueued = event.globalPosition;
    if (shouldFlush(this.buffer.length, this.batchLimit(), 'event')) return this.sealBatch();
    this.armTimer();
    return undefined;
  }

  /** The size at which a batch is written: `catchUpBatchSize` until the store reported the catch-up. */
  private batchLimit(): number {
    return this.caughtUp ? this.options.batchSize : (this.options.catchUpBatchSize ?? this.options.batchSize);
  }

  private lingerLimit(): number {
    const larger = (this.options.catchUpBatchSize ?? 0) > this.options.batchSize;
    return this.caughtUp || !larger ? this.options.lingerMs : Math.max(this.options.lingerMs, CATCH_UP_LINGER_MS);
  }

  /**
   * A full batch: queues its flush and returns once the batch has left the buffer and the batch
   * before it is written (with the cache, the one before that: its writes are small), while this
   * one is written: the subscription reads the next batch meanwhile. That is the back-pressure on
   * the store.
   */
  private async sealBatch(): Promise<void> {
    const before = this.cache ? this.writingBefore : this.writing;
    // A failure is handled by the flush itself (fail(): the subscription stops, waiters are rejected).
    this.enqueueFlush().catch(() => undefined);
    await this.chain;
    await before;
    if (this.phase === 'failed') throw this.failure;
  }

  private onCaughtUp(): void {
    if (this.phase !== 'running') return;
    this.caughtUp = true;
    this.enqueueFlush({ drain: true }).then(
      () => {
        if (this.phase === 'running') this.options.onCaughtUp?.();
      },
      () => undefined,
    );
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.enqueueFlush().catch(() => undefined);
    }, this.lingerLimit());
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private armDeferTimer(): void {
    if (this.deferTimer) return;
    this.deferTimer = setTimeout(() => {
      this.deferTimer = undefined;
      const write = this.writing.then(() => this.writeDeferredCheckpoint({ failOnError: true }));
      this.writing = write.catch(() => undefined);
    }, this.deferMs);
    this.deferTimer.unref();
  }

  private clearDeferTimer(): void {
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
  }

  /** Writes the checkpoint that batches the projection ignored moved in memory (in the write order). */
  private async writeDeferredCheckpoint({ failOnError }: { failOnError: boolean }): Promise<void> {
    const position = this.deferred;
    if (position === undefined || this.phase === 'failed') return;
    this.deferred = undefined;
    this.clearDeferTimer();
    const { sql, table, checkpointKey } = this.options;
    try {
      await sql.transaction((tx) => advanceCheckpoint(tx, checkpointKey, table, position));
    } catch (error) {
      // A table switched by a rebuild elsewhere, or the database gone: as for a batch.
      if (failOnError) this.fail(error);
      return;
    }
    try {
      this.options.onCheckpointStored?.(position);
    } catch {
      // A status callback must not stop the projection.
    }
  }

  /**
   * Queues a flush of whatever is buffered when its turn comes (behind the flushes queued before);
   * resolves once it is written, rejects when it fails. `drain`: also every document the cache
   * holds that is not in the table yet.
   */
  private enqueueFlush({ drain = false }: { drain?: boolean } = {}): Promise<void> {
    let taken!: () => void;
    const next = new Promise<void>((resolve) => (taken = resolve));
    const run = this.chain.then(async () => {
      let queued: { write: Promise<void> } | undefined;
      try {
        await (this.cache ? this.writingBefore : this.writing);
        queued = await this.take(drain);
      } finally {
        taken();
      }
      await queued?.write;
    });
    this.chain = next;
    return run;
  }

  /**
   * Takes what is buffered (with the cache: folds it now) and queues its write; undefined when there
   * is nothing to write.
   */
  private async take(drain: boolean): Promise<{ write: Promise<void> } | undefined> {
    if (this.phase === 'failed') throw this.failure;
    if (this.phase === 'closed') return undefined;
    // Whatever is buffered goes: a flush queued for a full batch may find it taken by a linger flush.
    const batch = this.buffer.splice(0, this.buffer.length);
    if (batch.length > 0) this.clearTimer();
    let folded: { applied: number; writes: DocumentWrite[] } | undefined;
    if (this.cache) {
      try {
        const projection = this.options.projection as DocumentProjection;
        folded = await foldDocumentBatchWithCache(this.options.sql, projection, this.options.table, batch, this.cache);
        if (drain) folded.writes.push(...this.cache.drain());
      } catch (error) {
        this.cache.clear();
        this.fail(error);
        throw error;
      }
    }
    if (batch.length === 0 && !(folded && folded.writes.length > 0)) return undefined;
    // A drain with no new events writes at the checkpoint it has reached.
    const position = batch.length > 0 ? batch[batch.length - 1]!.globalPosition : this.lastTaken;
    this.lastTaken = position;
    // A folded batch's events are not needed by its write unless a callback is given them: let them
    // go now. A batch waits for the two writes ahead of it, and events held that long outlive V8's
    // young generation: each was copied by the collector and promoted, a third of a replay's CPU.
    const events = folded && !this.options.onCommitted && !this.options.aroundBatch ? [] : batch;
    const count = batch.length;
    const write = this.writing.then(() => this.write(events, count, position, folded));
    this.writingBefore = this.writing;
    this.writing = write.catch(() => undefined);
    return { write };
  }

  /** Writes a batch of `count` events (`batch`: the events, or none once folded and let go). */
  private async write(
    batch: readonly RecordedEvent[],
    count: number,
    position: bigint,
    folded: { applied: number; writes: DocumentWrite[] } | undefined,
  ): Promise<void> {
    if (this.phase === 'failed') throw this.failure;
    const { sql, projection, table, checkpointKey } = this.options;
    if (!folded && this.deferMs > 0 && !batch.some((event) => this.accepts(event.type))) {
      // Nothing to write in the table: the checkpoint moves in memory now and in the table later.
      this.deferred = position;
      this.armDeferTimer();
      await this.committedAt(batch, count, position, 0, false);
      return;
    }
    let applied: number;
    try {
      const transaction = () =>
        sql.transaction(async (tx) => {
          let count: number;
          if (folded) {
            await writeDocuments(tx, table, folded.writes);
            count = folded.applied;
          } else {
            count = await applyBatch(tx, projection, table, batch);
          }
          await advanceCheckpoint(tx, checkpointKey, table, position);
          return count;
        });
      applied = await (this.options.aroundBatch ? this.options.aroundBatch(projection.name, batch, transaction) : transaction());
    } catch (error) {
      // What the cache holds (this batch's documents, and those folded after it) cannot be trusted now.
      this.cache?.clear();
      this.fail(error);
      throw error;
    }
    if (folded) this.cache?.written(folded.writes);
    // This batch's checkpoint covers what earlier ignored batches left in memory.
    this.deferred = undefined;
    this.clearDeferTimer();
    await this.committedAt(batch, count, position, applied, true);
  }

  /** After a batch is committed (or only moved the checkpoint in memory): tells the cache, then the waiters, then onBatch. */
  private async committedAt(batch: readonly RecordedEvent[], count: number, position: bigint, applied: number, stored: boolean): Promise<void> {
    this.committed = position;
    try {
      this.options.onCommitted?.(batch);
    } catch {
      // A cache callback must not stop the projection.
    }
    for (const waiter of [...this.waiters]) {
      if (waiter.position <= position) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
    try {
      await this.options.onBatch?.({ position, events: count, applied, stored });
    } catch {
      // A progress callback must not stop the projection.
    }
  }

  private fail(error: unknown): void {
    if (this.phase === 'failed' || this.phase === 'closed') return;
    this.phase = 'failed';
    this.failure = error;
    this.clearTimer();
    this.clearDeferTimer();
    this.buffer = [];
    // Not awaited: this may run inside the handler, and stop() waits for the handler to return.
    void this.subscription?.stop().catch(() => undefined);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.options.onFailure(error);
  }
}
