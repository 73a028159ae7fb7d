import { type Attributes, type Span, SpanKind, propagation, trace } from '@opentelemetry/api';
import type { RecordedEvent } from '@svp/event-store';
import type { Consumer, ConsumerOptions, IncomingMessage, MessageBus, OutgoingMessage } from '@svp/messaging';
import { TRACEPARENT, TRACESTATE, contextFrom, inSpan, recordError, tracer } from './tracing.js';

const SYSTEM = 'kafka';

function messageAttributes(message: { topic: string; key: string | null; headers?: Record<string, string> }): Attributes {
  const id = message.headers?.['x-event-id'];
  const type = message.headers?.['x-event-type'];
  return {
    'messaging.system': SYSTEM,
    'messaging.destination.name': message.topic,
    ...(message.key !== null ? { 'messaging.kafka.message.key': message.key } : {}),
    ...(id ? { 'messaging.message.id': id } : {}),
    ...(type ? { 'svp.event_type': type } : {}),
  };
}

/**
 * The message bus with spans (only used while tracing is on), for either Kafka client and the
 * in-process bus alike:
 * - publish: each message that carries a trace context in its headers (the outbox relay copies it
 *   from the event's metadata) gets a `publish <topic>` producer span, a child of that context,
 *   ended when the broker acknowledged the batch; the headers then carry the producer span's
 *   context (`traceparent`, `tracestate`) to the consumers;
 * - consume: each message that carries a trace context is handled inside a `process <topic>`
 *   consumer span, a child of the producer's; what the handler does (inbox, commands, appends)
 *   continues the trace. Messages without one are handled as they are, with no span.
 */
export class TracedMessageBus implements MessageBus {
  /** The adapter's own, when it has one (an optional method of the port). */
  readonly consumerLag?: MessageBus['consumerLag'];

  constructor(private readonly inner: MessageBus) {
    if (inner.consumerLag) this.consumerLag = inner.consumerLag.bind(inner);
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    const spans: Span[] = [];
    const out = messages.map((message) => {
      if (typeof message.headers?.[TRACEPARENT] !== 'string') return message;
      const parent = contextFrom(message.headers);
      const span = tracer().startSpan(
        `publish ${message.topic}`,
        { kind: SpanKind.PRODUCER, attributes: { ...messageAttributes(message), 'messaging.operation.type': 'send', 'messaging.operation.name': 'publish', 'messaging.batch.message_count': messages.length } },
        parent,
      );
      spans.push(span);
      const headers: Record<string, string> = { ...message.headers };
      delete headers[TRACESTATE];
      propagation.inject(trace.setSpan(parent, span), headers);
      return { ...message, headers };
    });
    try {
      await this.inner.publish(out);
    } catch (error) {
      for (const span of spans) recordError(span, error);
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }

  consume(options: ConsumerOptions): Promise<Consumer> {
    const { handler, groupId } = options;
    return this.inner.consume({
      ...options,
      handler: (message: IncomingMessage) => {
        if (typeof message.headers[TRACEPARENT] !== 'string') return handler(message);
        const attributes: Attributes = {
          ...messageAttributes(message),
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.consumer.group.name': groupId,
          'messaging.destination.partition.id': String(message.partition),
          'messaging.kafka.offset': Number(message.offset),
        };
        return inSpan(`process ${message.topic}`, { kind: SpanKind.CONSUMER, attributes }, () => handler(message), contextFrom(message.headers));
      },
    });
  }

  ensureTopics(topics: readonly string[]): Promise<void> {
    return this.inner.ensureTopics(topics);
  }

  ping(): Promise<boolean> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * The outbox relay's mapping with the event's trace context (from its metadata) copied into the
 * headers of each message it publishes. Pure, like the mapping it wraps.
 */
export function withTraceHeaders(toMessages: (event: RecordedEvent) => readonly OutgoingMessage[]): (event: RecordedEvent) => readonly OutgoingMessage[] {
  return (event) => {
    const messages = toMessages(event);
    const traceparent = event.metadata[TRACEPARENT];
    if (typeof traceparent !== 'string' || messages.length === 0) return messages;
    const tracestate = event.metadata[TRACESTATE];
    const carrier: Record<string, string> = { [TRACEPARENT]: traceparent, ...(typeof tracestate === 'string' ? { [TRACESTATE]: tracestate } : {}) };
    return messages.map((message) => ({ ...message, headers: { ...message.headers, ...carrier } }));
  };
}
