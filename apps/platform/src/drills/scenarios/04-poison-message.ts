import { randomUUID } from 'node:crypto';
import { TOPICS, dlqTopic } from '@svp/contracts';
import { DLQ_HEADERS, type IncomingMessage, readDeadLetter } from '@svp/messaging';
import { SESSIONS_CONSUMER } from '@svp/variables-service';
import { Checks, type Drill, type DrillOutcome, until } from '../drill.js';
import { call } from '../http.js';
import { drillBus, keepDiscards, readBackEndedSessions, readTopics, seconds } from './kafka-support.js';

/**
 * Drill 4. Two poison messages on sessions.events.v1 (read by the variables service's
 * `variables.sessions` group), keyed by a real session so they sit on its partition, then the
 * session's real SessionEnded behind them (END through the API):
 * - a malformed message (not JSON): dead-lettered at once, reason `schema`;
 * - a valid SessionEnded envelope whose handling fails every time: its orgId holds a NUL character,
 *   which PostgreSQL refuses in every query of the org's settings (SQLSTATE 22021, not a passing
 *   failure), so the handler throws on each attempt and the message is dead-lettered, reason
 *   `handler`, after its attempts;
 * both on sessions.events.v1.dlq with the reason, the error, the original partition and offset and the
 * group, and the real event after them handled (the discard happened, once).
 */
