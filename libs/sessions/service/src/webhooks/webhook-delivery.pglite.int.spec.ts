import { afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGliteSqlClient, quoteIdent } from '@svp/postgres';
import { uniqueName } from '@svp/testing';
import { describeWebhookDelivery } from './__fixtures__/webhook-delivery.suite.js';

// Embedded PGlite with its data in a temporary directory. An instance takes a while to start, so the
// file shares one and gives each test a fresh schema (PGlite is a single session: the search_path
// set here applies to every statement of the test). Two dispatchers share the one client.
const dataDir = mkdtempSync(join(tmpdir(), 'svp-webhooks-'));
let shared: Promise<PGliteSqlClient> | undefined;
afterAll(async () => {
  await (await shared)?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describeWebhookDelivery('PGlite', async () => {
  shared ??= PGliteSqlClient.open({ dataDir });
  const sql = await shared;
  const schema = quoteIdent(uniqueName('webhooks'));
  await sql.exec(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
  return {
    sql,
    another: async () => sql,
    dispose: async () => {
      await sql.exec(`SET search_path TO public; DROP SCHEMA ${schema} CASCADE`);
    },
  };
});
