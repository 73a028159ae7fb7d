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
