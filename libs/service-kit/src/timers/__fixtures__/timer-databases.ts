import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGliteSqlClient, PgSqlClient, type SqlClient } from '@svp/postgres';
import { freshPgSchema, testInfra } from '@svp/testing';
import { pino, type Logger } from 'pino';

export type Engine = 'PGlite' | 'PostgreSQL';
export const ENGINES: readonly Engine[] = ['PGlite', 'PostgreSQL'];

/**
 * A database that outlives its clients, so a test can "restart": PGlite files in a temporary
 * directory, or a fresh schema of the PostgreSQL test database. `open()` gives a new client (on
 * PostgreSQL, a new pool: another instance); `dispose()` closes what is still open and deletes it all.
 */
export interface TimerDatabase {
  engine: Engine;
  open(): Promise<SqlClient>;
  dispose(): Promise<void>;
}

export async function timerDatabase(engine: Engine): Promise<TimerDatabase> {
  const clients: SqlClient[] = [];
  const track = (client: SqlClient) => {
    clients.push(client);
    return client;
  };
  const closeAll = async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  };
  if (engine === 'PGlite') {
    const dir = mkdtempSync(join(tmpdir(), 'svp-timers-'));
    return {
      engine,
      open: async () => track(await PGliteSqlClient.open({ dataDir: dir })),
      dispose: async () => {
        await closeAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = await freshPgSchema('timers');
  return {
    engine,
    open: async () => track(await PgSqlClient.connect({ connectionString: testInfra().databaseUrl, schema: db.schema, max: 4 })),
    dispose: async () => {
      await closeAll();
      await db.dispose();
    },
  };
}

/** A clock that moves only when told. */
export class ManualClock {
  private ms: number;
  constructor(start: Date | string = '2031-05-01T12:00:00.000Z') {
    this.ms = new Date(start).getTime();
  }
  readonly now = (): Date => new Date(this.ms);
  advance(ms: number): Date {
    this.ms += ms;
    return this.now();
  }
  at(offsetMs: number): Date {
    return new Date(this.ms + offsetMs);
  }
}

/** A pino logger whose lines are kept (parsed) for assertions. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** A promise opened from outside: a handler waits on it until the test releases it. */
export function gate(): { promise: Promise<void>; release(): void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}
