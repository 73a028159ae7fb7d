/**
 * The EventStore port on KurrentDB (formerly EventStoreDB) through the official gRPC client,
 * `@kurrent/kurrentdb-client`. Everything the client exposes (stream states, positions, error
 * classes, the subscription stream) is translated here and nowhere else, so a client upgrade or a
 * renamed option touches this file only. See docs/event-store-kurrentdb.md for running it and for
 * the caveats (soft delete and scavenging, the maximum append size, positions).
 *
 * Positions. Every append through gRPC is an implicit transaction: each event is one prepare record
 * whose commit position equals its prepare position (its log position). So the commit position is
 * unique per event and strictly increasing in `$all`; it is our `globalPosition`, and an `after`
 * position maps back to the client's `{ commit: after, prepare: after }`.
 *
 * Requires KurrentDB / EventStoreDB 23.10 or later (the server sends positions on stream reads since
 * 22.6, and the `caughtUp` subscription message since 23.10); it is written against 24.10 and 25.1.
 */
import {
  ANY,
  BACKWARDS,
  END,
  ErrorType,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendStreamState,
  type EventData,
  type JSONType,
  type Position,
  type ReadPosition,
} from '@kurrent/kurrentdb-client';
import {
  WrongExpectedRevisionError,
  type AppendResult,
  type EventHandler,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type Subscription,
} from '../event-store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The server encodes "no position" as -1, which the protocol carries as 2^64 - 1. */
const MAX_LOG_POSITION = 2n ** 63n - 1n;
/** Events per backwards page when headPosition skips events of system streams. */
const HEAD_PAGE_SIZE = 16;
/** How long close()/stop() wait for the server to acknowledge the end of a subscription. */
const UNSUBSCRIBE_TIMEOUT_MS = 5_000;

/** The shape of an event as both the streaming (gRPC) and the native read paths of the client deliver it. */
interface ClientRecordedEvent {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  created: Date;
  data: unknown;
  metadata?: unknown;
  position?: Position | undefined;
}

interface ClientResolvedEvent {
  event?: ClientRecordedEvent | undefined;
  commitPosition?: bigint | undefined;
}

// ---------------------------------------------------------------------------------------------
// Pure mappings (unit-tested in kurrentdb-event-store.unit.spec.ts)
// ---------------------------------------------------------------------------------------------

/** Our expected revision as the client's `streamState`. */
export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

/**
 * The client's "current" stream state as our actual revision: a revision, or 'no_stream' for
 * "no stream" and for the server's negative markers (-1 no stream, -5 soft-deleted, -6 tombstoned).
 */
export function toActualRevision(state: unknown): bigint | 'no_stream' {
  if (typeof state === 'bigint') return state >= 0n ? state : 'no_stream';
  if (typeof state === 'number' && Number.isInteger(state)) return state >= 0 ? BigInt(state) : 'no_stream';
  if (typeof state === 'string' && /^\d+$/.test(state)) return BigInt(state);
  return 'no_stream';
}

/** A real log position (the server's "none" arrives as -1 or 2^64 - 1), or undefined. */
export function validLogPosition(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) value = BigInt(value);
  return typeof value === 'bigint' && value >= 0n && value <= MAX_LOG_POSITION ? value : undefined;
}

/**
 * The global position of an event: its commit position; on a stream read from a server that sends
 * no commit position, the resolved event's commit position or else the prepare position (equal to
 * the commit position for every event written through gRPC, see the header comment).
 */
export function globalPositionOf(position: Position | undefined, commitPosition?: bigint): bigint {
  const found =
    validLogPosition(position?.commit) ?? validLogPosition(commitPosition) ?? validLogPosition(position?.prepare);
  if (found === undefined) {
    throw new Error(
      'KurrentDB returned an event without a log position; this adapter needs KurrentDB/EventStoreDB 22.6 or later',
    );
  }
  return found;
}

/** Where a forwards read or subscription starts for our exclusive `after` (0n and below: the start). */
export function toReadPosition(after: bigint | undefined): ReadPosition {
  if (after === undefined || after <= 0n) return START;
  return { commit: after, prepare: after };
}

/** System events: `$`-prefixed types (metadata, links, tombstones, stats) and anything in a `$` stream. */
export function isSystemEvent(type: string, streamName: string): boolean {
  return type.startsWith('$') || streamName.startsWith('$');
}

