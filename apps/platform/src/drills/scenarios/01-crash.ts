import { randomUUID } from 'node:crypto';
import { Checks, type Drill, formatCount, sleep, until } from '../drill.js';
import { call } from '../http.js';
import { sessionEvents } from '../probes.js';
import { type Attempt, attempt, projectionsCaughtUp, rebuildProjection, sum } from './crash-support.js';
import { settle } from './kafka-support.js';

interface Variable {
  name: string;
  value: unknown;
  scope: string;
  source: string;
  verified: boolean;
  updatedAt: string;
  version: number;
}

/**
 * Drill 1. kill -9 the variables service in the middle of concurrent writes (PUT
 * /v1/sessions/{id}/variables, each write a name of its own on one of many sessions), keep the load
 * going while it is down (a refused connection reached nothing and is sent again once it is back; a
 * request cut off in flight by the kill is not acknowledged and not sent again), restart it and
 * finish. Then, counted from what is read back:
 * - every write answered 2xx is in the read model with its value, at version 1 (written once), and
 *   in the event store (one SessionVariablesSet holding it);
 * - the sessions service heard of each stored change once over Kafka (its variable activity counts
 *   exactly the stored SessionVariablesSet events: fewer is a lost publication, more a double effect);
 * - the projection equals a fresh rebuild: every session's read, then session_variables rebuilt from
 *   position 0 through the admin endpoint, then every session's read again, compared exactly.
 */
