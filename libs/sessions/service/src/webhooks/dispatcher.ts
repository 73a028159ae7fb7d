/**
 * The webhook dispatcher: a background worker that claims due deliveries from the
 * `WebhookDeliveryStore` and POSTs them to their receivers.
 *
 * - Polls every `pollIntervalMs` (default 250 ms) and at once after `notify()` (call it after the
 *   transaction that enqueued commits) and after each finished attempt (the next event of that
 *   session may now go).
 * - Sends up to `concurrency` deliveries at once (default 16), and at most `perWebhook` (default 4)
 *   of one webhook across every dispatcher, so a slow or hanging receiver holds a few slots for at
 *   most the attempt timeout and never stalls the other webhooks. Deliveries of one session go one at
 *   a time, in order (the store's claim guarantees it); different sessions go side by side.
 * - One attempt: look the webhook up (unknown or inactive: cancel its pending deliveries); check the
 *   target against the SSRF guard (a refused target is a failed attempt with the reason); render the
 *   body in the webhook's format; sign it (X-Signature, X-Event-Id and the Standard Webhooks headers,
 *   with this attempt's timestamp); POST with `content-type: application/json` and a user-agent,
 *   redirects not followed, within `timeoutMs` (default 5 s) for the whole exchange.
 * - Outcome: 2xx delivered; 410 Gone cancels the webhook's pending deliveries and calls `onGone`
 *   (the service records that the subscription ended); anything else (3xx, 4xx, 5xx, network error,
 *   timeout, refused target) is retried per the schedule, or marked failed with `onExhausted` called
 *   when the schedule gives up.
 *
 * Connections go through an undici Agent whose DNS lookup is `guardedLookup`: a socket only ever
 * connects to an address the guard accepted in that same lookup, so DNS rebinding between the check
 * and the connection cannot reach a private address.
 *
 * At-least-once: a crash between the POST and its recording leaves the delivery leased; when the
 * lease runs out (`leaseMs`, default 3 × timeout + 15 s) another attempt is made. Receivers dedupe
 * on X-Event-Id / webhook-id.
 */
// undici is imported at the first attempt (client()): a sessions service with nothing to deliver
// does not load it (issue 7 f: idle memory).
import type { Agent, fetch as undiciFetch } from 'undici';
import type { ClaimedDelivery, WebhookDeliveryStore } from './delivery-store.js';
import { renderWebhookBody, type WebhookFormat } from './payload.js';
import { DEFAULT_RETRY_SCHEDULE, nextAttemptAt, type RetrySchedule } from './schedule.js';
import { signWebhook } from './signing.js';
import { checkWebhookTarget, guardedLookup, type WebhookTargetOptions } from './ssrf.js';

/** What the dispatcher needs to know about a webhook subscription. */
export interface WebhookEndpoint {
  url: string;
  secret: string;
  format: WebhookFormat;
  /** False once the subscription ended or was disabled: its deliveries are cancelled. */
  active: boolean;
}

export interface AttemptMetrics {
  webhookId: string;
  deliveryId: string;
  /** The HTTP status, or null when there was no response. */
  status: number | null;
  latencyMs: number;
  ok: boolean;
}

