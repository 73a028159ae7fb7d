import { dlqTopic } from '@svp/contracts';
import type { IncomingMessage, MessageHeaders, OutgoingMessage } from './message-bus.js';

/** Headers every dead letter carries (the original headers are kept beside them). */
export const DLQ_HEADERS = {
  /** 'schema': the message could not be parsed; 'handler': the handler kept failing. */
  reason: 'x-dlq-reason',
  /** The error message (truncated to 2,000 characters). */
  error: 'x-dlq-error',
  originalTopic: 'x-original-topic',
  originalPartition: 'x-original-partition',
  originalOffset: 'x-original-offset',
  /** How many times the message was tried (1 for a parse failure). */
  attempts: 'x-attempts',
  /** The consumer group that gave up on it (one DLQ topic serves every group of a topic). */
  group: 'x-dlq-group',
  /** When it was dead-lettered (ISO 8601). */
  at: 'x-dlq-at',
} as const;

export type DeadLetterReason = 'schema' | 'handler';

export interface DeadLetter {
  reason: DeadLetterReason;
  error: string;
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  attempts: number;
  group: string;
  at: string;
  key: string | null;
  value: string;
}

const MAX_ERROR_LENGTH = 2000;

/** The message that goes to `<topic>.dlq`: same key and value, original headers plus the DLQ ones. */
export function deadLetterMessage(
  message: IncomingMessage,
  details: { reason: DeadLetterReason; error: string; attempts: number; group: string; dlq?: (topic: string) => string },
): OutgoingMessage {
  const headers: MessageHeaders = {
    ...message.headers,
    [DLQ_HEADERS.reason]: details.reason,
    [DLQ_HEADERS.error]: details.error.length > MAX_ERROR_LENGTH ? `${details.error.slice(0, MAX_ERROR_LENGTH - 1)}…` : details.error,
    [DLQ_HEADERS.originalTopic]: message.topic,
    [DLQ_HEADERS.originalPartition]: String(message.partition),
    [DLQ_HEADERS.originalOffset]: message.offset,
    [DLQ_HEADERS.attempts]: String(details.attempts),
    [DLQ_HEADERS.group]: details.group,
    [DLQ_HEADERS.at]: new Date().toISOString(),
  };
  return { topic: (details.dlq ?? dlqTopic)(message.topic), key: message.key, value: message.value, headers };
}

/** Reads a message of a `.dlq` topic back (for tooling and replays); undefined when it is not one. */
export function readDeadLetter(message: IncomingMessage): DeadLetter | undefined {
  const h = message.headers;
  const reason = h[DLQ_HEADERS.reason];
  if (reason !== 'schema' && reason !== 'handler') return undefined;
  return {
    reason,
    error: h[DLQ_HEADERS.error] ?? '',
    originalTopic: h[DLQ_HEADERS.originalTopic] ?? '',
    originalPartition: Number(h[DLQ_HEADERS.originalPartition] ?? -1),
    originalOffset: h[DLQ_HEADERS.originalOffset] ?? '',
    attempts: Number(h[DLQ_HEADERS.attempts] ?? 0),
    group: h[DLQ_HEADERS.group] ?? '',
    at: h[DLQ_HEADERS.at] ?? '',
    key: message.key,
    value: message.value,
  };
}
