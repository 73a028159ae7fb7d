import type { SqlClient, SqlExecutor } from '@svp/postgres';
import { errorMessage, stderrLogger, type MessagingLogger } from '../logger.js';
import type { MessageHeaders } from '../message-bus.js';
import { TopicSignals } from '../internal/topic-signals.js';
import type { LogAppend, LoggedMessage, MessageLog } from './message-log.js';

export const MESSAGE_LOG_MIGRATION = `
CREATE TABLE IF NOT EXISTS msg_bus_topics (
  topic      text        PRIMARY KEY,
  partitions int         NOT NULL CHECK (partitions > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS msg_bus_partitions (
  topic       text   NOT NULL REFERENCES msg_bus_topics (topic),
  partition   int    NOT NULL,
  next_offset bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS msg_bus_messages (
  topic        text        NOT NULL,
  partition    int         NOT NULL,
  "offset"     bigint      NOT NULL,
  key          text,
  value        text        NOT NULL,
  headers      jsonb       NOT NULL DEFAULT '{}',
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, "offset")
);
CREATE INDEX IF NOT EXISTS msg_bus_messages_published_at ON msg_bus_messages (published_at);
CREATE TABLE IF NOT EXISTS msg_bus_offsets (
  group_id    text        NOT NULL,
  topic       text        NOT NULL,
  partition   int         NOT NULL,
  next_offset bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);
`;

export interface SqlMessageLogOptions {
  /** The NOTIFY channel appends are announced on (payload: the topic). Default 'svp_msg_bus'. */
  channel?: string;
  /** Longest wait for a notification before a waiting consumer reads again anyway. Default 1 s. */
  pollIntervalMs?: number;
  /** Messages older than this are deleted even if a group has not handled them. Default 7 days. */
  retentionMs?: number;
  /** How often retention runs in the background; 0 turns it off (call `prune()`). Default 60 s. */
  pruneIntervalMs?: number;
  logger?: MessagingLogger;
}

/** Rows of one INSERT (6 parameters each, well below PostgreSQL's 65,535 parameters). */
const INSERT_CHUNK = 500;

/**
 * The durable log of the in-process bus, on the SqlClient port (PGlite in the embedded mode, and
 * PostgreSQL): messages in `msg_bus_messages` (topic, partition, offset, key, value, headers),
 * committed offsets per (group, topic, partition) in `msg_bus_offsets`. What was published survives
 * a restart or a crash until every group has handled it.
 *
 * - Offsets: an append takes each partition's `next_offset` row lock (in a fixed order, so appends
 *   cannot deadlock) and holds it until it commits, so offsets have no gaps and become visible in
 *   order: a consumer never skips a message that commits later.
 * - Wake-ups: the append NOTIFYs its topics in its transaction (delivered on commit); consumers
 *   LISTEN, and read again after `pollIntervalMs` at the latest in case a notification was missed
 *   (a dropped LISTEN connection, another process on PostgreSQL).
 * - Retention (`prune()`, every `pruneIntervalMs`): a message is deleted once every group that has
 *   an offset on its partition has committed past it, and in any case after `retentionMs`. A
 *   partition no group consumes (a `.dlq`) keeps its messages for `retentionMs`.
 *
 * Group membership is coordinated by the bus inside one process: use one bus per database (several
 * processes sharing one group on PostgreSQL would each handle every partition; use Kafka for that).
 */
