import { dlqTopic } from '@svp/contracts';
import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer as KafkaConsumer,
  EachBatchPayload,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
  SASLOptions,
} from 'kafkajs';
import { delay, exponentialBackoff, type Backoff } from '../backoff.js';
import { handleUntilDone } from '../internal/handle-until-done.js';
import { errorMessage, stderrLogger, type MessagingLogger } from '../logger.js';
import type { Consumer, ConsumerOptions, IncomingMessage, MessageBus, MessageHeaders, OutgoingMessage } from '../message-bus.js';
import { ensureKafkaTopics } from './ensure-topics.js';
import { kafkaLogCreator } from './kafka-logger.js';
import type { ConsumerGroupLag, ConsumerGroupRef } from '../consumer-lag.js';
import { kafkaConsumerLag } from './consumer-lag.js';

const { Kafka: KafkaClient, Partitioners, logLevel } = kafkajs;

export interface KafkaMessageBusOptions {
  brokers: string[];
  clientId?: string;
  ssl?: boolean;
  sasl?: SASLOptions;
  /** Where this adapter and kafkajs log. Default: warnings and errors on stderr. */
  logger?: MessagingLogger;
  /** kafkajs' own log level. Default 'warn'. */
  kafkaLogLevel?: 'error' | 'warn' | 'info' | 'debug';
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
  /** Retries of one publish inside the producer before publish() rejects. Default 5 (about 3 s). */
  publishRetries?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Bound on ping(). Default 3 s. */
  pingTimeoutMs?: number;
  /** Commit handled offsets at least every this many messages or milliseconds (and after every batch). */
  commitEveryMessages?: number;
  commitIntervalMs?: number;
}

/**
 * The Kafka adapter of the messaging port (kafkajs).
 *
 * - Publishing: one idempotent producer (acks=all, one request in flight, so retries neither
 *   duplicate nor reorder within a partition); publish resolves once every message is acknowledged.
 *   When a publish fails after its retries, the producer is replaced (a new producer id), so the
 *   caller's retry of the same messages is safe; at worst it duplicates, never loses.
 * - Consuming: a consumer group per ConsumerOptions.groupId; a message's offset is marked only after
 *   its handler resolved and is committed after every batch, every `commitEveryMessages` messages or
 *   `commitIntervalMs`, and when the consumer stops or loses the partition. A throwing handler is
 *   retried in place (heartbeats continue) until it succeeds or the consumer stops.
 */
export class KafkaMessageBus implements MessageBus {
  private readonly kafka: Kafka;
  private readonly logger: MessagingLogger;
  private readonly consumers = new Set<KafkaBusConsumer>();
  private producer?: Promise<Producer>;
  private admin?: Promise<Admin>;
  private closed = false;