export interface WebhookDispatcherOptions {
  store: WebhookDeliveryStore;
  /** The subscription of a webhook; undefined when there is none. */
  lookup: (webhookId: string) => Promise<WebhookEndpoint | undefined> | WebhookEndpoint | undefined;
  /** The receiver answered 410 Gone: end the subscription. Its pending deliveries are already cancelled. */
  onGone?: (webhookId: string) => Promise<void> | void;
  /** A delivery failed for good (the schedule gave up): disable the subscription with this reason. */
  onExhausted?: (webhookId: string, reason: string) => Promise<void> | void;
  /** Called after every attempt (metrics). */
  onAttempt?: (metrics: AttemptMetrics) => void;
  /** Unexpected errors of the loop (the database unreachable, a callback that threw). */
  onError?: (error: unknown) => void;
  /** The worker's name (default `webhook-dispatcher`). */
  name?: string;
  schedule?: RetrySchedule;
  /** WEBHOOKS_ALLOW_PRIVATE_TARGETS. */
  allowPrivate?: boolean;
  /** Resolver for the SSRF guard (tests); default `dns.promises.lookup`. */
  resolve?: WebhookTargetOptions['resolve'];
  /** Per attempt, connection to end of response (default 5000). */
  timeoutMs?: number;
  /** Default 250. */
  pollIntervalMs?: number;
  /** Attempts in flight at once in this dispatcher (default 16). */
  concurrency?: number;
  /** Attempts in flight at once for one webhook, across all dispatchers (default 4). */
  perWebhook?: number;
  /** How long a claim holds a delivery (default 3 × timeoutMs + 15 s). */
  leaseMs?: number;
  userAgent?: string;
  now?: () => Date;
  random?: () => number;
}

export const DEFAULT_USER_AGENT = 'svp-webhooks/1.0 (+IM_Session_Status)';
/** How much of a failed response's body is kept in the log. */
const ERROR_BODY_LIMIT = 256;

export class WebhookDispatcher {
  readonly name: string;
  private readonly store: WebhookDeliveryStore;
  private readonly schedule: RetrySchedule;
  private readonly timeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly perWebhook: number;
  private readonly leaseMs: number;
  private readonly userAgent: string;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly target: WebhookTargetOptions;
  /** undici's fetch and the guarded Agent, made at the first attempt after start(). */
  private http?: Promise<{ agent: Agent; fetch: typeof undiciFetch }>;
  private running = false;
  private loopDone?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private woken = false;
  private wake?: () => void;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.name = options.name ?? 'webhook-dispatcher';
    this.store = options.store;
    this.schedule = options.schedule ?? DEFAULT_RETRY_SCHEDULE;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.perWebhook = Math.max(1, options.perWebhook ?? 4);
    this.leaseMs = options.leaseMs ?? this.timeoutMs * 3 + 15_000;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.target = { allowPrivate: options.allowPrivate ?? false, resolve: options.resolve };
    if (this.leaseMs <= this.timeoutMs) throw new Error('leaseMs must be longer than timeoutMs');
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  private client(): Promise<{ agent: Agent; fetch: typeof undiciFetch }> {
    if (this.http) return this.http;
    const http = import('undici').then(({ Agent, fetch }) => ({
      fetch,
      agent: new Agent({
        connect: { lookup: guardedLookup(this.target), timeout: this.timeoutMs },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        keepAliveTimeout: 10_000,
      }),
    }));
    // A failed import is the attempt's error (recorded, retried), and the next attempt imports again.
    http.catch(() => {
      if (this.http === http) this.http = undefined;
    });
    this.http = http;
    return http;
  }

