import type { EventStore, RecordedEvent } from '@svp/event-store';
import type { SqlClient } from '@svp/postgres';
import { type BatchWrapper, BatchingSubscription } from './batching-subscription.js';
import {
  deleteCheckpoint,
  ensureCheckpointTable,
  ProjectionTableChangedError,
  readCheckpoint,
  registerCheckpoint,
  setCheckpoint,
} from './checkpoints.js';
import { DEFAULT_RETRY_POLICY, documentIdsOf, lagOf, rebuildProgress, retryDelay, type RebuildProgress, type RetryPolicy } from './decisions.js';
import { CachedReadModelReader, DocumentCache, type DocumentCacheOptions } from './document-cache.js';
import { baseTableName, checkpointKey, nextRebuildTableName, rebuildCheckpointKey } from './naming.js';
import type { DocumentProjection, Projection } from './projection.js';
import { dropTable, listProjectionTables, setupTable } from './projection-tables.js';
import { isUndefinedTableError, ReadModelReader } from './read-model-reader.js';

export type ProjectionState = 'catching-up' | 'live' | 'stopped' | 'failed';

export interface ProjectionStatus {
  readonly name: string;
  readonly version: number;
  /** The active table: where reads go and live events are written. */
  readonly table: string;
  /** The checkpoint: global position of the last event written to the active table. */
  readonly position: bigint;
  /** Global position of the last event in the log; null when the store could not be asked. */
  readonly head: bigint | null;
  /** head − position; null when the head is unknown. */
  readonly lag: bigint | null;
  /**
   * `catching-up`: reading events stored before it started; `live`: caught up, following new events;
   * `stopped`: not running (before start, after stop); `failed`: the last batch or the subscription
   * failed (`error`), a retry is scheduled (`retryAt`).
   */
  readonly state: ProjectionState;
  readonly error?: Error;
  /** Failures in a row since the last batch written or the last catch-up. */
  readonly failures: number;
  readonly retryAt?: Date;
  /** Present while a rebuild runs beside the active table. */
  readonly rebuild?: RebuildProgress & { readonly table: string };
}

export interface RebuildOptions {
  /** Called when the replay starts, after each batch written to the new table, and once after the switch. */
  onProgress?: (progress: RebuildProgress) => void;
  /** Batch size of the replay; the runner's `catchUpBatchSize` by default. */
  batchSize?: number;
}

export interface RebuildResult {
  readonly previousTable: string;
  /** The new active table. */
  readonly table: string;
  /** The checkpoint the new table was switched in at. */
  readonly position: bigint;
  readonly eventsApplied: number;
}

/**
 * `rebuild()` was called for a projection that is already being rebuilt by this runner. The call
 * that lost is refused at once (the name is claimed synchronously); the running rebuild carries on.
 * An HTTP front maps it to 409 Conflict.
 */
export class RebuildInProgressError extends Error {
  override readonly name = 'RebuildInProgressError';
  constructor(readonly projection: string) {
    super(`Projection '${projection}' is already being rebuilt`);
  }
}

/**
 * The rebuild was abandoned because the runner was stopped: its table was dropped and the active
 * table (and its checkpoint) left as they were.
 */
export class RebuildAbortedError extends Error {
  override readonly name = 'RebuildAbortedError';
  constructor(readonly projection: string) {
    super(`Rebuild of projection '${projection}' was abandoned: the runner was stopped`);
  }
}

