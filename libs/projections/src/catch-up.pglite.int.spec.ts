import { afterAll } from '@jest/globals';
import { PGliteSqlClient, quoteIdent } from '@svp/postgres';
import { PostgresEventStore } from '@svp/event-store';
import { uniqueName } from '@svp/testing';
import { describeCatchUpAndReplay } from './__fixtures__/catch-up.suite.js';

// The same suite on embedded PGlite: one shared instance, a fresh schema per test (as in
// projection-runner.pglite.int.spec.ts).
let shared: Promise<PGliteSqlClient> | undefined;
afterAll(async () => {
  await (await shared)?.close();
});

describeCatchUpAndReplay('PGlite', async () => {
  shared ??= PGliteSqlClient.open();
  const sql = await shared;
  const schema = quoteIdent(uniqueName('catchup'));
  await sql.exec(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
  const store = await PostgresEventStore.create(sql, { pollIntervalMs: 100 });
  return {
    sql,
    store,
    dispose: async () => {
      await store.close();
      await sql.exec(`SET search_path TO public; DROP SCHEMA ${schema} CASCADE`);
    },
  };
});
