import type { UsageResponse } from '@svp/contracts';
import type { SqlClient } from '@svp/postgres';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { ServiceMetrics } from './metrics.js';

/** Nest injection token of the service's OrgMeter (optional: a service without one is not metered). */
export const ORG_METER = Symbol('ORG_METER');

const MINUTE_MS = 60_000;
/** Without a database the per-minute history stays in memory, this many minutes of it. */
const MEMORY_HISTORY_MINUTES = 60;
/** Rows per upsert statement when flushing (5 parameters each). */
const FLUSH_CHUNK = 500;

/** What the meter decided for one request. */
export interface MeterDecision {
  allowed: boolean;
  /** Requests allowed in the window (the org's own quota, or the service default). */
  limit: number;
  /** Requests still allowed in the window after this one. */
  remaining: number;
  /** When the window ends and the count starts again (ms since the epoch). */
  resetAt: number;
}

export interface OrgMeterOptions {
  /** The service metered (a column of the counts table: services may share one database). */
  service: string;
  /** Where the per-minute counts are kept; in memory only (the last hour) when omitted. */
  sql?: SqlClient;
  /** Requests per minute an org may make when it has no quota of its own. */
  defaultRequestsPerMinute: number;
  /** The clock (ms since the epoch); Date.now by default. */
  now?: () => number;
  logger?: Logger;
  /** With metrics: `svp_org_requests_total{org_id, outcome="allowed"|"refused"}`. */
  metrics?: ServiceMetrics;
  /** How often the counts are written to the database; 1000 ms by default. */
  flushIntervalMs?: number;
}

interface Window {
  /** Start of the minute (ms since the epoch). */
  start: number;
  used: number;
  refused: number;
  limit: number;
}

interface MinuteCount {
  orgId: string;
  /** Start of the minute (ms since the epoch). */
  minute: number;
  requests: number;
  refused: number;
}

/**
 * Per-org request metering of one service instance. Enforcement: a fixed one-minute window per org,
 * in memory (the org's own quota wins over the default; a refused request counts as refused, not as
 * used). Accounting: counts per (org, minute), `requests` being every metered request (refused ones
 * included) and `refused` those refused, accumulated in memory and added to
 * `org_request_counts` every second (and on stop). Memory stays bounded: after each flush only the
 * current minute's windows are kept.
 *
 * Usable as a Worker (`start()` creates the table and begins flushing; `stop()` flushes once more).
 */
export class OrgMeter {
  readonly name = 'org-meter';
  readonly service: string;
  readonly defaultRequestsPerMinute: number;
  readonly now: () => number;
  private readonly sql?: SqlClient;
  private readonly logger?: Logger;
  private readonly counter?: Counter<'org_id' | 'outcome'>;
  private readonly flushIntervalMs: number;
  private readonly windows = new Map<string, Window>();
  /** Counts not yet written (with no database: the recent history itself). */
  private pending = new Map<string, MinuteCount>();
  /** Flushes and usage reads run one at a time, so a read never misses counts being written. */
  private lock: Promise<unknown> = Promise.resolve();
  private timer?: ReturnType<typeof setInterval>;
  private ready?: Promise<void>;

  constructor(options: OrgMeterOptions) {
    if (!Number.isInteger(options.defaultRequestsPerMinute) || options.defaultRequestsPerMinute < 1)
      throw new Error(`OrgMeter: defaultRequestsPerMinute must be a positive integer, not ${String(options.defaultRequestsPerMinute)}`);
    this.service = options.service;
    this.defaultRequestsPerMinute = options.defaultRequestsPerMinute;
    this.now = options.now ?? Date.now;
    this.sql = options.sql;
    this.logger = options.logger;
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.counter = options.metrics?.counter('svp_org_requests_total', 'Metered requests by org and outcome (allowed or refused over quota)', [
      'org_id',
      'outcome',
    ]);
  }

  /** The limit that applies to an org: its own quota when it has one, else the default. */
  limitFor(requestsPerMinute?: number | null): number {
    return requestsPerMinute != null && requestsPerMinute > 0 ? requestsPerMinute : this.defaultRequestsPerMinute;
  }

  /** Meters one request of `orgId`: allowed while the org is under its quota for the current minute. */
  hit(orgId: string, requestsPerMinute?: number | null): MeterDecision {
    const now = this.now();
    const start = minuteOf(now);
    const limit = this.limitFor(requestsPerMinute);
    let window = this.windows.get(orgId);
    if (!window || window.start !== start) {
      window = { start, used: 0, refused: 0, limit };
      this.windows.set(orgId, window);
    }
    window.limit = limit;
    const allowed = window.used < limit;
    if (allowed) window.used += 1;
    else window.refused += 1;

    const key = `${orgId}\u0000${start}`;
    let count = this.pending.get(key);
    if (!count) {
      count = { orgId, minute: start, requests: 0, refused: 0 };
      this.pending.set(key, count);
    }
    count.requests += 1;
    if (!allowed) count.refused += 1;
    this.counter?.inc({ org_id: orgId, outcome: allowed ? 'allowed' : 'refused' });
    return { allowed, limit, remaining: Math.max(0, limit - window.used), resetAt: start + MINUTE_MS };
  }

