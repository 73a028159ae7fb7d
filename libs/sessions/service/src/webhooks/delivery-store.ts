/**
 * The durable webhook delivery queue and its log, on the platform's SQL port (PostgreSQL or PGlite).
 *
 * One row per (webhook, event, replay): enqueued in the same transaction as whatever decided that
 * the event is due to the webhook (so nothing is lost and a redelivered source event, hitting the
 * unique key, enqueues nothing), then claimed by dispatchers, attempted, and finally delivered,
 * failed or cancelled. Every attempt is logged with its status code, error and latency.
 *
 * Order per session: a delivery is claimed only while it is the oldest pending one of its
 * (webhook, session), by (seq, id), and while no other delivery of that (webhook, session) is
 * leased; a later event of the session waits until the earlier one is delivered, failed or
 * cancelled. Different sessions, and different webhooks, do not wait for each other.
 *
 * No double sending: a claim takes rows with `FOR UPDATE SKIP LOCKED` and leases them until
 * `leased_until` with a fresh `lease_token`; the conditions are re-checked on the locked row, so
 * two dispatchers (two processes on PostgreSQL, or two workers on one PGlite) never hold the same
 * delivery. Every later write names the lease token, so a dispatcher whose lease ran out (it stalled
 * longer than the lease) cannot overwrite the outcome of the one that took over.
 *
 * Replays enqueue the same events again under a replay id (any string unique to the replay
 * request, e.g. its id): the unique key is (webhook_id, event_id, replay_id), live deliveries having
 * replay_id ''. Re-running the same replay request therefore enqueues nothing twice either.
 *
 * Timestamps come from the caller's clock (`now` arguments), never from the database's, so the
 * dispatcher and the queue agree even when the database's clock does not.
 */
import { randomUUID } from 'node:crypto';
import type { SqlClient, SqlExecutor } from '@svp/postgres';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface EnqueueDelivery {
  webhookId: string;
  orgId: string;
  sessionId: string;
  /** The source event's id: the X-Event-Id and webhook-id of the delivery. */
  eventId: string;
  /** Orders the deliveries of a session (the event's global position, or any increasing number). */
  seq: bigint | number;
  /** The standard JSON body (`JSON.stringify(imSessionStatusBody(…))`). */
  body: string;
  /** The replay request's id when this is a replay; absent for the live delivery. */
  replay?: string;
  /** The earliest time of the first attempt (default: now). */
  notBefore?: Date;
}

/** A delivery held by one dispatcher until `leasedUntil`. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  orgId: string;
  sessionId: string;
  eventId: string;
  seq: string;
  body: string;
  /** Attempts made before this one. */
  attempts: number;
  firstAttemptAt: Date | null;
  replay: boolean;
  leaseToken: string;
  leasedUntil: Date;
}

export interface AttemptOutcome {
  at: Date;
  /** The HTTP status, or null when no response came (refused target, connection error, timeout). */
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
}

export interface AttemptRecord {
  attempt: number;
  at: Date;
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
}

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  orgId: string;
  sessionId: string;
  eventId: string;
  seq: string;
  status: DeliveryStatus;
  firstAttemptAt: Date | null;
  /** When the next attempt is due (pending deliveries only). */
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  replay: boolean;
  replayId: string | null;
  /** Every attempt, oldest first. */
  attempts: AttemptRecord[];
}

export interface ClaimOptions {
  /**
   * At most this many deliveries of one webhook in flight at once, across every dispatcher (default
   * unlimited): one slow receiver then cannot take every sending slot.
   */
  perWebhook?: number;
}

/** The row as it comes back from the driver (ids and seq as bigint). */
interface DeliveryRow {
  id: bigint | string;
  webhook_id: string;
  org_id: string;
  session_id: string;
  event_id: string;
  seq: bigint | string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  first_attempt_at: Date | string | null;
  next_attempt_at: Date | string;
  last_status_code: number | null;
  last_error: string | null;
  leased_until: Date | string | null;
  lease_token: string | null;
  created_at: Date | string;
  delivered_at: Date | string | null;
  replay: boolean;
  replay_id: string;
}

