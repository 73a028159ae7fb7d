import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { loadDeferringDateTimeFormat } from './defer-date-format.js';

describe('loadDeferringDateTimeFormat', () => {
  const Real = Intl.DateTimeFormat;
  let built = 0;
  // Counts the real formatters built: the constructor in place when the function is called.
  class Counting extends Real {
    constructor(locales?: string | string[], options?: Intl.DateTimeFormatOptions) {
      super(locales, options);
      built++;
    }
  }
  beforeEach(() => {
    built = 0;
    Intl.DateTimeFormat = Counting as typeof Intl.DateTimeFormat;
  });
  afterEach(() => {
    Intl.DateTimeFormat = Real;
  });

  const options: Intl.DateTimeFormatOptions = { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' };
  const when = Date.UTC(2026, 11, 4, 15, 30);

  it('given a module that builds a formatter when it is loaded, then the real one is built at its first use and formats the same', () => {
    const formatter = loadDeferringDateTimeFormat(() => new Intl.DateTimeFormat('en-GB', options));
    expect(built).toBe(0);
    const { format } = formatter; // bound, as the real one is
    expect(format(when)).toBe('04/12/2026');
    expect(built).toBe(1);
    expect(formatter.formatToParts(when).map((part) => part.value).join('')).toBe('04/12/2026');
    expect(formatter.resolvedOptions()).toMatchObject({ locale: 'en-GB', timeZone: 'UTC' });
    const real = new Real('en-GB', options);
    expect(formatter.formatRange(when, when + 86_400_000)).toBe(real.formatRange(when, when + 86_400_000));
    expect(formatter.formatRangeToParts(when, when + 86_400_000)).toEqual(real.formatRangeToParts(when, when + 86_400_000));
    expect(built).toBe(1);
  });

  it('given the load returned or threw, then formatters built afterwards are the real ones', () => {
    expect(loadDeferringDateTimeFormat(() => 42)).toBe(42);
    expect(Intl.DateTimeFormat).toBe(Counting);
    expect(() =>
      loadDeferringDateTimeFormat(() => {
        throw new Error('no such module');
      }),
    ).toThrow('no such module');
    expect(Intl.DateTimeFormat).toBe(Counting);
    expect(new Intl.DateTimeFormat('en-GB', options).format(when)).toBe('04/12/2026');
    expect(built).toBe(1);
  });
});
