import { PgSqlClient, quoteIdent } from '@svp/postgres';
import { PostgresEventStore } from '@svp/event-store';
import { testInfra, uniqueName } from '@svp/testing';
import { describeProjectionRunner } from './__fixtures__/projection-runner.suite.js';

// A fresh schema of the real server per test, dropped after.
describeProjectionRunner('PostgreSQL (pg)', async () => {
  const schema = uniqueName('proj');
  const sql = await PgSqlClient.connect({ connectionString: testInfra().databaseUrl, schema });
  const store = await PostgresEventStore.create(sql, { pollIntervalMs: 100 });
  return {
    sql,
    store,
    dispose: async () => {
      await store.close();
      await sql.exec(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
      await sql.close();
    },
  };
});