  /** Creates the counts table (idempotent). */
  async setup(): Promise<void> {
    if (!this.sql) return;
    this.ready ??= this.sql.exec(`
      CREATE TABLE IF NOT EXISTS org_request_counts (
        org_id text NOT NULL,
        service text NOT NULL,
        minute timestamptz NOT NULL,
        requests bigint NOT NULL DEFAULT 0,
        refused bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (org_id, service, minute)
      )`);
    try {
      await this.ready;
    } catch (error) {
      this.ready = undefined;
      throw error;
    }
  }

  async start(): Promise<void> {
    await this.setup();
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.logger?.error({ err }, 'flushing org request counts failed; kept for the next flush'));
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  /** Stops the periodic flush, then writes what is left. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /**
   * Adds the counts accumulated since the last flush to the database (kept in memory for the next
   * flush when that fails), then forgets the windows of past minutes.
   */
  flush(): Promise<void> {
    return this.serialized(async () => {
      try {
        if (this.sql && this.pending.size > 0) {
          const batch = this.pending;
          this.pending = new Map();
          try {
            await this.write([...batch.values()]);
          } catch (error) {
            for (const [key, count] of batch) {
              const later = this.pending.get(key);
              if (later) {
                later.requests += count.requests;
                later.refused += count.refused;
              } else this.pending.set(key, count);
            }
            throw error;
          }
        }
      } finally {
        this.prune();
      }
    });
  }

  /**
   * The org's usage on this service over the last `minutes` minutes (the current one included):
   * persisted counts plus those not flushed yet, and the current enforcement window.
   */
  usage(orgId: string, options: { minutes?: number; requestsPerMinute?: number | null } = {}): Promise<UsageResponse> {
    const span = Math.max(1, Math.floor(options.minutes ?? 60));
    return this.serialized(async () => {
      const now = this.now();
      const current = minuteOf(now);
      const from = current - (span - 1) * MINUTE_MS;
      const byMinute = new Map<number, { requests: number; refused: number }>();
      const add = (minute: number, requests: number, refused: number) => {
        const entry = byMinute.get(minute) ?? { requests: 0, refused: 0 };
        entry.requests += requests;
        entry.refused += refused;
        byMinute.set(minute, entry);
      };
      if (this.sql) {
        await this.setup();
        const { rows } = await this.sql.query<{ minute: Date | string; requests: bigint | number | string; refused: bigint | number | string }>(
          `SELECT minute, requests, refused FROM org_request_counts
            WHERE org_id = $1 AND service = $2 AND minute >= $3 AND minute <= $4`,
          [orgId, this.service, new Date(from).toISOString(), new Date(current).toISOString()],
        );
        for (const row of rows) add(new Date(row.minute).getTime(), Number(row.requests), Number(row.refused));
      }
      for (const count of this.pending.values())
        if (count.orgId === orgId && count.minute >= from && count.minute <= current) add(count.minute, count.requests, count.refused);

      const window = this.windows.get(orgId);
      const limit = options.requestsPerMinute != null ? this.limitFor(options.requestsPerMinute) : (window?.limit ?? this.defaultRequestsPerMinute);
      const used = window && window.start === current ? window.used : 0;
      const minutes = [...byMinute.entries()]
        .sort(([a], [b]) => a - b)
        .map(([minute, c]) => ({ minute: new Date(minute).toISOString(), requests: c.requests, refused: c.refused }));
      return {
        orgId,
        service: this.service,
        requestsPerMinute: limit,
        window: { start: new Date(current).toISOString(), seconds: MINUTE_MS / 1000, used, remaining: Math.max(0, limit - used) },
        minutes,
        total: minutes.reduce((t, m) => ({ requests: t.requests + m.requests, refused: t.refused + m.refused }), { requests: 0, refused: 0 }),
      };
    });
  }

  /** How many orgs' windows and unwritten minute counts are held (for tests and diagnostics). */
  get size(): { windows: number; pending: number } {
    return { windows: this.windows.size, pending: this.pending.size };
  }

  private async write(counts: MinuteCount[]): Promise<void> {
    const sql = this.sql!;
    await this.setup();
    await sql.transaction(async (tx) => {
      for (let i = 0; i < counts.length; i += FLUSH_CHUNK) {
        const chunk = counts.slice(i, i + FLUSH_CHUNK);
        const params: unknown[] = [];
        const values = chunk.map((c) => {
          params.push(c.orgId, this.service, new Date(c.minute).toISOString(), c.requests, c.refused);
          const n = params.length;
          return `($${n - 4}, $${n - 3}, $${n - 2}::timestamptz, $${n - 1}::bigint, $${n}::bigint)`;
        });
        await tx.query(
          `INSERT INTO org_request_counts (org_id, service, minute, requests, refused) VALUES ${values.join(', ')}
           ON CONFLICT (org_id, service, minute) DO UPDATE
             SET requests = org_request_counts.requests + EXCLUDED.requests,
                 refused = org_request_counts.refused + EXCLUDED.refused`,
          params,
        );
      }
    });
  }

  /** Drops the windows of past minutes (and, with no database, history older than an hour). */
  private prune(): void {
    const current = minuteOf(this.now());
    for (const [orgId, window] of this.windows) if (window.start < current) this.windows.delete(orgId);
    if (!this.sql) {
      const oldest = current - (MEMORY_HISTORY_MINUTES - 1) * MINUTE_MS;
      for (const [key, count] of this.pending) if (count.minute < oldest) this.pending.delete(key);
    }
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(() => fn());
    this.lock = run.catch(() => undefined);
    return run;
  }
}

function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}
