import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { SqlClient } from '@svp/postgres';
import { waitFor } from '@svp/testing';
import { REPLAY_COUNTS_SQL, WebhookDeliveryStore, type DeliveryRecord, type EnqueueDelivery } from '../delivery-store.js';
import { WebhookDispatcher, type WebhookDispatcherOptions, type WebhookEndpoint } from '../dispatcher.js';
import { imSessionStatusBody, type ImSessionStatusBody } from '../payload.js';
import { retrySchedule } from '../schedule.js';
import { generateWebhookSecret, verifyStandardWebhook, verifyWebhook, verifyXSignature } from '../signing.js';
import { startReceiver, type ReceivedRequest, type TestReceiver } from './receiver.js';

/** A database for one test: a client, and (when the engine allows) another connection to the same data. */
export interface DeliveryDatabase {
  sql: SqlClient;
  /** Another client on the same tables, for a second dispatcher (the same client on PGlite). */
  another(): Promise<SqlClient>;
  dispose(): Promise<void>;
}

/** Retries fast, so failure scenarios run in well under a second. */
const fastSchedule = retrySchedule({ delaysMs: [20, 40, 80], repeatEveryMs: 100, maxAgeMs: 30_000, jitter: 'full' });

/**
 * The webhook delivery engine against a real HTTP receiver (node:http on 127.0.0.1) and a real
 * database, the same scenarios on every SQL engine.
 */
