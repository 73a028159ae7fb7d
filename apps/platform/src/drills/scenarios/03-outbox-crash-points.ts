import { randomUUID } from 'node:crypto';
import { TOPICS, type ServiceName } from '@svp/contracts';
import { Checks, type Drill, type DrillContext, formatCount, pool, until } from '../drill.js';
import { call } from '../http.js';
import { outboxDrained, sessionEvents } from '../probes.js';
import { type Attempt, type ExpectedMessage, attempt, crashLines, expectedMessages, is2xx, readTopic, sum, waitForExit } from './crash-support.js';
import { settle } from './kafka-support.js';

type Point = 'outbox:before-publish' | 'outbox:after-publish';
const POINTS: readonly Point[] = ['outbox:before-publish', 'outbox:after-publish'];

interface PointFigures {
  service: 'sessions' | 'variables';
  point: Point;
  /** Commands sent while the crash point was armed, and how many were answered 2xx. */
  sent: number;
  acknowledged: number;
  /** Messages of the drill's org the service's store says must be on its topic. */
  expected: number;
  /** Of those, missing on the topic. */
  missing: number;
  /** Extra copies of those on the topic (the after-publish batch, published again after the restart). */
  duplicates: number;
  /** Effects seen on the consumer side more than once / not at all. */
  doubleEffects: number;
  lostEffects: number;
  /** Acknowledged writes not readable afterwards (variables only). */
  lostWrites: number;
}

/**
 * Arms a crash point in a service (stopped gracefully, started again with SVP_FAULT_CRASH_AT), drives
 * commands while its relay publishes them, waits for the process to kill itself, then starts it
 * normally. Answers the outcome of each command and whether the crash happened as planned.
 */
async function underCrashPoint(ctx: DrillContext, service: ServiceName, point: Point, drive: () => Promise<Attempt[]>, checks: Checks): Promise<Attempt[]> {
  const { platform } = ctx;
  const linesBefore = crashLines(ctx, service, point);
  await platform.stopService(service);
  await platform.restart(service, { SVP_FAULT_CRASH_AT: point });
  const driving = drive();
  const signal = await waitForExit(ctx, service, 30_000);
  const outcomes = await driving;
  if (signal === undefined) await platform.stopService(service); // never crashed: the check below fails
  const line = await until(() => crashLines(ctx, service, point) > linesBefore, 5_000, 100);
  checks.check(signal === 'SIGKILL', `${service} with ${point} armed died of SIGKILL once its relay reached the point`, signal ?? 'still running after 30 s');
  checks.check(line, `${service} logged 'SVP_FAULT_CRASH_AT: killing this process (SIGKILL) at ${point}'`);
  await platform.restart(service);
  return outcomes;
}

/** Missing and duplicated messages of the drill's org on a topic, against what the store says was published. */
async function onTopic(ctx: DrillContext, topic: string, orgId: string, expected: readonly ExpectedMessage[], checks: Checks, what: string): Promise<{ missing: number; duplicates: number }> {
  const read = await readTopic(ctx.broker.brokers, topic, orgId, 180_000);
  checks.check(read.complete, `${topic} read to its end from the beginning (fresh consumer group, ${formatCount(read.messages)} messages)`);
  const missing = expected.filter((m) => !read.counts.has(m.eventId));
  const duplicates = sum(expected.map((m) => Math.max(0, (read.counts.get(m.eventId) ?? 0) - 1)));
  checks.check(missing.length === 0, `${what}: every one of the ${expected.length} messages its stored events give is on ${topic}`, { missing: missing.length, first: missing.slice(0, 3) });
  return { missing: missing.length, duplicates };
}

/**
 * The sessions service's relay dies at the point while K sessions end: every SessionEnded (and the
 * rest of the sessions' stored events) reaches sessions.events.v1, and the variables service
 * discards each session's variables exactly once (SessionVariablesDiscarded in its store: the org
 * keeps discarded variables 30 days, so the discard stays readable).
 */
