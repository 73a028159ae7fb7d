import { dlqTopic } from '@svp/contracts';
import { Admin, ProduceAcks, Producer, type BaseOptions } from '@platformatic/kafka';
import { delay, exponentialBackoff, type Backoff } from '../backoff.js';
import { stderrLogger, type MessagingLogger } from '../logger.js';
import type { Consumer, ConsumerOptions, MessageBus, OutgoingMessage } from '../message-bus.js';
import { javaCompatiblePartitioner } from './partitioner.js';
import { PlatformaticBusConsumer } from './platformatic-consumer.js';
import { describeError, isUnreadResponse, protocolErrorIds, withTimeout } from './support.js';

export interface PlatformaticMessageBusOptions {
  brokers: string[];
  clientId?: string;
  /** TLS with the system's trusted CAs. */
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Where this adapter logs. Default: warnings and errors on stderr. */
  logger?: MessagingLogger;
  /** Partitions of topics created by ensureTopics. Default 3. */
  numPartitions?: number;
  /** Replication of topics created by ensureTopics. Default: 3, or fewer when the cluster is smaller. */
  replicationFactor?: number;
  /** Consumer group session timeout: how soon a dead member's partitions move. Default 10 s (broker minimum 6 s). */
  sessionTimeoutMs?: number;
  /** Default 1 s. */
  heartbeatIntervalMs?: number;
  /** How long members get to rejoin during a rebalance. Default 30 s. */
  rebalanceTimeoutMs?: number;
  /** Longest wait of an idle fetch (also bounds how long stop() waits for one). Default 1 s. */
  maxWaitTimeMs?: number;
  /** Wait between retries of a throwing consumer handler. Default 100 ms doubling up to 5 s. */
  retryBackoff?: Backoff;
  /**
   * Bound on one publish: past it publish() rejects and the producer is replaced. The idempotent
   * producer of @platformatic/kafka retries without limit (it sets retries to MAX_SAFE_INTEGER), so
   * this is what bounds a publish when the broker is unreachable. Default 10 s.
   */
  publishTimeoutMs?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Bound on ping(). Default 3 s. */
  pingTimeoutMs?: number;
  /** Commit handled offsets at least every this many messages or milliseconds (and whenever a partition's fetched messages are all handled). */
  commitEveryMessages?: number;
  commitIntervalMs?: number;
}

interface PendingPublish {
  messages: ProducedMessage[];
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface ProducedMessage {
  topic: string;
  key?: Buffer;
  value: Buffer;
  headers?: Map<Buffer, Buffer>;
}

/** One produce request carries at most about this much of coalesced publishes (the broker's default message.max.bytes is 1 MB per batch). */
const MAX_COALESCED_BYTES = 512 * 1024;

/**
 * The Kafka adapter of the messaging port on @platformatic/kafka (pure JavaScript, maintained), a
 * second client beside kafkajs with the same semantics and the same contract suite
 * (docs/messaging.md, "Two Kafka clients").
 *
 * - Publishing: one idempotent producer (acks=all, one request in flight). Publishes go out one
 *   produce request at a time, in call order; calls made while a request is in flight are coalesced
 *   into the next one. That is not only for throughput: the library computes an idempotent batch's
 *   sequence number when the request is built, so two concurrent sends to one partition carry the
 *   same sequence and the broker silently drops the second as a duplicate (platformatic/kafka#326).
 *   A publish that fails or outlives `publishTimeoutMs` rejects and replaces the producer (a new
 *   producer id, as kafkajs' adapter does), so the caller's retry is safe: at worst a duplicate.
 * - Consuming: a consumer group per ConsumerOptions.groupId, on the library's group membership
 *   (join, sync, heartbeats) with this adapter's own fetch loop and offset handling, so offsets
 *   follow Kafka's convention (the committed offset is the next one to read, as kafkajs and Java
 *   commit it; @platformatic/kafka 1.x commits the last one read and adds one when it resumes):
 *   a group can move between this adapter and kafkajs' without skipping or repeating a message.
 *   An offset is committed only after its handler resolved; a throwing handler is retried in place
 *   until it succeeds or the consumer stops; partitions are handled in parallel up to `concurrency`,
 *   each in order.
 */
export class PlatformaticMessageBus implements MessageBus {
  private readonly logger: MessagingLogger;
  private readonly consumers = new Set<PlatformaticBusConsumer>();
  private readonly queue: PendingPublish[] = [];
  private producer?: Producer;
  private admin?: Admin;
  private sending?: Promise<void>;
  private closed = false;

