import { quoteIdent, type SqlExecutor } from '@svp/postgres';
import { readCheckpoint } from './checkpoints.js';
import { checkpointKey } from './naming.js';
import type { DocumentProjection } from './projection.js';

export interface FindOptions {
  /** Documents containing this JSON (`doc @> contains`; a GIN index serves it). */
  readonly contains?: Record<string, unknown>;
  /** At most this many documents, in id order (default 1000). */
  readonly limit?: number;
}

/** PostgreSQL's "relation does not exist" (pg and PGlite both carry the SQLSTATE in `code`). */
export function isUndefinedTableError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '42P01';
}

/**
 * Queries a document projection through its active table, which it finds in the registry
 * (`proj_checkpoints`), never by guessing: a rebuild's table becomes visible only in the
 * transaction that switches it in, so a read never meets a half-built table. The table name is
 * cached; a rebuild drops the table it replaces, so a stale name fails with "relation does not
 * exist", and the reader then looks the table up again and retries once.
 */
export class ReadModelReader<Doc> {
  private readonly key: string;
  private cached: string | undefined;

  constructor(
    private readonly sql: SqlExecutor,
    projection: Pick<DocumentProjection<Doc>, 'name' | 'version'>,
  ) {
    this.key = checkpointKey(projection);
  }

  /** The active table, or undefined before the projection was first started. */
  async table(): Promise<string | undefined> {
    this.cached = (await readCheckpoint(this.sql, this.key))?.table;
    return this.cached;
  }

  async get(id: string): Promise<Doc | null> {
    const rows = await this.query<{ doc: Doc }>(
      (table) => `SELECT doc FROM ${quoteIdent(table)} WHERE id = $1 AND doc IS NOT NULL`,
      [id],
    );
    return rows[0]?.doc ?? null;
  }

  async find({ contains, limit = 1000 }: FindOptions = {}): Promise<Doc[]> {
    const rows = await this.query<{ doc: Doc }>(
      (table) =>
        `SELECT doc FROM ${quoteIdent(table)} WHERE doc IS NOT NULL` +
        (contains ? ` AND doc @> $2::jsonb` : '') +
        ` ORDER BY id LIMIT $1`,
      contains ? [limit, JSON.stringify(contains)] : [limit],
    );
    return rows.map((row) => row.doc);
  }

  /** Documents with their last applied global position (for diagnostics and tests). */
  async entries(): Promise<{ id: string; doc: Doc; lastPosition: bigint }[]> {
    const rows = await this.query<{ id: string; doc: Doc; last_position: bigint }>(
      (table) => `SELECT id, doc, last_position FROM ${quoteIdent(table)} WHERE doc IS NOT NULL ORDER BY id`,
      [],
    );
    return rows.map((row) => ({ id: row.id, doc: row.doc, lastPosition: BigInt(row.last_position) }));
  }

  private async query<Row>(statement: (table: string) => string, params: unknown[]): Promise<Row[]> {
    const table = this.cached ?? (await this.table());
    if (table === undefined) return [];
    try {
      return (await this.sql.query<Row>(statement(table), params)).rows;
    } catch (error) {
      if (!isUndefinedTableError(error)) throw error;
      const fresh = await this.table();
      if (fresh === undefined || fresh === table) throw error;
      return (await this.sql.query<Row>(statement(fresh), params)).rows;
    }
  }
}