  /** Stops claiming, lets the attempts in flight finish (each within the timeout), and closes connections. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.notify();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight]);
    const http = this.http;
    this.http = undefined;
    if (http) await http.then(({ agent }) => agent.close()).catch(() => undefined);
  }

  /** Look for due deliveries now (call after an enqueue commits). */
  notify(): void {
    this.woken = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const free = this.concurrency - this.inFlight.size;
      let claimed: ClaimedDelivery[] = [];
      if (free > 0) {
        try {
          claimed = await this.store.claimDue(this.now(), free, this.leaseMs, { perWebhook: this.perWebhook });
        } catch (error) {
          this.reportError(error);
        }
        for (const delivery of claimed) this.launch(delivery);
      }
      // A full batch may mean more are due: look again at once (when there is room).
      if (claimed.length > 0 && claimed.length === free) continue;
      await this.sleep();
    }
  }

  private launch(delivery: ClaimedDelivery): void {
    const task: Promise<void> = this.attempt(delivery)
      .catch((error: unknown) => this.reportError(error))
      .finally(() => {
        this.inFlight.delete(task);
        this.notify();
      });
    this.inFlight.add(task);
  }

  private sleep(): Promise<void> {
    if (this.woken || !this.running) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, this.pollIntervalMs);
      this.wake = done;
    });
  }

  /** One attempt of one claimed delivery, and its outcome recorded. */
  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const endpoint = await this.options.lookup(delivery.webhookId);
    if (!endpoint || !endpoint.active) {
      await this.store.cancelPending(delivery.webhookId);
      return;
    }
    const at = this.now();
    const result = await this.send(delivery, endpoint, at);
    const recorded = await this.store.recordAttempt(delivery, { at, ...result });
    this.options.onAttempt?.({
      webhookId: delivery.webhookId,
      deliveryId: delivery.id,
      status: result.statusCode,
      latencyMs: result.latencyMs,
      ok: result.ok,
    });
    if (!recorded) return; // the lease ran out and another dispatcher owns the delivery now
    if (result.ok) {
      await this.store.markDelivered(delivery, this.now());
      return;
    }
    if (result.statusCode === 410) {
      await this.store.cancelPending(delivery.webhookId);
      await this.options.onGone?.(delivery.webhookId);
      return;
    }
    const next = nextAttemptAt(recorded.attempts, recorded.firstAttemptAt, this.now(), this.random, this.schedule);
    if (next) {
      await this.store.reschedule(delivery, next);
      return;
    }
    const reason = `gave up after ${recorded.attempts} attempt${recorded.attempts === 1 ? '' : 's'} since ${recorded.firstAttemptAt.toISOString()}: ${result.error ?? `HTTP ${result.statusCode}`}`;
    if (await this.store.markFailed(delivery, reason)) await this.options.onExhausted?.(delivery.webhookId, reason);
  }

  private async send(
    delivery: ClaimedDelivery,
    endpoint: WebhookEndpoint,
    at: Date,
  ): Promise<{ ok: boolean; statusCode: number | null; error: string | null; latencyMs: number }> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const check = await checkWebhookTarget(endpoint.url, this.target);
    if (!check.ok) return { ok: false, statusCode: null, error: `target refused: ${check.reason}`, latencyMs: elapsed() };
    let body: string;
    try {
      body = renderWebhookBody(delivery.body, endpoint.format);
    } catch (error) {
      return { ok: false, statusCode: null, error: `cannot render the body: ${messageOf(error)}`, latencyMs: elapsed() };
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': this.userAgent,
      ...signWebhook({ body, secret: endpoint.secret, eventId: delivery.eventId, at }),
    };
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const { agent, fetch } = await this.client();
      const response = await fetch(check.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal,
        dispatcher: agent,
      });
      const excerpt = await readExcerpt(response.body, ERROR_BODY_LIMIT);
      const status = response.status;
      if (status >= 200 && status < 300) return { ok: true, statusCode: status, error: null, latencyMs: elapsed() };
      const what =
        status >= 300 && status < 400
          ? `HTTP ${status}: redirects are not followed${response.headers.get('location') ? ` (to ${response.headers.get('location')})` : ''}`
          : `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`;
      return { ok: false, statusCode: status, error: what, latencyMs: elapsed() };
    } catch (error) {
      const message = signal.aborted ? `timed out after ${this.timeoutMs} ms` : networkError(error);
      return { ok: false, statusCode: null, error: message, latencyMs: elapsed() };
    }
  }

  private reportError(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // a failing error hook must not stop the dispatcher
    }
  }
}

/** The first `limit` characters of a response body (then the rest is dropped unread). */
async function readExcerpt(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, limit).replace(/\s+/g, ' ').trim();
}

/** undici reports "fetch failed" with the real reason in `cause` (ECONNREFUSED, a refused lookup, …). */
function networkError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const inner = cause instanceof Error ? cause : error;
  const code = (inner as { code?: string }).code;
  if (code === 'EWEBHOOKTARGETREFUSED') return `target refused: ${messageOf(inner)}`;
  return code && !messageOf(inner).includes(code) ? `${code}: ${messageOf(inner)}` : messageOf(inner);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
