import { PGliteSqlClient } from './pglite-sql-client.js';

describe('PGliteSqlClient', () => {
  it('runs queries and transactions, and rolls back on error', async () => {
    const sql = await PGliteSqlClient.open();
    try {
      await sql.exec('CREATE TABLE t (id bigint primary key, v text)');
      await sql.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES ($1, $2)', [1n, 'a']);
      });
      await expect(
        sql.transaction(async (tx) => {
          await tx.query('INSERT INTO t VALUES ($1, $2)', [2n, 'b']);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const { rows } = await sql.query<{ id: bigint; v: string }>('SELECT id, v FROM t ORDER BY id');
      expect(rows).toEqual([{ id: 1n, v: 'a' }]);
    } finally {
      await sql.close();
    }
  });
});
