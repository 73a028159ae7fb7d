import type { SqlClient, SqlExecutor } from '@svp/postgres';
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
import { type AppendOutcome, type PendingAppend, appendBatchInTransaction, revisionHolds, takeBatch } from './append-batch.js';

export interface PostgresEventStoreOptions {
  /** Events per readAll page while a subscription catches up (default 500). */
  pageSize?: number;
  /** How often a live subscription polls when no notification arrives (default 500 ms). */
  pollIntervalMs?: number;
  /** Events per INSERT statement of a large append (default 1,000). */
  insertChunkSize?: number;
  /**
   * Group commit (default true): appends that arrive while one is being written wait and are then
   * written together, in one transaction (one commit for all), each still decided on its own. An
   * append that arrives when nothing is being written goes at once, so a lone writer waits for
   * nothing. False: a transaction per append.
   */
  groupCommit?: boolean;
  /** The most events one group commit writes (default 1,000); a larger append is written alone. */
  maxBatchEvents?: number;
}

/**
 * Ordering of the global log. A bigserial alone is not enough: two transactions can take positions
 * 5 and 6 and commit in the order 6, 5, so a reader that saw 6 and moved its checkpoint past it would
 * never see 5. (Filtering on `xid < pg_snapshot_xmin(...)` alone does not fix that while readers order
 * and checkpoint by position: the transaction holding 5 may have the higher xid and still be running
 * when 6 becomes readable.) Here an append takes a transaction-scoped advisory lock right before it
 * draws positions and keeps it until its commit is visible (PostgreSQL releases locks after marking
 * the transaction committed), so positions become visible in increasing order and every reader sees
 * a gap-free prefix of the log (gaps left by rolled-back appends are permanent and harmless). Only
 * the insert-to-commit window is serialised; revision checks and stream locks happen before it.
 */