  constructor(private readonly options: PlatformaticMessageBusOptions) {
    if (options.brokers.length === 0) throw new Error('PlatformaticMessageBus needs at least one broker');
    this.logger = options.logger ?? stderrLogger;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const produced = messages.map(toProduced);
    const bytes = produced.reduce((sum, m) => sum + m.value.length + (m.key?.length ?? 0), 0);
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ messages: produced, bytes, resolve, reject });
      this.startSending();
    });
  }

  async consume(options: ConsumerOptions): Promise<Consumer> {
    this.assertOpen();
    if (options.topics.length === 0) throw new Error('A consumer needs at least one topic');
    const consumer = new PlatformaticBusConsumer(options, {
      client: this.clientOptions(),
      logger: this.logger,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 1000,
      rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 30_000,
      maxWaitTime: this.options.maxWaitTimeMs ?? 1000,
      retryBackoff: this.options.retryBackoff ?? exponentialBackoff({ initialMs: 100, maxMs: 5000 }),
      commitEveryMessages: this.options.commitEveryMessages ?? 100,
      commitIntervalMs: this.options.commitIntervalMs ?? 1000,
      onStopped: () => this.consumers.delete(consumer),
      forgetGroup: (groupId) => this.forgetGroup(groupId),
    });
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.stop();
      throw error;
    }
    return consumer;
  }

  async ensureTopics(topics: readonly string[]): Promise<void> {
    this.assertOpen();
    const wanted = [...new Set(topics.flatMap((topic) => (topic.endsWith('.dlq') ? [topic] : [topic, dlqTopic(topic)])))];
    const admin = this.getAdmin();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      const replicas = this.options.replicationFactor ?? Math.min(3, (await admin.metadata({ topics: [] })).brokers.size);
      try {
        await admin.createTopics({ topics: missing, partitions: this.options.numPartitions ?? 3, replicas });
      } catch (error) {
        // Another process created some of them meanwhile: fine, as long as that is all that failed.
        // (A response the library cannot read, isUnreadResponse, proves nothing either way: the
        // wait below tells whether the topics are there.)
        const ids = protocolErrorIds(error);
        if (!isUnreadResponse(error) && (ids.length === 0 || ids.some((id) => id !== 'TOPIC_ALREADY_EXISTS'))) throw error;
      }
      await waitForLeaders(admin, missing);
    } catch (error) {
      await this.resetAdmin(admin);
      throw new Error(`Creating Kafka topics ${wanted.join(', ')} failed: ${describeError(error)}`, { cause: error });
    }
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    const admin = this.getAdmin();
    try {
      await withTimeout(admin.metadata({ topics: [], forceUpdate: true }), this.options.pingTimeoutMs ?? 3000);
      return true;
    } catch {
      // Not awaited: a connect still retrying in the background must not stretch the answer.
      void this.resetAdmin(admin);
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    await this.sending;
    for (const pending of this.queue.splice(0)) pending.reject(new Error('The Kafka message bus is closed'));
    await Promise.all([this.resetProducer(this.producer), this.resetAdmin(this.admin)]);
  }

  /** Sends the queued publishes, one produce request at a time, until the queue is empty. */
  private startSending(): void {
    if (this.sending) return;
    this.sending = (async () => {
      while (this.queue.length > 0 && !this.closed) {
        const batch = [this.queue.shift()!];
        let bytes = batch[0]!.bytes;
        while (this.queue.length > 0 && bytes + this.queue[0]!.bytes <= MAX_COALESCED_BYTES) {
          const next = this.queue.shift()!;
          bytes += next.bytes;
          batch.push(next);
        }
        const messages = batch.flatMap((pending) => pending.messages);
        try {
          await this.send(messages);
          for (const pending of batch) pending.resolve();
        } catch (error) {
          const count = batch.length === 1 ? `${messages.length} message(s)` : `${messages.length} message(s) of ${batch.length} coalesced publishes`;
          const failure = new Error(`Publishing ${count} to Kafka failed: ${describeError(error)}`, { cause: error });
          for (const pending of batch) pending.reject(failure);
        }
      }
    })().finally(() => {
      this.sending = undefined;
      if (this.queue.length > 0 && !this.closed) this.startSending();
    });
  }

  private async send(messages: ProducedMessage[]): Promise<void> {
    const producer = this.getProducer();
    const deadline = Date.now() + (this.options.publishTimeoutMs ?? 10_000);
    for (let attempt = 1; ; attempt++) {
      const sent = producer.send({ messages, acks: ProduceAcks.ALL });
      // Settles after the timeout too (closing the producer cancels its retries): never unhandled.
      sent.catch(() => undefined);
      try {
        await withTimeout(sent, Math.max(1, deadline - Date.now()));
        return;
      } catch (error) {
        if (attempt < 20 && Date.now() + 100 < deadline && isUnreadResponse(error) && messages.every((m) => m.key !== undefined)) {
          // The broker answered, but the library could not read the answer (see isUnreadResponse):
          // the same messages again on the same producer carry the same sequence numbers, so the
          // broker stores the partitions it missed and recognises the ones it already has.
          this.logger.debug({ attempt, err: describeError(error) }, 'retrying a Kafka publish whose response could not be read');
          producer.clearMetadata();
          await delay(100);
          continue;
        }
        await this.resetProducer(producer);
        throw error;
      }
    }
  }

  private clientOptions(): BaseOptions {
    const { sasl } = this.options;
    return {
      clientId: this.options.clientId ?? 'svp',
      bootstrapBrokers: this.options.brokers,
      connectTimeout: this.options.connectionTimeoutMs ?? 3000,
      timeout: this.options.requestTimeoutMs ?? 30_000,
      ...(this.options.ssl ? { tls: {} } : {}),
      ...(sasl
        ? {
            sasl: {
              mechanism: ({ plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const)[sasl.mechanism],
              username: sasl.username,
              password: sasl.password,
            },
          }
        : {}),
    };
  }

  private getProducer(): Producer {
    if (!this.producer) {
      const producer = new Producer({
        ...this.clientOptions(),
        idempotent: true,
        acks: ProduceAcks.ALL,
        // Set by the library for an idempotent producer anyway; stated for the reader.
        maxInflights: 1,
        retryDelay: 250,
        autocreateTopics: true,
        partitioner: javaCompatiblePartitioner(),
      });
      producer.on('error', (error: unknown) => this.logger.warn({ err: describeError(error) }, 'Kafka producer error'));
      this.producer = producer;
    }
    return this.producer;
  }

  private async resetProducer(producer: Producer | undefined): Promise<void> {
    if (!producer) return;
    if (this.producer === producer) this.producer = undefined;
    await producer.close().catch(() => undefined);
  }

  private getAdmin(): Admin {
    if (!this.admin) {
      const admin = new Admin({ ...this.clientOptions(), retries: 3, retryDelay: 200 });
      admin.on('error', (error: unknown) => this.logger.warn({ err: describeError(error) }, 'Kafka admin client error'));
      this.admin = admin;
    }
    return this.admin;
  }

  private async resetAdmin(admin: Admin | undefined): Promise<void> {
    if (!admin) return;
    if (this.admin === admin) this.admin = undefined;
    await admin.close().catch(() => undefined);
  }

  /** Deletes a consumer group (an ephemeral one, once its member left). */
  private async forgetGroup(groupId: string): Promise<void> {
    const admin = this.getAdmin();
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.deleteGroups({ groups: [groupId] });
        return;
      } catch (error) {
        const ids = protocolErrorIds(error);
        if (ids.includes('GROUP_ID_NOT_FOUND')) return;
        // The broker may not have processed the member's leave yet.
        if (!ids.includes('NON_EMPTY_GROUP') || attempt >= 10) throw new Error(describeError(error), { cause: error });
        await delay(200);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The Kafka message bus is closed');
  }
}

