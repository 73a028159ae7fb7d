/**
 * When a failed webhook delivery is tried again: a pure function of the attempt count, the time of
 * the first attempt, the current time and a random number.
 *
 * Default schedule (issue 4): after the 1st failed attempt wait 1 s, then 5 s, 30 s, 2 min, 10 min,
 * 1 h, then every 3 h, giving up once the next attempt would fall more than 3 days after the first.
 *
 * Jitter, so that many deliveries failing together (a receiver that was down) do not retry in
 * lockstep:
 * - `equal` (the default): half the delay fixed, half random, i.e. uniform in [delay/2, delay].
 *   A retry never comes much sooner than the schedule says, so a struggling receiver still gets
 *   its breathing room, while the spread is wide enough to break up a thundering herd.
 * - `full`: uniform in [0, delay] (AWS's "full jitter"): the widest spread, but a retry may come
 *   almost at once.
 * - `none`: exactly the delay (tests, or receivers that want the plain schedule).
 */
export type Jitter = 'equal' | 'full' | 'none';

export interface RetrySchedule {
  /** Delay after the 1st, 2nd, … failed attempt, in ms. */
  delaysMs: readonly number[];
  /** Delay after every failed attempt beyond `delaysMs`, in ms. */
  repeatEveryMs: number;
  /** Give up when the next attempt would be later than this long after the first attempt, in ms. */
  maxAgeMs: number;
  jitter: Jitter;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = Object.freeze({
  delaysMs: Object.freeze([1 * SECOND, 5 * SECOND, 30 * SECOND, 2 * MINUTE, 10 * MINUTE, 1 * HOUR]),
  repeatEveryMs: 3 * HOUR,
  maxAgeMs: 3 * 24 * HOUR,
  jitter: 'equal' as const,
});

/** A schedule from the defaults and overrides; throws on negative or non-finite delays. */
export function retrySchedule(overrides: Partial<RetrySchedule> = {}): RetrySchedule {
  const schedule = { ...DEFAULT_RETRY_SCHEDULE, ...overrides };
  const valid = (ms: number) => Number.isFinite(ms) && ms >= 0;
  if (!schedule.delaysMs.every(valid)) throw new Error('retry delays must be finite and not negative');
  if (!valid(schedule.repeatEveryMs) || schedule.repeatEveryMs === 0) throw new Error('repeatEveryMs must be positive');
  if (!valid(schedule.maxAgeMs)) throw new Error('maxAgeMs must be finite and not negative');
  if (!['equal', 'full', 'none'].includes(schedule.jitter)) throw new Error(`unknown jitter ${String(schedule.jitter)}`);
  return schedule;
}

/** The delay before the next attempt after `attempt` failed attempts, before jitter. */
export function baseDelayMs(attempt: number, schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error('attempt counts from 1');
  return schedule.delaysMs[attempt - 1] ?? schedule.repeatEveryMs;
}

/** `delay` with the schedule's jitter applied; `random` is uniform in [0, 1). */
export function jittered(delayMs: number, jitter: Jitter, random: number): number {
  const r = Math.min(Math.max(random, 0), 1);
  switch (jitter) {
    case 'none':
      return delayMs;
    case 'full':
      return Math.round(delayMs * r);
    case 'equal':
      return Math.round(delayMs / 2 + (delayMs / 2) * r);
    default: {
      const unknown: never = jitter;
      throw new Error(`unknown jitter ${String(unknown)}`);
    }
  }
}

/**
 * When to make the next attempt after `attempt` failed attempts (1 after the first), the first of
 * them at `firstAttemptAt` and the last ending `now`; null when the schedule gives up (the next
 * attempt would be more than `maxAgeMs` after the first).
 */
export function nextAttemptAt(
  attempt: number,
  firstAttemptAt: Date,
  now: Date,
  random: () => number = Math.random,
  schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
): Date | null {
  const next = now.getTime() + jittered(baseDelayMs(attempt, schedule), schedule.jitter, random());
  return next - firstAttemptAt.getTime() > schedule.maxAgeMs ? null : new Date(next);
}

const UNITS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: 24 * HOUR };

/** A duration such as `500ms`, `1s`, `2m`, `3h`, `3d` (a bare number is ms), in ms. For configuration. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 500ms, 1s, 2m, 3h, 3d)`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}

/** A comma-separated list of durations (`1s,5s,30s,2m,10m,1h`), in ms. */
export function parseDurations(text: string): number[] {
  return text.split(',').map(parseDuration);
}
