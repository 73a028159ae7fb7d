import type { SqlClient, SqlExecutor } from '@svp/postgres';
import { ServiceMetrics } from './metrics.js';
import { OrgMeter } from './metering.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

function fakeClock(start = T0) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    set: (ms: number) => {
      now = ms;
    },
  };
}

function meterOf(defaultRequestsPerMinute = 3, clock = fakeClock()) {
  return { clock, meter: new OrgMeter({ service: 'variables', defaultRequestsPerMinute, now: clock.now }) };
}

describe('OrgMeter', () => {
  describe('a fixed one-minute window per org', () => {
    it('allows up to the default quota, then refuses until the minute ends', () => {
      const { meter, clock } = meterOf(3);
      clock.advance(12_345);
      const answers = [1, 2, 3, 4, 5].map(() => meter.hit('org_a'));
      expect(answers.map((a) => [a.allowed, a.remaining])).toEqual([
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
        [false, 0],
      ]);
      for (const a of answers) expect(a).toMatchObject({ limit: 3, resetAt: T0 + 60_000 });
    });

    it('starts again at the next minute boundary (the window is the clock minute, not the first request)', () => {
      const { meter, clock } = meterOf(2);
      clock.advance(59_000);
      expect(meter.hit('org_a').allowed).toBe(true);
      expect(meter.hit('org_a').allowed).toBe(true);
      expect(meter.hit('org_a').allowed).toBe(false);
      clock.advance(999);
      expect(meter.hit('org_a').allowed).toBe(false);
      clock.advance(1);
      const next = meter.hit('org_a');
      expect(next).toEqual({ allowed: true, limit: 2, remaining: 1, resetAt: T0 + 120_000 });
    });

    it('counts each org on its own', () => {
      const { meter } = meterOf(1);
      expect(meter.hit('org_a').allowed).toBe(true);
      expect(meter.hit('org_a').allowed).toBe(false);
      expect(meter.hit('org_b').allowed).toBe(true);
      expect(meter.hit('org_b').allowed).toBe(false);
    });
  });

  describe("the org's own quota", () => {
    it('wins over the default, higher or lower', () => {
      const { meter } = meterOf(2);
      expect([1, 2, 3, 4, 5].map(() => meter.hit('org_big', 4).allowed)).toEqual([true, true, true, true, false]);
      expect([1, 2].map(() => meter.hit('org_small', 1).allowed)).toEqual([true, false]);
      expect(meter.hit('org_small', 1).limit).toBe(1);
    });

    it('null or absent means the default', () => {
      const { meter } = meterOf(2);
      expect(meter.hit('org_a', null).limit).toBe(2);
      expect(meter.hit('org_a').limit).toBe(2);
      expect(meter.hit('org_a', null).allowed).toBe(false);
    });

    it('a quota raised mid-minute applies at once to what was used', () => {
      const { meter } = meterOf(1);
      expect(meter.hit('org_a').allowed).toBe(true);
      expect(meter.hit('org_a').allowed).toBe(false);
      expect(meter.hit('org_a', 3)).toMatchObject({ allowed: true, remaining: 1 });
    });
  });

  describe('counting', () => {
    it('a refused request counts as refused, not as used', async () => {
      const { meter, clock } = meterOf(2);
      for (let i = 0; i < 5; i++) meter.hit('org_a');
      clock.advance(30_000);
      const usage = await meter.usage('org_a');
      expect(usage.window).toEqual({ start: new Date(T0).toISOString(), seconds: 60, used: 2, remaining: 0 });
      expect(usage.minutes).toEqual([{ minute: new Date(T0).toISOString(), requests: 5, refused: 3 }]);
      expect(usage.total).toEqual({ requests: 5, refused: 3 });
    });

    it('usage lists the minutes with requests, newest last, within the span asked', async () => {
      const { meter, clock } = meterOf(10);
      meter.hit('org_a');
      clock.advance(60_000);
      meter.hit('org_a');
      meter.hit('org_a');
      meter.hit('org_b');
      clock.advance(5 * 60_000);
      meter.hit('org_a', 7);
      const usage = await meter.usage('org_a', { minutes: 10, requestsPerMinute: 7 });
      expect(usage).toEqual({
        orgId: 'org_a',
        service: 'variables',
        requestsPerMinute: 7,
        window: { start: new Date(T0 + 6 * 60_000).toISOString(), seconds: 60, used: 1, remaining: 6 },
        minutes: [
          { minute: new Date(T0).toISOString(), requests: 1, refused: 0 },
          { minute: new Date(T0 + 60_000).toISOString(), requests: 2, refused: 0 },
          { minute: new Date(T0 + 6 * 60_000).toISOString(), requests: 1, refused: 0 },
        ],
        total: { requests: 4, refused: 0 },
      });
      const recent = await meter.usage('org_a', { minutes: 6 });
      expect(recent.minutes.map((m) => m.requests)).toEqual([2, 1]);
    });

    it('an org with no requests has an empty usage and the whole quota left', async () => {
      const { meter } = meterOf(5);
      expect(await meter.usage('org_none')).toMatchObject({
        requestsPerMinute: 5,
        window: { used: 0, remaining: 5 },
        minutes: [],
        total: { requests: 0, refused: 0 },
      });
    });

    it('counts allowed and refused requests in svp_org_requests_total', async () => {
      const metrics = new ServiceMetrics('variables');
      const meter = new OrgMeter({ service: 'variables', defaultRequestsPerMinute: 1, now: () => T0, metrics });
      meter.hit('org_a');
      meter.hit('org_a');
      meter.hit('org_a');
      const text = await metrics.registry.metrics();
      expect(text).toContain('svp_org_requests_total{org_id="org_a",outcome="allowed",service="variables"} 1');
      expect(text).toContain('svp_org_requests_total{org_id="org_a",outcome="refused",service="variables"} 2');
    });
  });

  describe('memory', () => {
    it('keeps only the current minute of windows after a flush', async () => {
      const { meter, clock } = meterOf(5);
      for (let i = 0; i < 1000; i++) meter.hit(`org_${i}`);
      expect(meter.size.windows).toBe(1000);
      await meter.flush();
      expect(meter.size.windows).toBe(1000);
      clock.advance(60_000);
      meter.hit('org_1');
      await meter.flush();
      expect(meter.size.windows).toBe(1);
    });

    it('without a database, keeps an hour of per-minute history and no more', async () => {
      const { meter, clock } = meterOf(5);
      for (let minute = 0; minute < 120; minute++) {
        meter.hit('org_a');
        clock.advance(60_000);
      }
      await meter.flush();
      expect(meter.size.pending).toBeLessThanOrEqual(60);
      const usage = await meter.usage('org_a', { minutes: 1440 });
      expect(usage.total.requests).toBe(meter.size.pending);
    });
  });

  it('keeps the counts of a failed flush for the next one', async () => {
    const written: unknown[][] = [];
    let fail = true;
    const sql = {
      engine: 'postgres' as const,
      exec: async () => undefined,
      query: async () => ({ rows: [], rowCount: 0 }),
      transaction: async <T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
        if (fail) throw new Error('database down');
        return fn({ exec: async () => undefined, query: async (_text: string, params?: unknown[]) => (written.push(params ?? []), { rows: [], rowCount: 1 }) });
      },
      listen: async () => async () => undefined,
      close: async () => undefined,
    } as unknown as SqlClient;
    const meter = new OrgMeter({ service: 'variables', sql, defaultRequestsPerMinute: 5, now: () => T0 });
    meter.hit('org_a');
    await expect(meter.flush()).rejects.toThrow('database down');
    meter.hit('org_a');
    expect(meter.size.pending).toBe(1);
    fail = false;
    await meter.flush();
    expect(written).toEqual([['org_a', 'variables', new Date(T0).toISOString(), 2, 0]]);
    expect(meter.size.pending).toBe(0);
  });

  it('refuses a default quota that is not a positive integer', () => {
    expect(() => new OrgMeter({ service: 's', defaultRequestsPerMinute: 0 })).toThrow(/positive integer/);
    expect(() => new OrgMeter({ service: 's', defaultRequestsPerMinute: undefined as unknown as number })).toThrow(/positive integer/);
  });
});
