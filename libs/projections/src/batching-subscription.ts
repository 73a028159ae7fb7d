import type { EventStore, RecordedEvent, Subscription } from '@svp/event-store';
import type { SqlClient } from '@svp/postgres';
import { advanceCheckpoint } from './checkpoints.js';
import { shouldFlush } from './decisions.js';
import type { Projection } from './projection.js';
import { applyBatch } from './projection-tables.js';

export interface BatchCommitted {
  /** The checkpoint after the batch: the global position of its last event. */
  readonly position: bigint;
  /** Events in the batch. */
  readonly events: number;
  /** Events the projection applied (its types; for documents, not skipped). */
  readonly applied: number;
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
  /** How long a partial batch waits for more events before it is written anyway. */
  readonly lingerMs: number;
  /** After each committed batch, outside its transaction; awaited before the next batch. */
  readonly onBatch?: (batch: BatchCommitted) => void | Promise<void>;
  /** After the subscription caught up and everything it had delivered was written. */
  readonly onCaughtUp?: () => void;
  /** Once, when a batch or the subscription fails; nothing more is written after it. */
  readonly onFailure: (error: unknown) => void;
}

type Phase = 'idle' | 'running' | 'closing' | 'closed' | 'failed';

/**
 * One subscription to the global log feeding one table: collects events into batches (until the
 * batch is full, the subscription has caught up, or a partial batch has lingered) and writes each
 * batch and the checkpoint in one transaction. Batches are written one at a time, in order.
 */
export class BatchingSubscription {
  private phase: Phase = 'idle';
  private committed: bigint;
  private lastQueued: bigint;
  private buffer: RecordedEvent[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private subscription: Subscription | undefined;
  private failure: unknown;
  private closing: Promise<void> | undefined;
  private waiters: { position: bigint; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(private readonly options: BatchingSubscriptionOptions) {
    this.committed = options.from;
    this.lastQueued = options.from;
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
    if (!failed && flush) await this.enqueueFlush().catch(() => undefined);
    await this.chain;
    if (this.phase === 'closing') this.phase = 'closed';
    this.buffer = [];
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure ?? new Error('The subscription was closed'));
  }

  private async onEvent(event: RecordedEvent): Promise<void> {
    if (this.phase !== 'running') {
      if (this.phase === 'failed') throw this.failure;
      return;
    }
    if (event.globalPosition <= this.lastQueued) return; // a redelivery: already queued or written
    this.buffer.push(event);
    this.lastQueued = event.globalPosition;
    if (shouldFlush(this.buffer.length, this.options.batchSize, 'event')) await this.enqueueFlush();
    else this.armTimer();
  }

  private onCaughtUp(): void {
    if (this.phase !== 'running') return;
    this.enqueueFlush().then(
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
    }, this.options.lingerMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Queues a flush of whatever is buffered behind the one running; rejects when it fails. */
  private enqueueFlush(): Promise<void> {
    const run = this.chain.then(() => this.flush());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async flush(): Promise<void> {
    if (this.phase === 'failed') throw this.failure;
    if (this.phase === 'closed') return;
    // Whatever is buffered goes: a flush queued for a full batch may find it taken by a linger flush.
    if (this.buffer.length === 0) return;
    this.clearTimer();
    const batch = this.buffer.splice(0, this.buffer.length);
    const { sql, projection, table, checkpointKey } = this.options;
    const position = batch[batch.length - 1]!.globalPosition;
    let applied: number;
    try {
      applied = await sql.transaction(async (tx) => {
        const count = await applyBatch(tx, projection, table, batch);
        await advanceCheckpoint(tx, checkpointKey, table, position);
        return count;
      });
    } catch (error) {
      this.fail(error);
      throw error;
    }
    this.committed = position;
    for (const waiter of [...this.waiters]) {
      if (waiter.position <= position) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
    try {
      await this.options.onBatch?.({ position, events: batch.length, applied });
    } catch {
      // A progress callback must not stop the projection.
    }
  }

  private fail(error: unknown): void {
    if (this.phase === 'failed' || this.phase === 'closed') return;
    this.phase = 'failed';
    this.failure = error;
    this.clearTimer();
    this.buffer = [];
    // Not awaited: this may run inside the handler, and stop() waits for the handler to return.
    void this.subscription?.stop().catch(() => undefined);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.options.onFailure(error);
  }
}
