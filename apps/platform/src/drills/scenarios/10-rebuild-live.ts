import { randomUUID } from 'node:crypto';
import { Checks, type Drill, type DrillOutcome, type DrillPlatform, formatCount, sleep, until } from '../drill.js';
import { call } from '../http.js';
import { projections } from '../probes.js';

interface View {
  name: string;
  value: unknown;
  scope: string;
  version: number;
  updatedAt?: string;
}

/** What the acknowledged writes of one name imply: its values in order; `unsure` writes got no answer (may or may not hold). */
interface NameModel {
  acked: unknown[];
  unsure: unknown[];
}

type EntityKind = 'session' | 'ending' | 'visitor';

interface Entity {
  kind: EntityKind;
  id: string;
  names: readonly string[];
  model: Map<string, NameModel>;
  /** Set when the entity takes no more writes (a session about to end). */
  closed: boolean;
  busy: boolean;
  ended: boolean;
}

/** Rebuilds every projection of the variables service (all at once) and waits until each switched in; answers the seconds each took. */
async function rebuildAll(platform: DrillPlatform, checks: Checks, when: string, timeoutMs: number): Promise<Record<string, number>> {
  const before = await projections(platform, 'variables');
  const started = Date.now();
  const took: Record<string, number> = {};
  await Promise.all(
    before.map(async (p) => {
      const asked = await call(`${platform.urls.variables}/admin/v1/projections/${p.name}/rebuild`, { method: 'POST', key: platform.rootToken });
      if (!checks.check(asked.status === 202, `${when}: rebuild of ${p.name} accepted (202)`, asked)) return;
      const switched = await until(async () => {
        const now = (await projections(platform, 'variables')).find((q) => q.name === p.name);
        return now !== undefined && now.table !== p.table && !now.rebuild && now.state === 'live' && now.lastRebuild?.state === 'switched';
      }, timeoutMs, 250);
      took[p.name] = Math.round((Date.now() - started) / 100) / 10;
      const after = (await projections(platform, 'variables')).find((q) => q.name === p.name);
      checks.check(switched, `${when}: ${p.name} rebuilt from position 0 and switched in (${took[p.name]} s, ${after?.lastRebuild?.eventsApplied ?? '?'} events applied)`, after);
    }),
  );
  return took;
}

/**
 * Drill 10. Every projection of the variables service rebuilt from position 0 while session
 * variables, visitor variables and session ends keep coming; after the load stops and the service
 * has caught up, each read equals what the acknowledged writes imply (the last value of each name;
 * its version = the number of acknowledged writes of it), its history holds each acknowledged value
 * once in order, and a second rebuild at rest reads exactly the same.
 */
