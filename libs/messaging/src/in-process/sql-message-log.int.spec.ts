import { afterAll, beforeAll } from '@jest/globals';
import { PostgresEventStore } from '@svp/event-store';
import { PGliteSqlClient, type SqlClient } from '@svp/postgres';
import { freshPgSchema } from '@svp/testing';
import { silentLogger } from '../logger.js';
import { describeMessageBusContract } from '../testing/index.js';
import { InProcessMessageBus } from './in-process-message-bus.js';
import { SqlMessageLog } from './sql-message-log.js';

// The durable in-process bus: its log in SQL tables, on PGlite (the embedded mode) and on PostgreSQL.
// One database holds the bus of the whole suite; `reopenBus` opens another bus on that same database.
const busOn = async (sql: SqlClient) =>
  new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { logger: silentLogger }), retryBackoff: 20, logger: silentLogger });

let pglite: PGliteSqlClient;
let postgres: Awaited<ReturnType<typeof freshPgSchema>>;

beforeAll(async () => {
  pglite = await PGliteSqlClient.open();
  postgres = await freshPgSchema('msg_bus', { max: 5 });
});

afterAll(async () => {
  await pglite?.close();
  await postgres?.dispose();
});

describeMessageBusContract('in-process, SQL log on PGlite', {
  createBus: () => busOn(pglite),
  reopenBus: () => busOn(pglite),
  openSql: async () => {
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
  },
});

describeMessageBusContract('in-process, SQL log on PostgreSQL', {
  createBus: () => busOn(postgres.sql),
  reopenBus: () => busOn(postgres.sql),
  openSql: async () => {
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
  },
});
