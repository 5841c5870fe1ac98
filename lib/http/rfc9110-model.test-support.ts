/**
 * A reference model of the RFC 9110 decisions a download makes: preconditions (§13.1.1-13.1.4)
 * in the order of §13.2.2, If-Range (§13.1.5), Range (§14.1-14.2) and the status that follows
 * (206, 416 with §14.4's `bytes *\/size`, 200).
 *
 * It is written from the RFC's text, not from the kit's helpers, and shares no code with them:
 * property tests compare the engine's `decide` with it. It only serves tests; nothing in the
 * package imports it.
 *
 * Where the RFC lets a server choose (a MAY, or a field that is not valid and about which the
 * RFC says nothing), `expectedOutcomes` lists every answer the RFC allows, except where the
 * README documents the kit's choice ("Choices"); then only that choice is allowed:
 * - more than `maxRanges` range-specs, or ranges asking for more bytes in total than the
 *   representation has: the Range is ignored (200), not rejected (416) (§14.2 allows both);
 * - an invalid ranges-specifier is ignored (200) (§14.2: "MAY ignore or reject");
 * - ranges are coalesced exactly when they overlap or touch (§14.6 "MAY coalesce"), and parts go
 *   in the order of the first range-spec each covers (§14.6 "SHOULD send the parts in the same
 *   order");
 * - on a zero-length representation a non-zero suffix-range is satisfiable (§14.1.1) but no
 *   Content-Range can describe the empty part it selects: the whole (empty) body, 200;
 * - If-Unmodified-Since, If-Modified-Since and an If-Range date are ignored (or false) when the
 *   representation has no Last-Modified (§13.1.3, §13.1.4 "MAY ignore");
 * - an If-Range date equal to the Last-Modified is a match: the kit compares against the file's
 *   current date itself (§8.8.2.2, first rule);
 * - a request `Cache-Control: no-cache` changes nothing (RFC 9110 defines no such interaction).
 */

export interface ModelRepresentation {
  /** Length in bytes; `undefined` when unknown, and then Range is not supported. */
  size: number | undefined;
  /** The ETag field value the server sends, if any. */
  etag: string | undefined;
  /** The Last-Modified field value the server sends, if any. */
  lastModified: string | undefined;
}

export interface ModelRequest {
  method: 'GET' | 'HEAD';
  /** Lower-case field names; a field given once. */
  headers: Record<string, string>;
  maxRanges: number;
}

export type ModelOutcome =
  | { status: 200 | 304 | 412 | 416 }
  | { status: 206; ranges: [number, number][]; multipart: boolean };

/** Picks one of the answers the RFC allows; `expectedOutcomes` tries every pick. */
type Choose = <T>(options: readonly T[]) => T;

/** Every outcome the RFC (with the kit's documented choices) allows for this request. */
export function expectedOutcomes(representation: ModelRepresentation, request: ModelRequest): ModelOutcome[] {
  const outcomes = new Map<string, ModelOutcome>();
  const pending: number[][] = [[]];
  while (pending.length > 0) {
    const path = pending.pop()!;
    const taken: number[] = [];
    const choose: Choose = (options) => {
      const depth = taken.length;
      const pick = depth < path.length ? path[depth]! : 0;
      if (depth >= path.length) {
        for (let other = 1; other < options.length; other++) pending.push([...taken, other]);
      }
      taken.push(pick);
      return options[pick]!;
    };
    const outcome = evaluate(representation, request, choose);
    outcomes.set(JSON.stringify(outcome), outcome);
  }
  return [...outcomes.values()];
}

function evaluate(representation: ModelRepresentation, request: ModelRequest, choose: Choose): ModelOutcome {
  const field = (name: string): string | undefined => {
    const value = request.headers[name];
    // §5.5: leading and trailing whitespace is not part of a field value.
    return value === undefined ? undefined : value.replace(/^[ \t]+|[ \t]+$/g, '');
  };
  const current = representation.etag === undefined ? undefined : entityTag(representation.etag);
  const lastModified = representation.lastModified === undefined ? undefined : httpDate(representation.lastModified);

  // §13.2.2 step 1: If-Match.
  const ifMatch = field('if-match');
  if (ifMatch !== undefined) {
    if (!ifMatchHolds(ifMatch, current, choose)) return { status: 412 };
  } else {
    // Step 2: If-Unmodified-Since, only without If-Match (§13.1.4).
    const since = field('if-unmodified-since');
    const date = since === undefined ? undefined : httpDate(since);
    if (date !== undefined && lastModified !== undefined && lastModified > date) return { status: 412 };
  }

  // Step 3: If-None-Match; false means 304 for GET and HEAD (§13.1.2).
  const ifNoneMatch = field('if-none-match');
  if (ifNoneMatch !== undefined) {
    if (!ifNoneMatchHolds(ifNoneMatch, current, choose)) return { status: 304 };
  } else {
    // Step 4: If-Modified-Since, only without If-None-Match, GET or HEAD (§13.1.3).
    const since = field('if-modified-since');
    const date = since === undefined ? undefined : httpDate(since);
    if (date !== undefined && lastModified !== undefined && lastModified <= date) return { status: 304 };
  }

  // Step 5: Range, GET only (§14.2), on a representation whose length is known.
  const range = field('range');
  const size = representation.size;
  if (request.method !== 'GET' || range === undefined || size === undefined) return { status: 200 };
  const ifRange = field('if-range');
  if (ifRange !== undefined && !ifRangeHolds(ifRange, current, representation.lastModified, choose)) {
    return { status: 200 };
  }
  return rangeOutcome(range, size, request.maxRanges, choose);
}

