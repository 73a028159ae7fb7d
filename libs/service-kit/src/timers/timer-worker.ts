import { type Backoff, backoffDelay, errorMessage, exponentialBackoff } from '@svp/messaging';
import type { Worker } from '../runtime.js';
import type { Logger } from 'pino';
import type { ClaimedTimer, TimerStore } from './timer-store.js';

export interface TimerWorkerOptions {
  store: TimerStore;
  /**
   * Fires one timer. Called outside any transaction (it may open its own). Must be idempotent: a
   * timer fires at least once (again after a crash, or when the handler outlives its lease). When it
   * throws, the timer is retried with backoff; when it resolves, the timer is deleted unless it was
   * scheduled again meanwhile (by the handler itself, or by new activity).
   */
  fire: (timer: ClaimedTimer) => Promise<void>;
  logger: Logger;
  /** The worker's name (logs, runtime). Default 'timers'. */
  name?: string;
  /** How often to look for due timers. Default 250 ms. */
  pollMs?: number;
  /** Timers claimed (and fired concurrently) per poll. Default 50. */
  batchSize?: number;
  /** How long a claim holds a timer; a handler still running after that may see it fired again elsewhere. Default 60 s. */
  leaseMs?: number;
  /** Wait before retry number n of a failed timer. Default 1 s doubling, capped at 5 min, with jitter. */
  retryBackoff?: Backoff;
  /** The clock that decides what is due. Default the system clock. */
  now?: () => Date;
}

/** Waits after a failed poll (database unreachable): pollMs doubling, capped. */
const MAX_POLL_BACKOFF_MS = 10_000;

/**
 * Fires durable timers: polls the store every `pollMs` (or at once on `wake()`), claims the due timers,
 * fires them through `fire`, then completes them, or records the failure and retries with backoff.
 * Several workers (instances) may run on one database: each timer is claimed by one at a time.
 */
export class TimerWorker implements Worker {
  readonly name: string;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly backoff: Backoff;
  private readonly now: () => Date;
  private running = false;
  private loop?: Promise<void>;
  /** Callers of wake() waiting for a poll that starts after their call. */
  private wakers: Array<() => void> = [];
  private interruptSleep?: () => void;

  constructor(private readonly options: TimerWorkerOptions) {
    this.name = options.name ?? 'timers';
    this.pollMs = Math.max(1, options.pollMs ?? 250);
    this.batchSize = Math.max(1, options.batchSize ?? 50);
    this.leaseMs = Math.max(1, options.leaseMs ?? 60_000);
    this.backoff = options.retryBackoff ?? exponentialBackoff({ initialMs: 1000, maxMs: 5 * 60_000 });
    this.now = options.now ?? (() => new Date());
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Creates the table if missing, then polls in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.options.store.setup();
    this.running = true;
    this.loop = this.run();
  }

  /** Stops polling and waits for the handlers in flight (their timers are completed or failed). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.interruptSleep?.();
    await this.loop;
    this.loop = undefined;
    this.releaseWakers(this.wakers.splice(0));
  }

  /**
   * Polls at once (e.g. right after scheduling a timer that is already due). Resolves when a poll that
   * started after this call has finished, the timers it claimed fired and settled; at once when stopped.
   */
  wake(): Promise<void> {
    if (!this.running) return Promise.resolve();
    const polled = new Promise<void>((resolve) => this.wakers.push(resolve));
    this.interruptSleep?.();
    return polled;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const waiting = this.wakers.splice(0);
      let claimed = 0;
      try {
        claimed = await this.pollOnce();
        failures = 0;
      } catch (error) {
        failures++;
        this.options.logger.error({ err: error, worker: this.name, failures }, 'polling durable timers failed; retrying');
      } finally {
        this.releaseWakers(waiting);
      }
      if (!this.running) break;
      // A full batch: more may be due already. A wake() during the poll: poll again for it.
      if (failures === 0 && (claimed >= this.batchSize || this.wakers.length > 0)) continue;
      await this.sleep(failures === 0 ? this.pollMs : Math.min(MAX_POLL_BACKOFF_MS, this.pollMs * 2 ** (failures - 1)));
    }
  }

  private async pollOnce(): Promise<number> {
    const timers = await this.options.store.claimDue(this.now(), this.batchSize, this.leaseMs);
    await Promise.all(timers.map((timer) => this.fireOne(timer)));
    return timers.length;
  }

  private async fireOne(timer: ClaimedTimer): Promise<void> {
    const { store, logger } = this.options;
    const fields = { worker: this.name, timer: timer.key, kind: timer.kind, dueAt: timer.dueAt.toISOString(), attempts: timer.attempts };
    try {
      await this.options.fire(timer);
    } catch (error) {
      const retryAt = new Date(this.now().getTime() + backoffDelay(this.backoff, timer.attempts));
      logger.error({ ...fields, err: error, retryAt: retryAt.toISOString() }, 'durable timer handler failed; retrying');
      try {
        await store.fail(timer, errorMessage(error), retryAt);
      } catch (failError) {
        logger.error({ ...fields, err: failError }, 'recording a durable timer failure failed; it fires again when its lease expires');
      }
      return;
    }
    try {
      const deleted = await store.complete(timer);
      if (!deleted) logger.debug(fields, 'durable timer changed while firing; its new schedule stays');
    } catch (error) {
      logger.error({ ...fields, err: error }, 'completing a durable timer failed; it fires again when its lease expires');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.interruptSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.interruptSleep = done;
    });
  }

  private releaseWakers(wakers: Array<() => void>): void {
    for (const resolve of wakers) resolve();
  }
}
