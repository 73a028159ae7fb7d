// One Jest run for the whole workspace, native ESM (jose and PGlite are ESM-only), TypeScript
// compiled by SWC with decorator metadata for NestJS. Workspace packages (@svp/*) resolve to their
// TypeScript sources, so tests never need a build. Run with NODE_OPTIONS=--experimental-vm-modules
// (tools/test.mjs and the npm scripts set it).
import { readFileSync, existsSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformFileSync } from '@swc/core';

const root = import.meta.dirname;
const workspaceDirs = [];
for (const top of ['apps', 'libs']) {
  for (const entry of readdirSync(join(root, top), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(top, entry.name);
    if (existsSync(join(root, dir, 'package.json'))) workspaceDirs.push(dir);
    else
      for (const sub of readdirSync(join(root, dir), { withFileTypes: true }))
        if (sub.isDirectory() && existsSync(join(root, dir, sub.name, 'package.json'))) workspaceDirs.push(join(dir, sub.name));
  }
}
const workspaceMapper = {};
for (const dir of workspaceDirs) {
  const { name } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  if (existsSync(join(root, dir, 'src/index.ts'))) workspaceMapper[`^${name}$`] = `<rootDir>/${dir}/src/index.ts`;
}

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const common = {
  rootDir: root,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { ...workspaceMapper, '^(\\.{1,2}/.*)\\.js$': '$1' },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/.data/'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};

/**
 * The KurrentDB contract suite runs only where a KurrentDB can be reached (KURRENTDB_URL, or Docker
 * through testcontainers). Elsewhere it is left out and the run says so in one plain line, at the
 * start and again in the closing summary: it never passes silently.
 */
async function kurrentDbAvailability() {
  const source = join(root, 'libs/event-store/src/kurrentdb/kurrentdb-availability.ts');
  const cacheDir = join(root, 'node_modules/.cache/svp');
  mkdirSync(cacheDir, { recursive: true });
  const compiled = join(cacheDir, 'kurrentdb-availability.mjs');
  writeFileSync(compiled, transformFileSync(source, { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }).code);
  const { kurrentDbAvailability: check } = await import(pathToFileURL(compiled).href);
  return check();
}

export default async () => {
  const kurrent = await kurrentDbAvailability();
  const kurrentIgnore = [];
  if (!kurrent.available) {
    const line = `KurrentDB contract suite: NOT RUN (${kurrent.reason})`;
    process.stdout.write(`${line}\n`);
    process.env.SVP_NOT_RUN = [process.env.SVP_NOT_RUN, line].filter(Boolean).join('\n');
    kurrentIgnore.push('\\.kurrent\\.int\\.spec\\.ts$');
  } else {
    process.stdout.write(`KurrentDB contract suite: runs against ${kurrent.url ?? 'a testcontainers KurrentDB'} (${kurrent.via})\n`);
  }
  return {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,libs,tools}/**/*.unit.spec.ts'],
    },
    {
      ...common,
      displayName: 'int',
      testMatch: ['<rootDir>/{apps,libs,tools}/**/*.{int,e2e}.spec.ts'],
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, ...kurrentIgnore],
      globalSetup: '<rootDir>/libs/testing/src/jest-global-setup.ts',
    },
  ],
  // Per-project testTimeout is ignored by Jest; integration tests wait on real brokers.
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/tools/jest/summary-reporter.js'],
  };
};
