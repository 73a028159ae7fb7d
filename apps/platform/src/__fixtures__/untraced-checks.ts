import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { eventually } from '@svp/testing';
import { call, createOrg } from './slice.js';

type Urls = Record<ServiceName, string>;

/** A traceparent a caller might send: with tracing off it must not travel into the stored events. */
const CALLER_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

interface ExportedLine {
  stream: string;
  type: string;
  metadata: Record<string, unknown>;
}

/** A session's events in one service, read through the admin export endpoint (NDJSON). */
async function exportedEvents(url: string, rootToken: string, orgId: string, sessionId: string): Promise<ExportedLine[]> {
  const answer = await call<string>(`${url}/admin/v1/orgs/${orgId}/sessions/${sessionId}/events`, { key: rootToken });
  expect(answer.status).toBe(200);
  const text = typeof answer.body === 'string' ? answer.body : `${JSON.stringify(answer.body)}\n`;
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ExportedLine);
}

/**
 * Tracing off (the default: no OTEL_* variable set): a session started and a variable set, both with
 * a caller's traceparent header, store events whose metadata carries no trace context, in the
 * sessions service and in the variables service (its own write and the one it makes from the
 * sessions service's event over the bus).
 */
export async function checkUntracedEvents(urls: Urls, rootToken: string): Promise<void> {
  const org = await createOrg(urls.identity, rootToken, 'Untraced Co');
  const headers = { traceparent: CALLER_TRACEPARENT };
  const started = await call<{ sessionId: string }>(`${urls.sessions}/v1/sessions`, {
    method: 'POST',
    key: org.apiKey,
    headers,
    body: { channelId: 'web', sessionVariableValues: [{ name: 'plan', value: 'gold' }] },
  });
  expect(started.status).toBe(201);
  const { sessionId } = started.body;
  const put = await call(`${urls.variables}/v1/sessions/${sessionId}/variables`, {
    method: 'PUT',
    key: org.apiKey,
    headers,
    body: { sessionVariableValues: [{ name: 'cart', value: 42 }] },
  });
  expect(put.status).toBe(200);

  const sessionEvents = await exportedEvents(urls.sessions, rootToken, org.orgId, sessionId);
  // The initial variable comes over the bus: wait for both writes in the variables service.
  const variableEvents = await eventually(async () => {
    const events = await exportedEvents(urls.variables, rootToken, org.orgId, sessionId);
    return events.length >= 2 ? events : undefined;
  }, 'the variables service to store the initial and the PUT variable');

  const events = [...sessionEvents, ...variableEvents];
  expect(sessionEvents.map((e) => e.type)).toContain('SessionStarted');
  for (const event of events) {
    expect({ type: event.type, metadata: event.metadata }).toEqual({ type: event.type, metadata: expect.objectContaining({ orgId: org.orgId }) });
    expect({ type: event.type, keys: Object.keys(event.metadata).filter((key) => key === 'traceparent' || key === 'tracestate') }).toEqual({ type: event.type, keys: [] });
  }
  expect(JSON.stringify(events)).not.toContain('4bf92f3577b34da6a3ce929d0e0e4736');
}
