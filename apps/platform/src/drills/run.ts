import { DRILL_PLATFORM_ENV, drillBroker, startDrillPlatform } from './harness.js';
import type { Drill, DrillContext, DrillResult, DrillScale } from './drill.js';
import type { ServiceName } from '@svp/contracts';

const SERVICES: ServiceName[] = ['identity', 'sessions', 'variables', 'gateway'];

/** The longest a drill may take, by scale (the Jest spec's timeouts are above these). */
export const DRILL_TIME_LIMIT_MS = { ci: 240_000, full: 600_000 } as const;

export interface DrillRun {
  ctx: DrillContext;
  /** Runs one drill; a drill that throws is a failed drill (its error in `failures`), never a lost run. */
  runOne(drill: Drill): Promise<DrillResult>;
  close(): Promise<void>;
}

/** Starts the drills' broker (when down) and one platform for the drills that follow. */
export async function openDrillRun(options: { root: string; scale: DrillScale; log?: (line: string) => void; env?: Record<string, string> }): Promise<DrillRun> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const broker = await drillBroker(options.root);
  await broker.start();
  let platform;
  try {
    platform = await startDrillPlatform(options.root, broker, options.env);
  } catch (error) {
    await broker.dispose().catch(() => undefined);
    throw error;
  }
  const ctx: DrillContext = {
    scale: options.scale,
    pick: (values) => values[options.scale],
    platform,
    broker,
    log,
  };
  return {
    ctx,
    async runOne(drill) {
      const started = Date.now();
      log(`▶ drill ${drill.id} (${drill.name}): ${drill.title}`);
      let outcome;
      let timer: NodeJS.Timeout | undefined;
      // Each drill is bounded in time: past its limit it fails (and whatever it left down is started again below).
      const limitMs = DRILL_TIME_LIMIT_MS[options.scale];
      try {
        outcome = await Promise.race([
          drill.run(ctx),
          new Promise<never>((_, fail) => {
            timer = setTimeout(() => fail(new Error(`did not finish within its limit of ${limitMs / 1000} s`)), limitMs);
          }),
        ]);
      } catch (error) {
        outcome = { load: '-', faults: '-', badInputs: 0, lost: 0, doubleEffects: 0, checks: [], failures: [`the drill threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`] };
      } finally {
        clearTimeout(timer);
      }
      // Every drill leaves the broker and all four services up for the next one.
      if (!(await broker.isUp())) {
        outcome.failures.push('the drill left the broker down (started again)');
        await broker.start();
      }
      for (const service of SERVICES) {
        const child = platform.processes[service];
        if (child.exitCode !== null || child.signalCode !== null) {
          outcome.failures.push(`the drill left ${service} down (started again)`);
          await platform.restart(service);
        }
      }
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      const passed = outcome.lost === 0 && outcome.doubleEffects === 0 && outcome.failures.length === 0;
      log(`${passed ? '✔' : '✖'} drill ${drill.id} (${drill.name}) in ${seconds} s: lost ${outcome.lost}, double effects ${outcome.doubleEffects}${outcome.openDefects?.length ? `\n  ⚠ OPEN DEFECTS (not fixed yet):\n    ${outcome.openDefects.join('\n    ')}` : ''}${outcome.figures ? `\n  figures ${JSON.stringify(outcome.figures)}` : ''}${outcome.failures.length ? `\n  ${outcome.failures.join('\n  ')}` : ''}`);
      return { id: drill.id, name: drill.name, title: drill.title, scale: options.scale, seconds, passed, ...outcome };
    },
    async close() {
      try {
        await platform.drop();
      } finally {
        await broker.dispose();
      }
    },
  };
}

export { DRILL_PLATFORM_ENV };
