import { afterAll } from '@jest/globals';
import { PGliteSqlClient, quoteIdent } from '@svp/postgres';
import { PostgresEventStore } from '@svp/event-store';
import { uniqueName } from '@svp/testing';
import { describeProjectionRunner } from './__fixtures__/projection-runner.suite.js';

// The same suite on embedded PGlite. An instance takes seconds to start on a busy machine, so the
// file shares one and gives each test a fresh schema (PGlite is a single session: search_path set
// here applies to every statement of the test), dropped after.
let shared: Promise<PGliteSqlClient> | undefined;
afterAll(async () => {
  await (await shared)?.close();
});

describeProjectionRunner('PGlite', async () => {
  shared ??= PGliteSqlClient.open();
  const sql = await shared;
  const schema = quoteIdent(uniqueName('proj'));
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
