import { afterAll } from '@jest/globals';
import { PGliteSqlClient, type SqlClient, quoteIdent } from '@svp/postgres';
import { freshPgSchema, uniqueName, waitFor } from '@svp/testing';
import { OrgMeter } from './metering.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

interface Db {
  sql: SqlClient;
  dispose(): Promise<void>;
}

// PGlite takes a while to start: one instance for the file, a fresh schema per test.
let pglite: Promise<PGliteSqlClient> | undefined;
afterAll(async () => {
  await (await pglite)?.close();
});

const engines: [string, () => Promise<Db>][] = [
  [
    'PGlite',
    async () => {
      pglite ??= PGliteSqlClient.open();
      const sql = await pglite;
      const schema = quoteIdent(uniqueName('meter'));
      await sql.exec(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
      return { sql, dispose: () => sql.exec(`SET search_path TO public; DROP SCHEMA ${schema} CASCADE`) };
    },
  ],
  ['PostgreSQL (pg)', () => freshPgSchema('meter')],
];

describe.each(engines)('OrgMeter on %s', (_engine, open) => {
  let db: Db;
  let now: number;
  const clock = () => now;
  const meters: OrgMeter[] = [];
  const newMeter = (defaultRequestsPerMinute = 3, service = 'variables') => {
    const meter = new OrgMeter({ service, sql: db.sql, defaultRequestsPerMinute, now: clock, flushIntervalMs: 50 });
    meters.push(meter);
    return meter;
  };
  const rows = async () =>
    (
      await db.sql.query<{ org_id: string; service: string; minute: Date; requests: bigint; refused: bigint }>(
        'SELECT org_id, service, minute, requests, refused FROM org_request_counts ORDER BY org_id, service, minute',
      )
    ).rows.map((r) => ({ orgId: r.org_id, service: r.service, minute: new Date(r.minute).toISOString(), requests: Number(r.requests), refused: Number(r.refused) }));

  beforeEach(async () => {
    now = T0 + 5_000;
    db = await open();
  });
  afterEach(async () => {
    for (const meter of meters.splice(0)) await meter.stop().catch(() => undefined);
    await db.dispose();
  });

  it('creates its table and adds the counts of each flush to it', async () => {
    const meter = newMeter(2);
    await meter.start();
    for (let i = 0; i < 4; i++) meter.hit('org_a');
    meter.hit('org_b');
    await meter.flush();
    expect(await rows()).toEqual([
      { orgId: 'org_a', service: 'variables', minute: iso(T0), requests: 4, refused: 2 },
      { orgId: 'org_b', service: 'variables', minute: iso(T0), requests: 1, refused: 0 },
    ]);
    // A second flush of the same minute adds (an upsert of deltas, not an overwrite).
    meter.hit('org_a');
    now += 60_000;
    meter.hit('org_a');
    await meter.flush();
    expect((await rows()).filter((r) => r.orgId === 'org_a')).toEqual([
      { orgId: 'org_a', service: 'variables', minute: iso(T0), requests: 5, refused: 3 },
      { orgId: 'org_a', service: 'variables', minute: iso(T0 + 60_000), requests: 1, refused: 0 },
    ]);
    // Nothing to write: nothing written.
    await meter.flush();
    expect((await rows()).reduce((n, r) => n + r.requests, 0)).toBe(7);
    expect(meter.size).toEqual({ windows: 1, pending: 0 });
  });

  it('flushes by itself every interval, and once more on stop', async () => {
    const meter = newMeter();
    await meter.start();
    meter.hit('org_a');
    await waitFor(async () => (await rows()).length === 1, 'the periodic flush', 5000);
    meter.hit('org_a');
    await meter.stop();
    expect(await rows()).toEqual([{ orgId: 'org_a', service: 'variables', minute: iso(T0), requests: 2, refused: 0 }]);
  });

  it('usage reads the persisted counts merged with those not flushed yet', async () => {
    const meter = newMeter(3);
    await meter.start();
    meter.hit('org_a');
    meter.hit('org_a');
    await meter.flush();
    meter.hit('org_a');
    meter.hit('org_a'); // refused: the fourth of the minute
    const usage = await meter.usage('org_a');
    expect(usage).toEqual({
      orgId: 'org_a',
      service: 'variables',
      requestsPerMinute: 3,
      window: { start: iso(T0), seconds: 60, used: 3, remaining: 0 },
      minutes: [{ minute: iso(T0), requests: 4, refused: 1 }],
      total: { requests: 4, refused: 1 },
    });
    await meter.flush();
    expect(await meter.usage('org_a')).toEqual(usage);
  });

  it('survives a new meter instance on the same database (the counts, not the in-memory window)', async () => {
    const first = newMeter(3);
    await first.start();
    for (let i = 0; i < 5; i++) first.hit('org_a');
    await first.stop();

    now += 60_000;
    const second = newMeter(3);
    await second.start();
    second.hit('org_a');
    const usage = await second.usage('org_a');
    expect(usage.minutes).toEqual([
      { minute: iso(T0), requests: 5, refused: 2 },
      { minute: iso(T0 + 60_000), requests: 1, refused: 0 },
    ]);
    expect(usage.total).toEqual({ requests: 6, refused: 2 });
    expect(usage.window).toMatchObject({ used: 1, remaining: 2 });
  });

  it('keeps each service apart in a shared database', async () => {
    const variables = newMeter(3, 'variables');
    const sessions = newMeter(3, 'sessions');
    await variables.start();
    await sessions.start();
    variables.hit('org_a');
    sessions.hit('org_a');
    sessions.hit('org_a');
    await variables.flush();
    await sessions.flush();
    expect((await variables.usage('org_a')).total.requests).toBe(1);
    expect((await sessions.usage('org_a')).total.requests).toBe(2);
  });

  it('writes many orgs in one flush', async () => {
    const meter = newMeter(3);
    await meter.start();
    for (let i = 0; i < 1200; i++) meter.hit(`org_${i}`);
    await meter.flush();
    expect((await db.sql.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM org_request_counts')).rows[0]!.n).toBe(1200n);
  });
});
