// @ts-check
/**
 * The statistics of the benchmark report: pure functions over the figures of several runs.
 */

/** The median of numbers (the mean of the middle two for an even count). @param {readonly number[]} values */
export function median(values) {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The spread of runs around their median, as the largest relative distance of any run from it
 * (0.05: every run within 5 % of the median). @param {readonly number[]} values
 */
export function spread(values) {
  const m = median(values);
  if (m === 0) return 0;
  return Math.max(...values.map((v) => Math.abs(v - m) / Math.abs(m)));
}

/**
 * A scenario's line of the report: the figure and its baseline as medians of their runs, and their
 * ratio, oriented so that above 1 is better than the baseline (for "lower is better" figures such as
 * latencies the ratio is baseline / figure).
 * @param {{ figure: readonly number[], baseline: readonly number[], higherIsBetter: boolean }} runs
 */
export function compare(runs) {
  const figure = median(runs.figure);
  const baseline = median(runs.baseline);
  const ratio = runs.higherIsBetter ? figure / baseline : baseline / figure;
  return { figure, baseline, ratio, figureSpread: spread(runs.figure), baselineSpread: spread(runs.baseline) };
}
