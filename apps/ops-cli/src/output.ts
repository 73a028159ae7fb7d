import { SingleBar } from 'cli-progress';

/** Where the CLI writes (process streams in main.ts, buffers in tests). */
export interface Streams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export interface Output {
  readonly json: boolean;
  /** The command's result: JSON (one document, pretty) with --json, else the human text. */
  result(value: unknown, human: () => string): void;
  /** A note for people (stderr); nothing with --json. */
  note(text: string): void;
  /** A progress bar on stderr; a no-op with --json, --no-progress, or when stderr is not a terminal. */
  progress(label: string, total: number): Progress;
  /**
   * A status line on stderr for work whose length is not known (an erasure): the label, the detail
   * last given and the time waited, redrawn in place; drawn under the same conditions as a bar.
   */
  status(label: string, detail?: string): Progress;
}

export interface Progress {
  update(value: number, total?: number, detail?: string): void;
  stop(): void;
}

const noProgress: Progress = { update: () => undefined, stop: () => undefined };

export function createOutput(streams: Streams, options: { json: boolean; progress: boolean }): Output {
  const bars = !options.json && options.progress && streams.stderr.isTTY === true;
  return {
    json: options.json,
    result(value, human) {
      streams.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : ensureNewline(human()));
    },
    note(text) {
      if (!options.json) streams.stderr.write(ensureNewline(text));
    },
    progress(label, total) {
      return bars ? draw(streams, `${label} [{bar}] {percentage}% | {value}/{total} {detail}`, total) : noProgress;
    },
    status(label, detail = '') {
      return bars ? draw(streams, `${label} … {detail} ({duration_formatted})`, 0, detail) : noProgress;
    },
  };
}

/** A cli-progress bar on stderr (a terminal), in one of the formats above. */
function draw(streams: Streams, format: string, total: number, detail = ''): Progress {
  const bar = new SingleBar({ format, stream: streams.stderr as NodeJS.WritableStream, hideCursor: true, clearOnComplete: false, barsize: 30 });
  bar.start(Math.max(total, 0), 0, { detail });
  return {
    update(value, newTotal, detail) {
      if (newTotal !== undefined) bar.setTotal(Math.max(newTotal, 0));
      bar.update(value, { detail: detail ?? '' });
    },
    stop: () => bar.stop(),
  };
}

const ensureNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

/** A plain text table: a header row, aligned columns, `-` for empty cells. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>): string {
  const cells = [headers.map(String), ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === '' ? '-' : String(cell))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** An error for people: the message, then the service's details (indented JSON) when there are any. */
export function humanError(error: { message: string; details?: unknown }): string {
  const details = error.details === undefined ? '' : `\n${JSON.stringify(error.details, null, 2).replace(/^/gm, '  ')}`;
  return `svp-ops: ${error.message}${details}\n`;
}
