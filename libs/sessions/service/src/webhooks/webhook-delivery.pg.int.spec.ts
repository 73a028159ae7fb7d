import { PgSqlClient, type SqlClient } from '@svp/postgres';
import { freshPgSchema, testInfra } from '@svp/testing';
import { describeWebhookDelivery } from './__fixtures__/webhook-delivery.suite.js';

// A real PostgreSQL, a fresh schema per test; a second dispatcher gets its own connection pool on
// the same schema, so the two really claim concurrently.
describeWebhookDelivery('PostgreSQL', async () => {
  const { sql, schema, dispose } = await freshPgSchema('webhooks');
  const others: SqlClient[] = [];
  return {
    sql,
    another: async () => {
      const other = await PgSqlClient.connect({ connectionString: testInfra().databaseUrl, schema });
      others.push(other);
      return other;
    },
    dispose: async () => {
      await Promise.all(others.map((o) => o.close()));
      await dispose();
    },
  };
});
