import type { SqlClient, SqlExecutor } from '@svp/postgres';

export const INBOX_MIGRATION = `
CREATE TABLE IF NOT EXISTS msg_inbox (
  consumer   text        NOT NULL,
  event_id   uuid        NOT NULL,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS msg_inbox_handled_at ON msg_inbox (handled_at);
`;

export type InboxResult<T> = { duplicate: false; value: T } | { duplicate: true };

/**
 * The idempotent consumer: records which event ids a consumer has handled, in the same transaction
 * as the handler's effect, so a redelivered event (at-least-once delivery, relay duplicates) has no
 * second effect. Works on the SqlClient port (PostgreSQL and PGlite).
 */
export class SqlInbox {
  private constructor(private readonly sql: SqlClient) {}

  /** An inbox on `sql`, its table created if missing. */
  static async create(sql: SqlClient): Promise<SqlInbox> {
    await sql.exec(INBOX_MIGRATION);
    return new SqlInbox(sql);
  }

  /**
   * Runs `effect` and records (consumer, eventId) in ONE transaction; when the id is already
   * recorded it does nothing and answers `{ duplicate: true }`. The effect must write through `tx`
   * (not through another connection) to be part of that transaction. If the effect throws, nothing is
   * recorded and the error propagates (the consumer retries or dead-letters). Two concurrent
   * deliveries of one id: the second waits on the first's row lock and then sees a duplicate.
   */
  async handleOnce<T>(consumer: string, eventId: string, effect: (tx: SqlExecutor) => Promise<T>): Promise<InboxResult<T>> {
    return this.sql.transaction(async (tx) => {
      const inserted = await tx.query(
        'INSERT INTO msg_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT (consumer, event_id) DO NOTHING',
        [consumer, eventId],
      );
      if (inserted.rowCount === 0) return { duplicate: true } as const;
      return { duplicate: false, value: await effect(tx) } as const;
    });
  }

  /** True when the consumer has handled the event. */
  async has(consumer: string, eventId: string): Promise<boolean> {
    const { rows } = await this.sql.query('SELECT 1 FROM msg_inbox WHERE consumer = $1 AND event_id = $2', [consumer, eventId]);
    return rows.length > 0;
  }

  /**
   * Forgets ids handled before `before` (run it with a margin well beyond any possible redelivery,
   * e.g. the topic's retention). Answers how many were removed.
   */
  async prune(before: Date): Promise<number> {
    const result = await this.sql.query('DELETE FROM msg_inbox WHERE handled_at < $1', [before]);
    return result.rowCount;
  }
}
