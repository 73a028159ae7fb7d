import { randomUUID } from 'node:crypto';
import { PostgresEventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { PgSqlClient } from '@svp/postgres';
import { Checks, type Drill } from '../drill.js';
import { call } from '../http.js';
import { sessionEvents } from '../probes.js';

/**
 * Drill 7. Optimistic concurrency where it is decided, and no lost write where it is absorbed:
 * - 100 appends to one stream with the same expected revision, on the PostgreSQL event store the
 *   services run on (group commit on, as deployed; in a scratch schema of the same database, so the
 *   services' projections never meet the drill's events): exactly one wins, 99 get
 *   WrongExpectedRevisionError, the stream holds the one;
 * - 100 concurrent END requests on one session (sessions service): exactly one is accepted, the 99
 *   others are 409 CONFLICT naming ENDED, one SessionEnded is stored;
 * - 200 concurrent writes of distinct keys to one session (variables service): every one acknowledged
 *   and every one present, at version 1.
 */
export const concurrencyDrill: Drill = {
  id: 7,
  name: 'concurrency',
  title: '100 appenders on one stream revision, exactly one wins; 200 concurrent writes of distinct keys to one session, all present',
  async run({ platform, log }) {
    const checks = new Checks();
    let lost = 0;
    let doubleEffects = 0;

    // 1. The store: 100 appenders, one expected revision.
    const schema = `${platform.schema('variables')}drill7`;
    const sql = await PgSqlClient.connect({ connectionString: platform.databaseUrl, schema, max: 20 });
    try {
      const store = await PostgresEventStore.create(sql);
      const stream = `drill7-${randomUUID()}`;
      await store.appendToStream(stream, [{ eventId: randomUUID(), type: 'Seeded', data: { n: 0 } }], { expectedRevision: 'no_stream' });
      const outcomes = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          store.appendToStream(stream, [{ eventId: randomUUID(), type: 'Appended', data: { appender: i } }], { expectedRevision: 0n }).then(
            (): string => 'won',
            (error: unknown): string => (error instanceof WrongExpectedRevisionError ? 'refused' : `error: ${String(error)}`),
          ),
        ),
      );
      const won = outcomes.filter((o) => o === 'won').length;
      const refused = outcomes.filter((o) => o === 'refused').length;
      checks.check(won === 1 && refused === 99, '100 appends at revision 0 of one stream: exactly 1 won, 99 refused with WrongExpectedRevisionError', { won, refused, other: outcomes.filter((o) => o !== 'won' && o !== 'refused').slice(0, 3) });
      const events = await store.readStream(stream);
      checks.check(events.length === 2, 'the stream holds the seed and the one winner', events.length);
      doubleEffects += Math.max(0, events.length - 2);
      log(`  store: ${won} won, ${refused} refused`);
    } finally {
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await sql.close();
    }

    const org = await platform.newOrg('Drill 7 concurrency');
    const key = org.apiKey;

    // 2. The sessions service: 100 concurrent END of one session.
    const started = await call<{ sessionId: string }>(`${platform.urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web' } });
    checks.check(started.status === 201, 'a session started', started.status);
    const sessionId = started.body.sessionId;
    const ends = await Promise.all(
      Array.from({ length: 100 }, () => call(`${platform.urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key, body: { type: 'END', reason: 'agent' } })),
    );
    const accepted = ends.filter((a) => a.status >= 200 && a.status < 300).length;
    const conflicts = ends.filter((a) => a.status === 409 && (a.body as { error?: { code?: string; message?: string } }).error?.code === 'CONFLICT' && /ENDED/.test(JSON.stringify(a.body))).length;
    checks.check(accepted === 1 && conflicts === 99, '100 concurrent END on one session: 1 accepted, 99 answered 409 CONFLICT naming ENDED', { accepted, conflicts, others: ends.filter((a) => a.status !== 409 && (a.status < 200 || a.status >= 300)).map((a) => a.status).slice(0, 5) });
    const stored = await sessionEvents(platform, 'sessions', org.orgId, sessionId);
    const endedEvents = stored.filter((e) => e.type === 'SessionEnded').length;
    checks.check(endedEvents === 1, 'one SessionEnded stored', endedEvents);
    doubleEffects += Math.max(0, endedEvents - 1);

    // 3. The variables service: 200 concurrent writers of distinct keys on one session.
    const busy = `drill7-${randomUUID()}`;
    const writes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => call(`${platform.urls.variables}/v1/sessions/${busy}/variables`, { method: 'PUT', key, body: { sessionVariableValues: [{ name: `k${i}`, value: i }] } })),
    );
    const acknowledged = writes.map((a, i) => (a.status === 200 ? i : -1)).filter((i) => i >= 0);
    checks.check(acknowledged.length === 200, '200 concurrent writes of distinct keys: all acknowledged (200)', { acknowledged: acknowledged.length, statuses: [...new Set(writes.map((a) => a.status))] });
    const read = await call<{ variables: { name: string; value: unknown; scope: string; version: number }[] }>(`${platform.urls.variables}/v1/sessions/${busy}/variables`, { key });
    const present = new Map(read.body.variables.filter((v) => v.scope === 'session').map((v) => [v.name, v]));
    const missing = acknowledged.filter((i) => present.get(`k${i}`)?.value !== i);
    lost += missing.length;
    checks.check(missing.length === 0, 'every acknowledged key present with its value', missing.slice(0, 5));
    const notFirst = [...present.values()].filter((v) => v.version !== 1).length;
    checks.check(notFirst === 0, 'each key at version 1 (written once)', notFirst);
    doubleEffects += notFirst;

    return {
      load: '100 appends on one revision; 100 END on one session; 200 writes on one session, all at once',
      faults: 'contention only',
      badInputs: 0,
      lost,
      doubleEffects,
      checks: checks.held,
      failures: checks.failed,
    };
  },
};
