import { dlqTopic } from '@svp/contracts';
import { delay, exponentialBackoff, type Backoff } from '../backoff.js';
import { handleUntilDone } from '../internal/handle-until-done.js';
import { errorMessage, stderrLogger, type MessagingLogger } from '../logger.js';
import type { Consumer, ConsumerOptions, IncomingMessage, MessageBus, MessageHeaders, OutgoingMessage } from '../message-bus.js';
import { partitionForKey } from './partitioner.js';

export interface InProcessMessageBusOptions {
  /** Partitions of a topic created by ensureTopics or on first use. Default 3. */
  numPartitions?: number;
  /**
   * Messages kept per partition; older ones are dropped, as Kafka's retention drops them (a group
   * whose committed offset fell behind restarts at the oldest kept one). Default 100,000.
   */
  retentionPerPartition?: number;
  /** Wait between retries of a throwing handler. Default 100 ms doubling up to 5 s. */
  retryBackoff?: Backoff;
  logger?: MessagingLogger;
}

/**
 * The in-process transport of the embedded single-process mode, with Kafka's semantics where the
 * contract depends on them: topics split into partitions by key hash (Kafka's murmur2), order per
 * partition, consumer groups sharing a topic's partitions, and per-group committed offsets kept for
 * the bus's lifetime, so a consumer restarted in the same group resumes where it stopped. Nothing
 * survives the process: durability in the embedded mode comes from the outbox (the event store
 * keeps the events; the relay republishes what was not checkpointed).
 */
export class InProcessMessageBus implements MessageBus {
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly groups = new Map<string, Group>();
  private readonly numPartitions: number;
  private readonly retention: number;
  readonly retryBackoff: Backoff;
  readonly logger: MessagingLogger;
  private roundRobin = 0;
  private closed = false;

  constructor(options: InProcessMessageBusOptions = {}) {
    this.numPartitions = options.numPartitions ?? 3;
    this.retention = options.retentionPerPartition ?? 100_000;
    this.retryBackoff = options.retryBackoff ?? exponentialBackoff({ initialMs: 100, maxMs: 5000 });
    this.logger = options.logger ?? stderrLogger;
    if (!Number.isInteger(this.numPartitions) || this.numPartitions < 1) throw new Error('numPartitions must be a positive integer');
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    // Validate all first, then append all: a publish call is all or nothing.
    for (const message of messages) {
      if (!message.topic) throw new Error('A message needs a topic');
      if (typeof message.value !== 'string') throw new Error(`The value of a message to '${message.topic}' must be a string`);
    }
    for (const message of messages) {
      const partitions = this.topic(message.topic);
      const partition =
        message.key === null ? this.roundRobin++ % partitions.length : partitionForKey(message.key, partitions.length);
      partitions[partition]!.append(
        { key: message.key, value: message.value, headers: { ...(message.headers ?? {}) } },
        this.retention,
      );
    }
  }

  async consume(options: ConsumerOptions): Promise<Consumer> {
    this.assertOpen();
    if (options.topics.length === 0) throw new Error('A consumer needs at least one topic');
    for (const topic of options.topics) this.topic(topic);
    let group = this.groups.get(options.groupId);
    if (!group) {
      group = new Group(options.groupId, this);
      this.groups.set(options.groupId, group);
    }
    const member = new Member(group, this, options);
    group.join(member);
    return member;
  }

  async ensureTopics(topics: readonly string[]): Promise<void> {
    this.assertOpen();
    for (const topic of topics) {
      this.topic(topic);
      if (!topic.endsWith('.dlq')) this.topic(dlqTopic(topic));
    }
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.groups.values()].flatMap((group) => [...group.members].map((member) => member.stop())));
  }

  /** The partitions of a topic, created on first use. */
  partitions(topic: string): readonly PartitionLog[] {
    return this.topic(topic);
  }

  private topic(name: string): PartitionLog[] {
    let partitions = this.topics.get(name);
    if (!partitions) {
      partitions = Array.from({ length: this.numPartitions }, () => new PartitionLog());
      this.topics.set(name, partitions);
    }
    return partitions;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The in-process message bus is closed');
  }
}

interface StoredMessage {
  key: string | null;
  value: string;
  headers: MessageHeaders;
}

/** One partition: an append-only log with offsets, and wake-ups for the consumers waiting at its end. */
class PartitionLog {
  /** Offset of messages[0]. */
  private base = 0;
  private readonly messages: StoredMessage[] = [];
  private readonly waiters = new Set<() => void>();

  get start(): number {
    return this.base;
  }

  get end(): number {
    return this.base + this.messages.length;
  }

  append(message: StoredMessage, retention: number): number {
    const offset = this.end;
    this.messages.push(message);
    // Trim in chunks so that appending stays O(1) amortised.
    if (this.messages.length > retention + Math.max(1, Math.floor(retention / 10))) {
      const drop = this.messages.length - retention;
      this.messages.splice(0, drop);
      this.base += drop;
    }
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    return offset;
  }

