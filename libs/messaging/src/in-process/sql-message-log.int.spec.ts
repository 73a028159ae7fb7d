import { afterAll, beforeAll } from '@jest/globals';
import { PGliteSqlClient, type SqlClient } from '@svp/postgres';
import { freshPgSchema } from '@svp/testing';
import { silentLogger } from '../logger.js';
import { describeMessageBusContract, pgliteStoreFixture, postgresStoreFixture } from '../testing/index.js';
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
  openSql: pgliteStoreFixture,
});

describeMessageBusContract('in-process, SQL log on PostgreSQL', {
  createBus: () => busOn(postgres.sql),
  reopenBus: () => busOn(postgres.sql),
  openSql: postgresStoreFixture,
});
