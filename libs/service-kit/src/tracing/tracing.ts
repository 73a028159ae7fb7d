import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TextMapGetter,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';

/**
 * OpenTelemetry tracing, off unless configured (docs/tracing.md). Everything here goes through
 * @opentelemetry/api only; the SDK is loaded by `startTracing` (sdk.ts) when the OTEL_* environment
 * asks for it. While it is off, `tracingEnabled()` is false and every hook skips its work at one
 * boolean test: no span, no context, no copy of metadata or headers.
 */

let enabled = false;

/** Whether an SDK was started in this process (spans are recorded and exported). */
export function tracingEnabled(): boolean {
  return enabled;
}

/** Set by startTracing and its shutdown only. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export const TRACER_NAME = '@svp/platform';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** The W3C Trace Context fields as they are carried in HTTP headers, Kafka headers and event metadata. */
export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/** Reads a carrier whose values may be anything (event metadata, parsed JSON): strings only. */
const looseGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    return undefined;
  },
};

/** The trace context a carrier (HTTP or Kafka headers, event metadata) holds; ROOT_CONTEXT when none. */
export function contextFrom(carrier: Record<string, unknown> | undefined): Context {
  if (!carrier || typeof carrier[TRACEPARENT] !== 'string') return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier, looseGetter);
}

/** The W3C fields of a context (`{ traceparent, tracestate? }`), or undefined when it has no valid span. */
export function carrierOf(ctx: Context): Record<string, string> | undefined {
  if (!trace.getSpanContext(ctx)) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier[TRACEPARENT] ? carrier : undefined;
}

/** A link to the span a carrier names (batched work pointing at each item's trace). */
export function linkFrom(carrier: Record<string, unknown> | undefined): Link | undefined {
  const spanContext = trace.getSpanContext(contextFrom(carrier));
  return spanContext ? { context: spanContext } : undefined;
}

/** Marks a span failed with the error (message and type; the stack as an exception event). */
export function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Runs `fn` in a new span (a child of `parent`, the active context by default), ended when `fn`
 * settles and marked failed when it throws. With tracing off it only calls `fn(undefined)`.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions & { isFailure?: (error: unknown) => boolean },
  fn: (span: Span | undefined) => Promise<T>,
  parent?: Context,
): Promise<T> {
  if (!enabled) return fn(undefined);
  const base = parent ?? context.active();
  const { isFailure, ...spanOptions } = options;
  const span = tracer().startSpan(name, spanOptions, base);
  try {
    return await context.with(trace.setSpan(base, span), () => fn(span));
  } catch (error) {
    // A refusal the caller answers (a 4xx) is an outcome, not a failure of the span.
    if (!isFailure || isFailure(error)) recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Runs `fn` with `ctx` active (no-op wrapper when there is none). */
export function withContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx ? context.with(ctx, fn) : fn();
}

/** The active context when tracing is on and it holds a span; else undefined (nothing to carry). */
export function activeTraceContext(): Context | undefined {
  if (!enabled) return undefined;
  const ctx = context.active();
  return trace.getSpanContext(ctx) ? ctx : undefined;
}

/** The category of a stream (`sessionvars-org.s1` → `sessionvars`): a span name of low cardinality. */
export function streamCategory(stream: string): string {
  const dash = stream.indexOf('-');
  return dash > 0 ? stream.slice(0, dash) : stream;
}

export interface TracedFetchOptions {
  /** The route as documented (`/v1/sessions/{sessionId}`): the span's name with the method. */
  route: string;
  /** The service called (identity, sessions, variables). */
  service?: string;
}

/**
 * `fetch` with a client span and the W3C `traceparent` header, when tracing is on; plain `fetch`
 * otherwise. `init.headers` must be a plain object (it gets the header).
 */
export async function tracedFetch(url: URL | string, init: RequestInit & { headers: Record<string, string> }, options: TracedFetchOptions): Promise<Response> {
  if (!enabled) return fetch(url, init);
  const target = typeof url === 'string' ? new URL(url) : url;
  const method = init.method ?? 'GET';
  const attributes: Attributes = {
    'http.request.method': method,
    'url.full': `${target.origin}${target.pathname}`,
    'server.address': target.hostname,
    'server.port': Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
    'url.template': options.route,
    ...(options.service ? { 'peer.service': options.service } : {}),
  };
  return inSpan(`${method} ${options.route}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const headers = { ...init.headers };
    propagation.inject(context.active(), headers);
    const response = await fetch(url, { ...init, headers });
    span?.setAttribute('http.response.status_code', response.status);
    if (response.status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
    return response;
  });
}
