import { PostgresEventStore } from '@svp/event-store';
import { freshPgSchema } from '@svp/testing';
import { describeCatchUpAndReplay } from './__fixtures__/catch-up.suite.js';

// A fresh schema of the real server per test, dropped after.
describeCatchUpAndReplay('PostgreSQL (pg)', async () => {
  const db = await freshPgSchema('catchup');
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
