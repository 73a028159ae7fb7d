import type { DrillResult } from './drill.js';

const COLUMNS: { head: string; cell: (r: DrillResult) => string }[] = [
  { head: 'drill', cell: (r) => `${r.id}. ${r.name}` },
  { head: 'load held', cell: (r) => r.load },
  { head: 'faults injected', cell: (r) => r.faults },
  { head: 'bad inputs', cell: (r) => r.badInputs.toLocaleString('en-US') },
  { head: 'lost', cell: (r) => String(r.lost) },
  { head: 'double effects', cell: (r) => String(r.doubleEffects) },
  { head: 'open defects', cell: (r) => String(r.openDefects?.length ?? 0) },
  { head: 'checks', cell: (r) => `${r.checks.length} held${r.failures.length ? `, ${r.failures.length} failed` : ''}` },
  { head: 'seconds', cell: (r) => String(r.seconds) },
  { head: 'result', cell: (r) => (r.passed ? 'pass' : 'FAIL') },
];

/** The drills' table for a terminal (fixed-width columns). */
export function textTable(results: readonly DrillResult[]): string {
  const rows = [COLUMNS.map((c) => c.head), ...results.map((r) => COLUMNS.map((c) => c.cell(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The same table in Markdown, with each drill's checks and figures below it (docs/reliability.md). */
export function markdownReport(results: readonly DrillResult[], meta: { date: string; scale: string; node: string; seconds: number }): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  const out = [
    `Run of ${meta.date}, scale \`${meta.scale}\`, Node ${meta.node}, ${meta.seconds} s in all.`,
    '',
    `| ${COLUMNS.map((c) => c.head).join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...results.map((r) => `| ${COLUMNS.map((c) => escape(c.cell(r))).join(' | ')} |`),
    '',
  ];
  for (const r of results) {
    out.push(`**${r.id}. ${r.name}**: ${r.title}`, '');
    // A drill that checks per round (drill 10) holds hundreds: the first ones stand for the rest here.
    for (const check of r.checks.slice(0, 15)) out.push(`- ✔ ${check}`);
    if (r.checks.length > 15) out.push(`- ✔ … and ${r.checks.length - 15} more checks (.drills/results.json lists them all)`);
    for (const failure of r.failures) out.push(`- ✖ ${failure}`);
    for (const defect of r.openDefects ?? []) out.push(`- ⚠ open defect: ${defect}`);
    if (r.figures && Object.keys(r.figures).length)
      out.push(`- figures: ${Object.entries(r.figures).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`).join('; ')}`);
    out.push('');
  }
  return out.join('\n');
}

const BEGIN = '<!-- drills:begin (written by npm run drills) -->';
const END = '<!-- drills:end -->';

/** Replaces the figures between the markers of docs/reliability.md (appends them when the markers are missing). */
export function withFigures(doc: string, figures: string): string {
  const block = `${BEGIN}\n${figures.trimEnd()}\n${END}`;
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a === -1 || b === -1) return `${doc.trimEnd()}\n\n${block}\n`;
  return `${doc.slice(0, a)}${block}${doc.slice(b + END.length)}`;
}