  constructor(private readonly options: KafkaMessageBusOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaMessageBus needs at least one broker');
    this.logger = options.logger ?? stderrLogger;
    this.kafka = new KafkaClient({
      clientId: options.clientId ?? 'svp',
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl,
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 5 },
      logLevel: {
        error: logLevel.ERROR,
        warn: logLevel.WARN,
        info: logLevel.INFO,
        debug: logLevel.DEBUG,
      }[options.kafkaLogLevel ?? 'warn'],
      logCreator: kafkaLogCreator(this.logger),
    });
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const message of messages) {
      if (!message.topic) throw new Error('A message needs a topic');
      let list = byTopic.get(message.topic);
      if (!list) byTopic.set(message.topic, (list = []));
      list.push({ key: message.key, value: message.value, headers: message.headers ? { ...message.headers } : undefined });
    }
    const producer = this.getProducer();
    try {
      await (
        await producer
      ).sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })) });
    } catch (error) {
      await this.resetProducer(producer);
      throw new Error(`Publishing ${messages.length} message(s) to Kafka failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  async consume(options: ConsumerOptions): Promise<Consumer> {
    this.assertOpen();
    if (options.topics.length === 0) throw new Error('A consumer needs at least one topic');
    const consumer = new KafkaBusConsumer(this.kafka, options, {
      logger: this.logger,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 1000,
      rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 30_000,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 1000,
      retryBackoff: this.options.retryBackoff ?? exponentialBackoff({ initialMs: 100, maxMs: 5000 }),
      autoCommitThreshold: this.options.commitEveryMessages ?? 100,
      autoCommitInterval: this.options.commitIntervalMs ?? 1000,
      onStopped: () => this.consumers.delete(consumer),
      forgetGroup: async (groupId) => {
        await (await this.getAdmin()).deleteGroups([groupId]);
      },
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
      await ensureKafkaTopics(await admin, wanted, {
        numPartitions: this.options.numPartitions ?? 3,
        ...(this.options.replicationFactor !== undefined ? { replicationFactor: this.options.replicationFactor } : {}),
      });
    } catch (error) {
      await this.resetAdmin(admin);
      throw new Error(`Creating Kafka topics ${wanted.join(', ')} failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    const admin = this.getAdmin();
    const timeoutMs = this.options.pingTimeoutMs ?? 3000;
    try {
      await withTimeout(
        admin.then((a) => a.describeCluster()),
        timeoutMs,
      );
      return true;
    } catch {
      // Not awaited: a connect still retrying in the background must not stretch the answer.
      void this.resetAdmin(admin);
      return false;
    }
  }

  /** Committed offsets against high watermarks, through the admin client (consumer-lag.ts). */
  async consumerLag(groups: readonly ConsumerGroupRef[]): Promise<ConsumerGroupLag[]> {
    this.assertOpen();
    const admin = this.getAdmin();
    try {
      return await kafkaConsumerLag(await admin, groups);
    } catch (error) {
      await this.resetAdmin(admin);
      throw new Error(`Reading consumer lag from Kafka failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    await Promise.all([this.resetProducer(this.producer), this.resetAdmin(this.admin)]);
  }

  private getProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: this.options.publishRetries ?? 5, initialRetryTime: 100, maxRetryTime: 2000 },
      });
      const connected = producer.connect().then(() => producer);
      this.producer = connected;
      connected.catch(() => this.resetProducer(connected));
    }
    return this.producer;
  }

  private async resetProducer(producer: Promise<Producer> | undefined): Promise<void> {
    if (!producer) return;
    if (this.producer === producer) this.producer = undefined;
    await producer.then((p) => p.disconnect()).catch(() => undefined);
  }

  private getAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin({ retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 } });
      const connected = admin.connect().then(() => admin);
      this.admin = connected;
      connected.catch(() => this.resetAdmin(connected));
    }
    return this.admin;
  }

  private async resetAdmin(admin: Promise<Admin> | undefined): Promise<void> {
    if (!admin) return;
    if (this.admin === admin) this.admin = undefined;
    await admin.then((a) => a.disconnect()).catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The Kafka message bus is closed');
  }
}

interface ConsumerSettings {
  logger: MessagingLogger;
  sessionTimeout: number;
  heartbeatInterval: number;
  rebalanceTimeout: number;
  maxWaitTimeInMs: number;
  retryBackoff: Backoff;
  autoCommitThreshold: number;
  autoCommitInterval: number;
  onStopped: () => void;
  /** Deletes a consumer group (an ephemeral one, once its member stopped). */
  forgetGroup: (groupId: string) => Promise<void>;
}

/** One group member. Restarts itself (after a pause) when kafkajs gives up on a crash. */
class KafkaBusConsumer implements Consumer {
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: unknown) => void;
  private current?: KafkaConsumer;
  private stopping?: Promise<void>;
  private restartTimer?: NodeJS.Timeout;
  private restarts = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ConsumerOptions,
    private readonly settings: ConsumerSettings,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
  }

  async start(): Promise<void> {
    const { groupId, topics } = this.options;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: this.settings.sessionTimeout,
      heartbeatInterval: this.settings.heartbeatInterval,
      rebalanceTimeout: this.settings.rebalanceTimeout,
      maxWaitTimeInMs: this.settings.maxWaitTimeInMs,
      retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 10 },
    });
    this.current = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.restarts = 0;
      this.resolveReady();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.settings.logger.error({ groupId, restart: payload.restart, err: errorMessage(payload.error) }, 'Kafka consumer crashed');
      // kafkajs restarts by itself after a retriable error; otherwise this consumer restarts it.
      if (!payload.restart && !this.stopping && this.current === consumer) this.scheduleRestart();
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: true,
      autoCommitThreshold: this.settings.autoCommitThreshold,
      autoCommitInterval: this.settings.autoCommitInterval,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, this.options.concurrency ?? 1),
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.restartTimer);
      try {
        await this.current?.disconnect();
        // An ephemeral group leaves nothing behind: deleted once its only member left.
        if (this.options.ephemeral)
          await this.settings.forgetGroup(this.options.groupId).catch((error: unknown) =>
            this.settings.logger.warn({ groupId: this.options.groupId, err: errorMessage(error) }, 'could not delete an ephemeral consumer group'),
          );
      } catch (error) {
        this.settings.logger.warn({ groupId: this.options.groupId, err: errorMessage(error) }, 'Kafka consumer did not stop cleanly');
      } finally {
        this.rejectReady(new Error('The consumer stopped before it joined its group'));
        this.settings.onStopped();
      }
    })();
    return this.stopping;
  }

  /**
   * Handles a fetched batch in order. An offset is resolved only after its handler resolved;
   * kafkajs commits resolved offsets (threshold/interval, after the batch, on rebalance and stop).
   */
  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }: EachBatchPayload) {
    const canContinue = () => isRunning() && !isStale() && !this.stopping;
    for (const raw of batch.messages) {
      if (!canContinue()) return;
      const handled = await handleUntilDone(this.options.handler, toIncoming(batch.topic, batch.partition, raw), {
        backoff: this.settings.retryBackoff,
        logger: this.settings.logger,
        context: { groupId: this.options.groupId },
        canContinue,
        wait: (ms) => this.waitWithHeartbeats(ms, heartbeat, canContinue),
      });
      if (!handled) return;
      resolveOffset(raw.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  /** Sleeps in slices so that the group keeps hearing from this member while a handler is retried. */
  private async waitWithHeartbeats(ms: number, heartbeat: () => Promise<void>, canContinue: () => boolean) {
    const until = Date.now() + ms;
    while (canContinue() && Date.now() < until) {
      await delay(Math.min(this.settings.heartbeatInterval, until - Date.now()));
      await heartbeat();
    }
  }

  private scheduleRestart(): void {
    const waitMs = Math.min(30_000, 1000 * 2 ** this.restarts++);
    this.settings.logger.warn({ groupId: this.options.groupId, restartInMs: waitMs }, 'restarting the Kafka consumer');
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      const crashed = this.current;
      void (async () => {
        await crashed?.disconnect().catch(() => undefined);
        if (this.stopping) return;
        await this.start().catch((error: unknown) => {
          this.settings.logger.error({ groupId: this.options.groupId, err: errorMessage(error) }, 'Kafka consumer restart failed');
          if (!this.stopping) this.scheduleRestart();
        });
      })();
    }, waitMs);
  }
}

function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  const headers: MessageHeaders = {};
  for (const [name, raw] of Object.entries(message.headers ?? {})) {
    // Kafka allows a header name more than once; the port keeps the last value.
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value === null ? '' : message.value.toString('utf8'),
    headers,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
