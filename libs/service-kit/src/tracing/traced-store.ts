import { type Attributes, type Link, SpanKind, context, trace } from '@opentelemetry/api';
import {
  type AppendResult,
  DelegatingEventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadStreamOptions,
  type RecordedEvent,
} from '@svp/event-store';
import { TRACEPARENT, carrierOf, inSpan, linkFrom, streamCategory } from './tracing.js';

/**
 * The event store with spans (only used while tracing is on): `append <category>` around every
 * append and `read <category>` around stream reads. An append stamps the caller's trace context
 * (`traceparent`, `tracestate`) into the metadata of each event that has none yet, so whoever
 * handles the event later (the outbox relay publishing it, a projection applying it) continues
 * that trace; events whose metadata already names another trace (a group commit of several
 * requests' commands) are linked from the append span.
 */
export class TracedEventStore extends DelegatingEventStore {
  override appendToStream(streamName: string, events: readonly EventToAppend[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult> {
    const parent = context.active();
    const carrier = carrierOf(parent);
    const links: Link[] = [];
    const linked = new Set<string>();
    for (const event of events) {
      const own = event.metadata?.[TRACEPARENT];
      if (typeof own !== 'string' || own === carrier?.[TRACEPARENT] || linked.has(own)) continue;
      linked.add(own);
      const link = linkFrom(event.metadata);
      if (link) links.push(link);
    }
    const attributes: Attributes = {
      'svp.stream': streamName,
      'svp.event_count': events.length,
      'svp.event_types': [...new Set(events.map((event) => event.type))],
      ...(typeof options?.expectedRevision === 'bigint' ? { 'svp.expected_revision': Number(options.expectedRevision) } : {}),
    };
    return inSpan(
      `append ${streamCategory(streamName)}`,
      { kind: SpanKind.INTERNAL, attributes, links },
      async (span) => {
        // The caller's context; an append outside any trace (a timer firing) starts one at its own span.
        const stamp = carrier ?? carrierOf(context.active());
        const stamped = stamp ? events.map((event) => (typeof event.metadata?.[TRACEPARENT] === 'string' ? event : { ...event, metadata: { ...event.metadata, ...stamp } })) : events;
        const result = await this.inner.appendToStream(streamName, stamped, options);
        span?.setAttribute('svp.global_position', Number(result.lastGlobalPosition));
        return result;
      },
      parent,
    );
  }

  override readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    // Reads outside any trace (a timer, a relay) make no root spans of their own.
    if (!trace.getSpanContext(context.active())) return this.inner.readStream(streamName, options);
    return inSpan(`read ${streamCategory(streamName)}`, { kind: SpanKind.INTERNAL, attributes: { 'svp.stream': streamName } }, async (span) => {
      const events = await this.inner.readStream(streamName, options);
      span?.setAttribute('svp.event_count', events.length);
      return events;
    });
  }
}