export const poisonMessageDrill: Drill = {
  id: 4,
  name: 'poison-message',
  title: 'a malformed and a handler-failing event land in the DLQ with the reason; the partition keeps flowing',
  async run({ platform, broker, log }) {
    const checks = new Checks();
    const org = await platform.newOrg('Drill 4 poison message');
    await keepDiscards(platform, org.apiKey);
    const key = org.apiKey;
    const topic = TOPICS.sessions;

    const started = await call<{ sessionId: string; visitorId: string }>(`${platform.urls.sessions}/v1/sessions`, {
      method: 'POST',
      key,
      body: { channelId: 'web', sessionVariableValues: [{ name: 'cart', value: 4 }, { name: 'page', value: 'drill4' }] },
    });
    checks.check(started.status === 201, 'a session started', started.status);
    const { sessionId, visitorId } = started.body;
    const set = await call(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { method: 'PUT', key, body: { sessionVariableValues: [{ name: 'step', value: 1 }] } });
    checks.check(set.status === 200, 'a variable set', set.status);
    // The SessionStarted is applied (its variables read) before the poison goes behind it.
    const applied = await until(async () => {
      const read = await call<{ variables: { name: string; scope: string }[] }>(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { key });
      return read.body.variables.some((v) => v.scope === 'session' && v.name === 'cart');
    }, 20_000);
    checks.check(applied, 'the SessionStarted applied by variables (its sessionVariableValues read)');

    const malformed = `{"type":"SessionEnded","drill":4,"sessionId":"${sessionId}"`; // cut short: not JSON
    const failingEventId = randomUUID();
    const now = new Date().toISOString();
    const failing = JSON.stringify({
      eventId: failingEventId,
      type: 'SessionEnded',
      version: 1,
      occurredAt: now,
      orgId: `${org.orgId}\u0000drill4`,
      data: { sessionId, visitorId, reason: 'closed', endedAt: now },
    });
    const bus = drillBus(broker.brokers);
    const sentAt = Date.now();
    try {
      await bus.publish([
        { topic, key: sessionId, value: malformed, headers: { 'x-drill': '4' } },
        { topic, key: sessionId, value: failing, headers: { 'x-drill': '4' } },
      ]);
    } finally {
      await bus.close();
    }
    const end = await call(`${platform.urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key, body: { type: 'END', reason: 'closed' } });
    checks.check(end.status >= 200 && end.status < 300, 'the session ended through the API, behind the poison', end.status);

    // The real SessionEnded behind them is handled: the discard happens.
    const discarded = await until(async () => {
      const read = await call<{ variables: { scope: string }[] }>(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { key });
      return read.status === 200 && read.body.variables.every((v) => v.scope !== 'session');
    }, 60_000);
    const handledMs = Date.now() - sentAt;
    checks.check(discarded, 'the real SessionEnded behind the poison handled: the session variables discarded (within 60 s)');
    log(`  discard ${seconds(handledMs)} s after the poison was produced`);

    // Where each one sits on the topic, and what the DLQ holds of them.
    const onTopic = await readTopics(
      broker.brokers,
      [topic],
      (m) => m.key === sessionId,
      (kept) => kept.some((m) => m.value === malformed) && kept.some((m) => m.value === failing) && kept.some((m) => isRealEnd(m, org.orgId)),
      20_000,
    );
    const malformedAt = onTopic.find((m) => m.value === malformed);
    const failingAt = onTopic.find((m) => m.value === failing);
    const realAt = onTopic.find((m) => isRealEnd(m, org.orgId));
    checks.check(!!malformedAt && !!failingAt && !!realAt, 'the two poison messages and the real SessionEnded on the topic', { malformed: !!malformedAt, failing: !!failingAt, real: !!realAt });
    const samePartition = !!malformedAt && !!failingAt && !!realAt && malformedAt.partition === realAt.partition && failingAt.partition === realAt.partition;
    const behind = samePartition && BigInt(realAt.offset) > BigInt(failingAt.offset) && BigInt(failingAt.offset) > BigInt(malformedAt.offset);
    checks.check(behind, 'all three on one partition, the real SessionEnded behind the two poison messages', onTopic.map((m) => `${m.partition}@${m.offset}`));

    const letters = await readTopics(
      broker.brokers,
      [dlqTopic(topic)],
      (m) => m.key === sessionId,
      (kept) => forGroup(kept, malformed).length > 0 && forGroup(kept, failing).length > 0,
      20_000,
    );
    const malformedLetter = forGroup(letters, malformed).map(readDeadLetter)[0];
    const failingLetter = forGroup(letters, failing).map(readDeadLetter)[0];
    checks.check(
      malformedLetter?.reason === 'schema' && /not JSON/.test(malformedLetter.error) && malformedLetter.attempts === 1,
      `the malformed message on ${dlqTopic(topic)} from ${SESSIONS_CONSUMER}: reason schema, error "not JSON…", 1 attempt`,
      malformedLetter ?? 'not on the DLQ',
    );
    checks.check(
      failingLetter?.reason === 'handler' && failingLetter.error.length > 0 && failingLetter.attempts >= 2,
      `the handler-failing SessionEnded on ${dlqTopic(topic)} from ${SESSIONS_CONSUMER}: reason handler, its error, after its attempts`,
      failingLetter ?? 'not on the DLQ',
    );
    checks.check(
      !!malformedLetter && !!failingLetter && !!malformedAt && !!failingAt &&
        malformedLetter.originalTopic === topic && failingLetter.originalTopic === topic &&
        malformedLetter.originalPartition === malformedAt.partition && malformedLetter.originalOffset === malformedAt.offset &&
        failingLetter.originalPartition === failingAt.partition && failingLetter.originalOffset === failingAt.offset &&
        malformedLetter.value === malformed && failingLetter.value === failing,
      'each dead letter names its original topic, partition and offset, and keeps the message as it was',
    );
    checks.check(
      !!failingLetter && !!malformedLetter && failingLetter.key === sessionId && malformedLetter.key === sessionId,
      'each dead letter keeps the key',
    );

    // The real event had its effect once; the failing one none (the org's session still has one discard).
    const back = await readBackEndedSessions(platform, org, [sessionId]);
    checks.check(back.notDiscarded.length === 0 && back.missing.length === 0, 'the session read back: discarded, every write stored', [...back.notDiscarded, ...back.missing]);
    checks.check(back.doubled.length === 0, 'one discard (the poison SessionEnded had no effect)', back.doubled);
    const otherGroups = [...new Set(letters.map((m) => m.headers[DLQ_HEADERS.group]).filter((g) => g !== SESSIONS_CONSUMER))];

    const outcome: DrillOutcome = {
      load: '1 session (start with 2 variables, set 1, end) behind 2 poison messages on its partition',
      faults: 'a malformed message (not JSON) and a SessionEnded whose handler fails every time (orgId with a NUL), both keyed by the session',
      badInputs: 2,
      lost: back.notDiscarded.length + back.missing.length,
      doubleEffects: back.doubled.length,
      checks: checks.held,
      failures: checks.failed,
      figures: {
        poisonToDiscardSeconds: seconds(handledMs),
        handlerAttempts: failingLetter?.attempts ?? 0,
        handlerError: failingLetter?.error.slice(0, 160) ?? 'none',
        deadLettersOfTheSession: letters.length,
        otherGroupsDeadLettering: otherGroups.join(' ') || 'none',
      },
    };
    return outcome;
  },
};

const isRealEnd = (m: IncomingMessage, orgId: string): boolean => {
  try {
    const e = JSON.parse(m.value) as { type?: string; orgId?: string };
    return e.type === 'SessionEnded' && e.orgId === orgId;
  } catch {
    return false;
  }
};

/** The dead letters of `value` written by the variables service's sessions consumer. */
const forGroup = (letters: readonly IncomingMessage[], value: string): IncomingMessage[] =>
  letters.filter((m) => m.value === value && m.headers[DLQ_HEADERS.group] === SESSIONS_CONSUMER);