/** The size the server counts against MaxAppendSize: data + metadata bytes + 2 bytes per type character. */
export function estimateAppendSize(events: readonly EventToAppend[]): number {
  let total = 0;
  for (const event of events) {
    total += Buffer.byteLength(JSON.stringify(event.data ?? null), 'utf8');
    if (event.metadata !== undefined) total += Buffer.byteLength(JSON.stringify(event.metadata), 'utf8');
    total += event.type.length * 2;
  }
  return total;
}

/** Raised instead of the client's bare "maximum append size exceeded" error. */
export class KurrentDbAppendTooLargeError extends Error {
  override readonly name = 'KurrentDbAppendTooLargeError';
  constructor(
    readonly streamName: string,
    readonly eventCount: number,
    /** Estimated with the server's formula (see estimateAppendSize). */
    readonly estimatedBytes: number,
    /** The server's limit when it reported it. */
    readonly maxAppendSize: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `Cannot append ${eventCount} event(s) (about ${estimatedBytes} bytes) to stream '${streamName}': ` +
        `KurrentDB rejects a single append larger than its MaxAppendSize` +
        (maxAppendSize !== undefined ? ` (${maxAppendSize} bytes on this server)` : ' (1 MiB by default)') +
        `. One append is one transaction on the server; split the batch into several appends (each with the ` +
        `revision the previous one returned, giving up atomicity across them) or raise MaxAppendSize on the ` +
        `server (KURRENTDB_MAX_APPEND_SIZE).`,
      options,
    );
  }
}

