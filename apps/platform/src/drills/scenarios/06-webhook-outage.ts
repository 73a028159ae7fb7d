import { statusEventId } from '@svp/sessions-service';
import { Checks, type Drill, type DrillOutcome, formatCount, sleep, until } from '../drill.js';
import { call } from '../http.js';
import { sessionEvents } from '../probes.js';
import { type AcceptedDelivery, startVerifyingReceiver } from './webhook-support.js';

/** One step of the lifecycle each session is driven through, and whether it is a status change the webhook announces. */
interface Step {
  body: Record<string, unknown>;
  announces: boolean;
}

/**
 * start (CREATED), then: OPEN, ON_HOLD (assigned), ON_PROGRESS (first agent message), a visitor
 * message (ON_PROGRESS still: no status change, no delivery), ON_HOLD, ON_HOLD (assigned to a bot),
 * ON_PROGRESS (the bot answers), ENDED. Eight deliveries per session.
 */
const LIFECYCLE: readonly Step[] = [
  { body: { type: 'ROUTED' }, announces: true },
  { body: { type: 'ASSIGNED', assigneeId: 'a1', assigneeType: 'AGENT' }, announces: true },
  { body: { type: 'MESSAGE', from: 'AGENT', actorId: 'a1' }, announces: true },
  { body: { type: 'MESSAGE', from: 'VISITOR' }, announces: false },
  { body: { type: 'HOLD' }, announces: true },
  { body: { type: 'ASSIGNED', assigneeId: 'b1', assigneeType: 'BOT' }, announces: true },
  { body: { type: 'MESSAGE', from: 'BOT', actorId: 'b1' }, announces: true },
  { body: { type: 'END', reason: 'closed' }, announces: true },
];

/** What a delivery of a status change says, as a comparable line. */
const announcement = (b: { sessionStatus?: unknown; messagesCount?: unknown; currentAssigneeId?: unknown }) =>
  `${String(b.sessionStatus)}/${String(b.messagesCount)}/${String(b.currentAssigneeId ?? null)}`;

interface Delivery {
  deliveryId: string;
  eventId: string;
  sessionId: string;
  status: string;
  replay: boolean;
  attempts: { statusCode: number | null; error: string | null }[];
}

const TOLERANCE_SECONDS = 5;

/** A call that threw, as an answer that is not acknowledged (status 0, the error as its body). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const thrown = (error: unknown): { status: number; body: any } => ({ status: 0, body: { thrown: String(error).slice(0, 200) } });

/**
 * Drill 6. The webhook receiver is down (503, then connections dropped) while sessions go through
 * their lifecycles; once it is back every status change arrives, in order per session, signed, once
 * per event after deduplication; captured requests replayed later are refused by the timestamp, and
 * the platform's own replay is signed afresh and accepted.
 */
