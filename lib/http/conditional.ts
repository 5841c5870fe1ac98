import { parseEntityTagList, strongCompare, weakCompare, type EntityTag } from './etag';
import { parseHttpDate } from './http-date';

/** What we know about the selected representation, to evaluate conditions against. */
export interface Validators {
  etag?: EntityTag;
  lastModified?: Date;
}

/** The outcome of a request's preconditions (RFC 9110 §13.2.2): go on, 304, or 412. */
export type Precondition =
  | { kind: 'proceed' }
  | { kind: 'not-modified' }
  | { kind: 'precondition-failed' };

const PROCEED: Precondition = { kind: 'proceed' };
const NOT_MODIFIED: Precondition = { kind: 'not-modified' };
const PRECONDITION_FAILED: Precondition = { kind: 'precondition-failed' };

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and
 * If-Modified-Since in the order of RFC 9110 §13.2.2, for a representation
 * that exists (we are only called once the file has been found).
 *
 * Unlike the `fresh` package, a request `Cache-Control: no-cache` does NOT
 * disable the evaluation: RFC 9110 defines no such interaction, and
 * RFC 9111 §5.2.1.4 only forbids a *cache* from using a stored response
 * without revalidation, which is exactly what a conditional request is.
 *
 * `options.modifiedSince` lets a source answer "modified since?" itself
 * (django-downloadview's `was_modified_since`), in step 4's place: for every
 * valid If-Modified-Since on a GET or HEAD without If-None-Match, whether or
 * not the representation has a modification date (generated content that is
 * always the same has none, and is exactly what the hook is for).
 *
 * Methods are compared case-sensitively (RFC 9110 §9.1); `Request` already
 * normalises `get`/`head` to upper case.
 */
export function evaluatePreconditions(
  method: string,
  headers: Headers,
  validators: Validators,
  options?: { modifiedSince?: (since: Date) => boolean },
): Precondition {
  const isGetOrHead = method === 'GET' || method === 'HEAD';

  // Step 1: If-Match (§13.1.1). `*` is true because the representation exists.
  const ifMatch = headers.get('if-match');
  if (ifMatch !== null) {
    if (!ifMatchPasses(ifMatch, validators.etag)) return PRECONDITION_FAILED;
  } else {
    // Step 2: If-Unmodified-Since (§13.1.4), only when If-Match is absent.
    // Ignored when the date is not a single valid HTTP-date, or when we have
    // no modification date to compare with.
    const since = parseHttpDate(headers.get('if-unmodified-since'));
    if (since && validators.lastModified) {
      if (wholeSeconds(validators.lastModified) > wholeSeconds(since)) return PRECONDITION_FAILED;
    }
  }

  // Step 3: If-None-Match (§13.1.2), weak comparison.
  const ifNoneMatch = headers.get('if-none-match');
  if (ifNoneMatch !== null) {
    if (ifNoneMatchFails(ifNoneMatch, validators.etag)) {
      return isGetOrHead ? NOT_MODIFIED : PRECONDITION_FAILED;
    }
    return PROCEED;
  }

  // Step 4: If-Modified-Since (§13.1.3), only for GET and HEAD and only when
  // If-None-Match is absent.
  // Without a date of its own the representation is compared by the hook alone.
  if (isGetOrHead && (validators.lastModified || options?.modifiedSince)) {
    const since = parseHttpDate(headers.get('if-modified-since'));
    if (since) {
      const modified = options?.modifiedSince
        ? options.modifiedSince(since)
        : wholeSeconds(validators.lastModified!) > wholeSeconds(since);
      if (!modified) return NOT_MODIFIED;
    }
  }

  return PROCEED;
}

function ifMatchPasses(value: string, etag: EntityTag | undefined): boolean {
  const list = parseEntityTagList(value);
  if (list === '*') return true;
  if (!etag) return false;
  return list.some((candidate) => strongCompare(candidate, etag));
}

function ifNoneMatchFails(value: string, etag: EntityTag | undefined): boolean {
  const list = parseEntityTagList(value);
  if (list === '*') return true;
  if (!etag) return false;
  return list.some((candidate) => weakCompare(candidate, etag));
}

/**
 * HTTP-dates have one-second resolution (§5.6.7), so a Last-Modified of
 * 12:00:00.700 was sent as 12:00:00 and must compare equal to it.
 */
function wholeSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
