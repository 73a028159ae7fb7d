import { describe, expect, it } from '@jest/globals';
import { PgSqlClient } from '@svp/postgres';
import { testInfra } from '@svp/testing';
import pg from 'pg';
import { isTransientError } from './transient-errors.js';

// The errors a real PostgreSQL client throws when the server is away or goes away.
describe('isTransientError on real pg errors', () => {
  it('given no server listening, then the connection error is transient', async () => {
    const sql = new PgSqlClient({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    try {
      const error = await sql.query('SELECT 1').catch((e: unknown) => e);
      expect(String((error as Error).message)).toMatch(/ECONNREFUSED/);
      expect(isTransientError(error)).toBe(true);
    } finally {
      await sql.close();
    }
  });

  it('given the server terminates the backend (as on a restart), then the error is transient', async () => {
    const victim = new pg.Client({ connectionString: testInfra().databaseUrl });
    victim.on('error', () => undefined);
    await victim.connect();
    try {
      const error = await victim.query('SELECT pg_terminate_backend(pg_backend_pid())').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '57P01' });
      expect(isTransientError(error)).toBe(true);
      const after = await victim.query('SELECT 1').catch((e: unknown) => e);
      expect(isTransientError(after)).toBe(true);
    } finally {
      await victim.end().catch(() => undefined);
    }
  });

  it('given a pool whose connections are all busy, then its "timeout exceeded when trying to connect" is transient', async () => {
    const pool = new pg.Pool({ connectionString: testInfra().databaseUrl, max: 1, connectionTimeoutMillis: 100 });
    const busy = await pool.connect();
    try {
      const error = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(String(error)).toMatch(/timeout exceeded when trying to connect/);
      expect(isTransientError(error)).toBe(true);
    } finally {
      busy.release();
      await pool.end();
    }
  });

  it('given a bad query, then the error is not transient', async () => {
    const sql = await PgSqlClient.connect({ connectionString: testInfra().databaseUrl });
    try {
      const error = await sql.query('SELECT * FROM no_such_table_anywhere').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '42P01' });
      expect(isTransientError(error)).toBe(false);
    } finally {
      await sql.close();
    }
  });
});