export const rebuildLiveDrill: Drill = {
  id: 10,
  name: 'rebuild-live',
  title: 'Projection rebuild during live writes converges to the live state with no gap and no duplicate',
  async run({ platform, pick, log }): Promise<DrillOutcome> {
    const checks = new Checks();
    let lost = 0;
    let doubleEffects = 0;
    const figures: Record<string, number | string> = {};
    const durationMs = pick({ ci: 20_000, full: 45_000 });
    const rebuildAtMs = pick({ ci: 6_000, full: 15_000 });
    const writers = pick({ ci: 6, full: 10 });
    const counts = { session: pick({ ci: 12, full: 40 }), ending: pick({ ci: 4, full: 10 }), visitor: pick({ ci: 6, full: 20 }) };
    const org = await platform.newOrg('Drill 10 rebuild during live writes');
    const key = org.apiKey;
    const v = (path: string) => `${platform.urls.variables}${path}`;

    // The entities: sessions known only to the variables service, sessions started in the sessions service (ended during the load), visitors.
    const entities: Entity[] = [];
    const entity = (kind: EntityKind, id: string, names: readonly string[]): Entity => ({ kind, id, names, model: new Map(names.map((n) => [n, { acked: [], unsure: [] }])), closed: false, busy: false, ended: false });
    for (let i = 0; i < counts.session; i++) entities.push(entity('session', `drill10-${randomUUID()}`, ['k0', 'k1', 'k2', 'k3']));
    for (let i = 0; i < counts.visitor; i++) entities.push(entity('visitor', `v-${randomUUID()}`, ['a0', 'a1', 'a2']));
    for (let i = 0; i < counts.ending; i++) {
      const started = await call<{ sessionId: string }>(`${platform.urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', visitorId: `v-${randomUUID()}`, sessionVariableValues: [{ name: 'seed', value: 0 }] } });
      if (!checks.check(started.status === 201, 'a session started in the sessions service', started)) continue;
      const e = entity('ending', started.body.sessionId, ['seed', 'k0', 'k1']);
      e.model.get('seed')!.acked.push(0);
      entities.push(e);
    }
    // The variables service has the started sessions (SessionStarted, through Kafka) before they are written to.
    const known = await until(async () => {
      for (const e of entities.filter((x) => x.kind === 'ending')) {
        const read = await call<{ variables: View[] }>(v(`/v1/sessions/${e.id}/variables`), { key });
        if (!read.body.variables?.some((x) => x.scope === 'session' && x.name === 'seed')) return false;
      }
      return true;
    }, 30_000, 250);
    checks.check(known, 'the variables service knows the started sessions (their seed variable)');

    // The load: each writer owns some entities and writes them one at a time (so a name's last acknowledged write is its last value).
    let stop = false;
    let counter = 0;
    const tally = { acknowledged: 0, refused: 0, unanswered: 0, duringRebuild: 0 };
    const refusals: unknown[] = [];
    let rebuilding = false;
    const write = async (e: Entity) => {
      const name = e.names[Math.floor(Math.random() * e.names.length)]!;
      const value = ++counter;
      const model = e.model.get(name)!;
      let status = 0;
      let body: unknown;
      try {
        const answer =
          e.kind === 'visitor'
            ? await call(v(`/v1/visitors/${e.id}/variables`), { method: 'POST', key, body: { data: { [name]: value }, signing: 'plain', replaceExisting: false } })
            : await call(v(`/v1/sessions/${e.id}/variables`), { method: 'PUT', key, body: { sessionVariableValues: [{ name, value }] } });
        status = answer.status;
        body = answer.body;
      } catch (error) {
        body = String(error);
      }
      if (status === 200) {
        model.acked.push(value);
        tally.acknowledged++;
        if (rebuilding) tally.duringRebuild++;
      } else if (status >= 400 && status < 500) {
        tally.refused++;
        refusals.push({ kind: e.kind, status, body });
      } else {
        model.unsure.push(value);
        tally.unanswered++;
        refusals.push({ kind: e.kind, status, body });
      }
    };
    const loadStarted = Date.now();
    const load = Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const mine = entities.filter((_e, i) => i % writers === w);
        while (!stop) {
          const open = mine.filter((e) => !e.closed);
          if (open.length === 0) {
            await sleep(50);
            continue;
          }
          const e = open[Math.floor(Math.random() * open.length)]!;
          e.busy = true;
          await write(e);
          e.busy = false;
        }
      }),
    );

    // Sessions end during the load, spread over it (writes to a session stop before its END).
    const ending = entities.filter((e) => e.kind === 'ending');
    const ends = (async () => {
      for (const [i, e] of ending.entries()) {
        await sleep(Math.max(0, loadStarted + ((i + 1) * durationMs) / (ending.length + 1) - Date.now()));
        e.closed = true;
        await until(() => !e.busy, 10_000, 10);
        const answer = await call(`${platform.urls.sessions}/v1/sessions/${e.id}/events`, { method: 'POST', key, body: { type: 'END', reason: 'closed' } });
        e.ended = checks.check(answer.status === 200, `session ${i + 1} of ${ending.length} ended during the load`, answer);
      }
    })();

    // The rebuilds, in the middle third of the load, one round after the other (a rebuild of a small
    // store is over in a second or two); the load goes on at least a few seconds after the last switched in.
    await sleep(rebuildAtMs);
    const writesBeforeRebuild = tally.acknowledged;
    log(`  ${formatCount(writesBeforeRebuild)} writes acknowledged; rebuilding every variables projection under the load`);
    const rebuildStarted = Date.now();
    const rebuildUntil = loadStarted + durationMs - rebuildAtMs;
    let rounds = 0;
    let rebuilt: Record<string, number> = {};
    do {
      rebuilding = true;
      rebuilt = await rebuildAll(platform, checks, `under load, round ${++rounds}`, pick({ ci: 120_000, full: 300_000 }));
      rebuilding = false;
    } while (Date.now() < rebuildUntil && checks.failed.length === 0);
    figures['rebuild rounds under load'] = rounds;
    figures['rebuilding under load (s)'] = Math.round((Date.now() - rebuildStarted) / 100) / 10;
    figures['writes acknowledged during the rebuilds'] = tally.duringRebuild;
    await sleep(Math.max(3_000, loadStarted + durationMs - Date.now()));
    await ends;
    stop = true;
    await load;
    const loadSeconds = Math.round((Date.now() - loadStarted) / 100) / 10;
    figures['writes per second'] = Math.round(tally.acknowledged / loadSeconds);
    log(`  load stopped after ${loadSeconds} s: ${formatCount(tally.acknowledged)} writes acknowledged (${tally.duringRebuild} during the rebuilds), ${tally.refused} refused, ${tally.unanswered} unanswered`);
    checks.check(tally.duringRebuild > 0, `writes acknowledged while the rebuilds ran (${tally.duringRebuild})`, tally);
    checks.check(tally.refused === 0 && tally.unanswered === 0, `every write acknowledged (${formatCount(tally.acknowledged)})`, { ...tally, first: refusals.slice(0, 3) });
    checks.check(Object.keys(rebuilt).length > 0, `projections rebuilt ${rounds} times under load: ${Object.keys(rebuilt).join(', ')}`);

    // Caught up: every projection at the head, the ended sessions' variables discarded.
    const caughtUp = await until(async () => (await projections(platform, 'variables')).every((p) => p.state === 'live' && p.lag === '0'), 60_000, 250);
    checks.check(caughtUp, 'every variables projection caught up (lag 0) after the load', await projections(platform, 'variables'));
    const readOf = (e: Entity) => call<{ variables: View[] }>(v(e.kind === 'visitor' ? `/v1/visitors/${e.id}` : `/v1/sessions/${e.id}/variables`), { key });
    const discarded = await until(async () => {
      for (const e of ending.filter((x) => x.ended)) {
        const read = await readOf(e);
        if (read.status === 200 && read.body.variables.some((x) => x.scope === 'session')) return false;
      }
      return true;
    }, 30_000, 250);
    checks.check(discarded, `the ${ending.filter((x) => x.ended).length} ended sessions read no session variable`);

    // Each read against the acknowledged writes.
    const gaps: unknown[] = [];
    const duplicates: unknown[] = [];
    const historyProblems: unknown[] = [];
    let names = 0;
    let unsureNames = 0;
    for (const e of entities) {
      if (e.ended) continue;
      const read = await readOf(e);
      if (!checks.check(read.status === 200, `read of ${e.kind} ${e.id}`, read)) continue;
      const scope = e.kind === 'visitor' ? 'visitor' : 'session';
      const present = new Map(read.body.variables.filter((x) => x.scope === scope).map((x) => [x.name, x]));
      for (const [name, model] of e.model) {
        if (model.acked.length === 0 && model.unsure.length === 0) continue;
        names++;
        const got = present.get(name);
        const version = got?.version ?? 0;
        const low = model.acked.length;
        const high = model.acked.length + model.unsure.length;
        if (model.unsure.length > 0) unsureNames++;
        if (version < low) {
          lost += low - version;
          gaps.push({ kind: e.kind, id: e.id, name, acknowledged: low, version, value: got?.value });
        } else if (version > high) {
          doubleEffects += version - high;
          duplicates.push({ kind: e.kind, id: e.id, name, acknowledged: low, version, value: got?.value });
        } else if (model.unsure.length === 0 && !Object.is(got?.value, model.acked.at(-1))) {
          lost += 1;
          gaps.push({ kind: e.kind, id: e.id, name, expectedValue: model.acked.at(-1), value: got?.value });
        }
        // The history: each acknowledged value once, in order.
        if (model.unsure.length === 0) {
          const path = e.kind === 'visitor' ? `/v1/visitors/${e.id}/variables/${name}/history` : `/v1/sessions/${e.id}/variables/${name}/history`;
          const history = await call<{ history: { value: unknown; version: number }[] }>(v(path), { key });
          const values = (history.body.history ?? []).map((h) => h.value);
          if (history.status !== 200 || JSON.stringify(values) !== JSON.stringify(model.acked)) historyProblems.push({ kind: e.kind, id: e.id, name, status: history.status, expected: model.acked.length, got: values.length });
        }
      }
      const extra = [...present.keys()].filter((n) => !e.model.has(n) || (e.model.get(n)!.acked.length === 0 && e.model.get(n)!.unsure.length === 0));
      if (extra.length) duplicates.push({ kind: e.kind, id: e.id, unexpected: extra });
    }
    checks.check(gaps.length === 0, `no gap: each of ${formatCount(names)} names present at the version its acknowledged writes imply, with the last value`, gaps.slice(0, 3));
    checks.check(duplicates.length === 0, 'no duplicate: no version above the acknowledged writes, no name never written', duplicates.slice(0, 3));
    checks.check(historyProblems.length === 0, 'each name\'s history holds its acknowledged values once each, in order', historyProblems.slice(0, 3));
    if (unsureNames) figures['names with an unanswered write (checked as a range)'] = unsureNames;

    // A second rebuild at rest reads the same.
    const snapshot = async () =>
      Promise.all(
        entities.map(async (e) => {
          const read = await readOf(e);
          return { id: e.id, status: read.status, body: read.body };
        }),
      );
    const atRest = await snapshot();
    const restStarted = Date.now();
    await rebuildAll(platform, checks, 'at rest', pick({ ci: 120_000, full: 300_000 }));
    figures['rebuild at rest (s)'] = Math.round((Date.now() - restStarted) / 100) / 10;
    await until(async () => (await projections(platform, 'variables')).every((p) => p.state === 'live' && p.lag === '0'), 30_000, 250);
    const afterRest = await snapshot();
    const differing = atRest.filter((r, i) => JSON.stringify(r) !== JSON.stringify(afterRest[i])).map((r) => r.id);
    checks.check(differing.length === 0, `a second rebuild at rest reads exactly the same (${entities.length} sessions and visitors)`, differing.slice(0, 3));

    return {
      load: `${formatCount(tally.acknowledged)} variable writes over ${loadSeconds} s by ${writers} writers (${counts.session + counts.ending} sessions, ${counts.visitor} visitors), ${ending.length} session ends`,
      faults: `every variables projection rebuilt from position 0, ${rounds} rounds from ${rebuildAtMs / 1000} s of the load, then again at rest`,
      badInputs: 0,
      lost,
      doubleEffects,
      checks: checks.held,
      failures: checks.failed,
      figures,
    };
  },
};