const MIGRATION = `
CREATE TABLE IF NOT EXISTS es_streams (
  stream_name text PRIMARY KEY,
  -- Revision of the stream's last event; -1 only inside the transaction that creates the stream.
  revision bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS es_events (
  global_position bigserial PRIMARY KEY,
  stream_name text NOT NULL,
  stream_revision bigint NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  event_type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT es_events_stream_revision UNIQUE (stream_name, stream_revision)
);
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * `recorded_at` is read as whole epoch milliseconds (what a Date holds): as timestamptz text, pg
 * parsed it with a regular expression per event (postgres-date), a tenth of the allocation of a
 * replay. Date truncates to the millisecond either way.
 */
const EVENT_COLUMNS =
  'global_position, stream_name, stream_revision, event_id, event_type, data, metadata, floor(extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_ms';

interface EventRow {
  global_position: bigint;
  stream_name: string;
  stream_revision: bigint;
  event_id: string;
  event_type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_ms: number;
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    type: row.event_type,
    data: row.data,
    metadata: row.metadata,
    streamName: row.stream_name,
    streamRevision: row.stream_revision,
    globalPosition: row.global_position,
    recordedAt: new Date(Number(row.recorded_ms)),
  };
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}


/** The EventStore on PostgreSQL through the SqlClient port: the same class on pg and on PGlite. */
export class PostgresEventStore implements EventStore {
  private readonly pageSize: number;
  private readonly pollIntervalMs: number;
  private readonly insertChunkSize: number;
  private readonly subscriptions = new Set<Subscription>();
  private readonly groupCommit: boolean;
  private readonly maxBatchEvents: number;
  private readonly queue: PendingAppend[] = [];
  private writing = false;
  /** Transactions written by group commit, and the appends they held (for metrics and tests). */
  readonly groupCommits = { batches: 0, appends: 0 };
  /**
   * Subscriptions' page reads in flight, by `after`: the subscriptions of one process woken by one
   * notification read the same page once (a service with eight projections and a relay reads the
   * new event once, not nine times). `notices` counts notifications seen by any subscription: a read
   * is only joined while none came in since it started, so a joiner never misses one.
   */
  private readonly pageReads = new Map<bigint, { notices: number; read: Promise<RecordedEvent[]> }>();
  private notices = 0;
  /** Subscription page reads sent to the database, and those that joined one in flight (for tests). */
  readonly sharedReads = { queried: 0, joined: 0 };

  private constructor(
    private readonly sql: SqlClient,
    /** NOTIFY channel and advisory-lock name, both scoped to the schema the tables live in. */
    private readonly channel: string,
    options: PostgresEventStoreOptions,
  ) {
    this.pageSize = options.pageSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.insertChunkSize = options.insertChunkSize ?? 1_000;
    this.groupCommit = options.groupCommit ?? true;
    this.maxBatchEvents = options.maxBatchEvents ?? 1_000;
  }

  /** Creates the tables if missing (idempotent) in the client's current schema. */
  static async create(sql: SqlClient, options: PostgresEventStoreOptions = {}): Promise<PostgresEventStore> {
    await sql.exec(MIGRATION);
    const { rows } = await sql.query<{ schema: string }>('SELECT current_schema() AS schema');
    // Lower-case identifier characters only, so LISTEN (quoted or not) and pg_notify agree.
    const channel = `es_appended_${rows[0]!.schema}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
    return new PostgresEventStore(sql, channel, options);
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
    if (this.groupCommit && events.length <= this.maxBatchEvents) {
      return new Promise<AppendResult>((resolve, reject) => {
        this.queue.push({ streamName, events, expected, resolve, reject });
        if (!this.writing) void this.writeQueued();
      });
    }
    return this.appendAlone(streamName, events, expected);
  }

  /**
   * Writes the queue, a batch at a time, until it is empty: one append alone as before; several in
   * one transaction. When a batch's transaction fails as a whole (a unique violation from an
   * event id appended concurrently elsewhere, a lost connection), each of its appends is tried again
   * alone, so each gets its own answer.
   */
  private async writeQueued(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = takeBatch(this.queue, this.maxBatchEvents);
        if (batch.length === 1) {
          const [only] = batch as [PendingAppend];
          await this.appendAlone(only.streamName, only.events, only.expected).then(only.resolve, only.reject);
          continue;
        }
        let outcomes: AppendOutcome[] | undefined;
        try {
          outcomes = await this.sql.transaction((tx) => appendBatchInTransaction(tx, this.channel, batch));
          this.groupCommits.batches++;
          this.groupCommits.appends += batch.length;
        } catch {
          outcomes = undefined;
        }
        if (outcomes) {
          batch.forEach((append, i) => {
            const outcome = outcomes[i]!;
            if (outcome.ok) append.resolve(outcome.result);
            else append.reject(outcome.error);
          });
        } else {
          for (const append of batch) await this.appendAlone(append.streamName, append.events, append.expected).then(append.resolve, append.reject);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async appendAlone(streamName: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    // Stream-level races are resolved by the row lock below; a unique violation can still come from
    // the same event id being appended to another stream concurrently. Retrying once lets the
    // idempotency check see the committed row and answer precisely.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sql.transaction((tx) => this.appendInTransaction(tx, streamName, events, expected));
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (attempt >= 3) {
          const actual = await this.streamRevision(streamName);
          throw new WrongExpectedRevisionError(streamName, expected, actual ?? 'no_stream');
        }
      }
    }
  }

  private async appendInTransaction(
    tx: SqlExecutor,
    streamName: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    // Lock the stream row (creating it if missing) so appenders to one stream run one at a time.
    await tx.query(
      'INSERT INTO es_streams (stream_name, revision) VALUES ($1, -1) ON CONFLICT (stream_name) DO NOTHING',
      [streamName],
    );
    const { rows } = await tx.query<{ revision: bigint }>(
      'SELECT revision FROM es_streams WHERE stream_name = $1 FOR UPDATE',
      [streamName],
    );
    const current = rows[0]!.revision;

    const existing = await this.storedEvents(tx, events);
    if (existing.length > 0) {
      const inThisStream = existing.filter((row) => row.stream_name === streamName);
      if (inThisStream.length === events.length) {
        // Idempotent re-append (a retried command): everything is already there, so the expected
        // revision, which held when these events were first written, is not checked again.
        const last = inThisStream.reduce((a, b) => (a.stream_revision > b.stream_revision ? a : b));
        return { nextExpectedRevision: last.stream_revision, lastGlobalPosition: last.global_position };
      }
      throw new Error(
        `Cannot append to '${streamName}': event ids already stored (${existing
          .map((row) => `${row.event_id} in '${row.stream_name}'`)
          .join(', ')}) and the batch is not an exact re-append to this stream`,
      );
    }

    if (!revisionHolds(expected, current)) {
      throw new WrongExpectedRevisionError(streamName, expected, current < 0n ? 'no_stream' : current);
    }

    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.channel]);
    let lastGlobalPosition = 0n;
    for (let start = 0; start < events.length; start += this.insertChunkSize) {
      const chunk = events.slice(start, start + this.insertChunkSize);
      // One multi-row INSERT per chunk; the batch travels as a single JSON parameter (text, then
      // cast, so both pg and PGlite pass it through untouched). ORDER BY keeps positions in order.
      const inserted = await tx.query<{ last: bigint }>(
        `WITH inserted AS (
           INSERT INTO es_events (stream_name, stream_revision, event_id, event_type, data, metadata)
           SELECT $1, $2::bigint + e.n - 1, (e.value->>'eventId')::uuid, e.value->>'type',
                  coalesce(e.value->'data', 'null'::jsonb), coalesce(e.value->'metadata', '{}'::jsonb)
           FROM jsonb_array_elements($3::text::jsonb) WITH ORDINALITY AS e(value, n)
           ORDER BY e.n
           RETURNING global_position
         )
         SELECT max(global_position) AS last FROM inserted`,
        [
          streamName,
          current + 1n + BigInt(start),
          JSON.stringify(
            chunk.map((e) => ({ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata ?? {} })),
          ),
        ],
      );
      lastGlobalPosition = inserted.rows[0]!.last;
    }
    const nextExpectedRevision = current + BigInt(events.length);
    await tx.query('UPDATE es_streams SET revision = $2 WHERE stream_name = $1', [streamName, nextExpectedRevision]);
    // Delivered on commit only; subscriptions also poll, so a lost notification only delays them.
    await tx.query('SELECT pg_notify($1, $2)', [this.channel, String(lastGlobalPosition)]);
    return { nextExpectedRevision, lastGlobalPosition };
  }

  /**
   * An empty append (a decider that decided nothing) writes nothing but still checks the expected
   * revision; for a missing stream it reports nextExpectedRevision -1n and position 0n.
   */
  private async appendNothing(streamName: string, expected: ExpectedRevision): Promise<AppendResult> {
    const [last] = await this.readStream(streamName, { direction: 'backwards', maxCount: 1 });
    const current = last?.streamRevision ?? -1n;
    if (!revisionHolds(expected, current)) {
      throw new WrongExpectedRevisionError(streamName, expected, last ? current : 'no_stream');
    }
    return { nextExpectedRevision: current, lastGlobalPosition: last?.globalPosition ?? 0n };
  }

  private async storedEvents(
    tx: SqlExecutor,
    events: readonly EventToAppend[],
  ): Promise<Pick<EventRow, 'event_id' | 'stream_name' | 'stream_revision' | 'global_position'>[]> {
    const { rows } = await tx.query<Pick<EventRow, 'event_id' | 'stream_name' | 'stream_revision' | 'global_position'>>(
      `SELECT event_id, stream_name, stream_revision, global_position FROM es_events
       WHERE event_id IN (SELECT value::uuid FROM jsonb_array_elements_text($1::text::jsonb))`,
      [JSON.stringify(events.map((e) => e.eventId))],
    );
    return rows;
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const params: unknown[] = [streamName, options.maxCount ?? null];
    let from = '';
    if (options.fromRevision !== undefined) {
      params.push(options.fromRevision);
      from = `AND stream_revision ${backwards ? '<=' : '>='} $3::bigint`;
    }
    const { rows } = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events WHERE stream_name = $1 ${from}
       ORDER BY stream_revision ${backwards ? 'DESC' : 'ASC'} LIMIT $2::bigint`,
      params,
    );
    return rows.map(toRecorded);
  }

  async streamRevision(streamName: string): Promise<bigint | undefined> {
    const { rows } = await this.sql.query<{ revision: bigint }>(
      'SELECT revision FROM es_streams WHERE stream_name = $1 AND revision >= 0',
      [streamName],
    );
    return rows[0]?.revision;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events WHERE global_position > $1::bigint
       ORDER BY global_position LIMIT $2::bigint`,
      [options.after ?? 0n, options.maxCount ?? null],
    );
    return rows.map(toRecorded);
  }

  /** A subscription's page after `after`: joins the same read in flight when no notification came in since it started. */
  private async readPage(after: bigint): Promise<RecordedEvent[]> {
    const inFlight = this.pageReads.get(after);
    if (inFlight && inFlight.notices === this.notices) {
      this.sharedReads.joined++;
      return [...(await inFlight.read)];
    }
    this.sharedReads.queried++;
    const entry = { notices: this.notices, read: this.readAll({ after, maxCount: this.pageSize }) };
    this.pageReads.set(after, entry);
    try {
      return [...(await entry.read)];
    } finally {
      if (this.pageReads.get(after) === entry) this.pageReads.delete(after);
    }
  }

  async headPosition(): Promise<bigint> {
    const { rows } = await this.sql.query<{ head: bigint }>(
      'SELECT coalesce(max(global_position), 0)::bigint AS head FROM es_events',
    );
    return rows[0]!.head;
  }

  async deleteStream(streamName: string, options: { expectedRevision?: bigint } = {}): Promise<void> {
    await this.sql.transaction(async (tx) => {
      // Waits for an append in flight on this stream, then erases events and stream row together.
      const { rows } = await tx.query<{ revision: bigint | string }>('SELECT revision FROM es_streams WHERE stream_name = $1 FOR UPDATE', [streamName]);
      if (options.expectedRevision !== undefined) {
        const actual = rows[0] === undefined ? undefined : BigInt(rows[0].revision);
        if (actual !== options.expectedRevision) throw new WrongExpectedRevisionError(streamName, options.expectedRevision, actual ?? 'no_stream');
      }
      await tx.query('DELETE FROM es_events WHERE stream_name = $1', [streamName]);
      await tx.query('DELETE FROM es_streams WHERE stream_name = $1', [streamName]);
    });
  }

  async truncateStream(streamName: string, beforeRevision: bigint): Promise<void> {
    await this.sql.transaction(async (tx) => {
      // Waits for an append in flight on this stream; the stream row (its revision) stays.
      await tx.query('SELECT revision FROM es_streams WHERE stream_name = $1 FOR UPDATE', [streamName]);
      await tx.query('DELETE FROM es_events WHERE stream_name = $1 AND stream_revision < $2::bigint', [streamName, beforeRevision.toString()]);
    });
  }

  /**
   * One loop for catch-up and live: read a page after the last delivered position, deliver it, and
   * when a page comes back short (the head is reached) sleep until a notification or the poll timer.
   * There is no switch between two mechanisms, so there is nothing to gap or duplicate at it.
   *
   * A full page means more is stored: the next page (after the full page's last event, the very
   * read that would follow) is requested before the full page is delivered, so the database reads
   * it while the handler works. At most two pages are held; stop() waits for the read in flight.
   */
  subscribeToAll(handler: EventHandler, options: SubscribeToAllOptions = {}): Subscription {
    let stopped = false;
    let notified = false;
    let wake: (() => void) | undefined;
    const wakeUp = (): void => {
      this.notices++;
      notified = true;
      wake?.();
    };

    const run = async (): Promise<void> => {
      const unlisten = await this.sql.listen(this.channel, wakeUp);
      let ahead: Promise<RecordedEvent[]> | undefined;
      try {
        let position = options.after ?? 0n;
        let caughtUp = false;
        let headSignalled = false;
        const read = (after: bigint): Promise<RecordedEvent[]> => {
          // A notification from here on means: read again (this read may not see what it announces).
          notified = false;
          return this.readPage(after);
        };
        while (!stopped) {
          const page = await (ahead ?? read(position));
          ahead = undefined;
          if (page.length === this.pageSize) {
            ahead = read(page[page.length - 1]!.globalPosition);
            ahead.catch(() => undefined); // awaited next round, or in the finally below
          }
          for (const event of page) {
            if (stopped) return;
            const handled = handler(event);
            if (handled) await handled;
            position = event.globalPosition;
          }
          if (page.length === this.pageSize) continue;
          if (!caughtUp) {
            caughtUp = true;
            options.onCaughtUp?.();
          }
          if (page.length > 0 || !headSignalled) options.onHead?.();
          headSignalled = true;
          // A notification that came in while reading or handling means: read again at once.
          if (!notified && !stopped) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, this.pollIntervalMs);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wake = undefined;
          }
        }
      } finally {
        await ahead?.catch(() => undefined);
        await unlisten();
      }
    };

    const done = run().catch((error: unknown) => {
      options.onError?.(error);
      throw error;
    });
    // Mark the rejection handled here: a caller that never awaits `done` must not crash the process.
    done.catch(() => undefined);

    const subscription: Subscription = {
      done,
      stop: async () => {
        stopped = true;
        wake?.();
        await done.catch(() => undefined);
      },
    };
    this.subscriptions.add(subscription);
    void done.catch(() => undefined).finally(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /**
   * Stops the subscriptions still running. The SqlClient belongs to the caller (it may be shared with
   * read models and the outbox), so it is not closed here.
   */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
  }
}
