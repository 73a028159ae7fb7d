import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { eventually } from '@svp/testing';
import { parse } from 'yaml';
import { call, createOrg } from './slice.js';
import { startWebhookReceiver } from '../drills/webhook-receiver.js';

/**
 * The metrics of issue 9 against running services: commands are sent, every service's /metrics is
 * scraped, and each family is asked for a sensible value (the command counter of the type just sent
 * went up, consumer lag, projection lag and outbox depth back to 0 once caught up, the webhook
 * delivery counted, the org's requests counted under its id). Then the Grafana dashboard and the
 * Prometheus alerts are held to what the services expose: every metric they name is served.
 */
type Urls = Record<ServiceName, string>;
const SERVICES: readonly ServiceName[] = ['gateway', 'identity', 'sessions', 'variables'];
const EVENT_SOURCED: readonly ServiceName[] = ['identity', 'sessions', 'variables'];

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  /** Family name → type (counter, gauge, histogram, summary), from the # TYPE lines. */
  families: Map<string, string>;
}

/** Prometheus text exposition, parsed (enough of it for these checks: no escapes beyond \" and \\). */
export function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  const families = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, type[2]!);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, families };
}

async function scrape(url: string): Promise<Scrape> {
  const answer = await call<string>(`${url}/metrics`);
  expect(answer.status).toBe(200);
  return parseExposition(answer.body);
}

const scrapeAll = async (urls: Urls) => Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await scrape(urls[s])] as const))) as Record<ServiceName, Scrape>;

/** The sum of the samples named `name` whose labels include `labels`. */
export function sum(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  return scrape.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}
const series = (scrape: Scrape, name: string) => scrape.samples.filter((s) => s.name === name);

