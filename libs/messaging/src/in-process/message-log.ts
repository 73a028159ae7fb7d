import { TopicSignals } from '../internal/topic-signals.js';
import type { MessageHeaders } from '../message-bus.js';

/** A message as the log keeps it, with its offset in its partition. */
export interface LoggedMessage {
  offset: number;
  key: string | null;
  value: string;
  headers: MessageHeaders;
}

/** A message to append, its partition already chosen (by the bus, from its key). */
export interface LogAppend {
  topic: string;
  partition: number;
  key: string | null;
  value: string;
  headers: MessageHeaders;
}

/**
 * Where the in-process bus keeps its topics, messages and the consumer groups' committed offsets.
 * The bus does the rest (partitioning, group membership, one worker per partition, retries).
 * Two implementations: `MemoryMessageLog` (nothing survives the process) and `SqlMessageLog`
 * (tables on the SqlClient port: survives restarts and crashes).
 */
export interface MessageLog {
  /** Creates the topic with `numPartitions` partitions if missing; answers its partition count. */
  ensureTopic(topic: string, numPartitions: number): Promise<number>;
  /** Appends every message to its (existing) topic and partition, in order; all or nothing. */
  append(messages: readonly LogAppend[]): Promise<void>;
  /**
   * Up to `limit` messages of a partition from `offset` on, in offset order. When retention removed
   * `offset`, the answer starts at the oldest message kept.
   */
  read(topic: string, partition: number, offset: number, limit: number): Promise<LoggedMessage[]>;
  /**
   * The group's committed offset on a partition (the next offset it handles). A group without one
   * gets, and keeps, the start of the partition (`fromBeginning`) or its current end.
   */
  join(groupId: string, topic: string, partition: number, fromBeginning: boolean): Promise<number>;
  /** Commits `nextOffset` as the next offset the group handles on the partition. */
  commit(groupId: string, topic: string, partition: number, nextOffset: number): Promise<void>;
  /** Deletes every committed offset of the group (an ephemeral group whose consumer stopped). */
  forgetGroup(groupId: string): Promise<void>;
  /**
   * Every partition of the topic (none when it does not exist): the oldest offset kept, the next
   * offset, and the group's committed offset (null before it joined). For consumer lag.
   */
  groupOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; low: number; high: number; committed: number | null }>>;
  /** A value that changes whenever the topic may have new messages: take it before reading. */
  version(topic: string): number;
  /**
   * Resolves once `version(topic)` differs from `version` (at once when it already does), when
   * `signal` aborts, or after the log's poll interval, whichever comes first. Callers read again.
   */
  waitForAppend(topic: string, version: number, signal: AbortSignal): Promise<void>;
  /** True when the log's storage answers (for /readyz). */
  ping(): Promise<boolean>;
  /** Releases timers and listeners (not the storage itself). */
  close(): Promise<void>;
}

export interface MemoryMessageLogOptions {
  /**
   * Messages kept per partition; older ones are dropped, as Kafka's retention drops them (a group
   * whose committed offset fell behind restarts at the oldest kept one). Default 100,000.
   */
  retentionPerPartition?: number;
}

/**
 * The log in this process's memory: messages and committed offsets live as long as the log object.
 * For unit tests and single-process setups that need no durability; the embedded platform uses
 * `SqlMessageLog`.
 */
export class MemoryMessageLog implements MessageLog {
  private readonly topics = new Map<string, MemoryPartition[]>();
  private readonly committed = new Map<string, number>();
  private readonly signals = new TopicSignals();
  private readonly retention: number;

  constructor(options: MemoryMessageLogOptions = {}) {
    this.retention = options.retentionPerPartition ?? 100_000;
    if (!Number.isInteger(this.retention) || this.retention < 1) throw new Error('retentionPerPartition must be a positive integer');
  }

  async ensureTopic(topic: string, numPartitions: number): Promise<number> {
    let partitions = this.topics.get(topic);
    if (!partitions) {
      partitions = Array.from({ length: numPartitions }, () => new MemoryPartition());
      this.topics.set(topic, partitions);
    }
    return partitions.length;
  }

  async append(messages: readonly LogAppend[]): Promise<void> {
    const targets = messages.map((message) => this.partition(message.topic, message.partition));
    messages.forEach((message, i) => targets[i]!.append({ key: message.key, value: message.value, headers: message.headers }, this.retention));
    for (const topic of new Set(messages.map((message) => message.topic))) this.signals.bump(topic);
  }

  async read(topic: string, partition: number, offset: number, limit: number): Promise<LoggedMessage[]> {
    return this.partition(topic, partition).read(offset, limit);
  }

  async join(groupId: string, topic: string, partition: number, fromBeginning: boolean): Promise<number> {
    const key = committedKey(groupId, topic, partition);
    let offset = this.committed.get(key);
    if (offset === undefined) {
      const log = this.partition(topic, partition);
      offset = fromBeginning ? log.start : log.end;
      this.committed.set(key, offset);
    }
    return offset;
  }

  async commit(groupId: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    this.committed.set(committedKey(groupId, topic, partition), nextOffset);
  }

  async forgetGroup(groupId: string): Promise<void> {
    for (const key of [...this.committed.keys()]) if (key.startsWith(`${groupId}\u0000`)) this.committed.delete(key);
  }

  async groupOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; low: number; high: number; committed: number | null }>> {
    return (this.topics.get(topic) ?? []).map((log, partition) => ({
      partition,
      low: log.start,
      high: log.end,
      committed: this.committed.get(committedKey(groupId, topic, partition)) ?? null,
    }));
  }

  version(topic: string): number {
    return this.signals.version(topic);
  }

  waitForAppend(topic: string, version: number, signal: AbortSignal): Promise<void> {
    return this.signals.wait(topic, version, signal);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.signals.bumpAll();
  }

  private partition(topic: string, partition: number): MemoryPartition {
    const log = this.topics.get(topic)?.[partition];
    if (!log) throw new Error(`No partition ${partition} of topic '${topic}'`);
    return log;
  }
}

function committedKey(groupId: string, topic: string, partition: number): string {
  return `${groupId}\u0000${topic}\u0000${partition}`;
}

/** One partition in memory: an append-only array with a moving base offset. */
class MemoryPartition {
  /** Offset of messages[0]. */
  private base = 0;
  private readonly messages: Array<Omit<LoggedMessage, 'offset'>> = [];

  get start(): number {
    return this.base;
  }

  get end(): number {
    return this.base + this.messages.length;
  }

  append(message: Omit<LoggedMessage, 'offset'>, retention: number): void {
    this.messages.push(message);
    // Trim in chunks so that appending stays O(1) amortised.
    if (this.messages.length > retention + Math.max(1, Math.floor(retention / 10))) {
      const drop = this.messages.length - retention;
      this.messages.splice(0, drop);
      this.base += drop;
    }
  }

  read(offset: number, limit: number): LoggedMessage[] {
    const from = Math.max(offset, this.base);
    return this.messages
      .slice(from - this.base, from - this.base + limit)
      .map((message, i) => ({ offset: from + i, key: message.key, value: message.value, headers: { ...message.headers } }));
  }
}