export interface ProjectionRunnerOptions {
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  /** Events per transaction at most once live (default 100). */
  readonly batchSize?: number;
  /**
   * Events per transaction at most while catching up: after a start behind the head, and in a
   * rebuild's replay. By default `batchSize` when that is given (so that bound holds throughout),
   * else DEFAULT_CATCH_UP_BATCH_SIZE. Larger batches are fewer transactions and fewer document
   * writes (a document's events in a batch fold into one write); at most two batches are held.
   */
  readonly catchUpBatchSize?: number;
  /** How long a partial batch waits for more events before it is written (default 10 ms). */
  readonly lingerMs?: number;
  /**
   * How long the stored checkpoint may lag behind batches the projection ignores (none of its
   * types): they move it in memory at once and in the table with the next batch written, on stop,
   * or after this long (default DEFERRED_CHECKPOINT_MS, 1 s; 0: at once, a transaction per batch).
   */
  readonly deferCheckpointMs?: number;
  /** Backoff after a failure (default 200 ms doubling to 30 s). */
  readonly retry?: Partial<RetryPolicy>;
  /** Told about every failure (a logger); the runner itself retries. */
  readonly onError?: (projection: string, error: Error) => void;
  /** Wraps each live batch's transaction (not a rebuild's replay): the service's tracing span per batch. */
  readonly aroundBatch?: BatchWrapper;
}

/**
 * Documents a rebuild's replay keeps in memory (and writes to its table when they leave, or once it
 * has caught up): each document is then written about once, whatever the batches.
 */
export const REPLAY_CACHE_DOCUMENTS = 10_000;

/** Events per transaction while a projection catches up or is rebuilt, unless `catchUpBatchSize` says otherwise. */
export const DEFAULT_CATCH_UP_BATCH_SIZE = 5_000;

/**
 * Runs projections: for each, a subscription to the global log from its checkpoint, writing batches
 * of events and the checkpoint in one transaction. Survives restarts (a new runner resumes from the
 * checkpoint) and failures (reports `failed`, retries with backoff). Rebuilds a projection beside
 * its active table and switches to the new table atomically.
 */
export class ProjectionRunner {
  private readonly workers = new Map<string, ProjectionWorker>();
  private schemaReady: Promise<void> | undefined;

  constructor(private readonly options: ProjectionRunnerOptions) {
    for (const projection of options.projections) {
      if (this.workers.has(projection.name)) throw new Error(`Projection '${projection.name}' is registered twice`);
      this.workers.set(projection.name, new ProjectionWorker(projection, options));
    }
  }

  /** Creates the checkpoint table and starts every projection. Failures after that are reported in `status`. */
  async start(): Promise<void> {
    await this.ensureSchema();
    await Promise.all([...this.workers.values()].map((worker) => worker.start()));
  }

  /**
   * Stops every projection, writing what was already delivered, and abandons a rebuild in flight (its
   * table is dropped, the active table stays; `rebuild` rejects with `RebuildAbortedError`), unless it
   * is already committing its switch, which then completes. Resolves once the rebuilds have settled;
   * nothing is delivered after that until the next `start()`. Does not close the store or the SQL client.
   */
  async stop(): Promise<void> {
    await Promise.all([...this.workers.values()].map((worker) => worker.stop()));
  }

  /** The names of the projections this runner runs. */
  get projectionNames(): string[] {
    return [...this.workers.keys()];
  }

  /** Whether a rebuild of the projection is running in this runner (synchronous: no race with `rebuild`). */
  isRebuilding(name: string): boolean {
    return this.worker(name).isRebuilding;
  }

  async status(name: string): Promise<ProjectionStatus> {
    return this.statusOf(this.worker(name), await this.head());
  }

  async statuses(): Promise<ProjectionStatus[]> {
    const head = await this.head();
    return Promise.all([...this.workers.values()].map((worker) => this.statusOf(worker, head)));
  }

  /** A stopped projection reports the stored checkpoint (another process may be running it). */
  private async statusOf(worker: ProjectionWorker, head: bigint | null): Promise<ProjectionStatus> {
    const status = worker.status(head);
    if (status.state !== 'stopped') return status;
    const stored = await readCheckpoint(this.options.sql, worker.key).catch(() => undefined);
    if (!stored) return status;
    return { ...status, table: stored.table, position: stored.position, lag: head === null ? null : lagOf(head, stored.position) };
  }

  /** The table a projection's reads go to now, from the registry (`proj_checkpoints`). */
  async activeTable(name: string): Promise<string> {
    const worker = this.worker(name);
    return (await readCheckpoint(this.options.sql, worker.key))?.table ?? worker.baseTable;
  }

