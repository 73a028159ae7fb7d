import { type EnvelopeSchemaMap, type MessageBus, type ParsedEvent, SqlInbox, consumeEnvelopes, type Consumer } from '@svp/messaging';
import type { SqlClient, SqlExecutor } from '@svp/postgres';
import type { Logger } from 'pino';
import type { Worker } from './runtime.js';

export interface ConsumerWorkerOptions<S extends EnvelopeSchemaMap> {
  /** The consumer group, and the inbox's name for it. */
  name: string;
  bus: MessageBus;
  /** Where the inbox lives (the service's database). */
  sql: SqlClient;
  logger: Logger;
  topics: string[];
  /** The event types it handles, by `type`; the others are skipped. A message failing its schema is dead-lettered with the reason. */
  schema: S;
  /** Errors to retry for as long as it runs (never dead-lettered); default: passing infrastructure failures. */
  isTransient?: (error: unknown) => boolean;
  /**
   * The effect that cannot join the inbox's transaction (appends to the event store: another system,
   * or on PGlite the same single connection). It runs before the inbox record, so a crash in between
   * redelivers the event: it must have no second effect then (the stream records each append's cause).
   */
  handle?: (event: ParsedEvent<S>) => Promise<void>;
  /** Writes to the service's own tables, in the inbox's transaction: exactly once with the record. */
  record?: (event: ParsedEvent<S>, tx: SqlExecutor) => Promise<void>;
}

/**
 * A durable consumer of integration events as a worker: from the oldest event kept (a group that
 * joins late still sees what was published before), each event once per id (the inbox), its schema
 * checked, poison messages dead-lettered with the reason, the partition flowing on.
 */
export function consumerWorker<S extends EnvelopeSchemaMap>(options: ConsumerWorkerOptions<S>): Worker {
  let consumer: Consumer | undefined;
  return {
    name: options.name,
    consumes: { groupId: options.name, topics: [...options.topics] },
    async start() {
      const inbox = await SqlInbox.create(options.sql);
      consumer = await consumeEnvelopes({
        bus: options.bus,
        groupId: options.name,
        topics: options.topics,
        fromBeginning: true,
        logger: options.logger,
        schema: options.schema,
        unknownType: 'skip',
        ...(options.isTransient ? { isTransient: options.isTransient } : {}),
        handler: async (parsed) => {
          const event = parsed as ParsedEvent<S>;
          const { eventId } = parsed as { eventId: string };
          // Handled before (a redelivery, or the relay publishing again after a crash): no second effect.
          if (await inbox.has(options.name, eventId)) return;
          await options.handle?.(event);
          await inbox.handleOnce(options.name, eventId, async (tx) => options.record?.(event, tx));
        },
      });
      await consumer.ready;
    },
    async stop() {
      await consumer?.stop();
    },
  };
}
