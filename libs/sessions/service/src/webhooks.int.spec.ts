import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostgresEventStore } from '@svp/event-store';
import { ProjectionRunner } from '@svp/projections';
import { SecretBox, waitForProjection } from '@svp/service-kit';
import { freshPgSchema } from '@svp/testing';
import { LIST_WEBHOOKS_SQL, Webhooks, webhookFanoutProjection, webhooksProjection, type WebhookDoc } from './webhooks.js';
import { WebhookDeliveryStore } from './webhooks/index.js';

// The org's webhook list on a real PostgreSQL, through the real projection runner (which creates the
// read model's table and its indexes): only the org's, without the sealed secret, and by an index.
describe('Webhooks.list on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof freshPgSchema>>;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let webhooks: Webhooks;

  beforeAll(async () => {
    db = await freshPgSchema('webhooklist', { max: 4 });
    store = await PostgresEventStore.create(db.sql, { pollIntervalMs: 50 });
    const deliveries = new WebhookDeliveryStore(db.sql);
    await deliveries.setup();
    runner = new ProjectionRunner({ sql: db.sql, store, projections: [webhooksProjection, webhookFanoutProjection(deliveries)] });
    await runner.start();
    const reader = runner.reader<WebhookDoc>(webhooksProjection);
    webhooks = new Webhooks({
      store,
      sql: db.sql,
      runner,
      docs: { get: async (id) => (await reader.get(id)) ?? undefined, waitFor: (position) => waitForProjection(runner, 'webhooks', position) },
      deliveries,
      secretBox: SecretBox.fromKey(new Uint8Array(32)),
      allowPrivateTargets: true,
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await db?.dispose();
  });

  it('given webhooks of two orgs, then each org lists only its own, oldest first, with no secret, and the query uses the by_org index', async () => {
    const a1 = await webhooks.create('org_a', { url: 'http://127.0.0.1:9/a1', events: ['IM_Session_Status'], format: 'standard' });
    const b1 = await webhooks.create('org_b', { url: 'http://127.0.0.1:9/b1', events: ['IM_Session_Status'], format: 'zoho' });
    const a2 = await webhooks.create('org_a', { url: 'http://127.0.0.1:9/a2', events: ['IM_Session_Status'], format: 'standard' });

    const listA = await webhooks.list('org_a');
    expect(listA.map((w) => w.webhookId)).toEqual([a1.webhookId, a2.webhookId]);
    expect(listA[0]).toEqual(await webhooks.get('org_a', a1.webhookId));
    expect(Object.keys(listA[0]!)).not.toContain('secretSealed');
    expect(Object.keys(listA[0]!)).not.toContain('orgId');
    expect((await webhooks.list('org_b')).map((w) => w.webhookId)).toEqual([b1.webhookId]);
    expect(await webhooks.list('org_none')).toEqual([]);

    const table = await runner.activeTable('webhooks');
    const plan = await db.sql.transaction(async (tx) => {
      await tx.exec('SET LOCAL enable_seqscan = off');
      const { rows } = await tx.query(`EXPLAIN (FORMAT JSON) ${LIST_WEBHOOKS_SQL(table)}`, ['org_a']);
      return JSON.stringify(rows);
    });
    expect(plan).toContain(`${table}_by_org`);
  });
});
