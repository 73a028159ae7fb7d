import { dlqTopic } from '@svp/contracts';
import { backoffDelay, delay, exponentialBackoff, type Backoff } from '../backoff.js';
import { handleUntilDone } from '../internal/handle-until-done.js';
import { errorMessage, stderrLogger, type MessagingLogger } from '../logger.js';
import { type ConsumerGroupLag, type ConsumerGroupRef, groupLag } from '../consumer-lag.js';
import type { Consumer, ConsumerOptions, IncomingMessage, MessageBus, OutgoingMessage } from '../message-bus.js';
import { MemoryMessageLog, type LogAppend, type MessageLog } from './message-log.js';
import { partitionForKey } from './partitioner.js';

export interface InProcessMessageBusOptions {
  /**
   * Where topics, messages and committed offsets are kept. Default: a `MemoryMessageLog` (nothing
   * survives the process). The embedded platform passes a `SqlMessageLog` (survives restarts).
   * The bus owns the log: `close()` closes it.
   */
  log?: MessageLog;
  /** Partitions of a topic created by ensureTopics or on first use. Default 3. */
  numPartitions?: number;
  /** Wait between retries of a throwing handler. Default 100 ms doubling up to 5 s. */
  retryBackoff?: Backoff;
  /** Messages a partition worker reads from the log at a time. Default 100. */
  readBatchSize?: number;
  logger?: MessagingLogger;
}

/** The longest a partition worker keeps handled messages uncommitted while it works through a batch. */
export const COMMIT_INTERVAL_MS = 1000;

/**
 * The transport of the embedded single-process mode, with Kafka's semantics where the contract
 * depends on them: topics split into partitions by key hash (Kafka's murmur2), order per partition,
 * consumer groups sharing a topic's partitions (membership is coordinated inside this process), and
 * per-group committed offsets, committed once the handlers of a batch resolved (at least every
 * second within a batch, before a failed handler is retried, and on stop). Messages and offsets live in a `MessageLog`: in memory by
 * default, or in SQL tables (`SqlMessageLog`), so that what was published and not yet handled
 * survives a restart or a crash.
 */
export class InProcessMessageBus implements MessageBus {
  readonly log: MessageLog;
  readonly retryBackoff: Backoff;
  readonly readBatchSize: number;
  readonly logger: MessagingLogger;
  private readonly numPartitions: number;
  private readonly partitionCounts = new Map<string, number>();
  private readonly groups = new Map<string, Group>();
  private roundRobin = 0;
  private closed = false;

  constructor(options: InProcessMessageBusOptions = {}) {
    this.log = options.log ?? new MemoryMessageLog();
    this.numPartitions = options.numPartitions ?? 3;
    this.retryBackoff = options.retryBackoff ?? exponentialBackoff({ initialMs: 100, maxMs: 5000 });
    this.readBatchSize = Math.max(1, options.readBatchSize ?? 100);
    this.logger = options.logger ?? stderrLogger;
    if (!Number.isInteger(this.numPartitions) || this.numPartitions < 1) throw new Error('numPartitions must be a positive integer');
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    // Validate all first, then append all in one call: a publish call is all or nothing.
    for (const message of messages) {
      if (!message.topic) throw new Error('A message needs a topic');
      if (typeof message.value !== 'string') throw new Error(`The value of a message to '${message.topic}' must be a string`);
    }
    if (messages.length === 0) return;
    const entries: LogAppend[] = [];
    for (const message of messages) {
      const count = await this.partitionCount(message.topic);
      const partition = message.key === null ? this.roundRobin++ % count : partitionForKey(message.key, count);
      entries.push({ topic: message.topic, partition, key: message.key, value: message.value, headers: { ...(message.headers ?? {}) } });
    }
    await this.log.append(entries);
  }

  async consume(options: ConsumerOptions): Promise<Consumer> {
    this.assertOpen();
    if (options.topics.length === 0) throw new Error('A consumer needs at least one topic');
    const partitions = new Map<string, number>();
    for (const topic of options.topics) partitions.set(topic, await this.partitionCount(topic));
    this.assertOpen();
    let group = this.groups.get(options.groupId);
    if (!group) {
      group = new Group(options.groupId);
      this.groups.set(options.groupId, group);
    }
    const member = new Member(group, this, options, partitions);
    group.join(member);
    return member;
  }

  async ensureTopics(topics: readonly string[]): Promise<void> {
    this.assertOpen();
    for (const topic of topics) {
      await this.partitionCount(topic);
      if (!topic.endsWith('.dlq')) await this.partitionCount(dlqTopic(topic));
    }
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    return this.log.ping().catch(() => false);
  }

  /** Each group's committed offsets against the log's ends (consumer-lag.ts). */
  async consumerLag(groups: readonly ConsumerGroupRef[]): Promise<ConsumerGroupLag[]> {
    this.assertOpen();
    return Promise.all(
      groups.map(async (group) => {
        const offsets = [];
        for (const topic of group.topics)
          for (const p of await this.log.groupOffsets(group.groupId, topic))
            offsets.push({ topic, partition: p.partition, low: BigInt(p.low), high: BigInt(p.high), committed: p.committed === null ? null : BigInt(p.committed) });
        return groupLag(group, offsets);
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.groups.values()].flatMap((group) => [...group.members].map((member) => member.stop())));
    await this.log.close();
  }

  /** The partition count of a topic, which is created (in the log) on first use. */
  private async partitionCount(topic: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (count === undefined) {
      count = await this.log.ensureTopic(topic, this.numPartitions);
      this.partitionCounts.set(topic, count);
    }
    return count;
  }

  /** Deletes an ephemeral group's offsets (its last member stopped); a failure is logged, never thrown. */
  async forgetGroup(groupId: string): Promise<void> {
    if (this.groups.get(groupId)?.members.size === 0) this.groups.delete(groupId);
    await this.log.forgetGroup(groupId).catch((error: unknown) => this.logger.warn({ groupId, err: errorMessage(error) }, 'could not delete an ephemeral group\'s offsets'));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The in-process message bus is closed');
  }
}

/** A consumer group's members in this process, sharing the partitions of their topics. */
class Group {
  readonly members = new Set<Member>();
  private rebalancing: Promise<void> = Promise.resolve();

