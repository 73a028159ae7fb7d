import { randomUUID } from 'node:crypto';
import type { EventStore, RecordedEvent, Subscription } from '@svp/event-store';
import type { SqlClient } from '@svp/postgres';
import { backoffDelay, delay, exponentialBackoff, type Backoff } from '../backoff.js';
import { errorMessage, stderrLogger, type MessagingLogger } from '../logger.js';
import type { MessageBus, OutgoingMessage } from '../message-bus.js';

export const OUTBOX_MIGRATION = `
CREATE TABLE IF NOT EXISTS msg_outbox_checkpoints (
  name       text        PRIMARY KEY,
  position   bigint      NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS msg_outbox_leases (
  name       text        PRIMARY KEY,
  holder     text        NOT NULL,
  expires_at timestamptz NOT NULL
);
`;

/**
 * Which relay of a name publishes: several instances of a service each run a relay of the same name
 * from the same checkpoint, and without a lease each would publish every event (consumers' inboxes
 * absorb the repeats, but N instances would put every message on the bus N times). The holder
 * renews it every `renewMs`; the others try to take it every `pollMs` and get it once it expired
 * (the holder died) or was released (the holder stopped). Holders overlap only if a holder stalls
 * past `ttlMs` mid-batch: then a batch may be published twice, which stays within at-least-once.
 */
export interface OutboxLeaseOptions {
  /** This relay's name as a holder; a process restarted with the same id takes its own lease back at once. Default: a random id. */
  readonly holder?: string;
  /** How long a lease lasts without renewal. Default 10 s. */
  readonly ttlMs?: number;
  /** How often the holder renews it. Default ttlMs / 3. */
  readonly renewMs?: number;
  /** How often a relay without the lease tries to take it. Default 1 s. */
  readonly pollMs?: number;
}

export interface OutboxRelayOptions {
  /** The checkpoint's and the lease's name: every instance runs it, the lease's holder publishes. */
  name: string;
  store: EventStore;
  /** Where the checkpoint is kept (usually the store's own database). */
  sql: SqlClient;
  bus: MessageBus;
  /**
   * The integration messages of a stored event; [] for events that are not published. Must be pure
   * (it runs again for events republished after a restart). If it throws, the relay stops advancing
   * (nothing is skipped), logs the error and retries with backoff: fix the mapping and redeploy.
   */
  toMessages: (event: RecordedEvent) => readonly OutgoingMessage[];
  /** Messages per publish call. Default 100. */
  batchSize?: number;
  /** How long a partial batch waits for more events while catching up or live. Default 5 ms. */
  lingerMs?: number;
  /**
   * A batch of events with no messages publishes nothing: its checkpoint is stored with the next
   * batch that publishes, on stop, or this long after at most (default 1 s; 0: at once). `checkpoint()`
   * reports it meanwhile; a crash before it is stored only reads those events again.
   */
  deferCheckpointMs?: number;
  /** Wait between retries when publishing, checkpointing or subscribing fails. Default 100 ms doubling to 10 s. */
  retryBackoff?: Backoff;
  logger?: MessagingLogger;
  /**
   * Fault drills only (docs/reliability.md): called when a batch with messages is about to be
   * published (`before-publish`: its events are stored, none of its messages is on the bus) and when it
   * is published but its checkpoint is not stored yet (`after-publish`). The drills kill the process
   * there (SVP_FAULT_CRASH_AT). It must not throw.
   */
  onBatchPoint?: (point: 'before-publish' | 'after-publish') => void;
  /** The lease that lets one relay of this name publish at a time (OutboxLeaseOptions). */
  lease?: OutboxLeaseOptions;
}

interface Pending {
  position: bigint;
  messages: readonly OutgoingMessage[];
}

class Stopped extends Error {}

