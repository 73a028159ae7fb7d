// Writes package.json and tsconfig.json for every project from one table, so tags and
// references are declared once. Run: node tools/scaffold-projects.mjs (idempotent; keeps
// existing package.json dependencies and scripts). A fifth entry, when present, adds to a project's
// compilerOptions (e.g. the browser widget's lib and types).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const projects = [
  ['libs/contracts', '@svp/contracts', ['scope:shared', 'type:contracts'], []],
  ['libs/postgres', '@svp/postgres', ['scope:shared', 'type:infra'], ['libs/contracts']],
  ['libs/event-store', '@svp/event-store', ['scope:shared', 'type:infra'], ['libs/contracts', 'libs/postgres', 'libs/testing']],
  ['libs/messaging', '@svp/messaging', ['scope:shared', 'type:infra'], ['libs/contracts', 'libs/postgres', 'libs/event-store', 'libs/testing']],
  ['libs/projections', '@svp/projections', ['scope:shared', 'type:infra'], ['libs/contracts', 'libs/postgres', 'libs/event-store']],
  ['libs/service-kit', '@svp/service-kit', ['scope:shared', 'type:infra'], ['libs/contracts', 'libs/postgres', 'libs/event-store', 'libs/messaging', 'libs/projections']],
  ['libs/testing', '@svp/testing', ['scope:shared', 'type:testing'], ['libs/postgres']],
  ['libs/variables/domain', '@svp/variables-domain', ['scope:variables', 'type:domain'], ['libs/contracts']],
  ['libs/variables/service', '@svp/variables-service', ['scope:variables', 'type:service'], ['libs/contracts', 'libs/variables/domain', 'libs/service-kit', 'libs/event-store', 'libs/messaging', 'libs/projections', 'libs/postgres']],
  ['libs/identity/domain', '@svp/identity-domain', ['scope:identity', 'type:domain'], ['libs/contracts']],
  ['libs/identity/service', '@svp/identity-service', ['scope:identity', 'type:service'], ['libs/contracts', 'libs/identity/domain', 'libs/service-kit', 'libs/event-store', 'libs/messaging', 'libs/projections', 'libs/postgres']],
  ['libs/sessions/domain', '@svp/sessions-domain', ['scope:sessions', 'type:domain'], ['libs/contracts']],
  ['libs/sessions/service', '@svp/sessions-service', ['scope:sessions', 'type:service'], ['libs/contracts', 'libs/sessions/domain', 'libs/service-kit', 'libs/event-store', 'libs/messaging', 'libs/projections', 'libs/postgres']],
  ['libs/gateway/service', '@svp/gateway-service', ['scope:gateway', 'type:service'], ['libs/contracts', 'libs/service-kit', 'libs/messaging']],
  // The browser widget SDK: DOM types instead of Node's (it runs in the page; the bundle is built by esbuild).
  ['libs/widget', '@svp/widget', ['scope:shared', 'type:client'], [], { lib: ['es2023', 'dom', 'dom.iterable'], types: [] }],
  ['apps/identity', '@svp/identity', ['scope:identity', 'type:app'], ['libs/identity/service', 'libs/service-kit']],
  ['apps/sessions', '@svp/sessions', ['scope:sessions', 'type:app'], ['libs/sessions/service', 'libs/service-kit']],
  ['apps/variables', '@svp/variables', ['scope:variables', 'type:app'], ['libs/variables/service', 'libs/service-kit']],
  ['apps/gateway', '@svp/gateway', ['scope:gateway', 'type:app'], ['libs/gateway/service', 'libs/service-kit']],
  // The operations CLI (svp-ops): HTTP to the services, the contracts' types only.
  ['apps/ops-cli', '@svp/ops-cli', ['scope:ops', 'type:app'], ['libs/contracts']],
  ['apps/platform', '@svp/platform', ['scope:platform', 'type:app'], ['libs/identity/service', 'libs/sessions/service', 'libs/variables/service', 'libs/gateway/service', 'libs/service-kit', 'libs/contracts', 'libs/postgres', 'libs/event-store', 'libs/messaging', 'libs/testing']],
];

const root = process.cwd();
for (const [dir, name, tags, refs, compilerOptions] of projects) {
  const pkgPath = join(root, dir, 'package.json');
  const existing = existsSync(pkgPath) ? JSON.parse(readFileSync(pkgPath, 'utf8')) : {};
  const isApp = dir.startsWith('apps/');
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    ...(isApp
      ? { main: './dist/main.js' }
      : { exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } }),
    bin: existing.bin,
    scripts: existing.scripts,
    dependencies: existing.dependencies,
    nx: { tags },
  };
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');
  const tsconfig = {
    extends: relative(join(root, dir), join(root, 'tsconfig.base.json')),
    compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/tsconfig.tsbuildinfo', ...compilerOptions },
    include: ['src/**/*.ts'],
    exclude: ['src/**/*.spec.ts', 'src/**/__fixtures__/**'],
    references: refs.map((r) => ({ path: relative(join(root, dir), join(root, r)) })),
  };
  writeFileSync(join(root, dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2) + '\n');
}
writeFileSync(
  join(root, 'tsconfig.build.json'),
  JSON.stringify({ files: [], references: projects.map(([dir]) => ({ path: dir })) }, null, 2) + '\n',
);
console.log(`wrote ${projects.length} projects`);
