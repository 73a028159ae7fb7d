/**
 * `import '@svp/service-kit/preload'` first in a process's main, before anything that loads
 * `@nestjs/common`: it loads `@nestjs/common` with its logger's date formatter deferred to first use
 * (about 8 MB less resident memory a process: `./defer-date-format.ts`, docs/benchmarks.md, f.).
 * ES modules are evaluated in the order of their imports, so this one runs before the next.
 */
import { createRequire } from 'node:module';
import { loadDeferringDateTimeFormat } from './defer-date-format.js';

const require = createRequire(import.meta.url);
loadDeferringDateTimeFormat(() => require('@nestjs/common') as unknown);
