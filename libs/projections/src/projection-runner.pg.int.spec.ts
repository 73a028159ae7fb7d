import { PostgresEventStore } from '@svp/event-store';
import { freshPgSchema } from '@svp/testing';
import { describeProjectionRunner } from './__fixtures__/projection-runner.suite.js';

// A fresh schema of the real server per test, dropped after.
describeProjectionRunner('PostgreSQL (pg)', async () => {
  const db = await freshPgSchema('proj');
  const store = await PostgresEventStore.create(db.sql, { pollIntervalMs: 100 });
  return {
    sql: db.sql,
    store,
    dispose: async () => {
      await store.close();
      await db.dispose();
    },
  };
});
