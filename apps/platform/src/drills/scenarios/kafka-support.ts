import { randomUUID } from 'node:crypto';
import { TOPICS } from '@svp/contracts';
import type { ExportedEvent } from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import { type IncomingMessage, KafkaMessageBus, type OutgoingMessage, silentLogger } from '@svp/messaging';
import { toIntegrationMessages as sessionsMessages } from '@svp/sessions-service';
import { toIntegrationMessages as variablesMessages } from '@svp/variables-service';
import { type DrillPlatform, pool, sleep, until } from '../drill.js';
import { call } from '../http.js';
import { outboxDepths, sessionEvents, totalConsumerLag } from '../probes.js';

/**
 * What drills 2, 4 and 5 share: a load of session lifecycles (start with variables, set variables,
 * end), the read-back of every ended session (its discard, once; the sessions service's record of
 * its variable changes, once each), and reading the drills' broker's topics with a fresh group.
 */

export const SESSION_TOPICS = [TOPICS.sessions, TOPICS.variables];

/** Keeps an org's discarded session streams for a day, so each discard can be read back and counted (0 deletes at once). */
export async function keepDiscards(platform: DrillPlatform, apiKey: string): Promise<void> {
  const answer = await call(`${platform.urls.variables}/v1/variables/settings`, { method: 'PUT', key: apiKey, body: { retentionDays: 1 } });
  if (answer.status !== 200) throw new Error(`PUT /v1/variables/settings answered ${answer.status}: ${JSON.stringify(answer.body)}`);
}

export interface SessionLoad {
  /** Stops starting new lifecycles; resolves when those in flight are done. */
  stop(): Promise<SessionLoadResult>;
  /** Lifecycles completed so far. */
  readonly ended: number;
}

export interface SessionLoadResult {
  /** Sessions whose start was acknowledged (201). */
  started: string[];
  /** Sessions whose END was acknowledged (2xx): each must lead to exactly one discard. */
  ended: string[];
  /** Acknowledged variable writes (PUT 200). */
  writes: number;
  /** Requests that were not acknowledged: `what status` (a network error is status 0). */
  refused: string[];
  /** Lifecycles per second over the load's time. */
  rate: number;
}

/**
 * Session lifecycles, `concurrency` at a time, until stopped: POST /v1/sessions with two
 * sessionVariableValues, PUT one more variable on the variables service, END (reason closed).
 * `pauseMs` between the lifecycles of a worker keeps the load (and the read-back) small at ci scale.
 */