export class SqlMessageLog implements MessageLog {
  private readonly signals = new TopicSignals();
  private readonly channel: string;
  private readonly pollIntervalMs: number;
  private readonly retentionMs: number;
  private readonly logger: MessagingLogger;
  private unlisten?: () => Promise<void>;
  private pruneTimer?: NodeJS.Timeout;
  private pruning: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly sql: SqlClient,
    options: SqlMessageLogOptions,
  ) {
    this.channel = options.channel ?? 'svp_msg_bus';
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 60 * 60 * 1000;
    this.logger = options.logger ?? stderrLogger;
  }

  /** A log on `sql`: its tables created if missing, listening for appends, retention scheduled. */
  static async create(sql: SqlClient, options: SqlMessageLogOptions = {}): Promise<SqlMessageLog> {
    await sql.exec(MESSAGE_LOG_MIGRATION);
    const log = new SqlMessageLog(sql, options);
    try {
      // An empty payload means "notifications may have been missed": every topic is read again.
      log.unlisten = await sql.listen(log.channel, (topic) => (topic ? log.signals.bump(topic) : log.signals.bumpAll()));
    } catch (error) {
      log.logger.warn({ channel: log.channel, err: errorMessage(error) }, 'message log cannot LISTEN; consumers poll');
    }
    const pruneIntervalMs = options.pruneIntervalMs ?? 60_000;
    if (pruneIntervalMs > 0) {
      log.pruneTimer = setInterval(() => {
        log.pruning = log.prune().catch((error: unknown) => log.logger.warn({ err: errorMessage(error) }, 'message log retention failed'));
      }, pruneIntervalMs);
      log.pruneTimer.unref();
    }
    return log;
  }

  async ensureTopic(topic: string, numPartitions: number): Promise<number> {
    return this.sql.transaction(async (tx) => {
      await tx.query('INSERT INTO msg_bus_topics (topic, partitions) VALUES ($1, $2) ON CONFLICT (topic) DO NOTHING', [topic, numPartitions]);
      await tx.query(
        `INSERT INTO msg_bus_partitions (topic, partition)
         SELECT t.topic, p FROM msg_bus_topics t, generate_series(0, t.partitions - 1) AS p WHERE t.topic = $1
         ON CONFLICT (topic, partition) DO NOTHING`,
        [topic],
      );
      const { rows } = await tx.query<{ partitions: number }>('SELECT partitions FROM msg_bus_topics WHERE topic = $1', [topic]);
      return Number(rows[0]!.partitions);
    });
  }

  async append(messages: readonly LogAppend[]): Promise<void> {
    if (messages.length === 0) return;
    for (const message of messages) assertStorable(message);
    // Per partition, in publish order; partitions locked in a fixed order.
    const byPartition = new Map<string, { topic: string; partition: number; messages: LogAppend[] }>();
    for (const message of messages) {
      const id = `${message.topic}\u0000${message.partition}`;
      let entry = byPartition.get(id);
      if (!entry) byPartition.set(id, (entry = { topic: message.topic, partition: message.partition, messages: [] }));
      entry.messages.push(message);
    }
    const partitions = [...byPartition.values()].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
    const topics = [...new Set(partitions.map((p) => p.topic))];
    await this.sql.transaction(async (tx) => {
      for (const { topic, partition, messages: list } of partitions) {
        const { rows } = await tx.query<{ next_offset: bigint | number | string }>(
          'UPDATE msg_bus_partitions SET next_offset = next_offset + $3 WHERE topic = $1 AND partition = $2 RETURNING next_offset',
          [topic, partition, list.length],
        );
        if (rows.length === 0) throw new Error(`No partition ${partition} of topic '${topic}'`);
        await insertMessages(tx, topic, partition, Number(rows[0]!.next_offset) - list.length, list);
      }
      for (const topic of topics) await tx.query('SELECT pg_notify($1, $2)', [this.channel, topic]);
    });
    // This process's consumers need not wait for the notification.
    for (const topic of topics) this.signals.bump(topic);
  }

  async read(topic: string, partition: number, offset: number, limit: number): Promise<LoggedMessage[]> {
    const { rows } = await this.sql.query<{ offset: bigint | number | string; key: string | null; value: string; headers: unknown }>(
      `SELECT "offset", key, value, headers FROM msg_bus_messages
       WHERE topic = $1 AND partition = $2 AND "offset" >= $3 ORDER BY "offset" LIMIT $4`,
      [topic, partition, offset, limit],
    );
    return rows.map((row) => ({ offset: Number(row.offset), key: row.key, value: row.value, headers: parseHeaders(row.headers) }));
  }

  async join(groupId: string, topic: string, partition: number, fromBeginning: boolean): Promise<number> {
    // The start is offset 0 (a read skips what retention removed); the end is the next offset.
    await this.sql.query(
      `INSERT INTO msg_bus_offsets (group_id, topic, partition, next_offset)
       SELECT $1, $2, $3, CASE WHEN $4::boolean THEN 0 ELSE p.next_offset END
       FROM msg_bus_partitions p WHERE p.topic = $2 AND p.partition = $3
       ON CONFLICT (group_id, topic, partition) DO NOTHING`,
      [groupId, topic, partition, fromBeginning],
    );
    const { rows } = await this.sql.query<{ next_offset: bigint | number | string }>(
      'SELECT next_offset FROM msg_bus_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3',
      [groupId, topic, partition],
    );
    if (rows.length === 0) throw new Error(`No partition ${partition} of topic '${topic}'`);
    return Number(rows[0]!.next_offset);
  }

  async commit(groupId: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    await this.sql.query(
      `INSERT INTO msg_bus_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()`,
      [groupId, topic, partition, nextOffset],
    );
  }

  async forgetGroup(groupId: string): Promise<void> {
    await this.sql.query('DELETE FROM msg_bus_offsets WHERE group_id = $1', [groupId]);
  }

  async groupOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; low: number; high: number; committed: number | null }>> {
    type Row = { partition: number; low: bigint | number | string; high: bigint | number | string; committed: bigint | number | string | null };
    const { rows } = await this.sql.query<Row>(
      `SELECT p.partition, p.next_offset AS high, o.next_offset AS committed,
              COALESCE((SELECT min(m."offset") FROM msg_bus_messages m WHERE m.topic = p.topic AND m.partition = p.partition), p.next_offset) AS low
       FROM msg_bus_partitions p
       LEFT JOIN msg_bus_offsets o ON o.group_id = $1 AND o.topic = p.topic AND o.partition = p.partition
       WHERE p.topic = $2 ORDER BY p.partition`,
      [groupId, topic],
    );
    return rows.map((row) => ({ partition: Number(row.partition), low: Number(row.low), high: Number(row.high), committed: row.committed === null ? null : Number(row.committed) }));
  }

  version(topic: string): number {
    return this.signals.version(topic);
  }

  waitForAppend(topic: string, version: number, signal: AbortSignal): Promise<void> {
    return this.signals.wait(topic, version, signal, this.pollIntervalMs);
  }

  async ping(): Promise<boolean> {
    try {
      await this.sql.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Retention: deletes the messages every group with an offset on their partition has committed
   * past, and every message older than `retentionMs`. Answers how many were deleted.
   */
  async prune(): Promise<number> {
    const consumed = await this.sql.query(
      `DELETE FROM msg_bus_messages m
       USING (SELECT topic, partition, min(next_offset) AS low FROM msg_bus_offsets GROUP BY topic, partition) c
       WHERE m.topic = c.topic AND m.partition = c.partition AND m."offset" < c.low`,
    );
    const expired = await this.sql.query('DELETE FROM msg_bus_messages WHERE published_at < $1', [new Date(Date.now() - this.retentionMs)]);
    return consumed.rowCount + expired.rowCount;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pruneTimer);
    await this.pruning;
    await this.unlisten?.().catch(() => undefined);
    this.signals.bumpAll();
  }
}

async function insertMessages(tx: SqlExecutor, topic: string, partition: number, firstOffset: number, list: readonly LogAppend[]) {
  for (let start = 0; start < list.length; start += INSERT_CHUNK) {
    const chunk = list.slice(start, start + INSERT_CHUNK);
    const params: unknown[] = [];
    const rows = chunk.map((message, i) => {
      params.push(topic, partition, firstOffset + start + i, message.key, message.value, JSON.stringify(message.headers));
      const n = params.length;
      return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n}::jsonb)`;
    });
    await tx.query(`INSERT INTO msg_bus_messages (topic, partition, "offset", key, value, headers) VALUES ${rows.join(', ')}`, params);
  }
}

/** PostgreSQL text (and jsonb) cannot hold U+0000: refuse such a message clearly, before the append. */
function assertStorable(message: LogAppend): void {
  const parts = [message.key ?? '', message.value, ...Object.entries(message.headers).flat()];
  if (parts.some((part) => part.includes('\u0000'))) {
    throw new Error(`A message to '${message.topic}' contains a NUL character, which the SQL message log cannot store`);
  }
}

function parseHeaders(raw: unknown): MessageHeaders {
  const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  return value && typeof value === 'object' ? { ...(value as MessageHeaders) } : {};
}
