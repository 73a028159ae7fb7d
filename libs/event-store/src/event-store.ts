/**
 * The event store port. Every adapter (PostgreSQL via pg, the same adapter on PGlite, KurrentDB)
 * passes one contract suite (`event-store.contract.ts`). Revisions are zero-based per stream;
 * global positions are strictly increasing across the whole log (not necessarily contiguous).
 */

/** What the caller read before deciding: a revision, or a statement about the stream's existence. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface EventToAppend<Data = unknown> {
  /** A UUID chosen by the caller; appending the same ids again is idempotent. */
  eventId: string;
  type: string;
  data: Data;
  metadata?: Record<string, unknown>;
}

export interface RecordedEvent<Data = unknown> {
  eventId: string;
  type: string;
  data: Data;
  metadata: Record<string, unknown>;
  streamName: string;
  /** Zero-based position of the event in its stream. */
  streamRevision: bigint;
  /** Position in the global log (the `$all` stream). */
  globalPosition: bigint;
  recordedAt: Date;
}

export interface AppendResult {
  /** The revision of the stream's last event after the append (pass it as the next expected revision). */
  nextExpectedRevision: bigint;
  /** Global position of the last event written (or already present, for an idempotent re-append). */
  lastGlobalPosition: bigint;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive; defaults to the start (forwards) or the end (backwards). */
  fromRevision?: bigint;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: only events with a global position greater than this. Omitted: from the start. */
  after?: bigint;
  maxCount?: number;
}

export interface SubscribeToAllOptions {
  /** Exclusive, as in ReadAllOptions. */
  after?: bigint;
  /** Called (once per catch-up) when the subscription has delivered every event stored so far. */
  onCaughtUp?: () => void;
  /**
   * Called every time the subscription has handed over everything stored so far and finds nothing
   * more: after the catch-up (just after onCaughtUp) and again after each live delivery that reached
   * the head. A consumer that batches (a projection, the outbox relay) writes its partial batch at
   * once then, rather than waiting out a linger. Optional for adapters that cannot tell (the
   * consumer's linger still bounds the wait).
   */
  onHead?: () => void;
  /** Called when the subscription stops because of an error (the handler threw, or the store failed). */
  onError?: (error: unknown) => void;
}

export interface Subscription {
  /** Stops delivery; resolves once the handler is no longer running. */
  stop(): Promise<void>;
  /** Resolves when the subscription stops (by `stop()`), rejects when it fails. */
  readonly done: Promise<void>;
}

/**
 * Called for each event in global order; a promise it returns is awaited before the next event
 * (back-pressure). A handler that has nothing to wait for may return nothing: the next event is
 * then delivered without a turn of the microtask queue (a replay delivers millions of events, and
 * an awaited promise per event was a tenth of what a rebuild allocated).
 */
export type EventHandler = (event: RecordedEvent) => Promise<void> | void;

export interface EventStore {
  appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;
  /** Events of one stream; an empty list when the stream does not exist or was deleted. */
  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** The revision of the stream's last event, or undefined when it does not exist. */
  streamRevision(streamName: string): Promise<bigint | undefined>;
  /** Events of every stream in global order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catch-up then live subscription to the global log, with no gap and no duplicate at the switch. */
  subscribeToAll(handler: EventHandler, options?: SubscribeToAllOptions): Subscription;
  /**
   * Removes a stream (for discarding session data and erasure); reads then find no events. With
   * `expectedRevision`, only if the stream is still at that revision (else WrongExpectedRevisionError,
   * nothing deleted): a caller that read the stream deletes nothing appended since.
   */
  deleteStream(streamName: string, options?: { expectedRevision?: bigint }): Promise<void>;
  /**
   * Removes the stream's events before `beforeRevision`, keeping the rest: what a stream held goes
   * while its last event (a tombstone appended at the revision that was read) stays in its place.
   * Reads then start at `beforeRevision`; the stream's revision and the next appends go on from it.
   */
  truncateStream(streamName: string, beforeRevision: bigint): Promise<void>;
  /** Global position of the last event in the log (0n when empty). */
  headPosition(): Promise<bigint>;
  close(): Promise<void>;
}

/** Raised when the expected revision does not hold; names both revisions. */
export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly streamName: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual revision, or 'no_stream' when it does not exist. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(
      `Wrong expected revision on stream '${streamName}': expected ${String(expected)}, actual ${String(actual)}`,
    );
  }
}
