/**
 * HTTP-date formatting and parsing (RFC 9110 §5.6.7).
 *
 * Senders must produce IMF-fixdate; recipients must also accept the two
 * obsolete forms (RFC 850 and asctime). We deliberately do not fall back to
 * `Date.parse`, which accepts ISO dates, "yesterday"-like strings in some
 * engines and lists of dates: a conditional header that is not a valid
 * HTTP-date must be ignored (RFC 9110 §13.1.3, §13.1.4), not guessed.
 */

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const LONG_DAY_NAMES = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
] as const;
const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;

const DAY = `(?:${DAY_NAMES.join('|')})`;
const LONG_DAY = `(?:${LONG_DAY_NAMES.join('|')})`;
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// HTTP-date is case-sensitive (RFC 9110 §5.6.7), so no `i` flag.
// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
// rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
// asctime-date: Sun Nov  6 08:49:37 1994 (day is 2DIGIT or SP DIGIT)
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`);

/** Formats a date as an IMF-fixdate (RFC 9110 §5.6.7); sub-second precision is dropped by the format itself. */
export function formatHttpDate(date: Date): string {
  if (Number.isNaN(date.getTime())) {
    throw new RangeError('formatHttpDate: invalid Date');
  }
  // toUTCString() is specified (ECMA-262 §21.4.4.43) to produce exactly the
  // IMF-fixdate layout, with a 4-digit year for 1000..9999.
  return date.toUTCString();
}

/**
 * Parses an HTTP-date in any of the three forms of RFC 9110 §5.6.7.
 * Returns undefined for anything else, including a list of dates.
 *
 * `now` only matters for the two-digit years of rfc850-date.
 */
export function parseHttpDate(
  value: string | null | undefined,
  now: Date = new Date(),
): Date | undefined {
  if (value == null) return undefined;
  // Field values arrive trimmed from `Headers`, but tolerate OWS anyway.
  const text = value.trim();

  let match = IMF_FIXDATE.exec(text);
  if (match) {
    const [, day, month, year, hour, minute, second] = match;
    return build(Number(year), month, Number(day), hour, minute, second);
  }

  match = RFC850_DATE.exec(text);
  if (match) {
    const [, day, month, yy, hour, minute, second] = match;
    return build(expandTwoDigitYear(Number(yy), now), month, Number(day), hour, minute, second);
  }

  match = ASCTIME_DATE.exec(text);
  if (match) {
    const [, month, day, hour, minute, second, year] = match;
    return build(Number(year), month, Number(day), hour, minute, second);
  }

  return undefined;
}

/**
 * RFC 9110 §5.6.7: a two-digit year that appears to be more than 50 years in
 * the future is the most recent past year with the same last two digits.
 */
function expandTwoDigitYear(yy: number, now: Date): number {
  const currentYear = now.getUTCFullYear();
  let year = currentYear - (currentYear % 100) + yy;
  if (year > currentYear + 50) year -= 100;
  return year;
}

function build(
  year: number,
  monthName: string | undefined,
  day: number,
  hourText: string | undefined,
  minuteText: string | undefined,
  secondText: string | undefined,
): Date | undefined {
  const month = MONTHS.indexOf(monthName as (typeof MONTHS)[number]);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText);
  if (month < 0 || hour > 23 || minute > 59 || second > 60) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;

  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  // A leap second (60) is allowed by the grammar; JS dates have none, so it
  // rolls over to the next minute, which is the closest representable instant.
  date.setUTCHours(hour, minute, second, 0);
  return date;
}

function daysInMonth(year: number, month: number): number {
  const probe = new Date(0);
  probe.setUTCFullYear(year, month + 1, 0);
  return probe.getUTCDate();
}
