import { type SqlClient, type SqlExecutor, quoteIdent } from '@svp/postgres';

/**
 * The durable timers table. `updated_at` doubles as the row's version: every write (schedule, claim,
 * fail) moves it strictly forward (at least one microsecond), so a claim can tell whether the row it
 * fired is still the row in the table.
 */
/** The default table: the sessions service's timers. Another user of timers in the same database takes its own table. */
export const DURABLE_TIMERS_TABLE = 'durable_timers';

export const durableTimersMigration = (table: string = DURABLE_TIMERS_TABLE): string => `
CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (
  key          text        PRIMARY KEY,
  kind         text        NOT NULL,
  due_at       timestamptz NOT NULL,
  payload      jsonb       NOT NULL,
  leased_until timestamptz NULL,
  attempts     int         NOT NULL DEFAULT 0,
  last_error   text        NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_due_at_idx`)} ON ${quoteIdent(table)} (due_at);
`;

/** What to schedule: `key` names the timer (one per key), `kind` and `payload` tell the handler what to do. */
export interface TimerSchedule<Payload = unknown> {
  key: string;
  kind: string;
  dueAt: Date;
  /** Plain JSON. */
  payload: Payload;
}

/** A timer as stored. */
export interface StoredTimer<Payload = unknown> extends TimerSchedule<Payload> {
  /** Set while a worker fires it, and after a failure until the retry is due. */
  leasedUntil: Date | null;
  /** Firings of the current schedule so far (0 until first claimed; a new schedule resets it). */
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A timer claimed for firing by `claimDue`. */
export interface ClaimedTimer<Payload = unknown> extends TimerSchedule<Payload> {
  /** Firings of the current schedule, this one included (1 the first time). */
  attempts: number;
  /** The error of the previous firing, if it failed. */
  lastError: string | null;
  /** Until when this claim holds the timer; after that another worker may claim it again. */
  leasedUntil: Date;
  /**
   * Opaque: the row version this claim left. `complete` and `fail` apply only while the row still has
   * it, so a schedule (or a cancel, or a later claim) that happened meanwhile is never overwritten.
   */
  claim: string;
}

/** What `complete` and `fail` need of a claim. */
export type TimerClaim = Pick<ClaimedTimer, 'key' | 'claim'>;

interface TimerRow {
  key: string;
  kind: string;
  due_at: Date | string;
  payload: unknown;
  leased_until: Date | string | null;
  attempts: number;
  last_error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  claim: string;
}

/** The next version of a row: the clock, but never equal to or before the previous version. */
const nextVersion = (table: string) => `greatest(clock_timestamp(), ${table}.updated_at + interval '1 microsecond')`;
/** The version as an exact text (microseconds since the epoch; a JS Date would drop the microseconds). */
const versionOf = (table: string) => `((extract(epoch FROM ${table}.updated_at) * 1000000)::bigint)::text`;

/**
 * Durable timers in SQL (PostgreSQL or PGlite): they survive restarts, and with several instances on
 * one database each due timer is claimed by one worker at a time (a lease). Delivery is at least once:
 * a worker that dies while firing leaves a lease that expires, and the timer fires again. Handlers
 * must therefore be idempotent (and should check that what the timer is about still holds).
 *
 * `schedule` and `cancel` take the executor to write with, so they can join the caller's transaction;
 * the other methods use the client given here and must not be called inside a transaction of it
 * (PGlite has one connection: a statement outside the open transaction would wait for it forever).
 */
export class TimerStore {
  private ready?: Promise<void>;

  /** The table, quoted for SQL. */
  private readonly table: string;

  /** `tableName`: where the timers live (default `durable_timers`); each user of timers in one database needs its own. */
  constructor(
    private readonly sql: SqlClient,
    private readonly tableName: string = DURABLE_TIMERS_TABLE,
  ) {
    this.table = quoteIdent(tableName);
  }

  /** Creates the table and its index if missing. Idempotent; safe when several instances start at once. */
  async setup(): Promise<void> {
    this.ready ??= this.sql.transaction(async (tx) => {
      // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog: serialise them.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('svp:' || $1::text || ':setup'))`, [this.tableName]);
      await tx.exec(durableTimersMigration(this.tableName));
    });
    try {
      await this.ready;
    } catch (error) {
      this.ready = undefined;
      throw error;
    }
  }

  /**
   * Schedules the timer `key`, replacing any earlier schedule of it (its kind, due time and payload,
   * and its attempts, error and lease: a new schedule is a new timer). A claim in flight for the
   * replaced schedule can no longer complete or fail it.
   */
  async schedule<Payload>(tx: SqlExecutor, timer: TimerSchedule<Payload>): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.table} AS t (key, kind, due_at, payload)
       VALUES ($1, $2, $3::timestamptz, $4::jsonb)
       ON CONFLICT (key) DO UPDATE SET
         kind = EXCLUDED.kind,
         due_at = EXCLUDED.due_at,
         payload = EXCLUDED.payload,
         leased_until = NULL,
         attempts = 0,
         last_error = NULL,
         updated_at = ${nextVersion('t')}`,
      [timer.key, timer.kind, timer.dueAt.toISOString(), JSON.stringify(timer.payload ?? null)],
    );
  }

  /** Removes the timer `key`; true when there was one. A firing already in flight still finishes. */
  async cancel(tx: SqlExecutor, key: string): Promise<boolean> {
    const { rowCount } = await tx.query(`DELETE FROM ${this.table} WHERE key = $1`, [key]);
    return rowCount > 0;
  }

  /** The timer `key` as stored, if any. */
  async get<Payload = unknown>(key: string, tx: SqlExecutor = this.sql): Promise<StoredTimer<Payload> | undefined> {
    const { rows } = await tx.query<TimerRow>(`SELECT t.*, ${versionOf('t')} AS claim FROM ${this.table} t WHERE t.key = $1`, [key]);
    return rows[0] && toStored<Payload>(rows[0]);
  }

  /**
   * Claims up to `limit` timers due at `now` that no one holds (never leased, or their lease expired),
   * earliest first, leasing them until `now + leaseMs` and counting the attempt. One statement: the
   * rows are locked with SKIP LOCKED, so concurrent claimers (other instances) take other rows, and a
   * row another claimer has just leased is re-checked and skipped.
   */
  async claimDue(now: Date, limit: number, leaseMs: number): Promise<ClaimedTimer[]> {
    const { rows } = await this.sql.query<TimerRow>(
      `WITH due AS MATERIALIZED (
         SELECT key FROM ${this.table}
          WHERE due_at <= $1::timestamptz AND (leased_until IS NULL OR leased_until <= $1::timestamptz)
          ORDER BY due_at, key
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       )
       UPDATE ${this.table} AS t SET
         leased_until = $1::timestamptz + $3::int * interval '1 millisecond',
         attempts = t.attempts + 1,
         updated_at = ${nextVersion('t')}
       FROM due
       WHERE t.key = due.key
       RETURNING t.*, ${versionOf('t')} AS claim`,
      [now.toISOString(), Math.max(0, Math.floor(limit)), Math.max(1, Math.ceil(leaseMs))],
    );
    return rows
      .map(toClaimed)
      .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * The claimed firing succeeded: deletes the timer, unless it changed since the claim (rescheduled,
   * typically by the handler itself or by new activity; cancelled; or claimed again after the lease
   * expired), in which case the newer schedule stays. True when deleted.
   */
  async complete(claimed: TimerClaim): Promise<boolean> {
    const { rowCount } = await this.sql.query(
      `DELETE FROM ${this.table} AS t WHERE t.key = $1 AND ${versionOf('t')} = $2`,
      [claimed.key, claimed.claim],
    );
    return rowCount > 0;
  }

  /**
   * The claimed firing failed: records the error and holds the timer until `retryAt` (its due time
   * stays), unless it changed since the claim. True when recorded.
   */
  async fail(claimed: TimerClaim, error: string, retryAt: Date): Promise<boolean> {
    const { rowCount } = await this.sql.query(
      `UPDATE ${this.table} AS t SET last_error = $3, leased_until = $4::timestamptz, updated_at = ${nextVersion('t')}
        WHERE t.key = $1 AND ${versionOf('t')} = $2`,
      [claimed.key, claimed.claim, error, retryAt.toISOString()],
    );
    return rowCount > 0;
  }
}

const toDate = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));

function toStored<Payload>(row: TimerRow): StoredTimer<Payload> {
  return {
    key: row.key,
    kind: row.kind,
    dueAt: toDate(row.due_at),
    payload: row.payload as Payload,
    leasedUntil: row.leased_until === null ? null : toDate(row.leased_until),
    attempts: Number(row.attempts),
    lastError: row.last_error,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

function toClaimed(row: TimerRow): ClaimedTimer {
  return {
    key: row.key,
    kind: row.kind,
    dueAt: toDate(row.due_at),
    payload: row.payload,
    attempts: Number(row.attempts),
    lastError: row.last_error,
    leasedUntil: toDate(row.leased_until as Date | string),
    claim: row.claim,
  };
}
