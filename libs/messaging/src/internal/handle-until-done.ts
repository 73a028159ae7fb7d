import { backoffDelay, delay, type Backoff } from '../backoff.js';
import { errorMessage, type MessagingLogger } from '../logger.js';
import type { IncomingMessage } from '../message-bus.js';

export interface HandleUntilDoneOptions {
  backoff: Backoff;
  logger: MessagingLogger;
  /** Fields added to every log line (e.g. the group id). */
  context?: Record<string, unknown>;
  /** False once the consumer stops or loses the partition: then the retries give up. */
  canContinue: () => boolean;
  /** Waits between retries (the Kafka adapter sends heartbeats meanwhile). */
  wait?: (ms: number) => Promise<void>;
}

/**
 * The port's rule for a throwing handler: retry the same message (its offset stays uncommitted)
 * with backoff until it succeeds or the consumer stops. True when the message was handled.
 */
export async function handleUntilDone(
  handler: (message: IncomingMessage) => Promise<void>,
  message: IncomingMessage,
  options: HandleUntilDoneOptions,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await handler(message);
      return true;
    } catch (error) {
      const ms = backoffDelay(options.backoff, attempt);
      options.logger.warn(
        { ...options.context, topic: message.topic, partition: message.partition, offset: message.offset, attempt, retryInMs: ms, err: errorMessage(error) },
        'message handler failed; retrying the same message',
      );
      if (!options.canContinue()) return false;
      await (options.wait ?? delay)(ms);
      if (!options.canContinue()) return false;
    }
  }
}
