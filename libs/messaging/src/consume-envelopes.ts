import { dlqTopic, EventEnvelope } from '@svp/contracts';
import { z } from 'zod';
import { backoffDelay, delay, type Backoff } from './backoff.js';
import { deadLetterMessage, type DeadLetter, type DeadLetterReason } from './dead-letter.js';
import { errorMessage, stderrLogger, type MessagingLogger } from './logger.js';
import type { Consumer, IncomingMessage, MessageBus } from './message-bus.js';
import { isTransientError } from './transient-errors.js';

/** Event schemas by envelope `type` (a schema may be a union of the type's versions). */
export type EnvelopeSchemaMap = { readonly [type: string]: z.ZodType };
/** Parses an envelope into the handler's event; throws when the event is not acceptable. */
export type EnvelopeParser<T = unknown> = (envelope: EventEnvelope) => T;
export type EnvelopeSchema = z.ZodType | EnvelopeSchemaMap | EnvelopeParser;

/** What the handler receives for a given `schema` option. */
export type ParsedEvent<S> = S extends z.ZodType
  ? z.output<S>
  : S extends EnvelopeParser<infer T>
    ? T
    : S extends EnvelopeSchemaMap
      ? z.output<S[keyof S]>
      : EventEnvelope;

export interface ConsumeEnvelopesOptions<S extends EnvelopeSchema | undefined = undefined> {
  bus: MessageBus;
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  concurrency?: number;
  /**
   * The event's schema after the envelope check: one zod schema (the whole message), a map from
   * `type` to zod schema, or a parse function. Omitted: the handler gets the parsed EventEnvelope.
   */
  schema?: S;
  /**
   * With a schema map, a message whose `type` is not in the map is skipped (committed, not handled:
   * a topic may carry types this consumer does not care about) or dead-lettered. Default 'skip'.
   */
  unknownType?: 'skip' | 'dead-letter';
  /**
   * Handles one event. Throwing a transient error (see `isTransient`) retries it for as long as the
   * consumer runs; throwing anything else retries it (maxAttempts in all), then dead-letters it.
   */
  handler: (event: ParsedEvent<S>, message: IncomingMessage) => Promise<void>;
  /** Attempts of the handler before a message is dead-lettered (transient failures do not count). Default 3. */
  maxAttempts?: number;
  /** Wait before each retry of the handler after a non-transient failure. Default 100 ms doubling, at most 1 s. */
  backoff?: Backoff;
  /**
   * Whether a handler error is a passing infrastructure failure (database restarting, pool timeout,
   * connection reset, deadlock...) rather than a problem with the message. Such a message is never
   * dead-lettered: it goes back to the bus, which retries it with its capped backoff (a warn line per
   * retry) until it succeeds or the consumer stops or loses the partition; the partition waits.
   * Default `isTransientError`.
   */
  isTransient?: (error: unknown) => boolean;
  /** The dead-letter topic of a topic. Default `<topic>.dlq`. */
  dlq?: (topic: string) => string;
  /** Create the topics and their DLQ twins first (idempotent). Default true. */
  ensureTopics?: boolean;
  logger?: MessagingLogger;
  /** Called after a message was dead-lettered (for metrics). */
  onDeadLetter?: (letter: Pick<DeadLetter, 'reason' | 'error' | 'originalTopic' | 'originalPartition' | 'originalOffset' | 'attempts'>) => void;
}

const defaultBackoff: Backoff = (attempt) => Math.min(1000, 100 * 2 ** (attempt - 1));

type ParseOutcome = { kind: 'ok'; event: unknown } | { kind: 'skip'; type: string } | { kind: 'invalid'; error: string };

/**
 * The durable way to consume integration events, on either adapter: each message is parsed as an
 * EventEnvelope and then with the event's schema; a message that fails parsing goes straight to
 * `<topic>.dlq`; a handler that throws is retried (maxAttempts in all, with backoff) and then goes
 * to `<topic>.dlq`. Either way the offset is then committed and the partition keeps flowing.
 * Except a transient infrastructure error (`isTransient`): that message is retried by the bus until
 * it succeeds or the consumer stops, never dead-lettered, since the event itself is fine.
 * Delivery is at least once: make the handler idempotent, e.g. with `SqlInbox.handleOnce`.
 */