function clientErrorType(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const type = (error as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

function numberField(error: unknown, field: string): number | undefined {
  const value = (error as Record<string, unknown>)[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A read failed because the stream does not exist or was deleted: the port answers that with []. */
export function isStreamGone(error: unknown): boolean {
  const type = clientErrorType(error);
  return (
    type === ErrorType.STREAM_NOT_FOUND ||
    type === ErrorType.STREAM_DELETED ||
    type === ErrorType.STREAM_TOMBSTONED ||
    type === ErrorType.NO_STREAM
  );
}

/** The error appendToStream raises for an error of the client; unknown errors pass through unchanged. */
export function mapAppendError(
  error: unknown,
  streamName: string,
  expected: ExpectedRevision,
  events: readonly EventToAppend[],
): unknown {
  switch (clientErrorType(error)) {
    case ErrorType.WRONG_EXPECTED_VERSION:
      return new WrongExpectedRevisionError(
        streamName,
        expected,
        toActualRevision((error as { actualState?: unknown }).actualState),
      );
    case ErrorType.STREAM_DELETED:
    case ErrorType.STREAM_TOMBSTONED:
      // 'stream_exists' on a soft-deleted stream: for the port a deleted stream does not exist.
      if (expected === 'stream_exists') return new WrongExpectedRevisionError(streamName, expected, 'no_stream');
      return new Error(
        `Cannot append to stream '${streamName}': KurrentDB reports it hard-deleted (tombstoned), so it can never be written again`,
        { cause: error },
      );
    case ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED:
      return new KurrentDbAppendTooLargeError(
        streamName,
        events.length,
        estimateAppendSize(events),
        numberField(error, 'maxAppendSize'),
        { cause: error },
      );
    case ErrorType.TRANSACTION_MAX_SIZE_EXCEEDED:
      return new KurrentDbAppendTooLargeError(
        streamName,
        events.length,
        estimateAppendSize(events),
        numberField(error, 'maxSize'),
        { cause: error },
      );
    case ErrorType.APPEND_RECORD_SIZE_EXCEEDED:
      return new Error(
        `Cannot append to stream '${streamName}': event ${String((error as { recordId?: unknown }).recordId)} is ` +
          `${String(numberField(error, 'size'))} bytes, over the server's limit for one event ` +
          `(${String(numberField(error, 'maxSize'))} bytes)`,
        { cause: error },
      );
    default:
      return error;
  }
}

function toEventData(event: EventToAppend): EventData {
  return jsonEvent({
    // Our event id is KurrentDB's event id, so the server's idempotence on event ids applies.
    id: event.eventId,
    type: event.type,
    data: (event.data ?? null) as JSONType,
    metadata: event.metadata,
  });
}

function toMetadata(metadata: unknown): Record<string, unknown> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || metadata instanceof Uint8Array) {
    return {};
  }
  return metadata as Record<string, unknown>;
}

export function toRecordedEvent(event: ClientRecordedEvent, globalPosition: bigint): RecordedEvent {
  return {
    eventId: event.id,
    type: event.type,
    data: event.data,
    metadata: toMetadata(event.metadata),
    streamName: event.streamId,
    streamRevision: BigInt(event.revision),
    globalPosition,
    recordedAt: event.created instanceof Date ? event.created : new Date(event.created),
  };
}

/**
 * Decides when a subscription has *delivered* everything stored when the server said "caught up".
 * The client emits `caughtUp` while the events before it may still sit in its read buffer, so the
 * signal is held until as many events as were taken or buffered at that moment have been handled.
 */
export class CaughtUpTracker {
  private takenCount = 0;
  private handledCount = 0;
  /** Handled-counts at which a pending caught-up signal fires, ascending. */
  private readonly pending: number[] = [];

  constructor(private readonly notify: () => void) {}

  /** An event was taken from the buffer (before its handler runs). */
  taken(): void {
    this.takenCount++;
  }

  /** The event taken last is done (handled or skipped). */
  handled(): void {
    this.handledCount++;
    while (this.pending.length > 0 && this.pending[0]! <= this.handledCount) {
      this.pending.shift();
      this.notify();
    }
  }

  /** The server said "caught up" while `buffered` events were waiting in the read buffer. */
  caughtUp(buffered: number): void {
    const target = this.takenCount + buffered;
    if (target <= this.handledCount) this.notify();
    else this.pending.push(target);
  }
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/**
 * Delivers a client `$all` subscription to `handler`, one event at a time: the next event is read
 * from the subscription's buffer only after the handler's promise settled, so the buffer fills up and
 * gRPC flow control slows the server down (back-pressure). The loop reads the stream itself rather
 * than `for await`, so that it knows exactly how many events were taken when `caughtUp` arrives.
 */
export function pumpSubscription(
  source: AllStreamSubscription,
  handler: EventHandler,
  options: SubscribeToAllOptions = {},
): Subscription {
  let stopping = false;
  let finished = false;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const fail = (error: unknown): void => {
    if (!finished && !stopping && failure === undefined) failure = { error };
    signal();
  };
  const tracker = new CaughtUpTracker(() => {
    try {
      options.onCaughtUp?.();
    } catch (error) {
      fail(error);
    }
  });

  source.on('readable', signal);
  source.on('end', () => {
    ended = true;
    signal();
  });
  source.on('close', () => {
    ended = true;
    signal();
  });
  // Also keeps a late error (after stop) from being an unhandled 'error' event.
  source.on('error', fail);
  source.on('caughtUp', () => tracker.caughtUp(source.readableLength));

  // Exclusive lower bound, moved to each delivered event: `after` and any repeat are skipped.
  let last = options.after ?? -1n;

  const run = async (): Promise<void> => {
    try {
      for (;;) {
        if (stopping) return;
        if (failure) throw failure.error;
        const resolved = source.read() as AllStreamResolvedEvent | null;
        if (resolved === null) {
          if (ended) throw new Error('KurrentDB ended the $all subscription');
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        tracker.taken();
        const event = (resolved as ClientResolvedEvent).event;
        if (event && !isSystemEvent(event.type, event.streamId)) {
          const position = globalPositionOf(event.position, resolved.commitPosition);
          if (position > last) {
            last = position;
            await handler(toRecordedEvent(event, position));
          }
        }
        tracker.handled();
      }
    } finally {
      finished = true;
      await withTimeout(source.unsubscribe(), UNSUBSCRIBE_TIMEOUT_MS);
      source.destroy();
    }
  };

  const done = run().catch((error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // The subscription already failed with `error`; a failing error callback changes nothing.
    }
    throw error;
  });
  // Mark the rejection handled here: a caller that never awaits `done` must not crash the process.
  done.catch(() => undefined);

  return {
    done,
    stop: async () => {
      stopping = true;
      signal();
      await done.catch(() => undefined);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The adapter
// ---------------------------------------------------------------------------------------------

export class KurrentDbEventStore implements EventStore {
  private readonly subscriptions = new Set<Subscription>();

  private constructor(private readonly client: KurrentDBClient) {}

  /**
   * A store over a new client for `connectionString`, e.g. `kurrentdb://127.0.0.1:2113?tls=false` or
   * `kurrentdb://admin:changeit@node1:2113,node2:2113?tls=true`. The client connects lazily, on the
   * first call; close() disposes of it.
   */
  static async connect(connectionString: string): Promise<KurrentDbEventStore> {
    return new KurrentDbEventStore(KurrentDBClient.connectionString(connectionString));
  }

  async appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    for (const event of events) {
      if (!UUID.test(event.eventId)) throw new Error(`Event id '${event.eventId}' is not a UUID`);
    }
    if (events.length === 0) return this.appendNothing(streamName, expected);

    let result: Awaited<ReturnType<KurrentDBClient['appendToStream']>>;
    try {
      result = await this.client.appendToStream(streamName, events.map(toEventData), {
        streamState: toStreamState(expected),
      });
    } catch (error) {
      throw mapAppendError(error, streamName, expected, events);
    }
    // Only with `throwOnAppendFailure=false` in the connection string does a conflict resolve.
    if (!result.success) {
      throw new WrongExpectedRevisionError(streamName, expected, toActualRevision(result.nextExpectedRevision));
    }

    const nextExpectedRevision = result.nextExpectedRevision;
    // The server reports the commit position of the write (none for an idempotent re-append on older
    // servers). For one event that is the event's position. For several events, which event the
    // reported position belongs to is an implementation detail of the server, so the position of the
    // last event is read back from the stream (one index lookup).
    const reported = events.length === 1 ? validLogPosition(result.position?.commit) : undefined;
    const lastGlobalPosition = reported ?? (await this.positionOfRevision(streamName, nextExpectedRevision));
    return { nextExpectedRevision, lastGlobalPosition };
  }

  /** An empty append writes nothing but still checks the expected revision. */
  private async appendNothing(streamName: string, expected: ExpectedRevision): Promise<AppendResult> {
    const [last] = await this.readStream(streamName, { direction: 'backwards', maxCount: 1 });
    const current = last?.streamRevision ?? -1n;
    const holds =
      expected === 'any' ||
      (expected === 'no_stream' && current < 0n) ||
      (expected === 'stream_exists' && current >= 0n) ||
      expected === current;
    if (!holds) throw new WrongExpectedRevisionError(streamName, expected, last ? current : 'no_stream');
    return { nextExpectedRevision: current, lastGlobalPosition: last?.globalPosition ?? 0n };
  }

  private async positionOfRevision(streamName: string, revision: bigint): Promise<bigint> {
    const [event] = await this.readStream(streamName, { direction: 'forwards', fromRevision: revision, maxCount: 1 });
    if (event?.streamRevision !== revision) {
      throw new Error(
        `Appended to stream '${streamName}' up to revision ${revision}, but could not read that event back to learn its global position`,
      );
    }
    return event.globalPosition;
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (options.maxCount !== undefined && options.maxCount <= 0) return [];
    const direction = options.direction === 'backwards' ? BACKWARDS : FORWARDS;
    const events: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamName, {
        direction,
        fromRevision: options.fromRevision ?? (direction === BACKWARDS ? END : START),
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
      });
      for await (const resolved of read as AsyncIterable<ClientResolvedEvent>) {
        if (!resolved.event) continue;
        events.push(toRecordedEvent(resolved.event, globalPositionOf(resolved.event.position, resolved.commitPosition)));
      }
    } catch (error) {
      // Never written, soft-deleted (reads answer "not found") or tombstoned: no events.
      if (isStreamGone(error)) return [];
      throw error;
    }
    return events;
  }

  async streamRevision(streamName: string): Promise<bigint | undefined> {
    const [last] = await this.readStream(streamName, { direction: 'backwards', maxCount: 1 });
    return last?.streamRevision;
  }

  /**
   * `$all` forwards after `after`, without system events: the server filters `$` event types, this
   * code drops what is left in `$` streams and the event at `after` itself (a read from a position
   * includes the event there). A page that comes back full while events were dropped is followed by
   * another read, so maxCount events come back whenever the log has them.
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const limit = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return [];
    const events: RecordedEvent[] = [];
    let last = options.after ?? -1n;
    for (;;) {
      const remaining = limit - events.length;
      // +1: the event at `last` itself comes back first when it passes the filter.
      const pageSize = Number.isFinite(remaining) ? remaining + 1 : undefined;
      let received = 0;
      const read = this.client.readAll({
        direction: FORWARDS,
        fromPosition: toReadPosition(last),
        filter: excludeSystemEvents(),
        ...(pageSize !== undefined ? { maxCount: pageSize } : {}),
      });
      for await (const resolved of read as AsyncIterable<ClientResolvedEvent>) {
        received++;
        const event = resolved.event;
        if (!event) continue;
        const position = globalPositionOf(event.position, resolved.commitPosition);
        if (position <= last) continue;
        last = position;
        if (isSystemEvent(event.type, event.streamId)) continue;
        events.push(toRecordedEvent(event, position));
        if (events.length >= limit) return events;
      }
      if (pageSize === undefined || received < pageSize) return events;
    }
  }

  subscribeToAll(handler: EventHandler, options: SubscribeToAllOptions = {}): Subscription {
    const source = this.client.subscribeToAll({
      // Exclusive on the server too; pumpSubscription also skips anything at or before `after`.
      fromPosition: toReadPosition(options.after),
      filter: excludeSystemEvents(),
    });
    const subscription = pumpSubscription(source, handler, options);
    this.subscriptions.add(subscription);
    void subscription.done.catch(() => undefined).finally(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /**
   * Soft delete: the stream's metadata gets "truncate before: everything", so reads and
   * streamRevision find nothing at once, and appending again (even with 'no_stream') recreates it —
   * but its revisions continue after the deleted ones instead of restarting at 0.
   *
   * Erasure: a soft delete does NOT remove the data. The events stay in the log, and `$all`
   * (readAll, subscribeToAll, so any projection rebuilt from 0) still returns them, until a scavenge
   * physically removes them. To erase personal data, delete the stream and then run a scavenge
   * (admin UI, `POST /admin/scavenge`, or the scheduled auto-scavenge) and wait for it to finish.
   * A hard delete (tombstone) has the same need for a scavenge and, in addition, forbids recreating
   * the stream, which the port allows; hence soft.
   */
  async deleteStream(streamName: string, options: { expectedRevision?: bigint } = {}): Promise<void> {
    const expected = options.expectedRevision;
    try {
      await this.client.deleteStream(streamName, expected === undefined ? {} : { expectedRevision: expected });
    } catch (error) {
      if (clientErrorType(error) === ErrorType.WRONG_EXPECTED_VERSION && expected !== undefined)
        throw new WrongExpectedRevisionError(streamName, expected, toActualRevision((error as { actualState?: unknown }).actualState));
      if (isStreamGone(error)) {
        if (expected === undefined) return;
        throw new WrongExpectedRevisionError(streamName, expected, 'no_stream');
      }
      throw error;
    }
  }

  /**
   * The stream's metadata gets "truncate before: <revision>": reads start there at once. As with a
   * delete, the truncated events stay in `$all` until a scavenge removes them (see deleteStream).
   */
  async truncateStream(streamName: string, beforeRevision: bigint): Promise<void> {
    await this.client.setStreamMetadata(streamName, { truncateBefore: Number(beforeRevision) });
  }

  /** The position of the newest non-system event in `$all` (0n when there is none). */
  async headPosition(): Promise<bigint> {
    let before: bigint | undefined;
    for (;;) {
      let received = 0;
      const read = this.client.readAll({
        direction: BACKWARDS,
        fromPosition: before === undefined ? END : { commit: before, prepare: before },
        filter: excludeSystemEvents(),
        maxCount: HEAD_PAGE_SIZE,
      });
      for await (const resolved of read as AsyncIterable<ClientResolvedEvent>) {
        received++;
        const event = resolved.event;
        if (!event) continue;
        const position = globalPositionOf(event.position, resolved.commitPosition);
        if (before !== undefined && position >= before) continue;
        before = position;
        if (!isSystemEvent(event.type, event.streamId)) return position;
      }
      if (received < HEAD_PAGE_SIZE) return 0n;
    }
  }

  /** Stops the running subscriptions, then disposes of the client. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.client.dispose();
  }
}