/**
 * The port's message as @platformatic/kafka takes it: Buffers throughout. (A string header key
 * reaches the library's encoder as is and throws there, inside a socket callback, which ends the
 * process instead of rejecting; hence also the checks.)
 */
function toProduced(message: OutgoingMessage): ProducedMessage {
  if (!message.topic) throw new Error('A message needs a topic');
  if (typeof message.value !== 'string') throw new Error('A message value must be a string');
  const produced: ProducedMessage = { topic: message.topic, value: Buffer.from(message.value, 'utf8') };
  if (message.key !== null) produced.key = Buffer.from(message.key, 'utf8');
  if (message.headers) {
    produced.headers = new Map();
    for (const [name, value] of Object.entries(message.headers)) produced.headers.set(Buffer.from(name, 'utf8'), Buffer.from(String(value), 'utf8'));
  }
  return produced;
}

/** Waits until every partition of `topics` has a leader (a topic just created has none for a moment). */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.metadata({ topics, forceUpdate: true });
      const ready = topics.every((topic) => {
        const partitions = metadata.topics.get(topic)?.partitions ?? [];
        return partitions.length > 0 && partitions.every((partition) => partition && partition.leader >= 0);
      });
      if (ready) return;
    } catch (error) {
      if (Date.now() >= until) throw error;
    }
    if (Date.now() >= until) throw new Error(`no leader for every partition of ${topics.join(', ')} after ${timeoutMs} ms`);
    await delay(100);
  }
}