export function describeWebhookDelivery(engine: string, open: () => Promise<DeliveryDatabase>): void {
  describe(`webhook delivery (${engine})`, () => {
    let db: DeliveryDatabase;
    let store: WebhookDeliveryStore;
    const receivers: TestReceiver[] = [];
    const dispatchers: WebhookDispatcher[] = [];
    const endpoints = new Map<string, WebhookEndpoint>();
    let seq = 0;

    beforeEach(async () => {
      db = await open();
      store = new WebhookDeliveryStore(db.sql);
      await store.setup();
      await store.setup(); // idempotent
    });

    afterEach(async () => {
      await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
      await Promise.all(receivers.splice(0).map((r) => r.close()));
      endpoints.clear();
      await db.dispose();
    });

    async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<TestReceiver> {
      const started = await startReceiver(respond);
      receivers.push(started);
      return started;
    }

    function webhook(target: TestReceiver | string, overrides: Partial<WebhookEndpoint> = {}): { webhookId: string; endpoint: WebhookEndpoint } {
      const webhookId = `wh-${Math.random().toString(36).slice(2, 10)}`;
      const url = typeof target === 'string' ? target : `${target.origin}/hooks/${webhookId}`;
      const endpoint: WebhookEndpoint = { url, secret: generateWebhookSecret(), format: 'standard', active: true, ...overrides };
      endpoints.set(webhookId, endpoint);
      return { webhookId, endpoint };
    }

    async function dispatcher(options: Partial<WebhookDispatcherOptions> = {}): Promise<WebhookDispatcher> {
      const started = new WebhookDispatcher({
        store,
        lookup: (id) => endpoints.get(id),
        allowPrivate: true,
        schedule: fastSchedule,
        pollIntervalMs: 50,
        timeoutMs: 2_000,
        ...options,
      });
      dispatchers.push(started);
      await started.start();
      return started;
    }

    function statusEvent(webhookId: string, sessionId: string, n: number, extra: Partial<EnqueueDelivery> = {}): EnqueueDelivery {
      const eventId = `${sessionId}-e${n}`;
      const body = imSessionStatusBody({
        currentAssigneeId: n > 1 ? 'agent-1' : null,
        sessionStatus: n > 1 ? 'ON_PROGRESS' : 'OPEN',
        replyStatus: n > 1 ? 'ACCEPTED' : 'UNASSIGNED',
        sessionOldStatus: n > 1 ? 'ON_HOLD' : 'CREATED',
        sessionId,
        messagesCount: n,
        assigneeType: n > 1 ? 'AGENT' : null,
        channelId: 'chan-1',
        eventTime: new Date().toISOString(),
        orgId: 'org-1',
        eventId,
      });
      return { webhookId, orgId: 'org-1', sessionId, eventId, seq: ++seq, body: JSON.stringify(body), ...extra };
    }

    async function enqueue(...deliveries: EnqueueDelivery[]): Promise<(string | undefined)[]> {
      return db.sql.transaction(async (tx) => {
        const ids: (string | undefined)[] = [];
        for (const delivery of deliveries) ids.push(await store.enqueue(tx, delivery));
        return ids;
      });
    }

    const bodyOf = (request: ReceivedRequest) => JSON.parse(request.body) as ImSessionStatusBody;
    const delivered = (r: TestReceiver) => r.requests.filter((request) => request.status >= 200 && request.status < 300);
    async function logOf(webhookId: string): Promise<DeliveryRecord[]> {
      return store.deliveries(webhookId, { limit: 1_000 });
    }
    async function settled(webhookId: string, count: number): Promise<DeliveryRecord[]> {
      let log: DeliveryRecord[] = [];
      await waitFor(async () => {
        log = await logOf(webhookId);
        return log.length === count && log.every((d) => d.status !== 'pending');
      }, `${count} settled deliveries of ${webhookId}`);
      return log;
    }

    it('POSTs a JSON body signed both ways: it verifies, and the same request replayed after the tolerance is refused', async () => {
      const target = await receiver();
      const { webhookId, endpoint } = webhook(target);
      await dispatcher();
      const [deliveryId] = await enqueue(statusEvent(webhookId, 'ses-a', 1));
      const [log] = await settled(webhookId, 1);

      expect(target.requests).toHaveLength(1);
      const request = target.requests[0]!;
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['user-agent']).toMatch(/^svp-webhooks\//);
      expect(request.headers['x-event-id']).toBe('ses-a-e1');
      expect(request.headers['webhook-id']).toBe('ses-a-e1');
      expect(verifyXSignature(request.body, endpoint.secret, request.headers['x-signature'] as string)).toBe(true);
      expect(verifyStandardWebhook(request.body, endpoint.secret, request.headers)).toMatchObject({ ok: true, eventId: 'ses-a-e1' });
      expect(verifyWebhook(request.body, endpoint.secret, request.headers)).toMatchObject({ ok: true });
      // A captured request replayed six minutes later: refused by the timestamp.
      const later = new Date(Number(request.headers['webhook-timestamp']) * 1000 + 6 * 60_000);
      expect(verifyWebhook(request.body, endpoint.secret, request.headers, { now: later })).toMatchObject({ ok: false, reason: 'TIMESTAMP_TOO_OLD' });
      // Tampering is refused by both.
      expect(verifyWebhook(request.body.replace('"OPEN"', '"ENDED"'), endpoint.secret, request.headers)).toMatchObject({ ok: false });

      expect(Object.keys(bodyOf(request))).toEqual([
        'currentAssigneeId',
        'sessionStatus',
        'replyStatus',
        'sessionOldStatus',
        'sessionId',
        'messagesCount',
        'assigneeType',
        'channelId',
        'eventTime',
        'eventType',
        'orgId',
        'eventId',
      ]);
      expect(bodyOf(request)).toMatchObject({ currentAssigneeId: null, assigneeType: null, eventType: 'IM_Session_Status', eventId: 'ses-a-e1' });

      expect(log).toMatchObject({ id: deliveryId, status: 'delivered', lastStatusCode: 200, replay: false, eventId: 'ses-a-e1' });
      expect(log!.deliveredAt).toBeInstanceOf(Date);
      expect(log!.attempts).toEqual([{ attempt: 1, at: expect.any(Date), statusCode: 200, error: null, latencyMs: expect.any(Number) }]);
    });

    it('sends the Zoho Desk shape to a webhook that asks for it, signed over the bytes sent', async () => {
      const target = await receiver();
      const { webhookId, endpoint } = webhook(target, { format: 'zoho' });
      await dispatcher();
      await enqueue(statusEvent(webhookId, 'ses-z', 2));
      await settled(webhookId, 1);
      const request = target.requests[0]!;
      expect(verifyWebhook(request.body, endpoint.secret, request.headers)).toMatchObject({ ok: true, eventId: 'ses-z-e2' });
      const events = JSON.parse(request.body) as { payload: Record<string, string | null>; eventTime: string; eventType: string; orgId: string }[];
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ eventType: 'IM_Session_Status', orgId: 'org-1', eventTime: expect.stringMatching(/^\d{13}$/) });
      expect(events[0]!.payload).toEqual({
        currentAssigneeId: 'agent-1',
        sessionStatus: 'ON_PROGRESS',
        replyStatus: 'ACCEPTED',
        sessionOldStatus: 'ON_HOLD',
        sessionId: 'ses-z',
        messagesCount: '2',
        assigneeType: 'AGENT',
        channelId: 'chan-1',
      });
    });

    it('keeps each session in order under concurrency: 3 sessions × 20 events, two dispatchers, a slow receiver that sometimes fails', async () => {
      const concurrentPerSession = new Map<string, number>();
      let maxConcurrentPerSession = 0;
      const target = await receiver(async (request) => {
        const sessionId = (JSON.parse(request.body) as ImSessionStatusBody).sessionId;
        const now = (concurrentPerSession.get(sessionId) ?? 0) + 1;
        concurrentPerSession.set(sessionId, now);
        maxConcurrentPerSession = Math.max(maxConcurrentPerSession, now);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
        concurrentPerSession.set(sessionId, (concurrentPerSession.get(sessionId) ?? 1) - 1);
        return Math.random() < 0.2 ? 500 : 200;
      });
      const { webhookId } = webhook(target);
      const sessions = ['ses-1', 'ses-2', 'ses-3'];
      // Interleaved across sessions, several transactions.
      for (let n = 1; n <= 20; n += 5) await enqueue(...sessions.flatMap((s) => [0, 1, 2, 3, 4].map((i) => statusEvent(webhookId, s, n + i))));
      await dispatcher({ name: 'one', concurrency: 8, perWebhook: 8 });
      await dispatcher({ name: 'two', concurrency: 8, perWebhook: 8, store: new WebhookDeliveryStore(await db.another()) });
      const log = await settled(webhookId, 60);

      expect(log.every((d) => d.status === 'delivered')).toBe(true);
      for (const sessionId of sessions) {
        const seen = delivered(target)
          .map(bodyOf)
          .filter((b) => b.sessionId === sessionId)
          .map((b) => b.messagesCount);
        expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        // Every request of the session (failed ones too) came in order: never a later event before an earlier one was delivered.
        const all = target.requests.map(bodyOf).filter((b) => b.sessionId === sessionId).map((b) => b.messagesCount);
        expect(all).toEqual([...all].sort((a, b) => a - b));
      }
      expect(maxConcurrentPerSession).toBe(1);
    });

    it('a receiver that is down for a while (503) gets every event once it is back, each delivered once and in order', async () => {
      let up = false;
      const target = await receiver(() => (up ? 200 : { status: 503, body: 'maintenance' }));
      const { webhookId } = webhook(target);
      await dispatcher();
      await enqueue(...[1, 2, 3].flatMap((n) => ['ses-d1', 'ses-d2'].map((s) => statusEvent(webhookId, s, n))));
      await waitFor(() => target.requests.filter((r) => r.status === 503).length >= 6, 'several refused attempts');
      up = true;
      const log = await settled(webhookId, 6);

      expect(log.every((d) => d.status === 'delivered')).toBe(true);
      const ok = delivered(target).map(bodyOf);
      expect(ok.map((b) => b.eventId).sort()).toEqual(['ses-d1-e1', 'ses-d1-e2', 'ses-d1-e3', 'ses-d2-e1', 'ses-d2-e2', 'ses-d2-e3']);
      for (const s of ['ses-d1', 'ses-d2']) expect(ok.filter((b) => b.sessionId === s).map((b) => b.messagesCount)).toEqual([1, 2, 3]);
      // The log shows the refused attempts first, with their status codes, then the 200.
      const first = log.find((d) => d.eventId === 'ses-d1-e1')!;
      expect(first.attempts.length).toBeGreaterThan(1);
      expect(first.attempts.slice(0, -1).every((a) => a.statusCode === 503 && a.error === 'HTTP 503: maintenance')).toBe(true);
      expect(first.attempts.at(-1)).toMatchObject({ statusCode: 200, error: null });
      expect(first.attempts.map((a) => a.attempt)).toEqual(first.attempts.map((_, i) => i + 1));
    });

    it('410 Gone cancels the webhook’s pending deliveries and calls onGone', async () => {
      const target = await receiver(() => 410);
      const other = await receiver();
      const { webhookId } = webhook(target);
      const { webhookId: otherId } = webhook(other);
      const gone: string[] = [];
      await enqueue(statusEvent(webhookId, 'ses-g', 1), statusEvent(webhookId, 'ses-g', 2), statusEvent(webhookId, 'ses-g', 3), statusEvent(otherId, 'ses-g', 1));
      await dispatcher({
        onGone: (id) => {
          gone.push(id);
          endpoints.set(id, { ...endpoints.get(id)!, active: false });
        },
      });
      const log = await settled(webhookId, 3);
      await settled(otherId, 1);

      expect(gone).toEqual([webhookId]);
      expect(target.requests).toHaveLength(1);
      expect(log.map((d) => d.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
      expect(log.at(-1)!.attempts).toMatchObject([{ statusCode: 410 }]);
      expect(other.requests).toHaveLength(1); // another webhook is not affected
    });

    it('gives up when the schedule does: marks the delivery failed, calls onExhausted with the reason, and the next event of the session goes', async () => {
      let failing = true;
      const target = await receiver(() => (failing ? { status: 500, body: 'boom' } : 200));
      const { webhookId } = webhook(target);
      const exhausted: [string, string][] = [];
      await enqueue(statusEvent(webhookId, 'ses-x', 1), statusEvent(webhookId, 'ses-x', 2));
      await dispatcher({
        // The age counts from the delivery's creation: 150 ms gave up after one attempt on a loaded
        // CI machine (the first attempt came late); 600 ms leaves room for several.
        schedule: retrySchedule({ delaysMs: [10, 20], repeatEveryMs: 30, maxAgeMs: 600, jitter: 'none' }),
        onExhausted: (id, reason) => {
          exhausted.push([id, reason]);
          failing = false;
        },
      });
      const log = await settled(webhookId, 2);

      expect(exhausted).toHaveLength(1);
      expect(exhausted[0]![0]).toBe(webhookId);
      expect(exhausted[0]![1]).toMatch(/^gave up after \d+ attempts since .*: HTTP 500: boom$/);
      const [second, first] = log;
      expect(first).toMatchObject({ eventId: 'ses-x-e1', status: 'failed', lastStatusCode: 500, lastError: exhausted[0]![1] });
      expect(first!.attempts.length).toBeGreaterThanOrEqual(2);
      expect(exhausted[0]![1]).toContain(`gave up after ${first!.attempts.length} attempts`);
      expect(first!.attempts.every((a) => a.statusCode === 500 && a.latencyMs >= 0)).toBe(true);
      expect(second).toMatchObject({ eventId: 'ses-x-e2', status: 'delivered' });
    });

    it('two dispatchers on one database never deliver one delivery twice', async () => {
      const target = await receiver(() => ({ status: 200, delayMs: Math.random() * 5 }));
      const { webhookId } = webhook(target);
      const events = Array.from({ length: 10 }, (_, s) => Array.from({ length: 8 }, (_, n) => statusEvent(webhookId, `ses-t${s}`, n + 1))).flat();
      await enqueue(...events);
      const attemptsBy: string[] = [];
      const onAttempt = ({ deliveryId }: { deliveryId: string }) => attemptsBy.push(deliveryId);
      await Promise.all([
        dispatcher({ name: 'a', concurrency: 6, perWebhook: 10, pollIntervalMs: 10, onAttempt }),
        dispatcher({ name: 'b', concurrency: 6, perWebhook: 10, pollIntervalMs: 10, onAttempt, store: new WebhookDeliveryStore(await db.another()) }),
      ]);
      const log = await settled(webhookId, 80);

      expect(log.filter((d) => !(d.status === 'delivered' && d.attempts.length === 1))).toEqual([]);
      expect(log.every((d) => d.status === 'delivered' && d.attempts.length === 1)).toBe(true);
      expect(target.requests).toHaveLength(80);
      expect(new Set(target.requests.map((r) => r.headers['x-event-id'])).size).toBe(80);
      expect(new Set(attemptsBy).size).toBe(80);
      expect(attemptsBy).toHaveLength(80);
    });

    it('refuses a private target unless private targets are allowed: a failed attempt with the reason, nothing sent', async () => {
      const target = await receiver();
      const { webhookId } = webhook(target);
      const { webhookId: byName } = webhook(`http://localhost:${target.port}/hooks`);
      await enqueue(statusEvent(webhookId, 'ses-p', 1), statusEvent(byName, 'ses-p', 1));
      const exhausted: string[] = [];
      await dispatcher({
        allowPrivate: false,
        schedule: retrySchedule({ delaysMs: [10], repeatEveryMs: 10, maxAgeMs: 40, jitter: 'none' }),
        onExhausted: (_id, reason) => {
          exhausted.push(reason);
        },
      });
      const [literal] = await settled(webhookId, 1);
      const [named] = await settled(byName, 1);

      expect(target.requests).toHaveLength(0);
      expect(literal).toMatchObject({ status: 'failed', lastStatusCode: null });
      expect(literal!.lastError).toMatch(/target refused: the target 127\.0\.0\.1 is a loopback address/);
      expect(literal!.attempts[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/^target refused: .*WEBHOOKS_ALLOW_PRIVATE_TARGETS=true/) });
      expect(named!.lastError).toMatch(/target refused: the target localhost \(.+\) is a loopback address/);
      expect(exhausted).toHaveLength(2);
    });

    it('never follows a redirect: a 3xx is a failed attempt and the location is not requested', async () => {
      const target = await receiver((request) => (request.path.startsWith('/moved') ? 200 : { status: 302, headers: { location: '/moved' } }));
      const { webhookId } = webhook(target);
      await enqueue(statusEvent(webhookId, 'ses-r', 1));
      await dispatcher({ schedule: retrySchedule({ delaysMs: [10], repeatEveryMs: 10, maxAgeMs: 30, jitter: 'none' }) });
      const [log] = await settled(webhookId, 1);
      expect(target.requests.every((r) => !r.path.startsWith('/moved'))).toBe(true);
      expect(log).toMatchObject({ status: 'failed', lastStatusCode: 302 });
      expect(log!.attempts[0]!.error).toBe('HTTP 302: redirects are not followed (to /moved)');
    });

    it('times out a receiver that does not answer within the attempt timeout, and tries again', async () => {
      const target = await receiver((_request, index) => (index === 0 ? { status: 200, delayMs: 1_500 } : 200));
      const { webhookId } = webhook(target);
      await enqueue(statusEvent(webhookId, 'ses-slow', 1));
      await dispatcher({ timeoutMs: 200 });
      const [log] = await settled(webhookId, 1);
      expect(log).toMatchObject({ status: 'delivered' });
      expect(log!.attempts[0]).toMatchObject({ statusCode: null, error: 'timed out after 200 ms' });
      expect(log!.attempts[0]!.latencyMs).toBeGreaterThanOrEqual(150);
      expect(log!.attempts[1]).toMatchObject({ statusCode: 200 });
    });

    it('cancels the deliveries of an unknown or inactive webhook without sending them', async () => {
      const target = await receiver();
      const { webhookId: inactive } = webhook(target, { active: false });
      await enqueue(statusEvent(inactive, 'ses-i', 1), statusEvent(inactive, 'ses-j', 1), statusEvent('wh-unknown', 'ses-u', 1));
      await dispatcher();
      expect((await settled(inactive, 2)).map((d) => d.status)).toEqual(['cancelled', 'cancelled']);
      expect((await settled('wh-unknown', 1)).map((d) => d.status)).toEqual(['cancelled']);
      expect(target.requests).toHaveLength(0);
    });

    it('enqueues a redelivered source event once, and a replay again (once per replay request)', async () => {
      const target = await receiver();
      const { webhookId } = webhook(target);
      const event = statusEvent(webhookId, 'ses-rp', 1);
      expect((await enqueue(event))[0]).toMatch(/^\d+$/);
      expect(await enqueue(event)).toEqual([undefined]);
      await dispatcher();
      await settled(webhookId, 1);
      const [replayed] = await enqueue({ ...event, replay: 'replay-1' });
      expect(replayed).toMatch(/^\d+$/);
      expect(await enqueue({ ...event, replay: 'replay-1' })).toEqual([undefined]);
      const log = await settled(webhookId, 2);
      expect(log.map((d) => [d.replay, d.replayId, d.status])).toEqual([
        [true, 'replay-1', 'delivered'],
        [false, null, 'delivered'],
      ]);
      expect(target.requests.map((r) => r.headers['x-event-id'])).toEqual(['ses-rp-e1', 'ses-rp-e1']);
    });

    it('wakes at once on notify(), long before its next poll', async () => {
      const target = await receiver();
      const { webhookId } = webhook(target);
      const worker = await dispatcher({ pollIntervalMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 100)); // its first look found nothing
      await enqueue(statusEvent(webhookId, 'ses-n', 1), statusEvent(webhookId, 'ses-n', 2));
      const started = Date.now();
      worker.notify();
      await settled(webhookId, 2);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(delivered(target).map((r) => bodyOf(r).messagesCount)).toEqual([1, 2]);
    });

    it('a hanging receiver of one webhook does not hold up another webhook', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const hanging = await receiver(async () => {
        await released;
        return 200;
      });
      const fast = await receiver();
      const { webhookId: slowId } = webhook(hanging);
      const { webhookId: fastId } = webhook(fast);
      await enqueue(...Array.from({ length: 6 }, (_, s) => statusEvent(slowId, `ses-h${s}`, 1)));
      await enqueue(...Array.from({ length: 10 }, (_, s) => statusEvent(fastId, `ses-f${s}`, 1)));
      await dispatcher({ concurrency: 8, perWebhook: 4, timeoutMs: 20_000 });
      await settled(fastId, 10);
      expect(hanging.requests.filter((r) => r.status !== 0)).toHaveLength(0); // none answered yet
      expect(hanging.inFlight()).toHaveLength(4); // at most perWebhook of one webhook at once
      release();
      await settled(slowId, 6);
    });

    it('claims only the head of each session, leases it, and fences a lost lease', async () => {
      const { webhookId } = webhook('http://127.0.0.1:9/unused');
      const [a1, a2] = await enqueue(statusEvent(webhookId, 'ses-a', 1), statusEvent(webhookId, 'ses-a', 2), statusEvent(webhookId, 'ses-b', 1));
      const now = new Date();
      const claimed = await store.claimDue(now, 10, 1_000);
      expect(claimed.map((c) => c.eventId).sort()).toEqual(['ses-a-e1', 'ses-b-e1']);
      expect(await store.claimDue(now, 10, 1_000)).toEqual([]); // leased
      const other = await new WebhookDeliveryStore(await db.another()).claimDue(now, 10, 1_000);
      expect(other).toEqual([]);

      // The lease runs out: another claim takes the same heads with a new token; the old one is fenced.
      const later = new Date(now.getTime() + 1_001);
      const reclaimed = await store.claimDue(later, 10, 1_000);
      expect(reclaimed.map((c) => c.id).sort()).toEqual(claimed.map((c) => c.id).sort());
      const stale = claimed.find((c) => c.id === a1)!;
      const fresh = reclaimed.find((c) => c.id === a1)!;
      expect(await store.recordAttempt(stale, { at: later, statusCode: 200, error: null, latencyMs: 3 })).toBeUndefined();
      expect(await store.markDelivered(stale, later)).toBe(false);
      expect(await store.recordAttempt(fresh, { at: later, statusCode: 200, error: null, latencyMs: 3 })).toEqual({ attempts: 1, firstAttemptAt: later });
      expect(await store.markDelivered(fresh, later)).toBe(true);

      // ses-a's second event is next; ses-b's head is still leased.
      const next = await store.claimDue(later, 10, 1_000);
      expect(next.map((c) => c.id)).toEqual([a2]);
      // A rescheduled head stays the head: nothing after it goes before it is due.
      expect(await store.reschedule(next[0]!, new Date(later.getTime() + 5_000))).toBe(true);
      expect((await store.claimDue(new Date(later.getTime() + 2_000), 10, 1_000)).map((c) => c.eventId)).toEqual(['ses-b-e1']);
      expect(await store.cancelPending(webhookId)).toBe(2);
    });

    it('concurrent claims from two connections never hand out one delivery twice', async () => {
      const { webhookId } = webhook('http://127.0.0.1:9/unused');
      await enqueue(...Array.from({ length: 40 }, (_, s) => statusEvent(webhookId, `ses-c${s}`, 1)));
      const stores = [store, new WebhookDeliveryStore(await db.another())];
      const now = new Date();
      const batches = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % 2]!.claimDue(now, 5, 10_000)));
      const ids = batches.flat().map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBeGreaterThan(0);
      const rest = await store.claimDue(now, 100, 10_000);
      expect(ids.length + rest.length).toBe(40);
      expect(rest.filter((c) => ids.includes(c.id))).toEqual([]);
    });

    it('takes turns between webhooks and holds at most perWebhook of one in flight', async () => {
      const busy = webhook('http://127.0.0.1:9/busy').webhookId;
      const quiet = webhook('http://127.0.0.1:9/quiet').webhookId;
      await enqueue(...Array.from({ length: 6 }, (_, s) => statusEvent(busy, `ses-${s}`, 1)));
      await enqueue(statusEvent(quiet, 'ses-q', 1));
      const now = new Date();
      const first = await store.claimDue(now, 3, 10_000, { perWebhook: 2 });
      expect(first.map((c) => c.webhookId).sort()).toEqual([busy, busy, quiet].sort());
      expect(await store.claimDue(now, 10, 10_000, { perWebhook: 2 })).toEqual([]);
      expect(await store.claimDue(now, 10, 10_000, { perWebhook: 3 })).toHaveLength(1);
    });

    it('pages the delivery log newest first', async () => {
      const { webhookId } = webhook('http://127.0.0.1:9/unused');
      const ids = await enqueue(...[1, 2, 3, 4, 5].map((n) => statusEvent(webhookId, 'ses-log', n)));
      const page1 = await store.deliveries(webhookId, { limit: 2 });
      expect(page1.map((d) => d.id)).toEqual([ids[4], ids[3]]);
      const page2 = await store.deliveries(webhookId, { limit: 2, before: page1.at(-1)!.id });
      expect(page2.map((d) => d.id)).toEqual([ids[2], ids[1]]);
      expect(page2[0]).toMatchObject({ status: 'pending', attempts: [], nextAttemptAt: expect.any(Date), firstAttemptAt: null });
      await expect(store.deliveries(webhookId, { before: '1; DROP TABLE x' })).rejects.toThrow(/delivery id/);
    });

    it("counts a replay's deliveries by status from its own index, not by scanning the webhook's kept deliveries", async () => {
      const { webhookId } = webhook('http://127.0.0.1:9/unused');
      const live = [1, 2, 3, 4, 5, 6].map((n) => statusEvent(webhookId, 'ses-cnt', n));
      await enqueue(...live, ...live.slice(0, 4).map((e) => ({ ...e, replay: 'replay-a' })), ...live.slice(0, 2).map((e) => ({ ...e, replay: 'replay-b' })));
      expect(await store.replayCounts(webhookId, 'replay-a')).toEqual({ pending: 4, delivered: 0, failed: 0, cancelled: 0 });
      expect(await store.replayCounts(webhookId, 'replay-b')).toEqual({ pending: 2, delivered: 0, failed: 0, cancelled: 0 });
      expect(await store.cancelPending(webhookId)).toBe(12);
      expect(await store.replayCounts(webhookId, 'replay-a')).toEqual({ pending: 0, delivered: 0, failed: 0, cancelled: 4 });
      expect(await store.replayCounts(webhookId, 'no-such-replay')).toEqual({ pending: 0, delivered: 0, failed: 0, cancelled: 0 });
      // The plan the poll of `svp-ops webhooks replay` gets (sequential scans priced out, as on a big table).
      const plan = await db.sql.transaction(async (tx) => {
        await tx.exec('SET LOCAL enable_seqscan = off');
        const { rows } = await tx.query(`EXPLAIN (FORMAT JSON) ${REPLAY_COUNTS_SQL}`, [webhookId, 'replay-a']);
        return JSON.stringify(rows);
      });
      expect(plan).toContain('webhook_deliveries_replay');
    });
  });
}