export function startSessionLoad(platform: DrillPlatform, apiKey: string, options: { concurrency: number; pauseMs?: number; label: string }): SessionLoad {
  const result: SessionLoadResult = { started: [], ended: [], writes: 0, refused: [], rate: 0 };
  let running = true;
  let n = 0;
  const begun = Date.now();
  const attempt = async <T>(what: string, request: () => Promise<{ status: number; body: T }>, ok: (status: number) => boolean) => {
    try {
      const answer = await request();
      if (ok(answer.status)) return answer;
      result.refused.push(`${what} ${answer.status}`);
    } catch (error) {
      result.refused.push(`${what} 0 (${String(error).slice(0, 80)})`);
    }
    return undefined;
  };
  const worker = async () => {
    while (running) {
      const i = n++;
      const started = await attempt(
        'start',
        () =>
          call<{ sessionId: string }>(`${platform.urls.sessions}/v1/sessions`, {
            method: 'POST',
            key: apiKey,
            body: { channelId: 'web', sessionVariableValues: [{ name: 'cart', value: i }, { name: 'page', value: `${options.label}-${i}` }] },
          }),
        (s) => s === 201,
      );
      if (started) {
        const sessionId = started.body.sessionId;
        result.started.push(sessionId);
        const put = await attempt(
          'set',
          () => call(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { method: 'PUT', key: apiKey, body: { sessionVariableValues: [{ name: 'step', value: i }] } }),
          (s) => s === 200,
        );
        if (put) result.writes++;
        const end = await attempt(
          'end',
          () => call(`${platform.urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key: apiKey, body: { type: 'END', reason: 'closed' } }),
          (s) => s >= 200 && s < 300,
        );
        if (end) result.ended.push(sessionId);
      } else {
        await sleep(200);
      }
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  };
  const workers = Promise.all(Array.from({ length: options.concurrency }, worker));
  return {
    get ended() {
      return result.ended.length;
    },
    async stop() {
      running = false;
      await workers;
      result.rate = Math.round((result.ended.length / Math.max(1, (Date.now() - begun) / 1000)) * 10) / 10;
      return result;
    },
  };
}

/** An exported event as the outbox relay saw it (for the services' own toIntegrationMessages). */
const recorded = (e: ExportedEvent): RecordedEvent =>
  ({
    eventId: e.eventId,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    streamName: e.stream,
    streamRevision: BigInt(e.streamRevision),
    globalPosition: BigInt(e.globalPosition),
    recordedAt: new Date(e.recordedAt),
  }) as unknown as RecordedEvent;

export interface EndedSessionsReadBack {
  /** Ended sessions whose discard is missing (SessionVariablesDiscarded not stored, or variables still read). */
  notDiscarded: string[];
  /** Ended sessions with more than one SessionVariablesDiscarded, a start applied twice, or a variable change counted twice by sessions. */
  doubled: string[];
  /** Acknowledged writes the stores do not hold (a SessionEnded missing, the PUT's change missing), or the sessions service's record of a change missing. */
  missing: string[];
  /** Every integration event the two stores' events of these sessions give: eventId → topic. */
  expected: Map<string, string>;
}

/**
 * Reads every ended session back: the sessions store holds one SessionEnded; the variables store one
 * SessionVariablesDiscarded (none is lost, none doubled), one SessionVariablesSet per cause; GET
 * variables answers no session-scope variable; the sessions service's variable activity counts each
 * SessionVariablesChanged once and is marked discarded.
 */
export async function readBackEndedSessions(platform: DrillPlatform, org: { orgId: string; apiKey: string }, ended: readonly string[]): Promise<EndedSessionsReadBack> {
  const out: EndedSessionsReadBack = { notDiscarded: [], doubled: [], missing: [], expected: new Map() };
  await pool(ended, 6, async (sessionId) => {
    const [sessions, variables] = await Promise.all([
      sessionEvents(platform, 'sessions', org.orgId, sessionId),
      sessionEvents(platform, 'variables', org.orgId, sessionId),
    ]);
    for (const e of sessions) for (const m of sessionsMessages(recorded(e))) out.expected.set(eventIdOf(m), m.topic);
    for (const e of variables) for (const m of variablesMessages(recorded(e))) out.expected.set(eventIdOf(m), m.topic);
    const endedEvents = sessions.filter((e) => e.type === 'SessionEnded').length;
    if (endedEvents !== 1) (endedEvents === 0 ? out.missing : out.doubled).push(`${sessionId}: ${endedEvents} SessionEnded stored`);
    const discards = variables.filter((e) => e.type === 'SessionVariablesDiscarded').length;
    if (discards === 0) out.notDiscarded.push(`${sessionId}: no SessionVariablesDiscarded`);
    if (discards > 1) out.doubled.push(`${sessionId}: ${discards} SessionVariablesDiscarded`);
    const sets = variables.filter((e) => e.type === 'SessionVariablesSet');
    const byCause = new Map<string, number>();
    for (const e of sets) {
      const cause = typeof e.metadata.causationId === 'string' ? e.metadata.causationId : undefined;
      if (cause) byCause.set(cause, (byCause.get(cause) ?? 0) + 1);
    }
    for (const [cause, count] of byCause) if (count > 1) out.doubled.push(`${sessionId}: ${count} SessionVariablesSet caused by ${cause}`);
    const names = new Set(sets.flatMap((e) => ((e.data as { changes?: { name: string }[] }).changes ?? []).map((c) => c.name)));
    for (const name of ['cart', 'page', 'step']) if (!names.has(name)) out.missing.push(`${sessionId}: variable ${name} never stored`);
    const read = await call<{ variables: { scope: string }[] }>(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { key: org.apiKey });
    const left = read.status === 200 ? read.body.variables.filter((v) => v.scope === 'session').length : -1;
    if (left !== 0) out.notDiscarded.push(`${sessionId}: GET variables answered ${read.status} with ${left} session-scope variables`);
    const activity = await call<{ changesTotal: number; discarded: boolean }>(`${platform.urls.sessions}/internal/v1/sessions/${sessionId}/variable-activity`, { key: org.apiKey });
    if (activity.status !== 200) out.missing.push(`${sessionId}: variable activity answered ${activity.status}`);
    else {
      if (activity.body.changesTotal > sets.length) out.doubled.push(`${sessionId}: sessions counted ${activity.body.changesTotal} variable changes of ${sets.length}`);
      if (activity.body.changesTotal < sets.length) out.missing.push(`${sessionId}: sessions counted ${activity.body.changesTotal} variable changes of ${sets.length}`);
      if (!activity.body.discarded) out.notDiscarded.push(`${sessionId}: sessions' variable activity not marked discarded`);
    }
  });
  return out;
}

const eventIdOf = (message: OutgoingMessage): string => (JSON.parse(message.value) as { eventId: string }).eventId;

/** The drills' broker, as a client of its own (a fresh consumer group per read; nothing else uses it). */
export function drillBus(brokers: string): KafkaMessageBus {
  return new KafkaMessageBus({ brokers: [brokers], clientId: `svp-drills-${randomUUID().slice(0, 8)}`, logger: silentLogger });
}

/**
 * Reads `topics` from the beginning with a fresh (ephemeral) consumer group, keeping the messages
 * `keep` accepts, until `done` holds for what was kept. The broker may hold a long history: the read
 * first goes on (up to `endCapMs`, generous) until it reached the end of every partition as it was when
 * the read began (the high watermarks then), and only from there counts `timeoutMs` for `done`
 * (messages produced while reading).
 */
export async function readTopics(
  brokers: string,
  topics: string[],
  keep: (message: IncomingMessage) => boolean,
  done: (kept: readonly IncomingMessage[]) => boolean,
  timeoutMs: number,
  endCapMs = 180_000,
): Promise<IncomingMessage[]> {
  const bus = drillBus(brokers);
  const kept: IncomingMessage[] = [];
  const groupId = `svp-drills-read-${randomUUID()}`;
  const seen = new Map<string, bigint>();
  try {
    // The end of each partition now (the group has no commit yet: its lag lists every partition; a
    // topic not created yet has nothing to reach).
    const [lag] = await bus.consumerLag([{ groupId, topics }]).catch(() => []);
    const ends = (lag?.partitions ?? []).filter((p) => p.high > p.low).map((p) => ({ at: `${p.topic}/${p.partition}`, high: p.high }));
    const consumer = await bus.consume({
      groupId,
      topics,
      fromBeginning: true,
      ephemeral: true,
      concurrency: topics.length * 3,
      handler: async (message) => {
        const at = `${message.topic}/${message.partition}`;
        const offset = BigInt(message.offset);
        if ((seen.get(at) ?? -1n) < offset) seen.set(at, offset);
        if (keep(message)) kept.push(message);
      },
    });
    await consumer.ready;
    await until(() => done(kept) || ends.every((e) => (seen.get(e.at) ?? -1n) >= e.high - 1n), endCapMs, 250);
    await until(() => done(kept), timeoutMs, 250);
    await consumer.stop();
  } finally {
    await bus.close();
  }
  return kept;
}

/**
 * Which of `expected` (eventId → topic) are on their topic: reads both topics of the sessions'
 * lifecycle (messages of the org only). Answers the missing event ids and how many were read more
 * than once (a re-publication: allowed, consumers' inboxes absorb it).
 */
export async function findOnTopics(brokers: string, orgId: string, expected: ReadonlyMap<string, string>, timeoutMs: number): Promise<{ missing: string[]; republished: number; read: number }> {
  const seen = new Map<string, number>();
  const topics = [...new Set(expected.values())];
  if (topics.length === 0) return { missing: [], republished: 0, read: 0 };
  const needle = `"orgId":"${orgId}"`;
  const kept = await readTopics(
    brokers,
    topics,
    (m) => {
      if (!m.value.includes(needle)) return false;
      try {
        const { eventId } = JSON.parse(m.value) as { eventId?: string };
        if (eventId && expected.get(eventId) === m.topic) seen.set(eventId, (seen.get(eventId) ?? 0) + 1);
      } catch {
        // not JSON: not one of the org's events
      }
      return true;
    },
    () => [...expected.keys()].every((id) => seen.has(id)),
    timeoutMs,
  );
  return {
    missing: [...expected.keys()].filter((id) => !seen.has(id)),
    republished: [...seen.values()].reduce((sum, n) => sum + n - 1, 0),
    read: kept.length,
  };
}

/** Waits for the platform to settle: every outbox drained and no consumer lag; answers the ms it took (or -1). */
export async function settle(platform: DrillPlatform, timeoutMs: number): Promise<number> {
  const begun = Date.now();
  const ok = await until(async () => Object.values(await outboxDepths(platform)).every((d) => d === 0) && (await totalConsumerLag(platform)) === 0, timeoutMs, 500);
  return ok ? Date.now() - begun : -1;
}

export const seconds = (ms: number): number => Math.round(ms / 100) / 10;
