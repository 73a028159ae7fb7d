#!/usr/bin/env node
// The widget as one browser ES module (graphql-ws inside), what the gateway serves at /sdk/widget.js:
// libs/widget/dist/widget.bundle.js, minified, with its source map. Run by `npm run build` and
// tools/test.mjs after the TypeScript build.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const dir = import.meta.dirname;
const outfile = join(dir, 'dist/widget.bundle.js');

await build({
  entryPoints: [join(dir, 'src/index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  outfile,
  logLevel: 'warning',
});
console.log(`widget bundle: ${outfile} (${(statSync(outfile).size / 1024).toFixed(1)} KiB)`);
