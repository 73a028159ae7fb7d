import { PostgresEventStore } from '@svp/event-store';
import { PGliteSqlClient } from '@svp/postgres';
import { freshPgSchema } from '@svp/testing';
import type { MessageBusSqlFixture } from './message-bus.contract.js';

/** A fresh in-memory PGlite with an event store (the embedded pairing). */
export async function pgliteStoreFixture(): Promise<MessageBusSqlFixture> {
  const sql = await PGliteSqlClient.open();
  const store = await PostgresEventStore.create(sql);
  return {
    sql,
    store,
    dispose: async () => {
      await store.close();
      await sql.close();
    },
  };
}

/** A fresh schema of the real PostgreSQL with an event store; dispose drops it. */
export async function postgresStoreFixture(): Promise<MessageBusSqlFixture> {
  const db = await freshPgSchema('msg', { max: 5 });
  const store = await PostgresEventStore.create(db.sql);
  return {
    sql: db.sql,
    store,
    dispose: async () => {
      await store.close();
      await db.dispose();
    },
  };
}
