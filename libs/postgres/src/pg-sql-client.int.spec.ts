import { randomUUID } from 'node:crypto';
import { PgSqlClient } from './pg-sql-client.js';

// @svp/testing depends on this library, so this one spec keeps its own few lines of set-up.
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
async function eventually(probe: () => Promise<true | undefined>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PgSqlClient LISTEN', () => {
  it('given two channels listened to at once, when the listening connection is killed, then it is replaced and notifications flow again', async () => {
    const sql = await PgSqlClient.connect({ connectionString: databaseUrl });
    const app = `svp-test-${randomUUID().slice(0, 8)}`;
    const listener = await PgSqlClient.connect({ connectionString: databaseUrl, applicationName: app });
    const received: string[] = [];
    try {
      // Two listen() calls in the same tick share one connection (no leaked pool client).
      await Promise.all([
        listener.listen('svp_test_a', (p) => received.push(`a:${p}`)),
        listener.listen('svp_test_b', (p) => received.push(`b:${p}`)),
      ]);
      await sql.query(`SELECT pg_notify('svp_test_a', 'one'), pg_notify('svp_test_b', 'two')`);
      await eventually(async () => (received.includes('a:one') && received.includes('b:two') ? true : undefined), 'first notifications');

      const killed = await sql.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1`,
        [`${app}-listen`],
      );
      expect(killed.rows).toEqual([{ ok: true }]);

      // After reconnecting, listeners are woken once (notifications may have been missed) …
      await eventually(async () => (received.includes('a:') && received.includes('b:') ? true : undefined), 'the wake-up after reconnecting');
      // … and new notifications arrive again on both channels.
      await eventually(async () => {
        await sql.query(`SELECT pg_notify('svp_test_a', 'three'), pg_notify('svp_test_b', 'four')`);
        return received.includes('a:three') && received.includes('b:four') ? true : undefined;
      }, 'notifications after the reconnect');
    } finally {
      await listener.close(); // must not hang
      await sql.close();
    }
  });
});
