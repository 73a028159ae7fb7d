import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { type OtlpReceiver, type ReceivedSpan, SPAN_KIND, eventually } from '@svp/testing';
import { call, createOrg } from './slice.js';

/**
 * The environment that turns tracing on in every service process: OTLP/HTTP JSON to the test's
 * receiver, exported every 100 ms (the standard OTEL_* variables, docs/tracing.md).
 */
export const tracingTestEnv = (receiver: OtlpReceiver): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '100',
});

async function gql(gatewayUrl: string, key: string, query: string, variables?: Record<string, unknown>) {
  const answer = await call<{ data?: any; errors?: unknown[] }>(`${gatewayUrl}/graphql`, { method: 'POST', key, body: { query, variables } }); // eslint-disable-line @typescript-eslint/no-explicit-any
  expect([answer.status, answer.body.errors]).toEqual([200, undefined]);
  return answer.body.data;
}

/** One trace's spans, with the questions the checks ask of them. */
class Trace {
  private readonly byId: Map<string, ReceivedSpan>;
  constructor(readonly spans: readonly ReceivedSpan[]) {
    this.byId = new Map(spans.map((span) => [span.spanId, span]));
  }

  find(service: ServiceName, name: string | RegExp, kind?: number, under?: ReceivedSpan): ReceivedSpan | undefined {
    return this.spans.find(
      (span) =>
        span.service === service &&
        (typeof name === 'string' ? span.name === name : name.test(span.name)) &&
        (kind === undefined || span.kind === kind) &&
        (under === undefined || this.isUnder(span, under)),
    );
  }

  /** The span, failing with what the trace holds when it is not there. */
  get(service: ServiceName, name: string | RegExp, kind?: number, under?: ReceivedSpan): ReceivedSpan {
    const span = this.find(service, name, kind, under);
    if (!span) throw new Error(`no ${service} span ${String(name)}${under ? ` under ${under.name}` : ''} in the trace: ${this.describe()}`);
    return span;
  }

  /** Whether `ancestor` is on the span's path to the root. */
  isUnder(span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
    for (let at = span.parentSpanId && this.byId.get(span.parentSpanId); at; at = at.parentSpanId && this.byId.get(at.parentSpanId)) if (at.spanId === ancestor.spanId) return true;
    return false;
  }

  describe(): string {
    return this.spans.map((span) => `${span.service}:${span.name}${span.parentSpanId ? ` ← ${this.byId.get(span.parentSpanId)?.name ?? span.parentSpanId}` : ' (root)'}`).join(', ');
  }
}

/** Waits until the trace of the gateway span named `operation` holds every span `complete` asks for. */
async function traceOf(receiver: OtlpReceiver, operation: string, complete: (trace: Trace) => boolean): Promise<Trace> {
  let last: Trace | undefined;
  try {
    return await eventually(async () => {
      const root = receiver.spans.find((span) => span.service === 'gateway' && span.name === operation);
      if (!root) return undefined;
      last = new Trace(receiver.spans.filter((span) => span.traceId === root.traceId));
      return complete(last) ? last : undefined;
    }, `the trace of ${operation}`, 30_000);
  } catch (error) {
    const others = receiver.spans.filter((s) => s.traceId !== last?.spans[0]?.traceId).map((s) => `${s.service}:${s.name}`);
    throw new Error(`${(error as Error).message}; its spans: ${last?.describe() ?? 'none'}; other spans: ${[...new Set(others)].join(', ')}`);
  }
}

/**
 * Tracing across the processes (every service exporting to `receiver`): two GraphQL mutations at the
 * gateway, each followed as one trace with the right parents.
 *
 * - setSessionVariables: gateway (HTTP server span, the operation, the call) → variables (server
 *   span, the command, the append, the session_variables projection, the relay's publish) → Kafka
 *   → the sessions service's consumer and the gateway's live hub.
 * - startSession with initial variables: gateway → sessions (server span, the append, the relay's
 *   publish) → Kafka → the variables service's consumer → its command → the projection applying
 *   the variables there, in the other service.
 */