  /** Reads a document projection through its active table. */
  reader<Doc>(projection: DocumentProjection<Doc, any>): ReadModelReader<Doc> { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.worker(projection.name);
    return new ReadModelReader<Doc>(this.options.sql, projection);
  }

  /**
   * Reads a document projection through its active table, keeping the documents it read in memory
   * (a DocumentCache): each is forgotten when this runner's live projection commits a batch that
   * touches it, before the batch's waiters are told, so a write that waits for its position reads
   * itself; everything is forgotten when the projection stops, restarts or a rebuild switches its
   * table. Another instance's projection may write the shared table a moment before this one sees
   * the event; `ttlMs` bounds how long a document can be served from memory regardless.
   */
  cachedReader<Doc>(projection: DocumentProjection<Doc, any>, options: DocumentCacheOptions = {}): CachedReadModelReader<Doc> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const worker = this.worker(projection.name);
    const cache = new DocumentCache<Doc>(options);
    worker.caches.add(cache as DocumentCache<unknown>);
    return new CachedReadModelReader<Doc>(new ReadModelReader<Doc>(this.options.sql, projection), cache);
  }

  /** Lookups of the cached readers' documents since start, per projection (for metrics). */
  cacheStats(): { projection: string; hits: number; misses: number; size: number }[] {
    return [...this.workers.values()].flatMap((worker) =>
      [...worker.caches].map((cache) => ({ projection: worker.projection.name, hits: cache.stats.hits, misses: cache.stats.misses, size: cache.size })),
    );
  }

  /** Resolves once the projection's checkpoint is at or past `position` (read-your-writes after a command). */
  waitForPosition(name: string, position: bigint, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<void> {
    return this.worker(name).waitForPosition(position, timeoutMs);
  }

  /**
   * Rebuilds a projection from position 0 into a new table while the active one keeps serving reads
   * and live events, then switches: stops live delivery, lets the new table catch up to at least the
   * old one's checkpoint, and in one transaction drops the old table and points the checkpoint (the
   * registry) at the new table and its position; live delivery resumes on the new table (unless
   * `stop()` was called meanwhile).
   *
   * One rebuild per projection at a time: the name is claimed synchronously, and a second call while
   * one runs rejects with `RebuildInProgressError`. `stop()` abandons the rebuild (`RebuildAbortedError`).
   */
  rebuild(name: string, options: RebuildOptions = {}): Promise<RebuildResult> {
    let worker: ProjectionWorker;
    try {
      worker = this.worker(name);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return worker.rebuild(options, () => this.ensureSchema());
  }

  private ensureSchema(): Promise<void> {
    this.schemaReady ??= ensureCheckpointTable(this.options.sql).catch((error: unknown) => {
      this.schemaReady = undefined;
      throw error;
    });
    return this.schemaReady;
  }

  private worker(name: string): ProjectionWorker {
    const worker = this.workers.get(name);
    if (!worker) throw new Error(`No projection named '${name}' in this runner`);
    return worker;
  }

  private async head(): Promise<bigint | null> {
    try {
      return await this.options.store.headPosition();
    } catch {
      return null;
    }
  }
}

/** One projection's live subscription, its state and its rebuilds. */
class ProjectionWorker {
  readonly key: string;
  readonly baseTable: string;
  private readonly batchSize: number;
  private readonly catchUpBatchSize: number;
  private readonly lingerMs: number;
  private readonly retryPolicy: RetryPolicy;

  private table: string;
  private position = 0n;
  private state: ProjectionState = 'stopped';
  private error: Error | undefined;
  private failures = 0;
  private retryAt: Date | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private session: BatchingSubscription | undefined;
  /** Whether the owner wants the projection running; cleared by stop(). */
  private running = false;
  /** Bumped by every start and stop, so an open() that was overtaken gives up. */
  private epoch = 0;
  private rebuilding: (RebuildProgress & { table: string }) | undefined;
  /** The rebuild in flight: claimed synchronously by rebuild(), aborted by stop(). */
  private activeRebuild: { readonly abort: AbortController; readonly settled: Promise<void> } | undefined;
  private waiters = new Set<{ position: bigint; resolve: () => void }>();
  /** Document caches of this projection's cached readers: told of every batch committed live. */
  readonly caches = new Set<DocumentCache<unknown>>();

  constructor(
    readonly projection: Projection,
    private readonly options: ProjectionRunnerOptions,
  ) {
    this.key = checkpointKey(projection);
    this.baseTable = baseTableName(projection);
    this.table = this.baseTable;
    this.batchSize = options.batchSize ?? 100;
    this.catchUpBatchSize = options.catchUpBatchSize ?? options.batchSize ?? DEFAULT_CATCH_UP_BATCH_SIZE;
    this.lingerMs = options.lingerMs ?? 10;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  }

  status(head: bigint | null): ProjectionStatus {
    return {
      name: this.projection.name,
      version: this.projection.version,
      table: this.table,
      position: this.position,
      head,
      lag: head === null ? null : lagOf(head, this.position),
      state: this.state,
      failures: this.failures,
      ...(this.state === 'failed' && this.error ? { error: this.error } : {}),
      ...(this.state === 'failed' && this.retryAt ? { retryAt: this.retryAt } : {}),
      ...(this.rebuilding ? { rebuild: this.rebuilding } : {}),
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.open(++this.epoch);
  }

  get isRebuilding(): boolean {
    return this.activeRebuild !== undefined;
  }

  /** The owner's stop: abandons a rebuild in flight, stops live delivery, waits for the rebuild to settle. */
  async stop(): Promise<void> {
    const rebuild = this.activeRebuild;
    rebuild?.abort.abort();
    await this.pause();
    await rebuild?.settled;
  }

  /** Stops live delivery, writing what was delivered (also the rebuild's switch, which resumes it). */
  /** The cached readers forget the documents of a committed batch. */
  private forget(events: readonly RecordedEvent[]): void {
    if (this.caches.size === 0 || this.projection.kind !== 'document') return;
    const ids = documentIdsOf(this.projection, events);
    if (ids.length === 0) return;
    for (const cache of this.caches) cache.invalidate(ids);
  }

  private clearCaches(): void {
    for (const cache of this.caches) cache.clear();
  }

  private async pause(): Promise<void> {
    this.clearCaches();
    this.running = false;
    this.epoch++;
    this.clearRetry();
    const session = this.session;
    this.session = undefined;
    await session?.close({ flush: true });
    if (session) this.setPosition(session.position);
    this.state = 'stopped';
    this.error = undefined;
  }

  waitForPosition(position: bigint, timeoutMs: number): Promise<void> {
    if (this.position >= position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `Projection '${this.projection.name}' did not reach position ${position} within ${timeoutMs} ms ` +
              `(at ${this.position}, ${this.state}${this.error ? `: ${this.error.message}` : ''})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Reads the checkpoint (registering the projection the first time), sets up its table, subscribes. */
  private async open(epoch: number): Promise<void> {
    let session: BatchingSubscription | undefined;
    this.clearCaches();
    try {
      const { sql } = this.options;
      const checkpoint = await sql.transaction(async (tx) => {
        const found = await registerCheckpoint(tx, this.key, this.baseTable);
        await setupTable(tx, this.projection, found.table);
        return found;
      });
      if (epoch !== this.epoch) return; // stopped (or restarted) meanwhile
      this.table = checkpoint.table;
      this.setPosition(checkpoint.position);
      session = new BatchingSubscription({
        store: this.options.store,
        sql,
        projection: this.projection,
        table: checkpoint.table,
        checkpointKey: this.key,
        from: checkpoint.position,
        batchSize: this.batchSize,
        catchUpBatchSize: this.catchUpBatchSize,
        lingerMs: this.lingerMs,
        ...(this.options.deferCheckpointMs !== undefined ? { deferCheckpointMs: this.options.deferCheckpointMs } : {}),
        onCommitted: (events) => this.forget(events),
        ...(this.options.aroundBatch ? { aroundBatch: this.options.aroundBatch } : {}),
        onBatch: ({ position, stored }) => {
          if (this.session !== session) return;
          this.setPosition(position);
          // Only a batch written to the table shows the database takes writes again (an ignored one
          // wrote nothing: a checkpoint that keeps failing must keep backing off).
          if (stored) this.failures = 0;
        },
        // So does the deferred checkpoint of ignored batches: a projection that seldom writes a row
        // would otherwise keep the long backoff of an outage until its next row.
        onCheckpointStored: () => {
          if (this.session === session) this.failures = 0;
        },
        onCaughtUp: () => {
          if (this.session !== session) return;
          this.state = 'live';
        },
        onFailure: (error) => this.onFailure(session, error),
      });
      this.session = session;
      this.state = 'catching-up';
      session.start();
    } catch (error) {
      if (epoch === this.epoch) this.onFailure(session, error);
    }
  }

  private onFailure(session: BatchingSubscription | undefined, error: unknown): void {
    if (!this.running || (session && this.session !== session)) return;
    // Other instances may move the shared table on while this one is not following the log.
    this.clearCaches();
    const failure = error instanceof Error ? error : new Error(String(error));
    this.state = 'failed';
    this.error = failure;
    this.failures++;
    // A table switched by a rebuild elsewhere is not a fault: reopen on the new table at once.
    // (Only the first time in a row: a table that stays missing is a fault, and backs off.)
    const switched = failure instanceof ProjectionTableChangedError || isUndefinedTableError(failure);
    const delay = switched && this.failures === 1 ? 0 : retryDelay(this.failures, this.retryPolicy);
    this.clearRetry();
    this.retryAt = new Date(Date.now() + delay);
    try {
      this.options.onError?.(this.projection.name, failure);
    } catch {
      // A logger that throws must not stop the retries.
    }
    const epoch = this.epoch;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reopen(epoch);
    }, delay);
  }

  private async reopen(epoch: number): Promise<void> {
    if (epoch !== this.epoch || !this.running) return;
    const old = this.session;
    this.session = undefined;
    await old?.close();
    if (epoch !== this.epoch || !this.running) return;
    await this.open(epoch);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryAt = undefined;
  }

  private setPosition(position: bigint): void {
    this.position = position;
    for (const waiter of this.waiters) {
      if (waiter.position <= position) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Claims the rebuild synchronously (a second call is refused at once), then runs it. */
  rebuild(options: RebuildOptions, ready: () => Promise<void>): Promise<RebuildResult> {
    if (this.activeRebuild) return Promise.reject(new RebuildInProgressError(this.projection.name));
    const abort = new AbortController();
    let settle!: () => void;
    this.activeRebuild = { abort, settled: new Promise<void>((resolve) => (settle = resolve)) };
    return (async () => {
      try {
        await ready();
        return await this.runRebuild(options, abort.signal);
      } finally {
        this.activeRebuild = undefined;
        settle();
      }
    })();
  }

  private async runRebuild({ onProgress, batchSize }: RebuildOptions, signal: AbortSignal): Promise<RebuildResult> {
    const { sql, store } = this.options;
    const projection = this.projection;
    const rebuildKey = rebuildCheckpointKey(projection);
    const aborted = () => new RebuildAbortedError(projection.name);
    const checkAborted = () => {
      if (signal.aborted) throw aborted();
    };
    let table: string | undefined;
    let feeder: BatchingSubscription | undefined;
    try {
      checkAborted();
      // The new table: one generation above every table of this projection; leftovers of an
      // interrupted rebuild (tables that are not the active one) are dropped.
      const previousTable = await sql.transaction(async (tx) => {
        const active = (await registerCheckpoint(tx, this.key, this.baseTable)).table;
        const existing = await listProjectionTables(tx, this.baseTable);
        table = nextRebuildTableName(this.baseTable, [...existing, active]);
        for (const leftover of existing) if (leftover !== active) await dropTable(tx, projection, leftover);
        await setupTable(tx, projection, table);
        await setCheckpoint(tx, rebuildKey, table, 0n);
        return active;
      });
      const newTable = table!;
      checkAborted();

      let eventsApplied = 0;
      let head = await store.headPosition();
      checkAborted();
      const report = (position: bigint): void => {
        const progress = rebuildProgress(position, head, eventsApplied);
        this.rebuilding = { ...progress, table: newTable };
        try {
          onProgress?.(progress);
        } catch {
          // A progress callback must not stop the rebuild.
        }
      };
      report(0n);

      let caughtUp!: { resolve: () => void; reject: (error: unknown) => void };
      const caughtUpOnce = new Promise<void>((resolve, reject) => (caughtUp = { resolve, reject }));
      const replay = new BatchingSubscription({
        store,
        sql,
        projection,
        table: newTable,
        checkpointKey: rebuildKey,
        from: 0n,
        batchSize: batchSize ?? this.batchSize,
        catchUpBatchSize: batchSize ?? this.catchUpBatchSize,
        lingerMs: this.lingerMs,
        // The new table is this replay's alone until the switch: its documents stay in memory.
        replayCache: REPLAY_CACHE_DOCUMENTS,
        onBatch: async (batch) => {
          eventsApplied += batch.applied;
          head = await store.headPosition().catch(() => head);
          report(batch.position);
        },
        onCaughtUp: () => caughtUp.resolve(),
        onFailure: (error) => caughtUp.reject(error),
      });
      feeder = replay;
      replay.start();
      await untilAborted(caughtUpOnce, signal, aborted);

      // Switch. Stop live delivery into the old table; its checkpoint is final from here on.
      const wasRunning = this.running;
      await this.pause();
      // Live delivery resumes after the switch (or its failure) only if it ran before, and the owner
      // has not called stop() since.
      const resume = async () => {
        if (wasRunning && !signal.aborted) await this.start();
      };
      let position: bigint;
      try {
        checkAborted();
        // The new table must not be behind what readers of the old one have seen. When the last
        // events the live table applied have since been deleted (a stream deleted from the store),
        // their positions can never be replayed: every event up to the live position that still
        // exists is at or below the head (positions become visible in order, and anything appended
        // after the pause lies above the live position), so the replay has caught up once it
        // reaches the head, and the new checkpoint takes the live position.
        const stored = await readCheckpoint(sql, this.key);
        const live = stored && stored.position > this.position ? stored.position : this.position;
        const headNow = await store.headPosition();
        await untilAborted(replay.waitForPosition(live < headNow ? live : headNow), signal, aborted);
        await replay.close({ flush: true });
        if (replay.error !== undefined) throw replay.error;
        // The last point to abandon: once the switch transaction runs, it completes.
        checkAborted();
        position = replay.position > live ? replay.position : live;
        await sql.transaction(async (tx) => {
          // Drop first: it waits for any other process still writing a batch into the old table,
          // before this transaction holds the checkpoint row (no lock-order deadlock).
          await dropTable(tx, projection, previousTable);
          await setCheckpoint(tx, this.key, newTable, position);
          await deleteCheckpoint(tx, rebuildKey);
        });
        this.clearCaches();
      } catch (error) {
        await resume();
        throw error;
      }
      this.table = newTable;
      this.setPosition(position);
      table = undefined; // switched in: nothing to clean up
      await resume();
      head = await store.headPosition().catch(() => head);
      report(position);
      return { previousTable, table: newTable, position, eventsApplied };
    } finally {
      await feeder?.close();
      if (table !== undefined) {
        const abandoned = table;
        await sql
          .transaction(async (tx) => {
            await dropTable(tx, projection, abandoned);
            await deleteCheckpoint(tx, rebuildKey);
          })
          .catch(() => undefined);
      }
      this.rebuilding = undefined;
    }
  }
}

/** `promise`, or a rejection with `error()` as soon as `signal` aborts (the promise is still handled). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(error());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (reason: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(reason as Error);
      },
    );
  });
}
