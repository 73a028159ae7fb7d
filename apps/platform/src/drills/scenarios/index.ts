import type { Drill } from '../drill.js';
import { concurrencyDrill } from './07-concurrency.js';

/** Every drill, in the order of docs/reliability.md (and of the issue that asked for them). */
export const DRILLS: readonly Drill[] = [concurrencyDrill].sort((a, b) => a.id - b.id);
