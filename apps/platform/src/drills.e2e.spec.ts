import { resolve } from 'node:path';
import type { DrillResult, DrillScale } from './drills/drill.js';
import { textTable } from './drills/report.js';
import { type DrillRun, openDrillRun } from './drills/run.js';
import { DRILLS } from './drills/scenarios/index.js';

// The CI subset of `npm run drills`: every drill at its `ci` scale (smaller loads, shorter outages),
// against the distributed mode on the drills' own Kafka broker. DRILLS_ONLY=1,3 and DRILLS_SCALE=full
// run a part, or the full scale, in Jest (while working on a drill).
const only = process.env.DRILLS_ONLY?.split(',').map((s) => Number(s.trim()));
const scale = (process.env.DRILLS_SCALE ?? 'ci') as DrillScale;
const selected = DRILLS.filter((d) => !only || only.includes(d.id));

describe(`reliability and security drills (scale ${scale}): faults, load and bad input against the distributed mode`, () => {
  let run: DrillRun;
  const results: DrillResult[] = [];

  beforeAll(async () => {
    run = await openDrillRun({ root: resolve(import.meta.dirname, '../../..'), scale, log: (line) => process.stdout.write(`${line}\n`) });
  }, 180_000);

  afterAll(async () => {
    if (results.length) process.stdout.write(`\n${textTable(results)}\n`);
    await run?.close();
  }, 60_000);

  it.each(selected.map((drill) => [`${drill.id}. ${drill.name}: ${drill.title}`, drill] as const))(
    '%s',
    async (_, drill) => {
      const result = await run.runOne(drill);
      results.push(result);
      expect({ lost: result.lost, doubleEffects: result.doubleEffects, failures: result.failures }).toEqual({ lost: 0, doubleEffects: 0, failures: [] });
      expect(result.checks.length).toBeGreaterThan(0);
    },
    scale === 'full' ? 900_000 : 300_000,
  );
});