interface AttemptRow {
  delivery_id: bigint | string;
  attempt: number;
  at: Date | string;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id               bigserial PRIMARY KEY,
  webhook_id       text        NOT NULL,
  org_id           text        NOT NULL,
  session_id       text        NOT NULL,
  event_id         text        NOT NULL,
  seq              bigint      NOT NULL,
  body             text        NOT NULL,
  status           text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
  attempts         integer     NOT NULL DEFAULT 0,
  first_attempt_at timestamptz,
  next_attempt_at  timestamptz NOT NULL,
  last_status_code integer,
  last_error       text,
  leased_until     timestamptz,
  lease_token      text,
  created_at       timestamptz NOT NULL,
  delivered_at     timestamptz,
  replay           boolean     NOT NULL DEFAULT false,
  replay_id        text        NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_event_key ON webhook_deliveries (webhook_id, event_id, replay_id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_session_order ON webhook_deliveries (webhook_id, session_id, seq, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_log ON webhook_deliveries (webhook_id, id DESC);
-- A replay's progress (replayCounts, polled while a replay runs): the deliveries are kept, so it must not scan them.
CREATE INDEX IF NOT EXISTS webhook_deliveries_replay ON webhook_deliveries (webhook_id, replay_id, status) WHERE replay_id <> '';
CREATE TABLE IF NOT EXISTS webhook_attempts (
  delivery_id bigint      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt     integer     NOT NULL,
  at          timestamptz NOT NULL,
  status_code integer,
  error       text,
  latency_ms  integer     NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
`;

/** A replay's deliveries by status. `replay_id <> ''` matches the partial index's predicate (a replay id is never empty). */
export const REPLAY_COUNTS_SQL = `SELECT status, count(*) AS n FROM webhook_deliveries WHERE webhook_id = $1 AND replay_id = $2 AND replay_id <> '' GROUP BY status`;

export class WebhookDeliveryStore {
  constructor(private readonly sql: SqlClient) {}

  /** Creates the tables and indexes when missing (idempotent; safe when several processes start at once). */
  async setup(): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('svp.webhook_deliveries'))`);
      await tx.exec(SCHEMA);
    });
  }

  /** Deliveries waiting (due or scheduled for a retry), and when the oldest of them was enqueued (for the metrics). */
  async backlog(): Promise<{ pending: number; oldestAt: Date | null }> {
    const { rows } = await this.sql.query<{ pending: string | number; oldest: Date | string | null }>(
      `SELECT count(*) AS pending, min(created_at) AS oldest FROM webhook_deliveries WHERE status = 'pending'`,
    );
    const row = rows[0];
    return { pending: Number(row?.pending ?? 0), oldestAt: row?.oldest ? new Date(row.oldest) : null };
  }

  /**
   * Enqueues one delivery, in the caller's transaction. Returns its id, or undefined when the same
   * (webhook, event, replay) is already queued (a redelivered source event).
   */
  async enqueue(tx: SqlExecutor, input: EnqueueDelivery): Promise<string | undefined> {
    const at = input.notBefore ?? new Date();
    const replayId = input.replay ?? '';
    const { rows } = await tx.query<{ id: bigint | string }>(
      `INSERT INTO webhook_deliveries
         (webhook_id, org_id, session_id, event_id, seq, body, next_attempt_at, created_at, replay, replay_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (webhook_id, event_id, replay_id) DO NOTHING
       RETURNING id`,
      [input.webhookId, input.orgId, input.sessionId, input.eventId, String(input.seq), input.body, at, new Date(), replayId !== '', replayId],
    );
    return rows[0] ? String(rows[0].id) : undefined;
  }

  /**
   * Claims up to `limit` due deliveries, each the oldest pending one of its (webhook, session) with
   * nothing of that pair in flight, and leases them for `leaseMs`. Webhooks take turns (the first
   * due delivery of each webhook, then the second, …), so one busy webhook does not fill the batch.
   */
  async claimDue(now: Date, limit: number, leaseMs: number, options: ClaimOptions = {}): Promise<ClaimedDelivery[]> {
    if (limit <= 0) return [];
    const perWebhook = options.perWebhook ?? 2_147_483_647;
    const leasedUntil = new Date(now.getTime() + leaseMs);
    const token = randomUUID();
    // Every CTE is MATERIALIZED: each is computed once per claim, whatever the planner guesses
    // (PGlite never gathers statistics). The head of a (webhook, session) and whether anything of
    // it is in flight come from the statement's snapshot; the row's own conditions are checked
    // again on the locked row (a delivery leased meanwhile by another dispatcher is skipped or
    // fails the re-check), and a delivery that stopped being pending never becomes pending again,
    // so a later event cannot overtake an earlier one of its session.
    const { rows } = await this.sql.query<DeliveryRow>(
      `WITH pending AS MATERIALIZED (
         SELECT id, webhook_id, session_id, seq, next_attempt_at, leased_until
         FROM webhook_deliveries WHERE status = 'pending'
       ),
       heads AS MATERIALIZED (
         SELECT DISTINCT ON (webhook_id, session_id) id, webhook_id, next_attempt_at, leased_until,
                bool_or(coalesce(leased_until > $1, false)) OVER (PARTITION BY webhook_id, session_id) AS session_in_flight
         FROM pending
         ORDER BY webhook_id, session_id, seq, id
       ),
       busy AS MATERIALIZED (
         SELECT webhook_id, count(*) AS n FROM pending WHERE leased_until > $1 GROUP BY webhook_id
       ),
       candidates AS MATERIALIZED (
         SELECT h.id, h.next_attempt_at,
                row_number() OVER (PARTITION BY h.webhook_id ORDER BY h.next_attempt_at, h.id) AS turn,
                coalesce(b.n, 0) AS in_flight
         FROM heads h LEFT JOIN busy b ON b.webhook_id = h.webhook_id
         WHERE NOT h.session_in_flight AND h.next_attempt_at <= $1
       ),
       picked AS (
         SELECT d.id FROM candidates c JOIN webhook_deliveries d ON d.id = c.id
         WHERE c.turn + c.in_flight <= $5
           AND d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.leased_until IS NULL OR d.leased_until <= $1)
         ORDER BY c.turn, c.next_attempt_at, c.id
         LIMIT $2
         FOR UPDATE OF d SKIP LOCKED
       )
       UPDATE webhook_deliveries w SET leased_until = $3, lease_token = $4
       FROM picked WHERE w.id = picked.id
       RETURNING w.*`,
      [now, limit, leasedUntil, token, perWebhook],
    );
    return rows.map((row) => ({
      id: String(row.id),
      webhookId: row.webhook_id,
      orgId: row.org_id,
      sessionId: row.session_id,
      eventId: row.event_id,
      seq: String(row.seq),
      body: row.body,
      attempts: row.attempts,
      firstAttemptAt: dateOrNull(row.first_attempt_at),
      replay: row.replay,
      leaseToken: token,
      leasedUntil,
    }));
  }

  /**
   * Logs one attempt and counts it on the delivery. Returns the delivery's attempt count and first
   * attempt time after it, or undefined when the lease was lost (nothing is written then).
   */
  async recordAttempt(
    delivery: Pick<ClaimedDelivery, 'id' | 'leaseToken'>,
    outcome: AttemptOutcome,
    tx: SqlExecutor = this.sql,
  ): Promise<{ attempts: number; firstAttemptAt: Date } | undefined> {
    const { rows } = await tx.query<{ attempts: number; first_attempt_at: Date | string }>(
      `WITH counted AS (
         UPDATE webhook_deliveries
         SET attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, $3),
             last_status_code = $4, last_error = $5
         WHERE id = $1 AND lease_token = $2
         RETURNING id, attempts, first_attempt_at
       ), logged AS (
         INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, latency_ms)
         SELECT id, attempts, $3, $4, $5, $6 FROM counted
       )
       SELECT attempts, first_attempt_at FROM counted`,
      [delivery.id, delivery.leaseToken, outcome.at, outcome.statusCode, outcome.error, Math.max(0, Math.round(outcome.latencyMs))],
    );
    const row = rows[0];
    return row ? { attempts: row.attempts, firstAttemptAt: toDate(row.first_attempt_at) } : undefined;
  }

  /** Delivered (also when it was cancelled while in flight: the receiver did get it). False when the lease was lost. */
  async markDelivered(delivery: Pick<ClaimedDelivery, 'id' | 'leaseToken'>, at: Date, tx: SqlExecutor = this.sql): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $3, leased_until = NULL
       WHERE id = $1 AND lease_token = $2 AND status IN ('pending', 'cancelled')`,
      [delivery.id, delivery.leaseToken, at],
    );
    return rowCount > 0;
  }

  /** Back to the queue, due at `nextAttemptAt`, lease released. False when the lease was lost or it is no longer pending. */
  async reschedule(delivery: Pick<ClaimedDelivery, 'id' | 'leaseToken'>, nextAttemptAt: Date, tx: SqlExecutor = this.sql): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE webhook_deliveries SET next_attempt_at = $3, leased_until = NULL
       WHERE id = $1 AND lease_token = $2 AND status = 'pending'`,
      [delivery.id, delivery.leaseToken, nextAttemptAt],
    );
    return rowCount > 0;
  }

  /** Given up: the next delivery of its session may go. False when the lease was lost or it is no longer pending. */
  async markFailed(delivery: Pick<ClaimedDelivery, 'id' | 'leaseToken'>, reason: string, tx: SqlExecutor = this.sql): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE webhook_deliveries SET status = 'failed', last_error = $3, leased_until = NULL
       WHERE id = $1 AND lease_token = $2 AND status = 'pending'`,
      [delivery.id, delivery.leaseToken, reason],
    );
    return rowCount > 0;
  }

  /** Cancels every pending delivery of a webhook (ended, disabled or deleted); returns how many. */
  async cancelPending(webhookId: string, tx: SqlExecutor = this.sql): Promise<number> {
    const { rowCount } = await tx.query(
      `UPDATE webhook_deliveries SET status = 'cancelled', leased_until = NULL WHERE webhook_id = $1 AND status = 'pending'`,
      [webhookId],
    );
    return rowCount;
  }

  /** How many of a replay's deliveries are in each status (from the index webhook_deliveries_replay). */
  async replayCounts(webhookId: string, replayId: string): Promise<Record<'pending' | 'delivered' | 'failed' | 'cancelled', number>> {
    const { rows } = await this.sql.query<{ status: string; n: string | number }>(REPLAY_COUNTS_SQL, [webhookId, replayId]);
    const counts = { pending: 0, delivered: 0, failed: 0, cancelled: 0 };
    for (const row of rows) if (row.status in counts) counts[row.status as keyof typeof counts] = Number(row.n);
    return counts;
  }

  /** The delivery log of a webhook, newest first, with every attempt; `before` pages by delivery id. */
  async deliveries(webhookId: string, options: { limit?: number; before?: string } = {}): Promise<DeliveryRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), 1_000);
    const params: unknown[] = [webhookId, limit];
    if (options.before !== undefined) {
      if (!/^\d{1,19}$/.test(options.before)) throw new Error('before must be a delivery id');
      params.push(options.before);
    }
    const { rows } = await this.sql.query<DeliveryRow>(
      `SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ${options.before !== undefined ? 'AND id < $3' : ''}
       ORDER BY id DESC LIMIT $2`,
      params,
    );
    if (rows.length === 0) return [];
    const ids = rows.map((row) => String(row.id));
    const attempts = await this.sql.query<AttemptRow>(
      `SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::bigint[]) ORDER BY delivery_id, attempt`,
      [ids],
    );
    const byDelivery = new Map<string, AttemptRecord[]>();
    for (const row of attempts.rows) {
      const list = byDelivery.get(String(row.delivery_id)) ?? [];
      list.push({ attempt: row.attempt, at: toDate(row.at), statusCode: row.status_code, error: row.error, latencyMs: row.latency_ms });
      byDelivery.set(String(row.delivery_id), list);
    }
    return rows.map((row) => ({
      id: String(row.id),
      webhookId: row.webhook_id,
      orgId: row.org_id,
      sessionId: row.session_id,
      eventId: row.event_id,
      seq: String(row.seq),
      status: row.status,
      firstAttemptAt: dateOrNull(row.first_attempt_at),
      nextAttemptAt: row.status === 'pending' ? toDate(row.next_attempt_at) : null,
      lastStatusCode: row.last_status_code,
      lastError: row.last_error,
      createdAt: toDate(row.created_at),
      deliveredAt: dateOrNull(row.delivered_at),
      replay: row.replay,
      replayId: row.replay_id === '' ? null : row.replay_id,
      attempts: byDelivery.get(String(row.id)) ?? [],
    }));
  }
}

function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

function dateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}
