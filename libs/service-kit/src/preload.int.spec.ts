import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

// A process like a service's main, on the built packages: a preload counts the real date formatters
// built, then the ES module imports run in their order, `@svp/service-kit/preload` first (or not).
const root = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'svp-preload-'));
const counter = join(dir, 'count-date-formats.cjs');
writeFileSync(
  counter,
  `const Real = Intl.DateTimeFormat;
globalThis.dateFormatsBuilt = 0;
Intl.DateTimeFormat = class extends Real { constructor(...args) { super(...args); globalThis.dateFormatsBuilt++; } };
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(imports: string): { loaded: number; logged: number; line: string } {
  const script = `${imports}
import { ConsoleLogger } from '@nestjs/common';
const loaded = globalThis.dateFormatsBuilt;
let line = '';
const logger = new ConsoleLogger('Probe', { colors: false });
process.stdout.write = (chunk) => { line = String(chunk); return true; };
logger.log('hello');
process.stderr.write(JSON.stringify({ loaded, logged: globalThis.dateFormatsBuilt, line }));
`;
  const child = spawnSync(process.execPath, ['--require', counter, '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(child.status).toBe(0);
  return JSON.parse(child.stderr) as { loaded: number; logged: number; line: string };
}

describe('@svp/service-kit/preload', () => {
  it('given a main that imports @nestjs/common without it, then loading it builds date formatters (two in Nest 11: Logger and ConsoleLogger)', () => {
    expect(run(`import '@svp/service-kit';`).loaded).toBeGreaterThan(0);
  });

  it('given a main that imports it first, then loading @nestjs/common builds none, and a Nest console log line still has its timestamp', () => {
    const { loaded, logged, line } = run(`import '@svp/service-kit/preload';\nimport '@svp/service-kit';`);
    expect(loaded).toBe(0);
    expect(logged).toBe(1);
    expect(line).toMatch(/\d{2}\/\d{2}\/\d{4},? \d{1,2}:\d{2}:\d{2}.*LOG \[Probe\] hello/);
  });
});
