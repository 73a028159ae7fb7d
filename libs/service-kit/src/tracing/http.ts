import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { tracer } from './tracing.js';

/** The operator endpoints probes and scrapers call every few seconds: no trace of their own. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * A server span per HTTP request (only installed while tracing is on): `<METHOD> <route>`, a child
 * of the caller's W3C `traceparent` header when it sends one, active while the request is handled
 * (guards, pipes, the handler, the command and the append it makes), ended when the response is
 * sent or the connection closes first. /healthz, /readyz and /metrics are not traced.
 */
export function installHttpTracing(instance: object): void {
  // Nest's platform-fastify may bring its own copy of Fastify's types: the hooks are the same.
  const fastify = instance as FastifyInstance;
  const spans = new WeakMap<IncomingMessage, Span>();
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions?.url;
    if (route !== undefined && UNTRACED.has(route)) return done();
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const path = request.url.split('?')[0] ?? request.url;
    const correlationId = request.headers['x-correlation-id'];
    const span = tracer().startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': path,
          'url.scheme': 'http',
          ...(route ? { 'http.route': route } : {}),
          ...(typeof correlationId === 'string' ? { 'svp.correlation_id': correlationId } : {}),
        },
      },
      parent,
    );
    spans.set(request.raw, span);
    // A connection closed before the answer (the client gave up) still ends the span.
    reply.raw.once('close', () => {
      if (!spans.has(request.raw)) return;
      spans.delete(request.raw);
      span.setAttribute('http.response.status_code', reply.raw.statusCode);
      if (!reply.raw.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response was sent' });
      span.end();
    });
    const active = trace.setSpan(parent, span);
    // The body arrives in the request stream's events, the handler runs after them: both in the span.
    context.bind(active, request.raw);
    context.bind(active, reply.raw);
    context.with(active, () => done());
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request.raw);
    if (span) {
      spans.delete(request.raw);
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${reply.statusCode}` });
      span.end();
    }
    done();
  });
}
