import kafkajs from 'kafkajs';
import type { LogEntry, logCreator } from 'kafkajs';
import type { MessagingLogger } from '../logger.js';

const { logLevel } = kafkajs;

/**
 * kafkajs messages that are expected in this adapter's design and would only be noise:
 * - limited producer retries: deliberate, a failed publish resets the producer (a new producer id),
 *   so a retried batch cannot be mistaken for a duplicate; a duplicate is absorbed by the inbox.
 */
const EXPECTED = [/Limiting retries for the idempotent producer/];

/** Routes kafkajs' logs to a MessagingLogger, with kafkajs' namespace and fields. */
export function kafkaLogCreator(logger: MessagingLogger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...fields } = log;
      if (EXPECTED.some((pattern) => pattern.test(message))) return;
      const entry = { component: 'kafkajs', namespace, ...fields };
      switch (level) {
        case logLevel.ERROR:
          logger.error(entry, message);
          return;
        case logLevel.WARN:
          logger.warn(entry, message);
          return;
        case logLevel.INFO:
          logger.info(entry, message);
          return;
        default:
          logger.debug(entry, message);
      }
    };
}