/**
 * The relay half of the transactional outbox: the event store is the outbox. It subscribes to the
 * store's global log after its checkpoint, publishes each event's messages (in small batches) and
 * only then moves the checkpoint to the last event of the batch. So:
 * - an event appended but not yet published when the process dies is published after the restart
 *   (the checkpoint is still before it);
 * - a death between publish and checkpoint republishes the batch: a duplicate, which consumers'
 *   inboxes absorb (delivery is at least once);
 * - while the broker is down, the same batch is retried with backoff; nothing is skipped and the
 *   process does not crash.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly backoff: Backoff;
  private readonly logger: MessagingLogger;
  private running = false;
  private abort = new AbortController();
  private loop?: Promise<void>;
  private subscription?: Subscription;
  private pending: Pending[] = [];
  private pendingMessages = 0;
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** Set when a flush was abandoned: no later batch may be checkpointed until resubscribing. */
  private broken = false;
  private readonly deferMs: number;
  /** The position of batches without messages, not stored yet. */
  private deferred?: bigint;
  private deferTimer?: NodeJS.Timeout;
  private readonly holder: string;
  private readonly ttlMs: number;
  private readonly renewMs: number;
  private readonly pollMs: number;
  /** Whether this relay holds the lease (as of its last acquire or renewal). */
  private leaseHeld = false;
  /** When the lease was last taken or renewed (Date.now()): past the ttl without a renewal it is not counted on. */
  private leaseRenewedAt = 0;
  private renewTimer?: NodeJS.Timeout;
  /** The renewal in flight: renewals never overlap, and stop() waits for it before releasing. */
  private renewing?: Promise<void>;

  private constructor(private readonly options: OutboxRelayOptions) {
    this.holder = options.lease?.holder ?? randomUUID();
    this.ttlMs = Math.max(3, Math.round(options.lease?.ttlMs ?? 10_000));
    // A renewal must come well inside the ttl, or the lease would change hands between renewals.
    this.renewMs = Math.min(Math.max(1, Math.round(options.lease?.renewMs ?? this.ttlMs / 3)), Math.floor(this.ttlMs / 2));
    this.pollMs = Math.max(1, options.lease?.pollMs ?? 1_000);
    this.batchSize = Math.max(1, options.batchSize ?? 100);
    this.lingerMs = options.lingerMs ?? 5;
    this.deferMs = options.deferCheckpointMs ?? 1_000;
    this.backoff = options.retryBackoff ?? exponentialBackoff({ initialMs: 100, maxMs: 10_000 });
    this.logger = options.logger ?? stderrLogger;
  }

  /** A relay (not started), its checkpoint and lease tables created if missing. */
  static async create(options: OutboxRelayOptions): Promise<OutboxRelay> {
    if (!options.name) throw new Error('An outbox relay needs a name');
    await options.sql.transaction(async (tx) => {
      // Instances starting at once: concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('svp:msg_outbox:setup'))`);
      await tx.exec(OUTBOX_MIGRATION);
    });
    return new OutboxRelay(options);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Whether this relay holds the lease of its name now (the one relay of the name that publishes). */
  get holdsLease(): boolean {
    return this.leaseHeld;
  }

  /** Starts relaying in the background from the stored checkpoint; resolves at once. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  /**
   * Stops: no new batch starts, a publish in flight completes, nothing unpublished is checkpointed.
   * What was not published is published by the next relay with this name.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    clearTimeout(this.flushTimer);
    await this.subscription?.stop().catch(() => undefined);
    await this.flushing;
    await this.loop;
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    await this.flushing; // a deferred write the timer queued meanwhile
    // Events without messages are not read again by the next relay (once: a failure only means they are).
    if (this.deferred !== undefined && this.leaseHeld) await this.writeCheckpoint(this.deferred).catch(() => undefined);
    this.deferred = undefined;
    // Another instance's relay takes over at its next try, not after the lease expires (a renewal in
    // flight lands first: it must not put the row back after the release).
    await this.renewing;
    if (this.leaseHeld) await this.releaseLease().catch(() => undefined);
  }

  /**
   * The global position up to which every event was published: the stored checkpoint, or further
   * when this relay has since passed events without messages whose checkpoint is not stored yet.
   */
  async checkpoint(): Promise<bigint | undefined> {
    const deferred = this.deferred;
    const { rows } = await this.options.sql.query<{ position: bigint | string }>(
      'SELECT position FROM msg_outbox_checkpoints WHERE name = $1',
      [this.options.name],
    );
    const stored = rows[0] === undefined ? undefined : BigInt(rows[0].position);
    return deferred !== undefined && (stored === undefined || deferred > stored) ? deferred : stored;
  }

  /** Head of the store's log minus the checkpoint (in global positions, which may have gaps). */
  async depth(): Promise<bigint> {
    const [head, checkpoint] = await Promise.all([this.options.store.headPosition(), this.checkpoint()]);
    const lag = head - (checkpoint ?? 0n);
    return lag > 0n ? lag : 0n;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      // Only the holder of the lease publishes; the others wait here until it is theirs.
      if (!(await this.awaitLease())) break;
      try {
        const after = await this.retry('read the checkpoint', () => this.checkpoint());
        this.broken = false;
        const subscription = this.options.store.subscribeToAll((event) => this.onEvent(event), {
          after,
          onCaughtUp: () => this.scheduleFlush(0),
          // Live: what reached the head goes now, not after the linger.
          onHead: () => {
            if (this.pending.length > 0) this.scheduleFlush(0);
          },
        });
        this.subscription = subscription;
        if (!this.running || !this.leaseHeld) await subscription.stop();
        await subscription.done;
        failures = 0;
      } catch (error) {
        if (!this.running) break;
        // The lease was lost mid-batch: wait for it again, nothing of the batch is checkpointed.
        if (error instanceof Stopped && !this.leaseHeld) continue;
        if (error instanceof Stopped) break;
        failures++;
        this.logger.error({ relay: this.options.name, err: errorMessage(error), failures }, 'outbox relay subscription failed; resubscribing');
      } finally {
        // Whatever was received but not published is read again after the checkpoint.
        clearTimeout(this.flushTimer);
        this.flushTimer = undefined;
        await this.flushing;
        this.pending = [];
        this.pendingMessages = 0;
      }
      if (this.running && this.leaseHeld) await delay(backoffDelay(this.backoff, Math.max(1, failures)), this.abort.signal);
    }
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /**
   * Takes the lease, or waits (trying every pollMs) until it can; then keeps it renewed. Resolves
   * false when the relay stops first. A renewal that finds the lease taken (this process stalled
   * past its ttl) stops the subscription: no batch starts after it, and the relay waits again.
   */
  private async awaitLease(): Promise<boolean> {
    let failures = 0;
    while (this.running) {
      try {
        const taken = Date.now();
        this.leaseHeld = await this.tryLease();
        if (this.leaseHeld) this.leaseRenewedAt = taken;
        failures = 0;
      } catch (error) {
        failures++;
        if (failures === 1 || failures % 10 === 0) this.logger.warn({ relay: this.options.name, err: errorMessage(error), failures }, 'outbox relay could not take its lease; retrying');
        this.leaseHeld = false;
      }
      if (this.leaseHeld) {
        this.logger.info({ relay: this.options.name, holder: this.holder }, 'outbox relay holds its lease: publishing');
        clearInterval(this.renewTimer);
        this.renewTimer = setInterval(() => {
          // One renewal at a time: a slow database must not stack them (a late answer would undo a newer one).
          if (this.renewing) return;
          this.renewing = this.renewLease().finally(() => (this.renewing = undefined));
        }, this.renewMs);
        this.renewTimer.unref();
        return true;
      }
      await delay(this.pollMs, this.abort.signal);
    }
    return false;
  }

  private async renewLease(): Promise<void> {
    if (!this.running || !this.leaseHeld) return;
    let held: boolean;
    const asked = Date.now();
    try {
      held = await this.tryLease();
      if (held) this.leaseRenewedAt = asked;
    } catch (error) {
      // The database cannot tell now: try again next time, until the lease would have expired (then
      // another instance may hold it: this one stops publishing rather than overlap).
      const expired = Date.now() - this.leaseRenewedAt >= this.ttlMs - this.renewMs;
      this.logger.warn({ relay: this.options.name, err: errorMessage(error), expired }, 'outbox relay could not renew its lease; retrying');
      if (!expired) return;
      held = false;
    }
    if (held || !this.running) return;
    this.leaseHeld = false;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    this.logger.warn({ relay: this.options.name, holder: this.holder }, 'outbox relay lost its lease (another instance holds it): not publishing');
    await this.subscription?.stop().catch(() => undefined);
  }

  /** Takes or renews the lease: this holder's already, or expired, or nobody's. True when this relay holds it now. */
  private async tryLease(): Promise<boolean> {
    const { rows } = await this.options.sql.query<{ holder: string }>(
      `INSERT INTO msg_outbox_leases (name, holder, expires_at) VALUES ($1, $2, now() + $3::int * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE msg_outbox_leases.holder = EXCLUDED.holder OR msg_outbox_leases.expires_at < now()
       RETURNING holder`,
      [this.options.name, this.holder, this.ttlMs],
    );
    return rows.length === 1;
  }

  private async releaseLease(): Promise<void> {
    this.leaseHeld = false;
    await this.options.sql.query('DELETE FROM msg_outbox_leases WHERE name = $1 AND holder = $2', [this.options.name, this.holder]);
  }

  private async onEvent(event: RecordedEvent): Promise<void> {
    if (!this.running || !this.leaseHeld) throw new Stopped();
    const messages = this.options.toMessages(event);
    this.pending.push({ position: event.globalPosition, messages });
    this.pendingMessages += messages.length;
    if (this.pendingMessages >= this.batchSize || this.pending.length >= this.batchSize * 10) {
      await this.flush();
      if (this.broken) throw new Stopped();
    } else {
      this.scheduleFlush(this.lingerMs);
    }
  }

  private scheduleFlush(ms: number): void {
    if (ms === 0) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      void this.flush();
      return;
    }
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, ms);
  }

  /** Queues the pending events as one batch behind any batch in flight (batches never overlap). */
  private flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return this.flushing;
    this.pending = [];
    this.pendingMessages = 0;
    this.flushing = this.flushing.then(() => this.publishBatch(batch));
    return this.flushing;
  }

  private async publishBatch(batch: Pending[]): Promise<void> {
    if (this.broken || !this.running || !this.leaseHeld) {
      this.broken = true;
      return;
    }
    try {
      const messages = batch.flatMap((entry) => entry.messages);
      const position = batch[batch.length - 1]!.position;
      if (messages.length === 0 && this.deferMs > 0) {
        // Nothing to publish: the checkpoint is stored later, with the next batch or on stop.
        this.deferred = position;
        this.deferTimer ??= setTimeout(() => {
          this.deferTimer = undefined;
          this.flushing = this.flushing.then(() => this.writeDeferred());
        }, this.deferMs);
        this.deferTimer.unref();
        return;
      }
      this.options.onBatchPoint?.('before-publish');
      for (let i = 0; i < messages.length; i += this.batchSize) {
        const chunk = messages.slice(i, i + this.batchSize);
        await this.retry('publish', () => this.options.bus.publish(chunk));
      }
      this.options.onBatchPoint?.('after-publish');
      await this.retry('write the checkpoint', () => this.writeCheckpoint(position));
      if (this.deferred !== undefined && this.deferred <= position) this.deferred = undefined;
    } catch (error) {
      // Only Stopped gets here: the batch stays unpublished or unchecked, and so does every later one.
      this.broken = true;
      if (!(error instanceof Stopped)) throw error;
    }
  }

  /** Stores the checkpoint of batches without messages (behind any batch in flight); a failure leaves it for the next try. */
  private async writeDeferred(): Promise<void> {
    const position = this.deferred;
    if (position === undefined || this.broken || !this.running) return; // stop() stores it
    try {
      await this.writeCheckpoint(position);
      if (this.deferred === position) this.deferred = undefined;
    } catch (error) {
      this.logger.warn({ relay: this.options.name, err: errorMessage(error) }, 'outbox relay could not write the checkpoint; it is written with the next batch');
    }
  }

  private async writeCheckpoint(position: bigint): Promise<void> {
    await this.options.sql.query(
      `INSERT INTO msg_outbox_checkpoints (name, position) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET position = GREATEST(msg_outbox_checkpoints.position, EXCLUDED.position), updated_at = now()`,
      [this.options.name, position],
    );
  }

  /** Runs `fn` until it succeeds; throws Stopped when the relay stops while it keeps failing. */
  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!this.running || !this.leaseHeld) throw new Stopped();
        const ms = backoffDelay(this.backoff, attempt);
        const fields = { relay: this.options.name, attempt, retryInMs: ms, err: errorMessage(error) };
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn(fields, `outbox relay could not ${what}; retrying`);
        await delay(ms, this.abort.signal);
        if (!this.running || !this.leaseHeld) throw new Stopped();
      }
    }
  }
}
