import { compare, median, spread } from './stats.mjs';

describe('bench statistics', () => {
  it('given runs, then the median is the middle one (the mean of the middle two for an even count)', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });
  it('given runs, then the spread is the largest relative distance from the median', () => {
    expect(spread([100, 95, 110])).toBeCloseTo(0.1);
    expect(spread([5, 5, 5])).toBe(0);
  });
  it('given a throughput and a latency, then each ratio says how the figure compares with its baseline, above 1 better', () => {
    expect(compare({ figure: [900, 1000, 1100], baseline: [2000, 2000], higherIsBetter: true }).ratio).toBe(0.5);
    expect(compare({ figure: [2, 2, 2], baseline: [1, 1, 1], higherIsBetter: false }).ratio).toBe(0.5);
  });
});

describe('bench report', () => {
  const result = { id: 'jwt', title: 'JWT verifications', unit: 'ops/s', figureLabel: 'identity', baselineLabel: 'jose', figure: 800, baseline: 1000, ratio: 0.8, figureSpread: 0.02, baselineSpread: 0.01, runs: 3, target: { ratio: 0.8, text: '≥ 0.8x jose' } };
  it('given results, then the table, the page and the chart show each figure, baseline, ratio and whether its target is met', async () => {
    const { markdown, svgChart, table } = await import('./report.mjs');
    expect(table([result])).toContain('0.80x');
    expect(table([{ ...result, ratio: 0.5 }])).toContain('NOT met');
    const page = markdown([result], { mode: 'quick', date: '2026-12-02', machine: '2 cores', missing: ['Writes (a)'], analysis: '## What the numbers say\n\nwaits on SQL' });
    expect(page).toContain('waits on SQL');
    expect(page).toContain('| JWT verifications | identity: 800 ops/s');
    expect(page).toContain('## Not measured yet');
    const svg = svgChart([result, { ...result, id: 'x', title: 'Reads <bare>', ratio: 0.3 }]);
    expect(svg).toContain('fill="#2f855a"');
    expect(svg).toContain('fill="#c53030"');
    expect(svg).toContain('Reads &lt;bare>');
  });
});

describe('where the read tail is spent (the /metrics of the variables service)', () => {
  const scrape = (counts: [string, number][], loop: { p99: number; max: number }) =>
    [
      '# HELP svp_http_request_duration_seconds HTTP request latency by method and route',
      ...counts.map(([le, n]) => `svp_http_request_duration_seconds_bucket{le="${le}",method="GET",route="/v1/sessions/:sessionId/variables",service="variables"} ${n}`),
      `svp_http_request_duration_seconds_bucket{le="0.001",method="PUT",route="/v1/sessions/:sessionId/variables",service="variables"} 999`,
      `nodejs_eventloop_lag_p99_seconds{service="variables"} ${loop.p99}`,
      `nodejs_eventloop_lag_max_seconds{service="variables"} ${loop.max}`,
    ].join('\n');

  it('given two scrapes around a run, then the share over 10 ms and the p99 bucket count only the GETs of the run', async () => {
    const { parseServiceTail, tailBetween } = await import('./service-tail.mjs');
    const before = parseServiceTail(scrape([['0.001', 100], ['0.01', 100], ['0.05', 100], ['+Inf', 100]], { p99: 0.01, max: 0.02 }));
    const after = parseServiceTail(scrape([['0.001', 900], ['0.01', 1095], ['0.05', 1100], ['+Inf', 1100]], { p99: 0.012, max: 0.062 }));

    const tail = tailBetween(before, after);

    expect(tail.requests).toBe(1000);
    expect(tail.over10ms).toBeCloseTo(0.005);
    expect(tail.p99).toBe(10);
    // prom-client samples every 10 ms and an idle loop reads 10 ms: the delay is what is over it.
    expect(after.loopP99).toBeCloseTo(2);
    expect(after.loopMax).toBeCloseTo(52);
  });

  it('given no GET between the scrapes, then nothing is claimed', async () => {
    const { parseServiceTail, tailBetween } = await import('./service-tail.mjs');
    const same = parseServiceTail(scrape([['0.001', 5], ['+Inf', 5]], { p99: 0, max: 0 }));
    expect(tailBetween(same, same)).toEqual({ requests: 0, over10ms: NaN, p99: NaN });
  });
});

describe('time waiting for a core (scheduler counters)', () => {
  it('given two readings a second apart, then the time on a core and on the run queue come per second, and per timeslice', async () => {
    const { coreShare } = await import('./service-tail.mjs');
    const share = coreShare({ runNs: 1e9, waitNs: 2e8, slices: 100 }, { runNs: 1.6e9, waitNs: 4e8, slices: 200 }, 2);
    expect(share.onCoreMsPerS).toBeCloseTo(300);
    expect(share.waitingMsPerS).toBeCloseTo(100);
    expect(share.waitPerSliceMs).toBeCloseTo(2);
  });
  it('given this process, then its counters are read where the kernel keeps them, and nothing is made up where not', async () => {
    const { coreShare, schedstat } = await import('./service-tail.mjs');
    const reading = schedstat(process.pid);
    if (reading) expect(reading.runNs).toBeGreaterThan(0);
    expect(schedstat(-1)).toBeUndefined();
    expect(Number.isNaN(coreShare(undefined, reading, 1).waitingMsPerS)).toBe(true);
  });
});

describe('the machine while a run lasts', () => {
  it('given /proc/stat, then the busy and stolen shares of the cores are fractions', async () => {
    const { machineBusy } = await import('./service-tail.mjs');
    const since = machineBusy();
    let spin = 0;
    for (const end = Date.now() + 50; Date.now() < end; ) spin++;
    const { busy, steal } = since();
    expect(spin).toBeGreaterThan(0);
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(1);
    expect(steal).toBeGreaterThanOrEqual(0);
    expect(steal).toBeLessThan(1);
  });
});
