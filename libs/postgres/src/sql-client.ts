/**
 * The one SQL port the platform's PostgreSQL-backed parts are written against: the event store
 * adapter, the projection runner, the outbox/inbox and the read models. Two adapters implement it:
 * `PgSqlClient` (node-postgres pool, a real server) and `PGliteSqlClient` (embedded PGlite), so the
 * same SQL runs in the embedded mode and against a real PostgreSQL.
 */
export interface SqlResult<Row = Record<string, unknown>> {
  rows: Row[];
  rowCount: number;
}

export interface SqlExecutor {
  /** Runs one parameterised statement ($1, $2, …). */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<SqlResult<Row>>;
  /** Runs several statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlClient extends SqlExecutor {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; resolves to an unlisten function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Which engine answers: used only for messages and for engine-specific tuning. */
  readonly engine: 'postgres' | 'pglite';
  close(): Promise<void>;
}
