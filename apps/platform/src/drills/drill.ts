import type { ServiceName } from '@svp/contracts';
import type { RunningDistributed } from '../distributed.js';
import type { HttpAnswer } from './http.js';

/** How big a drill runs: `ci` fits inside `npm test`; `full` is what `npm run drills` runs. */
export type DrillScale = 'ci' | 'full';

/** The drills' own Kafka broker (tools/kafka/kafka.sh on other ports): drill 2 stops and starts it. */
export interface DrillBroker {
  /** host:port */
  brokers: string;
  start(): Promise<void>;
  /** Stops the broker process (SIGTERM, as a broker host going down). */
  stop(): Promise<void>;
  isUp(): Promise<boolean>;
  /** Stops the broker and removes its data, when this run started it (the end of a run). */
  dispose(): Promise<void>;
}

/** The distributed platform a drill runs against: a process per service, PostgreSQL, the drills' broker. */
export interface DrillPlatform extends RunningDistributed {
  /** Every line the service processes wrote (pino JSON), in order, tagged `[service]`. */
  output: string[];
  databaseUrl: string;
  /** The PostgreSQL schema of a service (its event store and read models). */
  schema(service: ServiceName): string;
  /** A new org with an API key holding every scope. */
  newOrg(name: string): Promise<{ orgId: string; apiKey: string }>;
}

export interface DrillContext {
  scale: DrillScale;
  /** `ci` value or `full` value, by the scale. */
  pick<T>(values: { ci: T; full: T }): T;
  /** The shared platform (started once per run). Every drill leaves all four services running. */
  platform: DrillPlatform;
  broker: DrillBroker;
  /** A progress line (shown as the drill runs). */
  log(line: string): void;
}

/**
 * What a drill measured. `lost` and `doubleEffects` are counted by the drill from what it reads back
 * (acknowledged writes missing, effects seen more than once), never assumed; `failures` lists every
 * other check that did not hold. A drill passes when all three are zero/empty.
 */
export interface DrillOutcome {
  /** The load held during the drill, in words with figures ("5,000 writes, 100 at a time"). */
  load: string;
  /** The faults injected ("kill -9 variables after 2,000 acknowledged writes"). */
  faults: string;
  /** Bad inputs tried (0 when the drill sends none). */
  badInputs: number;
  lost: number;
  doubleEffects: number;
  /** What was checked and held, one line each (for the report). */
  checks: string[];
  failures: string[];
  /**
   * Known product defects the drill found and that are not fixed yet, each said in full: shown in the
   * table's own column and in the report, never counted as passing checks. A drill lists one only
   * where the defect loses nothing and has no double effect (those always fail the drill); the
   * check behind it holds again once the product is fixed.
   */
  openDefects?: string[];
  /** Other figures worth recording (throughput, recovery time, …). */
  figures?: Record<string, number | string>;
}

export interface Drill {
  id: number;
  name: string;
  /** The wording of what the drill proves. */
  title: string;
  run(ctx: DrillContext): Promise<DrillOutcome>;
}

export interface DrillResult extends DrillOutcome {
  id: number;
  name: string;
  title: string;
  scale: DrillScale;
  seconds: number;
  passed: boolean;
}

/** Collects the failed checks of a drill (instead of throwing at the first, so the table says them all). */
export class Checks {
  readonly held: string[] = [];
  readonly failed: string[] = [];

  check(ok: boolean, what: string, detail?: unknown): boolean {
    if (ok) this.held.push(what);
    else this.failed.push(detail === undefined ? what : `${what}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
    return ok;
  }

  /** An answer with the error body of DESIGN.md section 5 (`{ error: { code, message } }`). */
  static hasErrorBody(answer: HttpAnswer): boolean {
    const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    return typeof error === 'object' && error !== null && typeof error.code === 'string' && /^[A-Z_]+$/.test(error.code) && typeof error.message === 'string';
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` is true or the time is out; answers whether it became true. */
export async function until(probe: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return true;
    } catch {
      // not yet (a service restarting, say)
    }
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Runs `task` for each item with at most `concurrency` at a time; answers the results in order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export const formatCount = (n: number) => n.toLocaleString('en-US');
