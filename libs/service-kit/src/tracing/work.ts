import { type Context, type Link, SpanKind, context, trace } from '@opentelemetry/api';
import type { RecordedEvent } from '@svp/event-store';
import { TRACEPARENT, carrierOf, contextFrom, inSpan, linkFrom, streamCategory, tracingEnabled } from './tracing.js';

/**
 * A projection's batch (the read model and checkpoint in one transaction) as a `project <name>`
 * span: a child of the first event of the batch that carries a trace context (its metadata), with
 * links to the others' (a batch may hold the events of many requests). A batch with no traced
 * event is written with no span. Only given to the runner while tracing is on.
 */
export function traceProjectionBatch<T>(projection: string, events: readonly RecordedEvent[], write: () => Promise<T>): Promise<T> {
  let parent: Context | undefined;
  let first: string | undefined;
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const event of events) {
    const traceparent = event.metadata[TRACEPARENT];
    if (typeof traceparent !== 'string' || seen.has(traceparent)) continue;
    seen.add(traceparent);
    if (parent === undefined) {
      parent = contextFrom(event.metadata);
      first = traceparent;
    } else if (traceparent !== first) {
      const link = linkFrom(event.metadata);
      if (link) links.push(link);
    }
  }
  if (!parent || !trace.getSpanContext(parent)) return write();
  const last = events[events.length - 1];
  return inSpan(
    `project ${projection}`,
    {
      kind: SpanKind.INTERNAL,
      links,
      attributes: {
        'svp.projection': projection,
        'svp.batch.events': events.length,
        ...(last ? { 'svp.global_position': Number(last.globalPosition) } : {}),
      },
    },
    async (span) => {
      const result = await write();
      if (typeof result === 'number') span?.setAttribute('svp.batch.applied', result);
      return result;
    },
    parent,
  );
}

export interface TracedCommand {
  type?: string;
  metadata: { orgId: string; correlationId?: string; causationId?: string };
}

/**
 * A command as a `command <type>` span around its whole run (the queue of its stream included):
 * `run` gets the span's context, which the stream writer stores in the metadata of the command's
 * events (each command its own, also when several are appended together). With tracing off, it only
 * calls `run(undefined)`.
 */
export function traceCommand<R>(command: TracedCommand, stream: string, run: (trace: Context | undefined) => Promise<R>): Promise<R> {
  if (!tracingEnabled()) return run(undefined);
  const { orgId, correlationId, causationId } = command.metadata;
  return inSpan(
    `command ${command.type ?? streamCategory(stream)}`,
    {
      kind: SpanKind.INTERNAL,
      isFailure: (error) => !isRefusal(error),
      attributes: {
        'svp.stream': stream,
        'svp.org_id': orgId,
        ...(command.type ? { 'svp.command': command.type } : {}),
        ...(correlationId ? { 'svp.correlation_id': correlationId } : {}),
        ...(causationId ? { 'svp.causation_id': causationId } : {}),
      },
    },
    async (span) => {
      let result: R;
      try {
        result = await run(context.active());
      } catch (error) {
        if (isRefusal(error)) span?.setAttribute('svp.command.outcome', 'refused');
        throw error;
      }
      // A stream writer's result ({ ok, duplicate, events }) or runCommand's ({ decided }).
      const outcome = result as { ok?: boolean; duplicate?: boolean; events?: unknown[]; decided?: number } | undefined;
      if (outcome && typeof outcome.ok === 'boolean') {
        span?.setAttribute('svp.command.outcome', !outcome.ok ? 'refused' : outcome.duplicate ? 'duplicate' : 'ok');
        if (Array.isArray(outcome.events)) span?.setAttribute('svp.event_count', outcome.events.length);
      } else if (outcome && typeof outcome.decided === 'number') {
        span?.setAttribute('svp.command.outcome', 'ok');
        span?.setAttribute('svp.event_count', outcome.decided);
      }
      return result;
    },
  );
}

/** An error the caller answers with a 4xx (an AppError refusal, a conflict): the command's outcome, not a fault. */
function isRefusal(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status < 500;
}

/** The `traceparent`/`tracestate` entries of a command's trace, for its events' metadata ({} without one). */
export function traceMetadata(trace: Context | undefined): Record<string, string> {
  return (trace && carrierOf(trace)) ?? {};
}