  constructor(readonly id: string) {}

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
        const count = eligible[0]!.partitionCount(topic);
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
    private readonly partitions: ReadonlyMap<string, number>,
  ) {
    this.topics = [...options.topics];
    this.slots = new Semaphore(Math.max(1, options.concurrency ?? 1));
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  partitionCount(topic: string): number {
    return this.partitions.get(topic)!;
  }

  assign(partitions: Array<{ topic: string; partition: number }>): void {
    if (this.stopping) return;
    const controller = new AbortController();
    this.controller = controller;
    this.workers = partitions.map(({ topic, partition }) =>
      this.work(topic, partition, controller.signal).catch((error: unknown) => {
        // Not expected (handler and log errors are retried inside); logged so a bug cannot stall a group silently.
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
    this.stopping ??= this.group
      .leave(this)
      .then(async () => {
        // An ephemeral group leaves nothing behind once its (last) consumer stopped.
        if (this.options.ephemeral && this.group.members.size === 0) await this.bus.forgetGroup(this.group.id);
      })
      .then(() => this.resolveReady());
    return this.stopping;
  }

  /**
   * Handles one partition from the group's committed offset on. The offset after the messages
   * handled is committed at the end of each batch read, when a commit is older than
   * COMMIT_INTERVAL_MS, before a failed handler is retried, and when the worker stops (at least
   * once: a crash before a commit redelivers what was handled since the last one; the inbox absorbs
   * it). One commit per message made a consumer on the SQL log (PGlite: one connection for
   * everything) write a row per message.
   */
  private async work(topic: string, partition: number, signal: AbortSignal): Promise<void> {
    const { log } = this.bus;
    const groupId = this.group.id;
    const joined = await this.retryLog(signal, 'read the committed offset', { topic, partition }, () =>
      log.join(groupId, topic, partition, this.options.fromBeginning !== false),
    );
    if (!joined) return;
    let offset = joined.value;
    let committedOffset = offset;
    let committedAt = Date.now();
    /** Commits the offset after the last message handled, if not committed yet; false when stopped while it kept failing. */
    const commit = async (): Promise<boolean> => {
      if (offset === committedOffset) return true;
      const next = offset;
      const committed = await this.retryLog(signal, 'commit an offset', { topic, partition, offset: next }, () => log.commit(groupId, topic, partition, next));
      // Stopped while the commit kept failing: the messages since the last commit are delivered again later (at least once).
      if (!committed) return false;
      committedOffset = next;
      committedAt = Date.now();
      return true;
    };
    try {
      while (!signal.aborted) {
        const version = log.version(topic);
        const batch = await this.retryLog(signal, 'read messages', { topic, partition, offset }, () =>
          log.read(topic, partition, offset, this.bus.readBatchSize),
        );
        if (!batch) return;
        if (batch.value.length === 0) {
          await log.waitForAppend(topic, version, signal);
          continue;
        }
        // The interval counts from the oldest message not committed (not from an idle wait's start).
        if (offset === committedOffset) committedAt = Date.now();
        for (const stored of batch.value) {
          const release = await this.slots.acquire(signal);
          if (!release) return;
          let handled: boolean;
          try {
            const message: IncomingMessage = {
              topic,
              partition,
              offset: String(stored.offset),
              key: stored.key,
              value: stored.value,
              headers: { ...stored.headers },
            };
            handled = await handleUntilDone(this.options.handler, message, {
              backoff: this.bus.retryBackoff,
              logger: this.bus.logger,
              context: { groupId },
              canContinue: () => !signal.aborted,
              // A handler that fails (and is retried in place) holds up its partition: what was
              // handled before it is committed first, so the lag shows only what waits.
              wait: async (ms) => {
                await commit();
                await delay(ms, signal);
              },
            });
          } finally {
            release();
          }
          if (!handled) return;
          offset = stored.offset + 1;
          if (Date.now() - committedAt >= COMMIT_INTERVAL_MS && !(await commit())) return;
        }
        if (!(await commit())) return;
      }
    } finally {
      // Stopped or revoked: what was handled is committed (tried once more even when stopping), so
      // the next member of the group goes on after it.
      await commit();
    }
  }

  /**
   * Runs a log operation until it succeeds (the log's storage may be briefly unavailable), with the
   * bus's backoff; undefined when the worker was stopped meanwhile. Always tries at least once.
   */
  private async retryLog<T>(
    signal: AbortSignal,
    what: string,
    fields: Record<string, unknown>,
    operation: () => Promise<T>,
  ): Promise<{ value: T } | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { value: await operation() };
      } catch (error) {
        if (signal.aborted) return undefined;
        const ms = backoffDelay(this.bus.retryBackoff, attempt);
        this.bus.logger.warn(
          { groupId: this.group.id, ...fields, attempt, retryInMs: ms, err: errorMessage(error) },
          `in-process consumer could not ${what}; retrying`,
        );
        await delay(ms, signal);
        if (signal.aborted) return undefined;
      }
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
