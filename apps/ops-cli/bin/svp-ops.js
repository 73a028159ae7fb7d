#!/usr/bin/env node
// The `svp-ops` command: the built CLI (npm run build, or tsc -b apps/ops-cli). docs/ops-cli.md
import '../dist/main.js';
