/**
 * Crash points for the reliability drills (docs/reliability.md): a service started with
 * `SVP_FAULT_CRASH_AT=outbox:before-publish` (or `outbox:after-publish`) kills itself with SIGKILL
 * when its outbox relay reaches that point for the `SVP_FAULT_CRASH_AFTER`-th batch with messages
 * (default 1), exactly where a real crash would leave the store and the bus out of step:
 * - `outbox:before-publish`: the batch's events are stored, none of its messages is on Kafka;
 * - `outbox:after-publish`: its messages are on Kafka, the relay's checkpoint does not say so yet.
 * Unset (the default, and in every deployment), nothing is installed and the relay has no hook.
 */
export type CrashPoint = 'outbox:before-publish' | 'outbox:after-publish';
const CRASH_POINTS: readonly CrashPoint[] = ['outbox:before-publish', 'outbox:after-publish'];

export interface CrashPlan {
  point: CrashPoint;
  /** The batch (1-based) at which the process dies. */
  after: number;
}

/** The crash plan the environment asks for; undefined when none. An unknown point is a start-up error. */
export function crashPlanFromEnv(env: NodeJS.ProcessEnv = process.env): CrashPlan | undefined {
  const point = env.SVP_FAULT_CRASH_AT?.trim();
  if (!point) return undefined;
  if (!CRASH_POINTS.includes(point as CrashPoint)) throw new Error(`SVP_FAULT_CRASH_AT must be one of ${CRASH_POINTS.join(', ')} (got "${point}")`);
  const after = Number(env.SVP_FAULT_CRASH_AFTER ?? '1');
  if (!Number.isInteger(after) || after < 1) throw new Error(`SVP_FAULT_CRASH_AFTER must be a whole number from 1 (got "${env.SVP_FAULT_CRASH_AFTER}")`);
  return { point: point as CrashPoint, after };
}

/**
 * The relay hook of a crash plan: counts the batches reaching the plan's point and calls `crash` (by
 * default: a line on stderr, then SIGKILL to this process, so no shutdown hook runs) at the chosen one.
 */
export function outboxCrashHook(
  plan: CrashPlan | undefined,
  crash: (point: CrashPoint) => void = (point) => {
    process.stderr.write(`SVP_FAULT_CRASH_AT: killing this process (SIGKILL) at ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
  },
): ((point: 'before-publish' | 'after-publish') => void) | undefined {
  if (!plan) return undefined;
  let reached = 0;
  return (point) => {
    if (`outbox:${point}` !== plan.point) return;
    reached++;
    if (reached === plan.after) crash(plan.point);
  };
}