  at(offset: number): StoredMessage | undefined {
    return this.messages[offset - this.base];
  }

  /** Resolves on the next append or when `signal` aborts. */
  waitForAppend(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener('abort', wake);
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }
}

/** A consumer group: committed offsets per topic-partition, and members sharing the partitions. */
class Group {
  readonly committed = new Map<string, number>();
  readonly members = new Set<Member>();
  private rebalancing: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly bus: InProcessMessageBus,
  ) {}

  join(member: Member): void {
    this.members.add(member);
    void this.rebalance();
  }

  async leave(member: Member): Promise<void> {
    this.members.delete(member);
    await member.revoke();
    await this.rebalance();
  }

  /** Revokes every member's partitions (waiting for in-flight handlers), then deals them out again. */
  rebalance(): Promise<void> {
    this.rebalancing = this.rebalancing.catch(() => undefined).then(async () => {
      const members = [...this.members];
      await Promise.all(members.map((member) => member.revoke()));
      const assignments = new Map<Member, Array<{ topic: string; partition: number }>>(members.map((m) => [m, []]));
      const topics = [...new Set(members.flatMap((member) => member.topics))].sort();
      let next = 0;
      for (const topic of topics) {
        const eligible = members.filter((member) => member.topics.includes(topic));
        const count = this.bus.partitions(topic).length;
        for (let partition = 0; partition < count; partition++) {
          assignments.get(eligible[next++ % eligible.length]!)!.push({ topic, partition });
        }
      }
      for (const [member, assigned] of assignments) member.assign(assigned);
    });
    return this.rebalancing;
  }
}

/** One consumer: a worker per assigned partition, each handling its partition's messages in order. */
class Member implements Consumer {
  readonly ready: Promise<void>;
  readonly topics: readonly string[];
  private resolveReady!: () => void;
  private workers: Promise<void>[] = [];
  private controller?: AbortController;
  private stopping?: Promise<void>;
  private readonly slots: Semaphore;

  constructor(
    private readonly group: Group,
    private readonly bus: InProcessMessageBus,
    private readonly options: ConsumerOptions,
  ) {
    this.topics = [...options.topics];
    this.slots = new Semaphore(Math.max(1, options.concurrency ?? 1));
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  assign(partitions: Array<{ topic: string; partition: number }>): void {
    if (this.stopping) return;
    const controller = new AbortController();
    this.controller = controller;
    this.workers = partitions.map(({ topic, partition }) =>
      this.work(topic, partition, controller.signal).catch((error: unknown) => {
        // Not expected (handler errors are retried inside); logged so a bug cannot stall a group silently.
        this.bus.logger.error({ groupId: this.group.id, topic, partition, err: errorMessage(error) }, 'in-process partition worker failed');
      }),
    );
    this.resolveReady();
  }

  async revoke(): Promise<void> {
    this.controller?.abort();
    await Promise.all(this.workers);
    this.workers = [];
  }

  stop(): Promise<void> {
    this.stopping ??= this.group.leave(this).then(() => this.resolveReady());
    return this.stopping;
  }

  private async work(topic: string, partition: number, signal: AbortSignal): Promise<void> {
    const log = this.bus.partitions(topic)[partition]!;
    const key = `${topic}\u0000${partition}`;
    let offset = this.group.committed.get(key);
    if (offset === undefined) {
      // No committed offset: start where the group starts, and remember it so a later rebalance
      // does not skip what arrived in between (with fromBeginning: false).
      offset = this.options.fromBeginning === false ? log.end : log.start;
      this.group.committed.set(key, offset);
    }
    while (!signal.aborted) {
      if (offset < log.start) offset = log.start;
      const stored = log.at(offset);
      if (!stored) {
        await log.waitForAppend(signal);
        continue;
      }
      const release = await this.slots.acquire(signal);
      if (!release) break;
      let handled: boolean;
      try {
        const message: IncomingMessage = {
          topic,
          partition,
          offset: String(offset),
          key: stored.key,
          value: stored.value,
          headers: { ...stored.headers },
        };
        handled = await handleUntilDone(this.options.handler, message, {
          backoff: this.bus.retryBackoff,
          logger: this.bus.logger,
          canContinue: () => !signal.aborted,
          wait: (ms) => delay(ms, signal),
        });
      } finally {
        release();
      }
      if (!handled) break;
      offset += 1;
      this.group.committed.set(key, offset);
    }
  }
}

/** At most `size` holders at a time; waiting can be abandoned through a signal. */
class Semaphore {
  private readonly queue: Array<() => void> = [];

  constructor(private available: number) {}

  async acquire(signal: AbortSignal): Promise<(() => void) | undefined> {
    if (signal.aborted) return undefined;
    if (this.available > 0) {
      this.available--;
      return this.releaser();
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', cancel);
        resolve(this.releaser());
      };
      const cancel = () => {
        const index = this.queue.indexOf(grant);
        if (index >= 0) this.queue.splice(index, 1);
        resolve(undefined);
      };
      this.queue.push(grant);
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.available++;
    };
  }
}