export async function consumeEnvelopes<S extends EnvelopeSchema | undefined = undefined>(
  options: ConsumeEnvelopesOptions<S>,
): Promise<Consumer> {
  const {
    bus,
    groupId,
    topics,
    maxAttempts = 3,
    backoff = defaultBackoff,
    dlq = dlqTopic,
    logger = stderrLogger,
    unknownType = 'skip',
    isTransient = isTransientError,
  } = options;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  const parse = envelopeParser(options.schema, unknownType);
  if (options.ensureTopics ?? true) await bus.ensureTopics(topics);

  const deadLetter = async (message: IncomingMessage, reason: DeadLetterReason, error: string, attempts: number) => {
    await bus.publish([deadLetterMessage(message, { reason, error, attempts, group: groupId, dlq })]);
    logger.warn(
      { groupId, topic: message.topic, partition: message.partition, offset: message.offset, reason, attempts, err: error },
      'message dead-lettered',
    );
    options.onDeadLetter?.({
      reason,
      error,
      attempts,
      originalTopic: message.topic,
      originalPartition: message.partition,
      originalOffset: message.offset,
    });
  };

  // Non-transient failures of the message in flight on each partition, kept while the bus retries
  // it after a transient failure, so that maxAttempts counts every non-transient failure once.
  const failures = new Map<string, { offset: string; count: number; error: unknown }>();

  return bus.consume({
    groupId,
    topics,
    fromBeginning: options.fromBeginning,
    concurrency: options.concurrency,
    handler: async (message) => {
      const outcome = parse(message.value);
      if (outcome.kind === 'invalid') return deadLetter(message, 'schema', outcome.error, 1);
      if (outcome.kind === 'skip') {
        logger.debug({ groupId, topic: message.topic, offset: message.offset, type: outcome.type }, 'event type not consumed; skipped');
        return;
      }
      const slot = `${message.topic}\u0000${message.partition}`;
      const previous = failures.get(slot);
      let failed = previous?.offset === message.offset ? previous.count : 0;
      let lastError: unknown = previous?.offset === message.offset ? previous.error : undefined;
      failures.delete(slot);
      while (failed < maxAttempts) {
        try {
          await options.handler(outcome.event as ParsedEvent<S>, message);
          return;
        } catch (error) {
          if (isTransient(error)) {
            failures.set(slot, { offset: message.offset, count: failed, error: lastError });
            // The bus retries the same message with backoff (a warn line each time) until it succeeds
            // or the consumer stops; the offset stays uncommitted meanwhile.
            throw new Error(`transient infrastructure error, retried until it succeeds (never dead-lettered): ${errorMessage(error)}`, {
              cause: error,
            });
          }
          failed++;
          lastError = error;
          logger.warn(
            { groupId, topic: message.topic, partition: message.partition, offset: message.offset, attempt: failed, maxAttempts, err: errorMessage(error) },
            'event handler failed',
          );
          if (failed < maxAttempts) await delay(backoffDelay(backoff, failed));
        }
      }
      // If publishing the dead letter fails, this throws and the bus retries the message, which then
      // goes straight to the DLQ (its attempts are used up).
      failures.set(slot, { offset: message.offset, count: failed, error: lastError });
      await deadLetter(message, 'handler', errorMessage(lastError), maxAttempts);
      failures.delete(slot);
    },
  });
}

/** The parse step of consumeEnvelopes, usable on its own (replay tools, tests). */
export function envelopeParser(
  schema: EnvelopeSchema | undefined,
  unknownType: 'skip' | 'dead-letter' = 'skip',
): (value: string) => ParseOutcome {
  return (value) => {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch (error) {
      return { kind: 'invalid', error: `not JSON: ${errorMessage(error)}` };
    }
    const envelope = EventEnvelope.safeParse(json);
    if (!envelope.success) return { kind: 'invalid', error: `not an event envelope: ${issues(envelope.error)}` };
    if (schema === undefined) return { kind: 'ok', event: envelope.data };
    if (typeof schema === 'function') {
      try {
        return { kind: 'ok', event: schema(envelope.data) };
      } catch (error) {
        return { kind: 'invalid', error: `${envelope.data.type} v${envelope.data.version}: ${errorMessage(error)}` };
      }
    }
    const eventSchema = isZodType(schema) ? schema : Object.hasOwn(schema, envelope.data.type) ? schema[envelope.data.type] : undefined;
    if (!eventSchema) {
      return unknownType === 'skip'
        ? { kind: 'skip', type: envelope.data.type }
        : { kind: 'invalid', error: `unknown event type '${envelope.data.type}'` };
    }
    const event = eventSchema.safeParse(json);
    if (!event.success) return { kind: 'invalid', error: `${envelope.data.type} v${envelope.data.version}: ${issues(event.error)}` };
    return { kind: 'ok', event: event.data };
  };
}

function isZodType(value: unknown): value is z.ZodType {
  return value instanceof z.ZodType || (typeof value === 'object' && value !== null && typeof (value as z.ZodType).safeParse === 'function');
}

function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`).join('; ');
}
