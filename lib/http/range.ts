import rangeParser from 'range-parser';
import type { Validators } from './conditional';
import { parseEntityTag, strongCompare } from './etag';
import { formatHttpDate, parseHttpDate } from './http-date';

/** A byte range with an inclusive end, as in Content-Range (RFC 9110 §14.4). */
export interface ByteRange {
  start: number;
  end: number;
}

/** Bounds on what a Range header may ask for. */
export interface RangeLimits {
  /** More range-specs than this in one header and the header is ignored (RFC 9110 §14.2 allows it). */
  maxRanges: number;
}

/** The limits the engine applies unless a route sets `maxRanges`. */
export const DEFAULT_RANGE_LIMITS: RangeLimits = { maxRanges: 16 };

/**
 * The outcome of reading a Range header (RFC 9110 §14.2):
 * - `none`: no Range header, send the whole representation (200);
 * - `ignored`: a server MAY ignore Range, and we do (200 with the whole
 *   representation) when it is `malformed`, uses another `unit`, has
 *   `too-many` ranges, asks in total for more bytes than the representation
 *   has (`overlap`), or targets an `empty` representation (see parseRange);
 * - `unsatisfiable`: 416 with `Content-Range: bytes *\/<size>`;
 * - `ranges`: 206, merged and in request order; one range or several
 *   (multipart/byteranges).
 */
export type RangeRequest =
  | { kind: 'none' }
  | { kind: 'ignored'; reason: 'malformed' | 'unit' | 'too-many' | 'overlap' | 'empty' }
  | { kind: 'unsatisfiable' }
  | { kind: 'ranges'; ranges: ByteRange[] };

const NONE: RangeRequest = { kind: 'none' };
const UNSATISFIABLE: RangeRequest = { kind: 'unsatisfiable' };
const ignored = (
  reason: 'malformed' | 'unit' | 'too-many' | 'overlap' | 'empty',
): RangeRequest => ({ kind: 'ignored', reason });

// range-unit = token (RFC 9110 §14.1, §5.6.2).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length
// (RFC 9110 §14.1.1). Blanks around "-" are tolerated, as range-parser and
// nginx do.
const INT_RANGE = /^(\d+)[ \t]*-[ \t]*(\d*)$/;
const SUFFIX_RANGE = /^-[ \t]*(\d+)$/;

/**
 * Reads a Range header against a representation of `size` bytes
 * (RFC 9110 §14.1.2, §14.2), using range-parser for the satisfiability
 * and clamping work; merging is done here (see coalesce).
 *
 * Before range-parser sees the header, each range-spec is checked here,
 * because range-parser 1.3 departs from RFC 9110 in three places:
 * - it rejects the whole header for an empty list element (`0-1,,2-3`),
 *   which RFC 9110 §5.6.1 says to ignore;
 * - it calls `5-1` unsatisfiable (416) whereas §14.1.1 calls it invalid,
 *   hence the whole header is ignored (200);
 * - it drops a suffix range longer than the representation (`-500` on 100
 *   bytes), whereas §14.1.3 says the entire representation is then used.
 *
 * Range units are case-insensitive (§14.1), so `Bytes=` counts as bytes.
 *
 * A zero-length representation: §14.1.1 says that only a suffix-range with
 * a non-zero length is satisfiable on it, yet the result would be an empty
 * range that Content-Range cannot express. We answer `ignored`/`empty` for
 * such a request (a 200 with the empty body is the right answer) and
 * `unsatisfiable` when every range-spec is an int-range or `-0`.
 */
export function parseRange(
  header: string | null,
  size: number,
  limits: RangeLimits = DEFAULT_RANGE_LIMITS,
): RangeRequest {
  if (header === null) return NONE;

  const equals = header.indexOf('=');
  if (equals === -1) return ignored('malformed');
  const unit = header.slice(0, equals).trim();
  if (!TOKEN.test(unit)) return ignored('malformed');
  if (unit.toLowerCase() !== 'bytes') return ignored('unit');

  const members = header
    .slice(equals + 1)
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '');
  if (members.length === 0) return ignored('malformed');

  const normalized: string[] = [];
  let nonEmptySuffix = false;
  for (const member of members) {
    const intRange = INT_RANGE.exec(member);
    if (intRange) {
      // §14.1.1: last-pos below first-pos makes the int-range invalid. Compared as digit strings:
      // as floats, two positions past 2^53 can round to the same number.
      if (intRange[2] && comparePositions(intRange[2], intRange[1]!) < 0) return ignored('malformed');
      normalized.push(`${intRange[1]}-${intRange[2] ?? ''}`);
      continue;
    }
    const suffix = SUFFIX_RANGE.exec(member);
    if (suffix) {
      const length = Number(suffix[1]);
      if (length > 0) nonEmptySuffix = true;
      normalized.push(length > size && size > 0 ? '0-' : `-${suffix[1]}`);
      continue;
    }
    return ignored('malformed');
  }

  if (members.length > limits.maxRanges) return ignored('too-many');
  if (size === 0) return nonEmptySuffix ? ignored('empty') : UNSATISFIABLE;

  const spec = `bytes=${normalized.join(',')}`;
  const requested = rangeParser(size, spec);
  if (requested === -2) return ignored('malformed');
  if (requested === -1) return UNSATISFIABLE;

  // Like nginx: asking for more bytes than the file has (overlapping ranges,
  // or the same range repeated) is pointless for a real client and a known
  // amplification vector, so the whole file is sent once instead.
  const total = requested.reduce((sum, range) => sum + (range.end - range.start + 1), 0);
  if (total > size) return ignored('overlap');

  return { kind: 'ranges', ranges: coalesce(requested) };
}