// ---- Entity tags (§8.8.3) ----

interface Tag {
  weak: boolean;
  opaque: string;
}

// etagc = %x21 / %x23-7E / obs-text; obs-text = %x80-FF.
const TAG = '(?:W/)?"[\\x21\\x23-\\x7e\\x80-\\xff]*"';
const ONE_TAG = new RegExp(`^(W/)?"([\\x21\\x23-\\x7e\\x80-\\xff]*)"$`);
// A recipient's #entity-tag: [ element ] *( OWS "," OWS [ element ] ) (§5.6.1.2).
const TAG_LIST = new RegExp(`^(?:${TAG})?(?:[ \\t]*,[ \\t]*(?:${TAG})?)*$`);

function entityTag(text: string): Tag | undefined {
  const match = ONE_TAG.exec(text);
  return match ? { weak: match[1] !== undefined, opaque: match[2]! } : undefined;
}

function tagList(text: string): Tag[] | undefined {
  if (!TAG_LIST.test(text)) return undefined;
  return [...text.matchAll(new RegExp(TAG, 'g'))].map((match) => entityTag(match[0])!);
}

/** §8.8.3.2: strong comparison needs both tags strong. */
function strongMatch(a: Tag, b: Tag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

function weakMatch(a: Tag, b: Tag): boolean {
  return a.opaque === b.opaque;
}

/** §13.1.1: `*` is true when a current representation exists (it always does here). */
function ifMatchHolds(value: string, current: Tag | undefined, choose: Choose): boolean {
  if (value === '*') return true;
  const tags = tagList(value);
  // Not a valid field: the RFC says nothing, so either reading is allowed.
  if (tags === undefined) return choose([true, false]);
  return current !== undefined && tags.some((tag) => strongMatch(tag, current));
}

/** §13.1.2: false for `*` on an existing representation, or when a listed tag weakly matches. */
function ifNoneMatchHolds(value: string, current: Tag | undefined, choose: Choose): boolean {
  if (value === '*') return false;
  const tags = tagList(value);
  if (tags === undefined) return choose([true, false]);
  return !(current !== undefined && tags.some((tag) => weakMatch(tag, current)));
}

/** §13.1.5: a strong entity-tag match, or a date exactly the Last-Modified; anything else is false. */
function ifRangeHolds(value: string, current: Tag | undefined, lastModified: string | undefined, choose: Choose): boolean {
  const tag = entityTag(value);
  if (tag !== undefined) return current !== undefined && strongMatch(tag, current);
  const date = httpDate(value);
  if (date === undefined || lastModified === undefined) return false;
  if (value === lastModified) return true;
  // The same instant written in another of the three formats: "exactly matches the
  // Last-Modified field value" can be read either way.
  return date === httpDate(lastModified) ? choose([true, false]) : false;
}

// ---- HTTP-date (§5.6.7), as seconds since the epoch ----

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTH_NAMES.join('|')})`;
const CLOCK = '([0-9]{2}):([0-9]{2}):([0-9]{2})';
const IMF = new RegExp(`^${DAY}, ([0-9]{2}) ${MONTH} ([0-9]{4}) ${CLOCK} GMT$`);
const RFC850 = new RegExp(`^${LONG_DAY}, ([0-9]{2})-${MONTH}-([0-9]{2}) ${CLOCK} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([0-9]{2}| [0-9]) ${CLOCK} ([0-9]{4})$`);

/** Seconds since 1970 of a valid HTTP-date, or `undefined` for anything else. */
export function httpDate(text: string): number | undefined {
  let fields: { day: string; month: string; year: number; clock: string[] } | undefined;
  const imf = IMF.exec(text);
  const rfc850 = RFC850.exec(text);
  const asctime = ASCTIME.exec(text);
  if (imf) {
    fields = { day: imf[1]!, month: imf[2]!, year: Number(imf[3]), clock: imf.slice(4, 7) };
  } else if (rfc850) {
    // A two-digit year more than 50 years ahead is the latest past year with those digits.
    const now = new Date().getUTCFullYear();
    let year = now - (now % 100) + Number(rfc850[3]);
    if (year > now + 50) year -= 100;
    fields = { day: rfc850[1]!, month: rfc850[2]!, year, clock: rfc850.slice(4, 7) };
  } else if (asctime) {
    fields = { day: asctime[2]!, month: asctime[1]!, year: Number(asctime[6]), clock: asctime.slice(3, 6) };
  } else {
    return undefined;
  }
  const { year } = fields;
  const month = MONTH_NAMES.indexOf(fields.month);
  const day = Number(fields.day.trim());
  const [hour, minute, second] = fields.clock.map(Number) as [number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]!;
  // Leap seconds (60) are never generated by the tests; the model refuses them.
  if (day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() / 1000;
}

// ---- Range (§14.1, §14.2) ----

/** range-unit = token (§14.1, §5.6.2). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

type Spec = { first: bigint; last: bigint | undefined } | { suffix: bigint };

function rangeOutcome(value: string, size: number, maxRanges: number, choose: Choose): ModelOutcome {
  const strict = readSpecifier(value, false);
  const lenient = readSpecifier(value, true);
  // Blanks around "=" or "-" are outside the grammar: ignoring the field or reading it
  // leniently (as nginx does) are both fine.
  const specs = strict === 'unit' || strict === 'invalid' ? (lenient === strict ? strict : choose([strict, lenient])) : strict;
  // §14.2: an unknown unit MUST be ignored; an invalid ranges-specifier MAY be ignored.
  if (specs === 'unit' || specs === 'invalid') return { status: 200 };
  if (specs.length > maxRanges) return { status: 200 };

  const total = BigInt(size);
  const satisfiable: [bigint, bigint, number][] = [];
  let emptySelection = false;
  specs.forEach((spec, index) => {
    if ('suffix' in spec) {
      if (spec.suffix === 0n) return;
      if (total === 0n) {
        emptySelection = true;
        return;
      }
      // §14.1.3: a suffix longer than the representation selects all of it.
      satisfiable.push([spec.suffix >= total ? 0n : total - spec.suffix, total - 1n, index]);
      return;
    }
    if (spec.first >= total) return;
    const last = spec.last === undefined || spec.last >= total ? total - 1n : spec.last;
    satisfiable.push([spec.first, last, index]);
  });
  if (satisfiable.length === 0) return emptySelection ? { status: 200 } : { status: 416 };

  const asked = satisfiable.reduce((sum, [first, last]) => sum + (last - first + 1n), 0n);
  if (asked > total) return { status: 200 };

  // Coalesce ranges that overlap or touch; each merged part keeps its earliest range-spec's place.
  const byStart = [...satisfiable].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[2] - b[2]));
  const merged: [bigint, bigint, number][] = [];
  for (const [first, last, index] of byStart) {
    const previous = merged[merged.length - 1];
    if (previous && first <= previous[1] + 1n) {
      if (last > previous[1]) previous[1] = last;
      previous[2] = Math.min(previous[2], index);
    } else {
      merged.push([first, last, index]);
    }
  }
  merged.sort((a, b) => a[2] - b[2]);
  const ranges = merged.map(([first, last]): [number, number] => [Number(first), Number(last)]);
  // §15.3.7: never multipart for a single requested range; a single part of several MAY be either.
  const multipart = ranges.length > 1 ? true : specs.length === 1 ? false : choose([false, true]);
  return { status: 206, ranges, multipart };
}

function readSpecifier(value: string, lenient: boolean): Spec[] | 'unit' | 'invalid' {
  const equals = value.indexOf('=');
  if (equals === -1) return 'invalid';
  const unit = lenient ? value.slice(0, equals).replace(/[ \t]+$/, '') : value.slice(0, equals);
  if (!TOKEN.test(unit)) return 'invalid';
  // §14.1: range units are case-insensitive.
  if (unit.toLowerCase() !== 'bytes') return 'unit';
  const blank = lenient ? '[ \\t]*' : '';
  const intRange = new RegExp(`^([0-9]+)${blank}-${blank}([0-9]*)$`);
  const suffixRange = new RegExp(`^-${blank}([0-9]+)$`);
  const rest = lenient ? value.slice(equals + 1).replace(/^[ \t]+/, '') : value.slice(equals + 1);
  if (!lenient && /^[ \t]/.test(rest)) return 'invalid';
  // 1#range-spec, empty elements allowed to a recipient (§5.6.1.2); range-specs hold no comma.
  const elements = rest.split(',').map((element) => element.replace(/^[ \t]+|[ \t]+$/g, '')).filter((element) => element !== '');
  if (elements.length === 0) return 'invalid';
  const specs: Spec[] = [];
  for (const element of elements) {
    const int = intRange.exec(element);
    if (int) {
      const first = BigInt(int[1]!);
      const last = int[2] === '' ? undefined : BigInt(int[2]!);
      // §14.1.1: an int-range whose last-pos is below its first-pos is invalid.
      if (last !== undefined && last < first) return 'invalid';
      specs.push({ first, last });
      continue;
    }
    const suffix = suffixRange.exec(element);
    if (suffix) {
      specs.push({ suffix: BigInt(suffix[1]!) });
      continue;
    }
    return 'invalid';
  }
  return specs;
}