export async function checkMetrics(urls: Urls, rootToken: string): Promise<void> {
  const before = await scrapeAll(urls);
  const org = await createOrg(urls.identity, rootToken, 'Metrics Co');
  const key = org.apiKey;
  const receiver = await startWebhookReceiver();
  try {
    // Commands of known types on each event-sourced service, one of them refused by its decider.
    const hook = await call(`${urls.sessions}/v1/webhooks`, { method: 'POST', key, body: { url: receiver.url, events: ['IM_Session_Status'] } });
    expect(hook.status).toBe(201);
    const started = await call(`${urls.sessions}/v1/sessions`, { method: 'POST', key, body: { channelId: 'web' } });
    expect(started.status).toBe(201);
    const sessionId = started.body.sessionId as string;
    expect((await call(`${urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key, body: { type: 'ROUTED' } })).status).toBe(200);
    // HOLD from OPEN: the decider refuses it (409 naming the status).
    expect((await call(`${urls.sessions}/v1/sessions/${sessionId}/events`, { method: 'POST', key, body: { type: 'HOLD' } })).status).toBe(409);
    const put = await call(`${urls.variables}/v1/sessions/${sessionId}/variables`, { method: 'PUT', key, body: { sessionVariableValues: [{ name: 'plan', value: 'gold' }] } });
    expect(put.status).toBe(200);
    await eventually(async () => (receiver.received.filter((r) => JSON.parse(r.body).sessionId === sessionId).length >= 2 ? true : undefined), 'the two webhook deliveries', 15_000);

    // The infrastructure gauges once everything has caught up: nothing behind on any service.
    const after = await eventually(async () => {
      const now = await scrapeAll(urls);
      const caughtUp = EVENT_SOURCED.every(
        (s) =>
          series(now[s], 'svp_projection_lag_events').length > 0 &&
          series(now[s], 'svp_projection_lag_events').every((x) => x.value === 0) &&
          series(now[s], 'svp_outbox_depth_events').every((x) => x.value === 0) &&
          series(now[s], 'svp_consumer_lag_messages').every((x) => x.value === 0),
      );
      // The dispatcher counts an attempt once its answer is recorded, a moment after the receiver saw it.
      const attempted = sum(now.sessions, 'svp_webhook_attempts_total', { outcome: 'delivered' }) - sum(before.sessions, 'svp_webhook_attempts_total', { outcome: 'delivered' }) >= 2;
      return caughtUp && attempted ? now : undefined;
    }, 'projection lag, outbox depth and consumer lag at 0 on every service, the webhook attempts counted', 30_000);
    const delta = (service: ServiceName, name: string, labels: Record<string, string> = {}) => sum(after[service], name, labels) - sum(before[service], name, labels);

    // Command rates and latencies per type.
    expect(delta('identity', 'svp_commands_total', { type: 'CreateOrg', outcome: 'ok' })).toBe(1);
    expect(delta('sessions', 'svp_commands_total', { type: 'CreateWebhook', outcome: 'ok' })).toBe(1);
    expect(delta('sessions', 'svp_commands_total', { type: 'StartSession', outcome: 'ok' })).toBe(1);
    expect(delta('sessions', 'svp_commands_total', { type: 'Route', outcome: 'ok' })).toBe(1);
    expect(delta('sessions', 'svp_commands_total', { type: 'Hold', outcome: 'refused' })).toBe(1);
    expect(delta('sessions', 'svp_command_duration_seconds_count', { type: 'StartSession' })).toBe(1);
    expect(delta('sessions', 'svp_command_duration_seconds_sum', { type: 'StartSession' })).toBeGreaterThan(0);
    expect(delta('variables', 'svp_commands_total', { type: 'SetSessionVariables', outcome: 'ok' })).toBe(1);
    expect(delta('variables', 'svp_command_duration_seconds_count', { type: 'SetSessionVariables' })).toBe(1);

    // Append latency per adapter (PostgreSQL here): the session's start, its route, the webhook; the variables.
    expect(delta('identity', 'svp_event_store_append_duration_seconds_count', { adapter: 'postgres', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(delta('sessions', 'svp_event_store_append_duration_seconds_count', { adapter: 'postgres', outcome: 'ok' })).toBeGreaterThanOrEqual(3);
    expect(delta('variables', 'svp_event_store_append_duration_seconds_count', { adapter: 'postgres', outcome: 'ok' })).toBeGreaterThanOrEqual(1);

    // Consumer lag per group and partition: each service's durable groups, every partition reported.
    const groups = (service: ServiceName) => new Set(series(after[service], 'svp_consumer_lag_messages').map((s) => s.labels.group));
    expect(groups('identity').size).toBeGreaterThanOrEqual(1);
    expect(groups('sessions').size).toBeGreaterThanOrEqual(2);
    expect(groups('variables').size).toBeGreaterThanOrEqual(2);
    expect([...groups('gateway')].every((g) => g?.startsWith('gateway-live-'))).toBe(true);
    for (const s of series(after.variables, 'svp_consumer_lag_messages')) expect(s.labels).toMatchObject({ topic: expect.stringMatching(/\.events\.v1$/), partition: expect.stringMatching(/^\d+$/) });

    // Projection lag and state: every projection live and at the head.
    for (const service of EVENT_SOURCED) {
      const states = series(after[service], 'svp_projection_state').filter((s) => s.value === 1);
      expect(states.length).toBe(series(after[service], 'svp_projection_lag_events').length);
      expect(new Set(states.map((s) => s.labels.state))).toEqual(new Set(['live']));
    }
    // Outbox depth: one relay per event-sourced service, nothing left to publish.
    for (const service of EVENT_SOURCED) expect(series(after[service], 'svp_outbox_depth_events').map((s) => [s.labels.relay, s.value])).toEqual([[service, 0]]);
    // The outbox lease: the one instance of each service holds it (it publishes).
    for (const service of EVENT_SOURCED) expect(series(after[service], 'svp_outbox_lease_held').map((s) => [s.labels.relay, s.value])).toEqual([[service, 1]]);

    // Webhook deliveries: attempts, their latency, the backlog.
    expect(delta('sessions', 'svp_webhook_attempts_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(2);
    expect(delta('sessions', 'svp_webhook_attempt_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(series(after.sessions, 'svp_webhook_deliveries_pending')).toHaveLength(1);
    expect(series(after.sessions, 'svp_webhook_oldest_pending_age_seconds')[0]!.value).toBeGreaterThanOrEqual(0);

    // Per-org request counts: the org's own label, on each service it called.
    expect(delta('sessions', 'svp_org_requests_total', { org_id: org.orgId, outcome: 'allowed' })).toBeGreaterThanOrEqual(4);
    expect(delta('variables', 'svp_org_requests_total', { org_id: org.orgId, outcome: 'allowed' })).toBeGreaterThanOrEqual(1);
    // Only the per-org counter carries an org id (bounded cardinality everywhere else).
    for (const service of SERVICES)
      expect({ service, withOrgId: [...new Set(after[service].samples.filter((s) => 'org_id' in s.labels && s.name !== 'svp_org_requests_total').map((s) => s.name))] }).toEqual({ service, withOrgId: [] });
    // No gauge failed to read on this scrape's sources.
    for (const service of SERVICES) expect({ service, failures: series(after[service], 'svp_metrics_collect_failures_total').filter((s) => s.value > 0) }).toEqual({ service, failures: [] });

    checkDashboardsAndAlerts(after);
  } finally {
    await receiver.close();
  }
}

// ── the dashboard and the alerts name only what the services expose ─────────────────────────────

const repoRoot = resolve(import.meta.dirname, '../../../..');
export const DASHBOARD_DIR = join(repoRoot, 'tools/grafana');
export const ALERTS_FILE = join(repoRoot, 'tools/prometheus/alerts.yml');

/** Metric names in a PromQL expression: identifiers with the platform's and the client's prefixes. */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b((?:svp|process|nodejs)_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1]!))];
}

/** Every PromQL expression of the dashboards in tools/grafana and the alert rules in tools/prometheus. */
export function referencedExpressions(): { where: string; expr: string }[] {
  const found: { where: string; expr: string }[] = [];
  for (const file of readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as { panels?: Panel[]; templating?: { list?: { name: string; query?: unknown; definition?: string }[] } };
    const visit = (panels: Panel[] = []) => {
      for (const panel of panels) {
        for (const target of panel.targets ?? []) if (target.expr) found.push({ where: `${file}: ${panel.title}`, expr: target.expr });
        visit(panel.panels);
      }
    };
    visit(dashboard.panels);
    for (const variable of dashboard.templating?.list ?? []) {
      const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string } | undefined)?.query;
      if (query && /label_values|query_result/.test(query)) found.push({ where: `${file}: variable ${variable.name}`, expr: query });
    }
  }
  const alerts = parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  for (const group of alerts.groups) for (const rule of group.rules) found.push({ where: `alerts.yml: ${rule.alert ?? rule.record}`, expr: rule.expr });
  return found;
}
interface Panel {
  title: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Each metric name the dashboards and alerts use is a family some service serves (a histogram's _bucket, _sum, _count included). */
export function checkDashboardsAndAlerts(scrapes: Record<ServiceName, Scrape>): void {
  const exposed = new Set<string>();
  for (const { families } of Object.values(scrapes))
    for (const [name, type] of families) {
      exposed.add(name);
      if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(`${name}${suffix}`);
    }
  const expressions = referencedExpressions();
  expect(expressions.length).toBeGreaterThan(20);
  const unknown = expressions.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !exposed.has(n)).map((name) => ({ where, name })));
  expect(unknown).toEqual([]);
}
