/**
 * Runs `load` with `Intl.DateTimeFormat` replaced by a constructor whose formatters build the real
 * one on their first use, then puts the real constructor back (also if `load` throws).
 *
 * Why: `@nestjs/common` builds an `Intl.DateTimeFormat` when it is loaded, for `ConsoleLogger`'s
 * timestamps. Building one reads ICU's locale and time-zone data out of the node binary, about
 * 8 MB of resident memory in every service process, for a logger the services never use (Nest's
 * log lines go to pino: `PinoNestLogger`). Loaded through this function (`./preload.ts`, the first
 * import of every service's main), that formatter costs nothing until something formats a date
 * with it. Formatters built after `load` returns are the real ones: nothing else changes.
 */
export function loadDeferringDateTimeFormat<T>(load: () => T): T {
  const Real = Intl.DateTimeFormat;
  const Deferring = function DateTimeFormat(locales?: string | string[], options?: Intl.DateTimeFormatOptions) {
    return new DeferredDateTimeFormat(Real, locales, options);
  };
  Intl.DateTimeFormat = Deferring as unknown as typeof Intl.DateTimeFormat;
  try {
    return load();
  } finally {
    Intl.DateTimeFormat = Real;
  }
}

/** The methods of `Intl.DateTimeFormat`, each building the real formatter the first time. */
class DeferredDateTimeFormat {
  #real: Intl.DateTimeFormat | undefined;

  constructor(
    private readonly Real: typeof Intl.DateTimeFormat,
    private readonly locales: string | string[] | undefined,
    private readonly options: Intl.DateTimeFormatOptions | undefined,
  ) {}

  private get real(): Intl.DateTimeFormat {
    this.#real ??= new this.Real(this.locales, this.options);
    return this.#real;
  }

  /** Bound, as the real `format` is (it is a getter returning a bound function). */
  readonly format = (date?: Date | number): string => this.real.format(date);

  formatToParts(date?: Date | number): Intl.DateTimeFormatPart[] {
    return this.real.formatToParts(date);
  }

  formatRange(start: Date | number, end: Date | number): string {
    return this.real.formatRange(start, end);
  }

  formatRangeToParts(start: Date | number, end: Date | number): Intl.DateTimeRangeFormatPart[] {
    return this.real.formatRangeToParts(start, end);
  }

  resolvedOptions(): Intl.ResolvedDateTimeFormatOptions {
    return this.real.resolvedOptions();
  }
}
