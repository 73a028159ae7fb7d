// The Grafana dashboard and the Prometheus alert rules, checked as files: the dashboard is importable
// (a Prometheus data-source variable that every panel uses, unique ids, a panel per metric family of
// issue 9), and every alert has its runbook entry in docs/runbook.md, and every entry its alert.
// That each metric they name is served is checked against the running services, in the
// distributed-mode test (apps/platform/src/__fixtures__/metrics-checks.ts); PromQL syntax by promtool
// (tools/prometheus/promtool.int.spec.ts).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
const dashboard = JSON.parse(read('tools/grafana/svp-platform.json')) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string; type: string; query: unknown }[] } };
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const expressions = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; description?: string; runbook_url?: string };
}
const rules = (parse(read('tools/prometheus/alerts.yml')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const runbook = read('docs/runbook.md');
/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
const runbookAnchors = new Set([...runbook.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));
const runbookAlerts = [...runbook.matchAll(/^### (Svp\w+)$/gm)].map((m) => m[1]!);

describe('the Grafana dashboard (tools/grafana/svp-platform.json)', () => {
  it('has a Prometheus data-source variable that every panel and query uses, and a service variable', () => {
    const variables = dashboard.templating.list;
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.find((v) => v.name === 'service')).toMatchObject({ type: 'query' });
    for (const panel of panels) {
      expect({ panel: panel.title, datasource: panel.datasource }).toEqual({ panel: panel.title, datasource: { type: 'prometheus', uid: '${datasource}' } });
      expect({ panel: panel.title, targets: (panel.targets ?? []).length > 0 }).toEqual({ panel: panel.title, targets: true });
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('lays out unique panels within the 24-column grid', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    expect(dashboard.uid).toBe('svp-platform');
  });

  it('has panels for every metric family of issue 9, per service', () => {
    for (const family of [
      'svp_commands_total',
      'svp_command_duration_seconds_bucket',
      'svp_event_store_append_duration_seconds_bucket',
      'svp_consumer_lag_messages',
      'svp_projection_lag_events',
      'svp_outbox_depth_events',
      'svp_webhook_attempts_total',
      'svp_webhook_attempt_seconds_bucket',
      'svp_org_requests_total',
      'svp_http_requests_total',
    ])
      expect({ family, used: expressions.some((e) => e.includes(family)) }).toEqual({ family, used: true });
    // Per service: the service-scoped families are filtered by the dashboard's service variable.
    for (const expr of expressions.filter((e) => /svp_(commands|command_duration|event_store|consumer_lag|projection|outbox|http)_/.test(e)))
      expect(expr).toContain('service=~"$service"');
  });
});

describe('the alert rules (tools/prometheus/alerts.yml)', () => {
  it('give every alert a severity, a summary, a description and a runbook entry that exists', () => {
    expect(rules.length).toBeGreaterThanOrEqual(15);
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(page|ticket|info)$/) });
      expect(rule.annotations?.summary).toBeTruthy();
      expect(rule.annotations?.description).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? '';
      expect({ alert: rule.alert, url }).toEqual({ alert: rule.alert, url: `docs/runbook.md#${rule.alert.toLowerCase()}` });
      expect({ alert: rule.alert, inRunbook: runbookAnchors.has(url.split('#')[1]!) }).toEqual({ alert: rule.alert, inRunbook: true });
    }
  });

  it('and the runbook has no entry for an alert that does not exist, nor two for one', () => {
    expect(new Set(runbookAlerts).size).toBe(runbookAlerts.length);
    expect([...runbookAlerts].sort()).toEqual(rules.map((r) => r.alert).sort());
  });

  it('each runbook entry says what it means, how to confirm it and what to do', () => {
    const sections = runbook.split(/^### /m).slice(1);
    for (const section of sections) {
      const name = section.split('\n')[0]!;
      expect({ name, means: section.includes('**Means:**'), confirm: section.includes('**Confirm:**'), do: section.includes('**Do:**') }).toEqual({ name, means: true, confirm: true, do: true });
    }
  });
});
