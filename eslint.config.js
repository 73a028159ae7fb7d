// ESLint 9 flat config: typescript-eslint's recommended rules (syntax only, no type information, so a
// whole-repo run stays fast) and Nx module boundaries that really restrict (STYLE.md habit 12):
// a domain lib imports no framework and no infrastructure, and one service reaches another only
// through libs/contracts. Project tags are declared once, in tools/scaffold-projects.mjs.
// tools/lint/module-boundaries.unit.spec.ts proves that these rules reject what they should.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { createProjectGraphAsync } from '@nx/devkit';
import { defineConfig, globalIgnores } from 'eslint/config';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// @nx/enforce-module-boundaries reads the project graph from Nx's cache (.nx/workspace-data) and,
// when there is none, skips itself with only a warning: the boundaries would silently go
// unchecked on a fresh clone or in CI. So the graph is computed (or refreshed, incrementally) here,
// without the Nx daemon, from the package.json workspaces; a broken graph fails the lint run.
process.env.NX_DAEMON ??= 'false';
await createProjectGraphAsync({ exitOnError: false, resetDaemonClient: false });

const SCOPES = ['identity', 'sessions', 'variables', 'gateway'];
const ZOD = ['zod', 'zod/*'];
/** What test code may import besides the production constraints: the test kit and test libraries. */
const TEST_EXTERNALS = ['@jest/globals', 'fast-check'];

/** @param {{ tests: boolean }} opts */
function depConstraints({ tests }) {
  const testing = tests ? ['type:testing'] : [];
  return [
    // Pure deciders: other domain libs and the contracts, and zod; no framework, no infrastructure.
    {
      sourceTag: 'type:domain',
      onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', ...testing],
      allowedExternalImports: [...ZOD, ...(tests ? TEST_EXTERNALS : [])],
    },
    // The one source of truth: zod schemas (and their OpenAPI metadata) only.
    {
      sourceTag: 'type:contracts',
      onlyDependOnLibsWithTags: ['type:contracts', ...testing],
      allowedExternalImports: [
        ...ZOD,
        '@asteasolutions/zod-to-openapi',
        '@asteasolutions/zod-to-openapi/*',
        ...(tests ? TEST_EXTERNALS : []),
      ],
    },
    { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:infra', 'type:contracts', ...testing] },
    { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:testing', 'type:infra', 'type:contracts'] },
    {
      sourceTag: 'type:service',
      onlyDependOnLibsWithTags: ['type:domain', 'type:infra', 'type:contracts', ...testing],
    },
    // The browser widget SDK: the contracts at most, and graphql-ws (bundled into the page's script);
    // nothing of Node, no framework, no other package, so the bundle stays small and browser-only.
    {
      sourceTag: 'type:client',
      onlyDependOnLibsWithTags: ['type:client', 'type:contracts', ...testing],
      allowedExternalImports: ['graphql-ws', ...(tests ? TEST_EXTERNALS : [])],
    },
    {
      sourceTag: 'type:app',
      onlyDependOnLibsWithTags: ['type:service', 'type:infra', 'type:contracts', 'type:domain', ...testing],
    },
    // A service's projects see their own scope and the shared libs: another service only through
    // libs/contracts (scope:shared). The embedded composition (scope:platform) sees every scope.
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
    ...SCOPES.map((scope) => ({
      sourceTag: `scope:${scope}`,
      onlyDependOnLibsWithTags: [`scope:${scope}`, 'scope:shared'],
    })),
    // The operations CLI talks to the services over HTTP only: the contracts' types, nothing of a service.
    { sourceTag: 'scope:ops', onlyDependOnLibsWithTags: ['scope:shared'] },
    {
      sourceTag: 'scope:platform',
      onlyDependOnLibsWithTags: ['scope:platform', 'scope:shared', ...SCOPES.map((s) => `scope:${s}`)],
    },
  ];
}

const boundaries = (tests) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allowCircularSelfDependency: false,
    allow: [],
    depConstraints: depConstraints({ tests }),
  },
];

// Test support: spec files, fixtures, and the contract suites each port ships under src/testing/.
const TEST_FILES = ['**/*.spec.ts', '**/__fixtures__/**/*.ts', 'libs/*/src/testing/**/*.ts'];

/** Node's built-in modules (with and without the node: prefix): I/O has no place in a decider. */
const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

export default defineConfig(
  globalIgnores([
    '**/dist/',
    '**/node_modules/',
    '**/.data/',
    '**/.nx/',
    '**/coverage/',
    'tmp/',
    '.kafka/',
    'test-artifacts/',
    'bench-results/',
  ]),
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': boundaries(false),
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: TEST_FILES,
    rules: { '@nx/enforce-module-boundaries': boundaries(true) },
  },
  {
    // Domain libs (libs/<scope>/domain, tagged type:domain): no Node.js built-ins either, which the
    // Nx rule cannot see (it only checks workspace projects and npm packages).
    files: ['libs/*/domain/**/*.ts'],
    ignores: TEST_FILES,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'A domain lib does no I/O: time, ids and looked-up facts come in the command.',
          })),
          patterns: [
            {
              group: ['node:*'],
              message: 'A domain lib does no I/O: time, ids and looked-up facts come in the command.',
            },
          ],
        },
      ],
    },
  },
);
