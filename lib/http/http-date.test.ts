import { describe, it, expect } from 'vitest';
import { formatHttpDate, parseHttpDate } from './http-date';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('formatHttpDate', () => {
  it.each([
    ['the RFC 9110 example instant', new Date(NOV_6_1994), 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['the epoch', new Date(0), 'Thu, 01 Jan 1970 00:00:00 GMT'],
    ['a leap day', new Date(Date.UTC(2024, 1, 29, 23, 59, 59)), 'Thu, 29 Feb 2024 23:59:59 GMT'],
    ['an instant with milliseconds (dropped)', new Date(NOV_6_1994 + 999), 'Sun, 06 Nov 1994 08:49:37 GMT'],
  ])('formats %s as an IMF-fixdate', (_label, date, expected) => {
    expect(formatHttpDate(date)).toBe(expected);
  });

  it('refuses an invalid Date instead of emitting "Invalid Date"', () => {
    expect(() => formatHttpDate(new Date(Number.NaN))).toThrow(RangeError);
  });

  it('round-trips through parseHttpDate at second precision', () => {
    const date = new Date(Date.UTC(2031, 6, 4, 12, 0, 1, 500));
    expect(parseHttpDate(formatHttpDate(date))?.getTime()).toBe(Date.UTC(2031, 6, 4, 12, 0, 1));
  });
});

describe('parseHttpDate', () => {
  describe('with the three forms of RFC 9110 §5.6.7', () => {
    it.each([
      ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT'],
      ['obsolete RFC 850 form', 'Sunday, 06-Nov-94 08:49:37 GMT'],
      ['obsolete asctime form', 'Sun Nov  6 08:49:37 1994'],
      ['asctime form with a two-digit day', 'Sun Nov 06 08:49:37 1994'],
      ['IMF-fixdate surrounded by whitespace', '  Sun, 06 Nov 1994 08:49:37 GMT '],
    ])('parses the %s', (_label, value) => {
      expect(parseHttpDate(value)?.getTime()).toBe(NOV_6_1994);
    });
  });

  describe('with the two-digit years of the RFC 850 form', () => {
    const now = new Date(Date.UTC(2025, 0, 1));
    it.each([
      ['a year up to 50 years ahead as this century', 'Monday, 01-Jan-74 00:00:00 GMT', 2074],
      ['a year more than 50 years ahead as last century', 'Monday, 01-Jan-76 00:00:00 GMT', 1976],
      ['the current year as this century', 'Wednesday, 01-Jan-25 00:00:00 GMT', 2025],
      ['year 00 as this century', 'Saturday, 01-Jan-00 00:00:00 GMT', 2000],
    ])('reads %s', (_label, value, year) => {
      expect(parseHttpDate(value, now)?.getUTCFullYear()).toBe(year);
    });
  });

  it('keeps four-digit years below 100 instead of mapping them to 19xx', () => {
    expect(parseHttpDate('Mon, 01 Jan 0099 00:00:00 GMT')?.getUTCFullYear()).toBe(99);
  });

  it('rolls a leap second over to the next minute', () => {
    expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT')?.getTime()).toBe(Date.UTC(2017, 0, 1));
  });

  describe('with values that are not a single HTTP-date', () => {
    it.each([
      ['null', null],
      ['undefined', undefined],
      ['an empty string', ''],
      ['an ISO 8601 date', '2024-01-01'],
      ['an ISO 8601 timestamp', '1994-11-06T08:49:37Z'],
      ['a word', 'yesterday'],
      ['a number', '784111777'],
      ['a list of two dates', 'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT'],
      ['a lowercase day and month (HTTP-date is case-sensitive)', 'sun, 06 nov 1994 08:49:37 gmt'],
      ['a zone other than GMT', 'Sun, 06 Nov 1994 08:49:37 UTC'],
      ['a numeric zone', 'Sun, 06 Nov 1994 08:49:37 +0000'],
      ['a one-digit day in IMF-fixdate', 'Sun, 6 Nov 1994 08:49:37 GMT'],
      ['a two-digit year in IMF-fixdate', 'Sun, 06 Nov 94 08:49:37 GMT'],
      ['a long day name in IMF-fixdate', 'Sunday, 06 Nov 1994 08:49:37 GMT'],
      ['a short day name in the RFC 850 form', 'Sun, 06-Nov-94 08:49:37 GMT'],
      ['an unknown month', 'Sun, 06 Foo 1994 08:49:37 GMT'],
      ['the 30th of February', 'Mon, 30 Feb 2024 00:00:00 GMT'],
      ['the 29th of February of a common year', 'Thu, 29 Feb 2023 00:00:00 GMT'],
      ['day 00', 'Sun, 00 Nov 1994 08:49:37 GMT'],
      ['hour 24', 'Sun, 06 Nov 1994 24:00:00 GMT'],
      ['minute 60', 'Sun, 06 Nov 1994 08:60:00 GMT'],
      ['second 61', 'Sun, 06 Nov 1994 08:49:61 GMT'],
      ['trailing garbage', 'Sun, 06 Nov 1994 08:49:37 GMT; length=12'],
    ])('returns undefined for %s', (_label, value) => {
      expect(parseHttpDate(value)).toBeUndefined();
    });
  });
});