async function sessionsPoint(ctx: DrillContext, org: { orgId: string; apiKey: string }, point: Point, count: number, checks: Checks): Promise<PointFigures> {
  const { platform, log } = ctx;
  const key = org.apiKey;
  const tag = point.replace('outbox:', '');
  const started = await pool(Array.from({ length: count }, (_, i) => i), 10, (i) =>
    call<{ sessionId: string }>(`${platform.urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web', sessionVariableValues: [{ name: 'n', value: i }] } }),
  );
  checks.check(started.every((a) => a.status === 201), `[sessions ${tag}] ${count} sessions started`, started.map((a) => a.status).filter((s) => s !== 201));
  const sessions = started.filter((a) => a.status === 201).map((a) => a.body.sessionId);
  const sessionVariables = async (sessionId: string) =>
    (await call<{ variables: { scope: string }[] }>(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { key })).body.variables.filter((v) => v.scope === 'session').length;
  checks.check(await until(async () => (await Promise.all(sessions.map(sessionVariables))).every((n) => n === 1), 60_000, 300), `[sessions ${tag}] variables holds each session's initial variable (SessionStarted consumed)`);

  const end = (sessionId: string) => attempt(`${platform.urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key, body: { type: 'END', reason: 'logout' } });
  const outcomes = await underCrashPoint(ctx, 'sessions', point, () => Promise.all(sessions.map(end)), checks);
  const acknowledged = outcomes.filter(is2xx).length;
  log(`  sessions ${tag}: ${acknowledged} of ${sessions.length} END acknowledged before the crash`);
  // The ENDs not acknowledged are sent again: a stored one answers 409 naming ENDED.
  const again = await Promise.all(sessions.map((s, i) => (is2xx(outcomes[i]!) ? undefined : end(s))));
  const settled = again.every((a) => a === undefined || is2xx(a) || (a.kind === 'answer' && a.answer.status === 409 && /ENDED/.test(JSON.stringify(a.answer.body))));
  checks.check(settled, `[sessions ${tag}] every END not acknowledged before the crash is accepted, or answered 409 ENDED, after the restart`, again.filter((a) => a && !is2xx(a)).slice(0, 3));
  checks.check(await outboxDrained(platform, 30_000), `[sessions ${tag}] every outbox drained after the restart`);

  // The consumer side: one discard per session (and one start of its variables).
  let doubleEffects = 0;
  let lostEffects = 0;
  const discards = new Map<string, number>();
  const starts = new Map<string, number>();
  await until(async () => {
    for (const sessionId of sessions) {
      if ((discards.get(sessionId) ?? 0) > 0) continue;
      const events = await sessionEvents(platform, 'variables', org.orgId, sessionId);
      discards.set(sessionId, events.filter((e) => e.type === 'SessionVariablesDiscarded').length);
      starts.set(sessionId, events.filter((e) => e.type === 'SessionVariablesSet').length);
      if (discards.get(sessionId) === 0) return false;
    }
    return true;
  }, 60_000, 500);
  // Counted again once all are there and the platform settled (outboxes drained, no consumer lag): a
  // redelivery may have added a second after the first was seen.
  checks.check((await settle(platform, 60_000)) >= 0, `[sessions ${tag}] the platform settled: every outbox drained, total consumer lag 0`);
  for (const sessionId of sessions) {
    const events = await sessionEvents(platform, 'variables', org.orgId, sessionId);
    discards.set(sessionId, events.filter((e) => e.type === 'SessionVariablesDiscarded').length);
    starts.set(sessionId, events.filter((e) => e.type === 'SessionVariablesSet').length);
  }
  const noDiscard = sessions.filter((s) => discards.get(s) === 0).length;
  const extraDiscards = sum(sessions.map((s) => Math.max(0, discards.get(s)! - 1)));
  const extraStarts = sum(sessions.map((s) => Math.max(0, starts.get(s)! - 1)));
  lostEffects += noDiscard;
  doubleEffects += extraDiscards + extraStarts;
  checks.check(noDiscard === 0 && extraDiscards === 0, `[sessions ${tag}] variables discarded each ended session's variables exactly once (${sessions.length} SessionVariablesDiscarded)`, { noDiscard, extraDiscards });
  checks.check(extraStarts === 0, `[sessions ${tag}] each session's initial variables set once`, extraStarts);

  // The producer side: every stored event's messages on the topic; one SessionEnded stored per session.
  const stored = (await Promise.all(sessions.map((s) => sessionEvents(platform, 'sessions', org.orgId, s)))).flat();
  const ended = stored.filter((e) => e.type === 'SessionEnded').length;
  checks.check(ended === sessions.length, `[sessions ${tag}] one SessionEnded stored per session`, { ended, sessions: sessions.length });
  doubleEffects += Math.max(0, ended - sessions.length);
  const expected = expectedMessages('sessions', stored);
  const topic = await onTopic(ctx, TOPICS.sessions, org.orgId, expected, checks, `[sessions ${tag}]`);
  if (point === 'outbox:after-publish')
    checks.check(topic.duplicates > 0, `[sessions ${tag}] the batch published before the crash is on ${TOPICS.sessions} twice (published again after the restart)`, topic.duplicates);
  log(`  sessions ${tag}: ${expected.length} messages expected, ${topic.missing} missing, ${topic.duplicates} duplicates on the topic, discards ${sum(discards.values())} for ${sessions.length} sessions`);
  return { service: 'sessions', point, sent: sessions.length, acknowledged, expected: expected.length, missing: topic.missing, duplicates: topic.duplicates, doubleEffects, lostEffects, lostWrites: 0 };
}

/**
 * The variables service's relay dies at the point while K sessions' variables are written: every
 * stored change reaches variables.events.v1, and the sessions service counts each exactly once
 * (GET /internal/v1/sessions/{id}/variable-activity: changesTotal, recorded once per event id).
 */
async function variablesPoint(ctx: DrillContext, org: { orgId: string; apiKey: string }, point: Point, count: number, checks: Checks): Promise<PointFigures> {
  const { platform, log } = ctx;
  const key = org.apiKey;
  const tag = point.replace('outbox:', '');
  const run = randomUUID().slice(0, 8);
  const sessions = Array.from({ length: count }, (_, i) => `drill3-${run}-${i}`);
  const put = (sessionId: string, name: string, value: string) =>
    attempt(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { method: 'PUT', key, body: { sessionVariableValues: [{ name, value }] } });
  const outcomes = await underCrashPoint(ctx, 'variables', point, () => Promise.all(sessions.map((s) => put(s, 'a', `${run}:a`))), checks);
  const acknowledged = outcomes.filter(is2xx).length;
  log(`  variables ${tag}: ${acknowledged} of ${sessions.length} writes acknowledged before the crash`);
  const after = await Promise.all(sessions.map((s) => put(s, 'b', `${run}:b`)));
  checks.check(after.every(is2xx), `[variables ${tag}] writes acknowledged after the restart`, after.filter((a) => !is2xx(a)).length);
  checks.check(await outboxDrained(platform, 30_000), `[variables ${tag}] every outbox drained after the restart`);

  // Acknowledged writes readable.
  let lostWrites = 0;
  for (const [i, sessionId] of sessions.entries()) {
    const read = await call<{ variables: { name: string; value: unknown; scope: string }[] }>(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { key });
    const has = (name: string) => read.body.variables?.some((v) => v.scope === 'session' && v.name === name && v.value === `${run}:${name}`);
    if (is2xx(outcomes[i]!) && !has('a')) lostWrites++;
    if (is2xx(after[i]!) && !has('b')) lostWrites++;
  }
  checks.check(lostWrites === 0, `[variables ${tag}] every acknowledged write readable`, lostWrites);

  // The producer side.
  const storedBySession = new Map(await Promise.all(sessions.map(async (s) => [s, await sessionEvents(platform, 'variables', org.orgId, s)] as const)));
  const expectedBySession = new Map([...storedBySession].map(([s, events]) => [s, expectedMessages('variables', events)]));
  const expected = [...expectedBySession.values()].flat();
  const topic = await onTopic(ctx, TOPICS.variables, org.orgId, expected, checks, `[variables ${tag}]`);
  if (point === 'outbox:after-publish')
    checks.check(topic.duplicates > 0, `[variables ${tag}] the batch published before the crash is on ${TOPICS.variables} twice (published again after the restart)`, topic.duplicates);

  // The consumer side: the sessions service counted each change once.
  const changesOf = (s: string) => expectedBySession.get(s)!.filter((m) => m.type === 'SessionVariablesChanged').length;
  const activityOf = async (s: string) => {
    const answer = await call<{ changesTotal: number }>(`${platform.urls.sessions}/internal/v1/sessions/${s}/variable-activity`, { key });
    return answer.status === 200 ? answer.body.changesTotal : 0;
  };
  const activity = new Map<string, number>();
  const heard = await until(async () => {
    for (const s of sessions) {
      if (activity.get(s) === changesOf(s)) continue;
      activity.set(s, await activityOf(s));
      if (activity.get(s) !== changesOf(s)) return false;
    }
    return true;
  }, 60_000, 500);
  // Counted again once all are there and the platform settled (outboxes drained, no consumer lag):
  // a late redelivery applied twice shows now, compared per session exactly.
  checks.check((await settle(platform, 60_000)) >= 0, `[variables ${tag}] the platform settled: every outbox drained, total consumer lag 0`);
  for (const s of sessions) activity.set(s, await activityOf(s));
  const short = sum(sessions.map((s) => Math.max(0, changesOf(s) - activity.get(s)!)));
  const over = sum(sessions.map((s) => Math.max(0, activity.get(s)! - changesOf(s))));
  checks.check(heard && short === 0 && over === 0, `[variables ${tag}] the sessions service counted each of the ${sum(sessions.map(changesOf))} SessionVariablesChanged exactly once, per session, read again once settled`, { heard, short, over });
  log(`  variables ${tag}: ${expected.length} messages expected, ${topic.missing} missing, ${topic.duplicates} duplicates on the topic, activity short ${short}, over ${over}`);
  return { service: 'variables', point, sent: sessions.length, acknowledged, expected: expected.length, missing: topic.missing, duplicates: topic.duplicates, doubleEffects: over, lostEffects: short, lostWrites };
}

/**
 * Drill 3. The outbox relay's two crash points (SVP_FAULT_CRASH_AT, libs/service-kit/src/fault-injection.ts),
 * in the sessions service (its SessionEnded drive the variables service's discards) and the
 * variables service (its SessionVariablesChanged drive the sessions service's activity count):
 * - `outbox:before-publish`: the events are stored, none of the batch is on Kafka when the process
 *   dies; after the restart every stored event's messages are on the topic (nothing lost);
 * - `outbox:after-publish`: the batch is on Kafka, its checkpoint is not; after the restart the batch
 *   is published again (counted: the duplicates) and the consumer absorbs it (no effect twice).
 * Lost and double effects are counted from the topic (read from its beginning by a fresh group) and
 * from the consumers' stores. The full scale crashes at both points in both services; the CI scale
 * twice (sessions after-publish, variables before-publish), to stay within its time.
 */
export const outboxCrashPointsDrill: Drill = {
  id: 3,
  name: 'outbox-crash-points',
  title: 'kill a service between append and publish, and between publish and marking sent; nothing lost, duplicates absorbed',
  async run(ctx) {
    const { platform } = ctx;
    const checks = new Checks();
    const count = ctx.pick({ ci: 10, full: 50 });
    const org = await platform.newOrg('Drill 3 outbox crash points');
    // Discarded variables kept 30 days: each discard stays in the variables store, to be counted.
    const settings = await call(`${platform.urls.variables}/v1/variables/settings`, { method: 'PUT', key: org.apiKey, body: { retentionDays: 30 } });
    checks.check(settings.status === 200, 'the org keeps discarded variables 30 days', settings.status);
    checks.check(
      await until(async () => (await call<{ retentionDays: number }>(`${platform.urls.variables}/v1/variables/settings`, { key: org.apiKey })).body.retentionDays === 30, 10_000),
      'the retention setting is read back',
    );

    // Each crash costs a graceful stop and two starts of a service: the CI scale crashes twice (each
    // point once, each service once), the full scale all four.
    const plan = ctx.pick<readonly (readonly ['sessions' | 'variables', Point])[]>({
      ci: [['sessions', 'outbox:after-publish'], ['variables', 'outbox:before-publish']],
      full: [...POINTS.map((p) => ['sessions', p] as const), ...POINTS.map((p) => ['variables', p] as const)],
    });
    const results: PointFigures[] = [];
    for (const [service, point] of plan) results.push(await (service === 'sessions' ? sessionsPoint : variablesPoint)(ctx, org, point, count, checks));

    const lost = sum(results.map((r) => r.missing + r.lostEffects + r.lostWrites));
    const doubleEffects = sum(results.map((r) => r.doubleEffects));
    const figures: Record<string, number> = {};
    for (const r of results) {
      const name = `${r.service}.${r.point.replace('outbox:', '')}`;
      figures[`${name}.acknowledged`] = r.acknowledged;
      figures[`${name}.messages`] = r.expected;
      figures[`${name}.duplicatesOnKafka`] = r.duplicates;
    }
    return {
      load: `per crash point, all at once: ${count} sessions ended (sessions) or ${count} variable writes, then ${count} more (variables)`,
      faults: `SIGKILL of ${plan.map(([service, point]) => `${service} at ${point}`).join(', ')}`,
      badInputs: 0,
      lost,
      doubleEffects,
      checks: checks.held,
      failures: checks.failed,
      figures,
    };
  },
};
