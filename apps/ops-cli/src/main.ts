#!/usr/bin/env node
// svp-ops: the platform's operations CLI (docs/ops-cli.md). `npm run -s ops -- <command>` or, once
// installed, `npx svp-ops <command>`.
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2), { env: process.env, fetch, stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
