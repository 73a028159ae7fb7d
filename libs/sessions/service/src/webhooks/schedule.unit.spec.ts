import fc from 'fast-check';
import { DEFAULT_RETRY_SCHEDULE, baseDelayMs, jittered, nextAttemptAt, parseDuration, parseDurations, retrySchedule } from './schedule.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const first = new Date('2026-01-01T00:00:00Z');
const after = (ms: number) => new Date(first.getTime() + ms);

describe('the default retry schedule', () => {
  it('waits 1 s, 5 s, 30 s, 2 min, 10 min, 1 h, then every 3 h', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => baseDelayMs(attempt))).toEqual([S, 5 * S, 30 * S, 2 * M, 10 * M, H, 3 * H, 3 * H, 3 * H]);
  });

  it('without jitter, retries at exactly those delays', () => {
    const plain = retrySchedule({ jitter: 'none' });
    expect(nextAttemptAt(1, first, first, () => 0.3, plain)).toEqual(after(S));
    expect(nextAttemptAt(4, first, after(40 * S), () => 0.3, plain)).toEqual(after(40 * S + 2 * M));
    expect(nextAttemptAt(9, first, after(30 * H), () => 0.3, plain)).toEqual(after(33 * H));
  });

  it('gives up once the next attempt would be more than 3 days after the first', () => {
    const plain = retrySchedule({ jitter: 'none' });
    expect(nextAttemptAt(20, first, after(69 * H), () => 0.5, plain)).toEqual(after(72 * H));
    expect(nextAttemptAt(21, first, after(72 * H), () => 0.5, plain)).toBeNull();
    expect(nextAttemptAt(20, first, after(69 * H + 1), () => 0.5, plain)).toBeNull();
  });

  it('uses equal jitter by default: uniform between half the delay and the whole delay', () => {
    expect(DEFAULT_RETRY_SCHEDULE.jitter).toBe('equal');
    expect(nextAttemptAt(2, first, first, () => 0)).toEqual(after(2.5 * S));
    expect(nextAttemptAt(2, first, first, () => 0.5)).toEqual(after(3.75 * S));
    expect(nextAttemptAt(2, first, first, () => 0.999999)).toEqual(after(5 * S));
  });

  it('never schedules an attempt before now, nor later than the plain delay, whatever the random number (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 72 * H }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, elapsed, r) => {
        const now = after(elapsed);
        const next = nextAttemptAt(attempt, first, now, () => r);
        if (next === null) return now.getTime() + jittered(baseDelayMs(attempt), 'equal', r) - first.getTime() > DEFAULT_RETRY_SCHEDULE.maxAgeMs;
        const delay = next.getTime() - now.getTime();
        return delay >= baseDelayMs(attempt) / 2 && delay <= baseDelayMs(attempt) && next.getTime() - first.getTime() <= 72 * H;
      }),
    );
  });
});

describe('jitter', () => {
  it('full jitter is uniform between 0 and the delay; none is the delay', () => {
    expect(jittered(10 * S, 'full', 0)).toBe(0);
    expect(jittered(10 * S, 'full', 0.25)).toBe(2.5 * S);
    expect(jittered(10 * S, 'equal', 0.25)).toBe(6.25 * S);
    expect(jittered(10 * S, 'none', 0.25)).toBe(10 * S);
    expect(nextAttemptAt(3, first, first, () => 0.1, retrySchedule({ jitter: 'full' }))).toEqual(after(3 * S));
  });
});

describe('a configured schedule', () => {
  it('takes its own delays, repetition and maximum age', () => {
    const short = retrySchedule({ delaysMs: [10, 20], repeatEveryMs: 50, maxAgeMs: 200, jitter: 'none' });
    expect(nextAttemptAt(1, first, first, Math.random, short)).toEqual(after(10));
    expect(nextAttemptAt(2, first, after(10), Math.random, short)).toEqual(after(30));
    expect(nextAttemptAt(3, first, after(30), Math.random, short)).toEqual(after(80));
    expect(nextAttemptAt(6, first, after(180), Math.random, short)).toBeNull();
  });

  it('refuses nonsense, and reads durations from configuration text', () => {
    expect(() => retrySchedule({ delaysMs: [-1] })).toThrow();
    expect(() => retrySchedule({ repeatEveryMs: 0 })).toThrow();
    expect(() => retrySchedule({ jitter: 'some' as never })).toThrow();
    expect(() => baseDelayMs(0)).toThrow();
    expect(parseDurations('1s,5s,30s,2m,10m,1h')).toEqual(DEFAULT_RETRY_SCHEDULE.delaysMs);
    expect(parseDuration('3d')).toBe(DEFAULT_RETRY_SCHEDULE.maxAgeMs);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(() => parseDuration('soon')).toThrow(/duration/);
  });
});
