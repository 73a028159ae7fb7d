import pg from 'pg';
import type { SqlClient, SqlExecutor, SqlResult } from './sql-client.js';

// BIGINT (int8) columns come back as strings by default; the platform reads them as bigint.
pg.types.setTypeParser(20, (value: string) => BigInt(value));

export interface PgSqlClientOptions {
  connectionString: string;
  /** A schema to create (if missing) and put first on the search_path of every connection. */
  schema?: string;
  max?: number;
  applicationName?: string;
}

/** SqlClient over a node-postgres pool (a real PostgreSQL server). */
export class PgSqlClient implements SqlClient {
  readonly engine = 'postgres' as const;
  readonly pool: pg.Pool;
  private listener?: Promise<pg.Client>;
  private closed = false;
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();

  constructor(private readonly options: PgSqlClientOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      application_name: options.applicationName ?? 'svp',
      options: options.schema ? `-c search_path=${quoteIdent(options.schema)},public` : undefined,
    });
    // An idle client that errors (server restart) must not crash the process.
    this.pool.on('error', () => undefined);
  }

  static async connect(options: PgSqlClientOptions): Promise<PgSqlClient> {
    if (options.schema) {
      const bootstrap = new pg.Client({ connectionString: options.connectionString });
      await bootstrap.connect();
      try {
        await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}`);
      } finally {
        await bootstrap.end();
      }
    }
    const client = new PgSqlClient(options);
    await client.query('SELECT 1');
    return client;
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<SqlResult<Row>> {
    const result = await this.pool.query(sql, params as unknown[] | undefined);
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const tx: SqlExecutor = {
        query: async <Row>(sql: string, params?: unknown[]) => {
          const result = await client.query(sql, params as unknown[] | undefined);
          return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
        },
        exec: async (sql: string) => {
          await client.query(sql);
        },
      };
      const value = await fn(tx);
      await client.query('COMMIT');
      return value;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * LISTEN on a dedicated connection, shared by every channel. If that connection dies (server
   * restart, killed backend) it is replaced with backoff and every channel is listened to again;
   * each listener is then called once with an empty payload, since notifications may have been
   * missed meanwhile (listeners treat a notification as "look again", never as data).
   */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(onNotify);
    const client = await this.listenerConnection();
    if (isNew) await client.query(`LISTEN ${quoteIdent(channel)}`);
    return async () => {
      set.delete(onNotify);
    };
  }

  private listenerConnection(): Promise<pg.Client> {
    this.listener ??= this.connectListener();
    return this.listener;
  }

  private async connectListener(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: `${this.options.applicationName ?? 'svp'}-listen`,
    });
    client.on('notification', (msg) => {
      for (const cb of this.listeners.get(msg.channel) ?? []) cb(msg.payload ?? '');
    });
    const lost = () => {
      if (this.closed) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      this.reconnectListener(1);
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.connect();
    for (const channel of this.listeners.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
    return client;
  }

  private reconnectListener(attempt: number): void {
    const delay = Math.min(5000, 100 * 2 ** (attempt - 1));
    setTimeout(() => {
      if (this.closed || this.listener) return;
      const next = this.connectListener();
      this.listener = next;
      next.then(
        () => {
          for (const set of this.listeners.values()) for (const cb of set) cb('');
        },
        () => {
          this.listener = undefined;
          this.reconnectListener(attempt + 1);
        },
      );
    }, delay).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    if (listener) await listener.then((client) => client.end()).catch(() => undefined);
    await this.pool.end();
  }
}

export function quoteIdent(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