export const webhookOutageDrill: Drill = {
  id: 6,
  name: 'webhook-outage',
  title:
    'the receiver is down for 60 s under a stream of status changes; afterwards every event arrives, in order per session, with valid signatures, and replays older than the tolerance are refused by a receiver that checks the Standard Webhooks timestamp',
  async run({ platform, pick, log }): Promise<DrillOutcome> {
    const checks = new Checks();
    let lost = 0;
    let doubleEffects = 0;
    let badInputs = 0;
    const outageMs = pick({ ci: 10_000, full: 60_000 });
    const sessionCount = pick({ ci: 8, full: 40 });
    const s = (path: string) => `${platform.urls.sessions}${path}`;
    const figures: Record<string, number | string> = {};

    const receiver = await startVerifyingReceiver({ secret: `whsec_${Buffer.alloc(32).toString('base64')}`, toleranceSeconds: TOLERANCE_SECONDS });
    let webhookId: string | undefined;
    let key = '';
    try {
      // A local receiver needs private targets allowed: sessions restarted so (inside the try: the
      // finally puts the default refusal back whatever happens from here).
      await platform.stopService('sessions');
      await platform.restart('sessions', { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
      const org = await platform.newOrg('Drill 6 webhook outage');
      key = org.apiKey;
      const hook = await call<{ webhookId: string; secret: string }>(s('/v1/webhooks'), { method: 'POST', key, body: { url: receiver.url, events: ['IM_Session_Status'] } });
      if (!checks.check(hook.status === 201, 'the webhook to the local receiver is created (private targets allowed)', hook)) throw new Error('no webhook');
      webhookId = hook.body.webhookId;
      receiver.setSecret(hook.body.secret);

      // The outage: 503 for the first half, connections dropped for the second.
      receiver.setMode('down-503');
      const outageStarted = Date.now();
      const halfway = setTimeout(() => receiver.setMode('down-drop'), outageMs / 2);
      log(`  receiver down for ${outageMs / 1000} s; ${sessionCount} sessions through ${LIFECYCLE.length + 1} steps each`);

      // The stream: sessions started one after the other over the outage, each stepping through its lifecycle.
      const expected = new Map<string, string[]>();
      const refusedCalls: unknown[] = [];
      const startEvery = (outageMs * 0.5) / sessionCount;
      const stepEvery = (outageMs * 0.4) / LIFECYCLE.length;
      let calls = 0;
      await Promise.all(
        Array.from({ length: sessionCount }, async (_, i) => {
          await sleep(i * startEvery);
          // A call that throws (the client's timeout, a dropped connection) is not acknowledged: the lifecycle stops there.
          const started = await call<{ sessionId: string; sessionStatus: string }>(s('/v1/sessions'), { method: 'POST', key, body: { channelId: 'web' } }).catch(thrown);
          calls++;
          if (started.status !== 201) {
            refusedCalls.push({ step: 'start', status: started.status, body: started.body });
            return;
          }
          const sessionId = started.body.sessionId;
          const lines = [announcement({ sessionStatus: started.body.sessionStatus, messagesCount: 0, currentAssigneeId: null })];
          expected.set(sessionId, lines);
          for (const step of LIFECYCLE) {
            await sleep(stepEvery * (0.5 + Math.random()));
            const answer = await call<{ sessionStatus: string; messagesCount: number; currentAssigneeId: string | null }>(s(`/v1/sessions/${sessionId}/events`), { method: 'POST', key, body: step.body }).catch(thrown);
            calls++;
            if (answer.status !== 200) {
              refusedCalls.push({ step: step.body.type, status: answer.status, body: answer.body });
              return;
            }
            if (step.announces) lines.push(announcement(answer.body));
          }
        }),
      );
      checks.check(refusedCalls.length === 0, `every lifecycle call accepted (${formatCount(calls)} calls)`, refusedCalls.slice(0, 3));
      const expectedTotal = [...expected.values()].reduce((n, l) => n + l.length, 0);
      const loadDoneAt = Date.now() - outageStarted;
      await sleep(Math.max(0, outageMs - loadDoneAt));
      clearTimeout(halfway);
      receiver.setMode('up');
      const upAt = Date.now();
      const downAnswers = receiver.downAnswers.status503 + receiver.downAnswers.dropped;
      checks.check(receiver.applied.size === 0, 'nothing was accepted while the receiver was down', receiver.applied.size);
      checks.check(downAnswers > 0, `the platform kept trying while the receiver was down (${receiver.downAnswers.status503} answered 503, ${receiver.downAnswers.dropped} connections dropped)`, receiver.downAnswers);
      log(`  ${formatCount(expectedTotal)} status changes during the outage; ${downAnswers} attempts refused while down; receiver up`);

      // After the outage: everything arrives.
      const arrived = await until(() => receiver.applied.size >= expectedTotal, pick({ ci: 30_000, full: 90_000 }), 200);
      const catchUpMs = Date.now() - upAt;
      checks.check(arrived, `every status change delivered after the receiver came back (${expectedTotal})`, { applied: receiver.applied.size, expectedTotal });
      figures['catch-up after the outage (s)'] = Math.round(catchUpMs / 100) / 10;
      await sleep(1_000); // late redeliveries, if any, show before the counts are taken

      // Every request while up verified (the platform never sent a bad signature or a stale timestamp).
      const refusedLive = Object.fromEntries(receiver.refused);
      checks.check(receiver.refused.size === 0, 'every delivery verified: Standard Webhooks signature (standardwebhooks library), timestamp within 5 s, X-Signature, ids agree', refusedLive);

      // Per session: what arrived (deduplicated by webhook-id), in order, against the lifecycle driven and the stored events.
      const bySession = new Map<string, AcceptedDelivery[]>();
      for (const d of receiver.accepted) {
        if (!d.applied) continue;
        const sessionId = String(d.parsed.sessionId);
        bySession.set(sessionId, [...(bySession.get(sessionId) ?? []), d]);
      }
      let outOfOrder = 0;
      let foreign = 0;
      const orderProblems: unknown[] = [];
      for (const [sessionId, lines] of expected) {
        const got = bySession.get(sessionId) ?? [];
        const gotLines = got.map((d) => announcement(d.parsed));
        const left = [...gotLines];
        for (const line of lines) {
          const at = left.indexOf(line);
          if (at < 0) lost++;
          else left.splice(at, 1);
        }
        if (gotLines.join(' ') !== lines.join(' ')) orderProblems.push({ sessionId, expected: lines, got: gotLines });
        // The stored order: each delivery's event id is derived from a stored event of the session; they must come in the stored order.
        const stored = (await sessionEvents(platform, 'sessions', org.orgId, sessionId)).sort((a, b) => Number(BigInt(a.globalPosition) - BigInt(b.globalPosition)));
        const storedIndex = new Map(stored.map((e, index) => [statusEventId(e.eventId), index]));
        let last = -1;
        for (const d of got) {
          const index = storedIndex.get(d.webhookId);
          if (index === undefined) foreign++;
          else if (index <= last) outOfOrder++;
          else last = index;
        }
      }
      checks.check(lost === 0, `every status change of the lifecycles driven arrived (${expectedTotal})`, lost);
      checks.check(orderProblems.length === 0, 'each session\'s deliveries in the order of its lifecycle', orderProblems.slice(0, 2));
      checks.check(outOfOrder === 0 && foreign === 0, 'each session\'s deliveries in its stored events\' order, each naming a stored event', { outOfOrder, foreign });
      const otherSessions = [...bySession.keys()].filter((id) => !expected.has(id)).length;
      checks.check(otherSessions === 0, 'no delivery of a session the drill did not drive', otherSessions);

      // Exactly once after deduplication; without it, the redeliveries would be extra effects.
      const liveDuplicates = receiver.accepted.filter((d) => !d.applied).length;
      figures['redeliveries a receiver without dedup would apply twice'] = liveDuplicates;
      const byContent = new Map<string, number>();
      for (const d of receiver.applied.values()) {
        const contentKey = `${String(d.parsed.sessionId)}|${announcement(d.parsed)}|${String(d.parsed.eventTime)}`;
        byContent.set(contentKey, (byContent.get(contentKey) ?? 0) + 1);
      }
      const sameEventTwice = [...byContent.values()].reduce((n, c) => n + (c - 1), 0);
      doubleEffects += sameEventTwice;
      checks.check(sameEventTwice === 0, 'after dedup by webhook-id each status change applied once (no change delivered under two ids)', sameEventTwice);
      const surplus = receiver.applied.size - expectedTotal;
      checks.check(surplus <= 0, 'no more applied deliveries than status changes', surplus);
      doubleEffects += Math.max(0, surplus);

      // The platform's delivery log agrees: each live delivery delivered, some after failed attempts.
      const log_ = await deliveries(s, key, webhookId);
      const live = log_.filter((d) => !d.replay);
      const notDelivered = live.filter((d) => d.status !== 'delivered');
      checks.check(live.length === expectedTotal && notDelivered.length === 0, `the delivery log: ${expectedTotal} live deliveries, all delivered`, { live: live.length, notDelivered: notDelivered.slice(0, 2) });
      const failedAttempts = live.reduce((n, d) => n + d.attempts.filter((a) => a.statusCode !== 200).length, 0);
      const retried = live.filter((d) => d.attempts.length > 1).length;
      checks.check(retried > 0 && failedAttempts > 0, `the delivery log shows the outage: ${retried} deliveries retried, ${failedAttempts} failed attempts`, { retried, failedAttempts });
      figures['failed attempts during the outage'] = failedAttempts;
      figures['most attempts of one delivery'] = Math.max(0, ...live.map((d) => d.attempts.length));

      // Replays by someone who captured a request: older than the tolerance, refused; a tampered body, refused.
      const captured = receiver.accepted[0];
      if (checks.check(captured !== undefined, 'a delivery was captured to replay')) {
        await until(() => Math.floor(Date.now() / 1000) - captured.timestamp > TOLERANCE_SECONDS + 1, (TOLERANCE_SECONDS + 5) * 1000, 250);
        const appliedBefore = receiver.applied.size;
        const status = await receiver.replay(captured.body, captured.headers);
        badInputs++;
        checks.check(status === 401 && receiver.refused.get('TIMESTAMP_TOO_OLD') === 1, `a captured delivery re-sent ${Math.floor(Date.now() / 1000) - captured.timestamp} s later (tolerance ${TOLERANCE_SECONDS} s) is refused: TIMESTAMP_TOO_OLD`, { status, refused: Object.fromEntries(receiver.refused) });
        const latest = receiver.accepted.at(-1)!;
        const tampered = latest.body.replace(/"sessionStatus":"[A-Z_]+"/, '"sessionStatus":"OPEN"').replace(/"messagesCount":\d+/, '"messagesCount":99');
        const tamperedStatus = await receiver.replay(tampered, latest.headers);
        badInputs++;
        checks.check(tamperedStatus === 401, 'a delivery re-sent with its body altered is refused (signature)', { tamperedStatus, refused: Object.fromEntries(receiver.refused) });
        checks.check(receiver.applied.size === appliedBefore, 'nothing applied from the replayed or altered requests', receiver.applied.size - appliedBefore);
        doubleEffects += receiver.applied.size - appliedBefore;
      }

      // The platform's replay: signed afresh (current timestamps), accepted, and absorbed by the dedup.
      const refusedBefore = [...receiver.refused.values()].reduce((a, b) => a + b, 0);
      const acceptedBefore = receiver.accepted.length;
      const appliedBefore = receiver.applied.size;
      const replayAsked = Math.floor(Date.now() / 1000);
      const replay = await call<{ enqueued: number; replayId: string }>(s(`/v1/webhooks/${webhookId}/replay`), { method: 'POST', key, body: {} });
      checks.check(replay.status === 202 && replay.body.enqueued === expectedTotal, `POST /v1/webhooks/{id}/replay enqueues the ${expectedTotal} status changes again`, replay);
      const replayDone = await until(async () => {
        const status = await call<{ done: boolean; delivered: number }>(s(`/v1/webhooks/${webhookId}/replays/${replay.body.replayId}`), { key });
        return status.body.done && receiver.accepted.length - acceptedBefore >= replay.body.enqueued;
      }, pick({ ci: 30_000, full: 60_000 }), 300);
      const replayed = receiver.accepted.slice(acceptedBefore);
      const refusedReplays = [...receiver.refused.values()].reduce((a, b) => a + b, 0) - refusedBefore;
      checks.check(replayDone && replayed.length === replay.body.enqueued && refusedReplays === 0, 'every replayed delivery accepted by the verifying receiver (fresh signature and timestamp)', { replayDone, replayed: replayed.length, refusedReplays });
      const stale = replayed.filter((d) => d.timestamp < replayAsked - 1).length;
      checks.check(stale === 0, 'every replayed delivery carries a timestamp from the replay, not from the original attempt', stale);
      const reapplied = receiver.applied.size - appliedBefore;
      checks.check(reapplied === 0 && replayed.every((d) => !d.applied), 'the replayed events are recognised by webhook-id: none applied a second time', reapplied);
      doubleEffects += reapplied;
      figures['platform replay accepted (deduplicated)'] = replayed.length;

      return {
        load: `${sessionCount} sessions × ${LIFECYCLE.length + 1} lifecycle calls (${formatCount(expectedTotal)} status changes) during the outage; a replay of all of them after`,
        faults: `receiver down ${outageMs / 1000} s (503, then connections dropped)`,
        badInputs,
        lost,
        doubleEffects,
        checks: checks.held,
        failures: checks.failed,
        figures,
      };
    } finally {
      // Put the platform back: the webhook gone, sessions with private targets refused again.
      if (webhookId) await call(s(`/v1/webhooks/${webhookId}`), { method: 'DELETE', key }).catch(() => undefined);
      await platform.stopService('sessions');
      await platform.restart('sessions', {});
      await receiver.close();
    }
  },
};

/** The webhook's whole delivery log (paged by `before`). */
async function deliveries(s: (path: string) => string, key: string, webhookId: string): Promise<Delivery[]> {
  const all: Delivery[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await call<{ deliveries: Delivery[] }>(s(`/v1/webhooks/${webhookId}/deliveries?limit=500${before ? `&before=${before}` : ''}`), { key });
    if (page.status !== 200) throw new Error(`deliveries answered ${page.status}: ${JSON.stringify(page.body)}`);
    all.push(...page.body.deliveries);
    if (page.body.deliveries.length < 500) return all;
    before = page.body.deliveries.at(-1)!.deliveryId;
  }
}
