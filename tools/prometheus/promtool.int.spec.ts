// The alert rules, the Prometheus configurations and every query of the Grafana dashboard, checked by
// Prometheus' own tool: `promtool check rules` (PromQL syntax, rule structure), `promtool test rules`
// (alerts.test.yml: the alerts fire on the series that should fire them, and only those), `promtool
// check config`. promtool comes with Debian's `prometheus` package (.ci/run installs it when missing).
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const here = join(root, 'tools/prometheus');

function findPromtool(): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin']) {
    try {
      accessSync(join(dir, 'promtool'), constants.X_OK);
      return join(dir, 'promtool');
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error('promtool is not installed, so the alert rules and dashboard queries cannot be checked: run `apt-get install prometheus` (Debian; it ships promtool)');
}

function promtool(...args: string[]): string {
  try {
    return execFileSync(findPromtool(), args, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

describe('promtool on tools/prometheus and tools/grafana', () => {
  it('accepts the alert rules', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('fires the alerts of alerts.test.yml on their series, and no others', () => {
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });

  it('accepts the Prometheus configurations (local run and Docker Compose)', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS');
    expect(promtool('check', 'config', 'prometheus.compose.yml')).toContain('SUCCESS');
  });

  it("parses every query of the Grafana dashboard (Grafana's variables replaced by values)", () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'tools/grafana/svp-platform.json'), 'utf8')) as { panels: { title: string; targets?: { expr?: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr ? [t.expr] : [])));
    expect(exprs.length).toBeGreaterThan(20);
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: exprs.map((expr, i) => ({ record: `svp:dashboard_query:${i}`, expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$service', '.*') })),
        },
      ],
    };
    const scratch = mkdtempSync(join(tmpdir(), 'svp-promtool-'));
    try {
      const file = join(scratch, 'dashboard-queries.yml');
      writeFileSync(file, stringify(rules));
      expect(promtool('check', 'rules', file)).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