export async function checkTracing(urls: Record<ServiceName, string>, rootToken: string, receiver: OtlpReceiver): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Tracing');

  // ── startSession: gateway → sessions → Kafka → the variables service's projection ──
  const started = await gql(urls.gateway, org.apiKey, 'mutation { startSession(channelId: "web", sessionVariableValues: [{ name: "UserName", value: "Ada" }]) { sessionId } }');
  const sessionId: string = started.startSession.sessionId;
  // Complete once every span checked below has arrived: server spans end after their answer is
  // sent, so a process may export them in a later batch than the spans that followed the answer.
  const start = await traceOf(
    receiver,
    'mutation startSession',
    (t) =>
      t.find('variables', 'project session_variables') !== undefined &&
      t.find('gateway', 'POST /graphql', SPAN_KIND.server) !== undefined &&
      t.find('sessions', 'POST /v1/sessions', SPAN_KIND.server) !== undefined &&
      t.find('variables', 'POST /internal/v1/variables/check', SPAN_KIND.server) !== undefined,
  );
  {
    const server = start.get('gateway', 'POST /graphql', SPAN_KIND.server);
    expect(server.parentSpanId).toBeUndefined();
    const operation = start.get('gateway', 'mutation startSession');
    expect(operation.parentSpanId).toBe(server.spanId);
    const client = start.get('gateway', 'POST /v1/sessions', SPAN_KIND.client);
    expect(client.parentSpanId).toBe(operation.spanId);
    const sessions = start.get('sessions', 'POST /v1/sessions', SPAN_KIND.server);
    expect(sessions.parentSpanId).toBe(client.spanId);
    expect(sessions.attributes).toMatchObject({ 'http.route': '/v1/sessions', 'http.response.status_code': 201 });
    // Sessions asks variables to check the initial values first: that call is in the trace too.
    const check = start.get('sessions', 'POST /internal/v1/variables/check', SPAN_KIND.client, sessions);
    expect(start.get('variables', 'POST /internal/v1/variables/check', SPAN_KIND.server).parentSpanId).toBe(check.spanId);
    start.get('sessions', /^append /, SPAN_KIND.internal, sessions);
    const publish = start.get('sessions', 'publish sessions.events.v1', SPAN_KIND.producer, sessions);
    const consumed = start.get('variables', 'process sessions.events.v1', SPAN_KIND.consumer);
    expect(consumed.parentSpanId).toBe(publish.spanId);
    expect(consumed.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.destination.name': 'sessions.events.v1', 'svp.event_type': 'SessionStarted' });
    // The consumer's commands (the visitor's link, then the session's variables) and the projection
    // applying their events: a child of the first command's span whose event is in its batch.
    const command = start.spans.find((span) => span.name.startsWith('command ') && String(span.attributes['svp.stream']).includes(sessionId) && start.isUnder(span, consumed));
    if (!command) throw new Error(`no command on the session's stream under the consumer: ${start.describe()}`);
    const project = start.get('variables', 'project session_variables', SPAN_KIND.internal, consumed);
    expect(project.parentSpanId && start.spans.find((span) => span.spanId === project.parentSpanId)?.name).toMatch(/^command /);
  }

  // ── setSessionVariables: gateway → variables → Kafka → sessions, and the gateway's live hub ──
  await gql(urls.gateway, org.apiKey, 'mutation($id: ID!) { setSessionVariables(sessionId: $id, values: [{ name: "cart", value: 42 }]) { name value } }', { id: sessionId });
  const set = await traceOf(
    receiver,
    'mutation setSessionVariables',
    (t) =>
      t.find('sessions', 'process variables.events.v1') !== undefined &&
      t.find('gateway', 'process variables.events.v1') !== undefined &&
      t.find('variables', 'project session_variables') !== undefined &&
      t.find('gateway', 'POST /graphql', SPAN_KIND.server) !== undefined &&
      t.find('variables', 'PUT /v1/sessions/:sessionId/variables', SPAN_KIND.server) !== undefined,
  );
  const server = set.get('gateway', 'POST /graphql', SPAN_KIND.server);
  expect(server.parentSpanId).toBeUndefined();
  const operation = set.get('gateway', 'mutation setSessionVariables');
  expect(operation.parentSpanId).toBe(server.spanId);
  expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'mutation' });
  const client = set.get('gateway', 'PUT /v1/sessions/{sessionId}/variables', SPAN_KIND.client);
  expect(client.parentSpanId).toBe(operation.spanId);
  expect(client.attributes).toMatchObject({ 'http.request.method': 'PUT', 'http.response.status_code': 200, 'peer.service': 'variables' });
  const variables = set.get('variables', 'PUT /v1/sessions/:sessionId/variables', SPAN_KIND.server);
  expect(variables.parentSpanId).toBe(client.spanId);
  const command = set.get('variables', /^command /, SPAN_KIND.internal, variables);
  expect(command.attributes).toMatchObject({ 'svp.org_id': org.orgId, 'svp.command.outcome': 'ok' });
  expect(set.get('variables', 'append sessionvars').parentSpanId).toBe(command.spanId);
  // The projection (read-your-writes: the PUT waited for it) and the relay continue the command's trace from the event's metadata.
  expect(set.get('variables', 'project session_variables').parentSpanId).toBe(command.spanId);
  const publish = set.get('variables', 'publish variables.events.v1', SPAN_KIND.producer);
  expect(publish.parentSpanId).toBe(command.spanId);
  expect(publish.attributes).toMatchObject({ 'messaging.destination.name': 'variables.events.v1', 'messaging.kafka.message.key': sessionId });
  for (const consumer of ['sessions', 'gateway'] as const) {
    const consumed = set.get(consumer, 'process variables.events.v1', SPAN_KIND.consumer);
    expect({ consumer, parent: consumed.parentSpanId }).toEqual({ consumer, parent: publish.spanId });
    expect(consumed.attributes).toMatchObject({ 'svp.event_type': 'SessionVariablesChanged', 'messaging.message.id': publish.attributes['messaging.message.id'] });
  }
  // What the sessions consumer recorded is there to read (the effect, not only the span).
  await eventually(async () => {
    const answer = await call(`${urls.sessions}/internal/v1/sessions/${sessionId}/variable-activity`, { key: org.apiKey });
    return answer.status === 200 && (answer.body.variableNames as string[]).includes('cart') ? true : undefined;
  }, 'the sessions service to record the change');
  // Health probes and scrapes make no traces.
  expect(receiver.spans.some((span) => ['/healthz', '/readyz', '/metrics'].includes(String(span.attributes['http.route'])))).toBe(false);
}