export const crashDrill: Drill = {
  id: 1,
  name: 'crash',
  title: 'kill -9 the variables service during 5,000 concurrent writes; after restart every write that got a 2xx is readable, and the projection equals a fresh rebuild from the store',
  async run(ctx) {
    const { platform, log } = ctx;
    const checks = new Checks();
    let lost = 0;
    let doubleEffects = 0;
    const total = ctx.pick({ ci: 2_000, full: 5_000 });
    const sessionCount = ctx.pick({ ci: 40, full: 100 });
    const concurrency = ctx.pick({ ci: 50, full: 100 });
    const killAt = Math.round(total * 0.4);

    const org = await platform.newOrg('Drill 1 crash');
    const key = org.apiKey;
    const run = randomUUID().slice(0, 8);
    const sessions = Array.from({ length: sessionCount }, (_, i) => `drill1-${run}-${i}`);
    const writeOf = (i: number) => ({ sessionId: sessions[i % sessionCount]!, name: `w${i}`, value: `${run}:${i}` });

    // The load: `concurrency` workers through writes 0..total-1; a refused write goes back in the queue.
    const outcome: (Attempt | undefined)[] = new Array(total);
    const queue = Array.from({ length: total }, (_, i) => i);
    let inFlight = 0;
    let acknowledged = 0;
    let refusals = 0;
    let killed = false;
    let killedAtAck = 0;
    let inFlightAtKill = 0;
    let downMs = 0;
    const killer = (async () => {
      await until(() => acknowledged >= killAt, 120_000, 5);
      killedAtAck = acknowledged;
      inFlightAtKill = inFlight;
      const down = Date.now();
      await platform.kill('variables');
      killed = true;
      log(`  kill -9 variables after ${formatCount(killedAtAck)} acknowledged writes (${inFlightAtKill} in flight)`);
      await platform.restart('variables');
      downMs = Date.now() - down;
      log(`  variables back after ${(downMs / 1000).toFixed(1)} s`);
    })();
    const started = Date.now();
    const giveUpAt = started + 300_000;
    const worker = async () => {
      while (Date.now() < giveUpAt) {
        const i = queue.shift();
        if (i === undefined) {
          // Refused writes come back to the queue while the service is down: wait for them.
          if (inFlight === 0) return;
          await sleep(20);
          continue;
        }
        const w = writeOf(i);
        inFlight++;
        const result = await attempt(`${platform.urls.variables}/v1/sessions/${w.sessionId}/variables`, { method: 'PUT', key, body: { sessionVariableValues: [{ name: w.name, value: w.value }] } });
        inFlight--;
        if (result.kind === 'refused') {
          refusals++;
          queue.push(i);
          await sleep(100);
          continue;
        }
        outcome[i] = result;
        if (result.kind === 'answer' && result.answer.status === 200) acknowledged++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const loadSeconds = (Date.now() - started) / 1000;
    await killer;
    checks.check(killed && inFlightAtKill > 0, `variables was killed (SIGKILL) while writes were in flight (${inFlightAtKill})`, { killed, inFlightAtKill });
    checks.check(queue.length === 0, 'every write was sent to a running service (none left refused)', queue.length);
    checks.check(platform.processes.variables.exitCode === null && platform.processes.variables.signalCode === null, 'variables runs again after the restart');

    const acked = outcome.map((o, i) => (o?.kind === 'answer' && o.answer.status === 200 ? i : -1)).filter((i) => i >= 0);
    // Cut off in flight (the kill, or the client's timeout): not acknowledged, may be stored.
    const cut = outcome.filter((o) => o?.kind === 'cut').length;
    // 503 SERVICE_UNAVAILABLE with the error body: the PUT's read-your-writes wait (5 s) ran out, likely
    // right after the restart. A documented answer: not acknowledged, the write may be stored (the
    // append happened before the wait), so neither counted lost nor required; if stored, stored once.
    const unavailable = outcome.filter((o) => o?.kind === 'answer' && o.answer.status === 503 && Checks.hasErrorBody(o.answer) && (o.answer.body as { error: { code: string } }).error.code === 'SERVICE_UNAVAILABLE').length;
    const otherStatuses = new Map<number, number>();
    for (const o of outcome) if (o?.kind === 'answer' && o.answer.status !== 200) otherStatuses.set(o.answer.status, (otherStatuses.get(o.answer.status) ?? 0) + 1);
    log(`  ${formatCount(acked.length)} acknowledged, ${cut} cut off in flight, ${unavailable} answered 503 SERVICE_UNAVAILABLE, ${refusals} refused while down (sent again), other answers ${JSON.stringify(Object.fromEntries(otherStatuses))}, in ${loadSeconds.toFixed(1)} s`);
    checks.check(acked.length > killedAtAck, 'writes were acknowledged after the restart too', { acked: acked.length, killedAtAck });
    // A write answered with an error was refused by the service, not lost; but a 5xx is no answer to
    // give, except the documented 503 SERVICE_UNAVAILABLE with its error body (counted above).
    const fiveHundreds = [...otherStatuses].filter(([status]) => status >= 500).reduce((n, [, c]) => n + c, 0) - unavailable;
    checks.check(fiveHundreds === 0, 'no write answered 5xx other than 503 SERVICE_UNAVAILABLE with the error body', Object.fromEntries(otherStatuses));

    // Every projection caught up with the store after the restart.
    checks.check(await projectionsCaughtUp(platform, 'variables', 60_000), 'every variables projection live with lag 0 after the restart');

    // 1. Every acknowledged write is in the read model, with its value, written once.
    const read = async (sessionId: string) => {
      const answer = await call<{ variables: Variable[] }>(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { key });
      if (answer.status !== 200) throw new Error(`GET variables of ${sessionId} answered ${answer.status}`);
      return answer.body.variables.filter((v) => v.scope === 'session').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    };
    const live = new Map<string, Variable[]>();
    for (const sessionId of sessions) live.set(sessionId, await read(sessionId));
    const missing: number[] = [];
    let twice = 0;
    for (const i of acked) {
      const w = writeOf(i);
      const v = live.get(w.sessionId)!.find((x) => x.name === w.name);
      if (!v || v.value !== w.value) missing.push(i);
    }
    // Each name is written once: any write in the read model (acknowledged, cut off, or 503) is at version 1.
    for (const vs of live.values()) for (const v of vs) if (v.version !== 1) twice++;
    lost += missing.length;
    doubleEffects += twice;
    checks.check(missing.length === 0, `every acknowledged write (${formatCount(acked.length)}) readable with its value after the restart`, { missing: missing.length, first: missing.slice(0, 5).map(writeOf) });
    checks.check(twice === 0, 'every write in the read model at version 1 (applied once), the unacknowledged ones stored included', twice);
    const readable = sum([...live.values()].map((vs) => vs.length));
    // Unacknowledged writes may be there too (stored before the kill, answer cut off); nothing else may.
    const strangers = [...live.entries()].flatMap(([sessionId, vs]) => vs.filter((v) => {
      const i = Number(v.name.slice(1));
      return !(v.name.startsWith('w') && Number.isInteger(i) && i < total && writeOf(i).sessionId === sessionId && writeOf(i).value === v.value && outcome[i] !== undefined);
    }));
    checks.check(strangers.length === 0, 'nothing in the read model that was not written', strangers.slice(0, 3));

    // 2. The store holds each acknowledged write once; the sessions service heard of each stored change once.
    let storedSets = 0;
    let storeMissing = 0;
    let storeTwice = 0;
    const storedPerSession = new Map<string, number>();
    for (const sessionId of sessions) {
      const events = (await sessionEvents(platform, 'variables', org.orgId, sessionId)).filter((e) => e.type === 'SessionVariablesSet');
      storedPerSession.set(sessionId, events.length);
      storedSets += events.length;
      const names = new Map<string, number>();
      for (const e of events) for (const c of (e.data as { changes: { name: string }[] }).changes) names.set(c.name, (names.get(c.name) ?? 0) + 1);
      for (const i of acked) {
        const w = writeOf(i);
        if (w.sessionId !== sessionId) continue;
        if ((names.get(w.name) ?? 0) === 0) storeMissing++;
      }
      // Any write stored (acknowledged or not: cut off in flight, 503) is stored once.
      for (const n of names.values()) if (n > 1) storeTwice += n - 1;
    }
    lost += storeMissing;
    doubleEffects += storeTwice;
    checks.check(storeMissing === 0 && storeTwice === 0, 'every acknowledged write stored in the event store, every stored write once (one SessionVariablesSet)', { storeMissing, storeTwice });
    const activityOf = async (sessionId: string) => {
      const answer = await call<{ changesTotal: number }>(`${platform.urls.sessions}/internal/v1/sessions/${sessionId}/variable-activity`, { key });
      return answer.status === 200 ? answer.body.changesTotal : 0;
    };
    const activity = new Map<string, number>();
    const heard = await until(async () => {
      for (const sessionId of sessions) {
        if (activity.get(sessionId) === storedPerSession.get(sessionId)) continue;
        activity.set(sessionId, await activityOf(sessionId));
        if (activity.get(sessionId) !== storedPerSession.get(sessionId)) return false;
      }
      return true;
    }, 60_000, 500);
    // Then settled (outboxes drained, no consumer lag) and every session read once more: a late
    // redelivery applied twice shows now, compared per session exactly (fewer: lost, more: doubled).
    const settledMs = await settle(platform, 60_000);
    checks.check(settledMs >= 0, 'the platform settled after the load: every outbox drained, total consumer lag 0');
    for (const sessionId of sessions) activity.set(sessionId, await activityOf(sessionId));
    const activityShort = sum(sessions.map((s) => Math.max(0, storedPerSession.get(s)! - activity.get(s)!)));
    const activityOver = sum(sessions.map((s) => Math.max(0, activity.get(s)! - storedPerSession.get(s)!)));
    lost += activityShort;
    doubleEffects += activityOver;
    checks.check(heard && activityShort === 0 && activityOver === 0, `the sessions service counted each stored change once over Kafka, per session, read again once settled (${formatCount(storedSets)} SessionVariablesChanged)`, { heard, activityShort, activityOver });

    // 3. The projection equals a fresh rebuild from the store.
    const rebuildStarted = Date.now();
    const rebuilt = await rebuildProjection(platform, 'variables', 'session_variables', 120_000);
    const rebuildSeconds = (Date.now() - rebuildStarted) / 1000;
    let differences = 0;
    if (checks.check(rebuilt.ok, 'session_variables rebuilt from position 0 through POST /admin/v1/projections/session_variables/rebuild and switched in', rebuilt.ok ? undefined : rebuilt.reason)) {
      const diffs: unknown[] = [];
      for (const sessionId of sessions) {
        const after = await read(sessionId);
        const before = live.get(sessionId)!;
        if (JSON.stringify(after) !== JSON.stringify(before)) {
          const names = new Set([...before, ...after].map((v) => v.name));
          for (const name of names) {
            const a = before.find((v) => v.name === name);
            const b = after.find((v) => v.name === name);
            if (JSON.stringify(a) !== JSON.stringify(b)) {
              differences++;
              if (diffs.length < 5) diffs.push({ sessionId, name, live: a, rebuilt: b });
              // A version above what the store holds (each name is written once) is an event applied twice.
              if (a && b && a.version !== b.version) doubleEffects++;
            }
          }
        }
      }
      checks.check(differences === 0, `the live projection equals the rebuild for all ${sessionCount} sessions (${formatCount(readable)} variables)`, { differences, first: diffs });
    }
    checks.check(await projectionsCaughtUp(platform, 'variables', 60_000), 'every variables projection live with lag 0 after the rebuild');

    return {
      load: `${formatCount(total)} writes on ${sessionCount} sessions, ${concurrency} at a time`,
      faults: `kill -9 variables after ${formatCount(killedAtAck)} acknowledged writes, down ${(downMs / 1000).toFixed(1)} s`,
      badInputs: 0,
      lost,
      doubleEffects,
      checks: checks.held,
      failures: checks.failed,
      figures: {
        acknowledged: acked.length,
        inFlightAtKill,
        cutOffInFlight: cut,
        unavailable503: unavailable,
        refusedWhileDown: refusals,
        storedWrites: storedSets,
        writesPerSecond: Math.round(total / loadSeconds),
        downSeconds: Math.round(downMs / 100) / 10,
        rebuildSeconds: Math.round(rebuildSeconds * 10) / 10,
        rebuildEvents: rebuilt.ok ? rebuilt.eventsApplied : 0,
      },
    };
  },
};
