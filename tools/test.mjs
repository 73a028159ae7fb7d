#!/usr/bin/env node
// `npm test`: type-check and build every project (the distributed-mode tests start the built
// services), lint (module boundaries included), then run every Jest suite: unit tests, and
// integration tests against real PostgreSQL and Kafka (the Jest global setup finds or starts them;
// see docs/local-infrastructure.md), then a smoke run of the built platform on Node 22 and 24
// (docs/node-versions.md). Extra arguments go to Jest only, e.g. `npm test -- libs/event-store`.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const env = { ...process.env, NX_DAEMON: 'false', NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules'].filter(Boolean).join(' ') };

function run(label, command, commandArgs, extraEnv = {}) {
  const started = Date.now();
  process.stdout.write(`\n▶ ${label}\n`);
  const result = spawnSync(command, commandArgs, { stdio: 'inherit', env: { ...env, ...extraEnv } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stdout.write(`✖ ${label} failed after ${seconds} s\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`✔ ${label} (${seconds} s)\n`);
}

run('build (tsc -b)', 'npx', ['tsc', '-b', 'tsconfig.build.json']);
run('widget bundle (esbuild)', process.execPath, ['libs/widget/build-bundle.mjs']);
run('lint (eslint, module boundaries)', 'npx', ['eslint', '.', '--max-warnings=0']);
run('tests (jest: unit + integration)', 'npx', ['jest', '--maxWorkers=2', ...args]);
// The built platform also runs on Node 22 and 24, what users run (binaries from the npm registry).
if (args.length === 0) run('node matrix (Node 22, 24: start, slice, graceful shutdown)', process.execPath, ['tools/node-matrix/node-matrix.mjs']);