/** Orders two non-negative decimal positions of any length (leading zeros allowed). */
function comparePositions(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A Content-Range field value (RFC 9110 §14.4) in bytes, as an upstream or a store sent it:
 * - `range`: a 206 part `bytes first-last/complete`, `complete` undefined for `*`;
 * - `unsatisfied`: a 416's `bytes *\/complete`.
 */
export type ContentRange =
  | { kind: 'range'; start: number; end: number; complete: number | undefined }
  | { kind: 'unsatisfied'; complete: number };

// Content-Range = range-unit SP ( range-resp / unsatisfied-range ); range-resp = incl-range "/"
// ( complete-length / "*" ); incl-range = first-pos "-" last-pos; unsatisfied-range = "*/"
// complete-length (RFC 9110 §14.4).
const CONTENT_RANGE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (?:(\d+)-(\d+)\/(\d+|\*)|\*\/(\d+))$/;

/**
 * Reads a Content-Range value, or `undefined` when it is malformed, in another unit than bytes
 * (units are case-insensitive, §14.1), invalid (§14.4: last-pos below first-pos, or a complete
 * length at or below last-pos) or holds a number past 2^53 - 1, which would not count exactly.
 */
export function parseContentRange(value: string | null | undefined): ContentRange | undefined {
  if (value === null || value === undefined) return undefined;
  const match = CONTENT_RANGE.exec(value.trim());
  if (!match || match[1]!.toLowerCase() !== 'bytes') return undefined;
  if (match[5] !== undefined) {
    const complete = Number(match[5]);
    return Number.isSafeInteger(complete) ? { kind: 'unsatisfied', complete } : undefined;
  }
  const start = Number(match[2]);
  const end = Number(match[3]);
  const complete = match[4] === '*' ? undefined : Number(match[4]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  if (complete !== undefined && (!Number.isSafeInteger(complete) || complete <= end)) return undefined;
  return { kind: 'range', start, end, complete };
}

/**
 * Merges ranges that overlap or touch (RFC 9110 §14.6 lets a server coalesce them) and keeps
 * the parts in request order (§14.6: "SHOULD send the parts in the same order that the
 * corresponding range-spec appeared"): a merged part takes the place of the earliest range-spec
 * it covers. range-parser's `combine` kept the place of the containing range when a later range
 * held an earlier one whole, so `bytes=145-183,0-0,-40` came out with the first byte first.
 */
function coalesce(requested: readonly ByteRange[]): ByteRange[] {
  const byStart = requested
    .map(({ start, end }, index) => ({ start, end, index }))
    .sort((a, b) => a.start - b.start || a.index - b.index);
  const merged: typeof byStart = [];
  for (const range of byStart) {
    const previous = merged[merged.length - 1];
    if (previous && range.start <= previous.end + 1) {
      previous.end = Math.max(previous.end, range.end);
      previous.index = Math.min(previous.index, range.index);
    } else {
      merged.push({ ...range });
    }
  }
  return merged.sort((a, b) => a.index - b.index).map(({ start, end }) => ({ start, end }));
}

/**
 * If-Range (RFC 9110 §13.1.5): should the Range header be honoured?
 *
 * - An entity-tag matches only by STRONG comparison: a weak tag on either
 *   side never matches (the `send` package accepts weak ones; we do not,
 *   since a weak validator does not promise byte-identical content).
 * - An HTTP-date matches only if it is exactly the Last-Modified we would
 *   send (same second); any other date, or no Last-Modified, does not.
 * - Anything else does not match, so the full representation is sent.
 *
 * A DQUOTE among the first three characters tells an entity-tag from a date
 * (§13.1.5).
 */
export function ifRangeMatches(value: string, validators: Validators): boolean {
  const text = value.trim();
  if (text.startsWith('"') || text.startsWith('W/"')) {
    const tag = parseEntityTag(text);
    return tag !== undefined && validators.etag !== undefined && strongCompare(tag, validators.etag);
  }
  const date = parseHttpDate(text);
  if (!date || !validators.lastModified) return false;
  return formatHttpDate(date) === formatHttpDate(validators.lastModified);
}
