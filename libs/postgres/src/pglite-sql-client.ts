// A type only: PGlite (a WASM build of PostgreSQL) is imported by open(), so a process on a real
// PostgreSQL server, which imports this package for PgSqlClient, never loads it.
import type { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlExecutor, SqlResult } from './sql-client.js';

export interface PGliteSqlClientOptions {
  /** A directory for the data files; in memory when omitted. */
  dataDir?: string;
}

// PGlite returns int8 as bigint only when asked: parse BIGINT (oid 20) as bigint, as PgSqlClient does.
const parsers = { 20: (value: string) => BigInt(value) };

/** SqlClient over embedded PGlite (PostgreSQL compiled to WASM, in this process). */
export class PGliteSqlClient implements SqlClient {
  readonly engine = 'pglite' as const;

  private constructor(readonly db: PGlite) {}

  static async open(options: PGliteSqlClientOptions = {}): Promise<PGliteSqlClient> {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir, parsers } : { parsers });
    return new PGliteSqlClient(db);
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<SqlResult<Row>> {
    const result = await this.db.query<Row>(sql, params);
    await yieldToEventLoop();
    return { rows: result.rows, rowCount: rowCountOf(result) };
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
    await yieldToEventLoop();
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(async (t) =>
      fn({
        query: async <Row>(sql: string, params?: unknown[]) => {
          const result = await t.query<Row>(sql, params);
          await yieldToEventLoop();
          return { rows: result.rows, rowCount: rowCountOf(result) };
        },
        exec: async (sql: string) => {
          await t.exec(sql);
          await yieldToEventLoop();
        },
      }),
    );
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    return this.db.listen(channel, onNotify);
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

/** PGlite reports affectedRows 0 for a SELECT: count the rows then, as pg's rowCount does. */
function rowCountOf(result: { rows: unknown[]; affectedRows?: number }): number {
  return result.affectedRows ? result.affectedRows : result.rows.length;
}

/**
 * PGlite runs queries synchronously in this thread and settles their promises as microtasks, so a
 * long chain of queries (a projection rebuild, a catch-up) would never let the event loop reach I/O:
 * HTTP requests would wait until the whole chain ends. Yielding a macrotask after each query keeps the
 * embedded platform responsive while it works.
 */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
