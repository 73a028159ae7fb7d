import { PgSqlClient, quoteIdent } from '@svp/postgres';
import { testInfra, uniqueName } from './infra.js';

/** A PgSqlClient on a fresh schema of the test database; `dispose()` drops the schema and closes. */
export async function freshPgSchema(prefix: string, options: { max?: number } = {}): Promise<{ sql: PgSqlClient; schema: string; dispose(): Promise<void> }> {
  const schema = uniqueName(prefix);
  const sql = await PgSqlClient.connect({ connectionString: testInfra().databaseUrl, schema, ...options });
  return {
    sql,
    schema,
    dispose: async () => {
      await sql.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await sql.close();
    },
  };
}
