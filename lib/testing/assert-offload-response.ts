import { AssertionError } from 'node:assert';
import { canonicalPath } from '../http/canonical';
import { contentTypeMatches, describeBytes, Mismatches, readBody, readDisposition } from './mismatches';

/** The headers that hand a file to the web server. */
export type OffloadHeader = 'X-Accel-Redirect' | 'X-Sendfile' | 'X-Sendfile2';

/** What `assertOffloadResponse` checks; the optional fields only when given. */
export interface OffloadExpectation {
  /**
   * Where the server is sent: the nginx internal URI (`X-Accel-Redirect`), the file path
   * (`X-Sendfile`), or the path with an optional ` start-end` range (`X-Sendfile2`). URIs are
   * compared decoded, so `/protected/a b.txt` and `/protected/a%20b.txt` both match a header of
   * `/protected/a%20b.txt`; but the header itself must be percent-encoded.
   */
  redirect: string;
  /** Default `X-Accel-Redirect`. */
  header?: OffloadHeader;
  /** Default 200. */
  status?: number;
  /** X-Accel-Buffering. */
  buffering?: 'yes' | 'no';
  /** X-Accel-Limit-Rate, bytes per second (`0`: no limit; nginx reads only numbers). */
  limitRate?: number;
  /** X-Accel-Expires: seconds, `'off'`, or a Date (sent as `@<unix seconds>`). */
  expires?: number | 'off' | Date;
  /** X-Accel-Charset. */
  charset?: string;
  /** The name a browser saves under (Content-Disposition, `filename*` first). */
  filename?: string;
  /** As in `assertDownloadResponse`: media type only, whole header, or a RegExp. */
  contentType?: string | RegExp;
}

const OFFLOAD_HEADERS: readonly OffloadHeader[] = ['X-Accel-Redirect', 'X-Sendfile', 'X-Sendfile2'];
/** Printable ASCII without space, and `%` only as the start of an escape (RFC 3986 §2.1). */
const PERCENT_ENCODED = /^(?:[\x21-\x24\x26-\x7e]|%[0-9A-Fa-f]{2})*$/;

/**
 * Asserts that a Response hands the file to the web server, like django-downloadview's
 * `assert_x_accel_redirect`: the offload header points where expected, each X-Accel option has
 * the expected value, the body is empty, and no Content-Length of the file was copied onto it
 * (absent or 0; the server sets the real one). Throws an `AssertionError` (node:assert) listing
 * every difference, under any test runner.
 *
 * @example
 * const response = await GET(new Request('http://x/api/accel/r%C3%A9sum%C3%A9.pdf'), context);
 * await assertOffloadResponse(response, {
 *   redirect: '/_protected/résumé.pdf',
 *   buffering: 'no',
 *   expires: 'off',
 *   filename: 'résumé.pdf',
 *   contentType: 'application/pdf',
 * });
 */
export async function assertOffloadResponse(response: Response, expected: OffloadExpectation): Promise<void> {
  if (!(response instanceof Response)) {
    throw new AssertionError({ message: `assertOffloadResponse: expected a Response, got ${typeof response}` });
  }
  if (typeof expected?.redirect !== 'string') {
    throw new TypeError('assertOffloadResponse: expected.redirect is required');
  }
  const mismatches = new Mismatches();
  const status = expected.status ?? 200;
  mismatches.check('status', response.status === status, status, response.status);

  const header = expected.header ?? 'X-Accel-Redirect';
  const value = response.headers.get(header);
  if (value === null) {
    const others = OFFLOAD_HEADERS.filter((name) => name !== header && response.headers.has(name));
    mismatches.check(header, false, expected.redirect, null, others.length ? `${others.join(', ')} is set instead` : undefined);
  } else if (header === 'X-Sendfile') {
    // A file system path: lighttpd (>= 1.4.40) and mod_xsendfile 1.0 decode it, mod_xsendfile
    // 0.12 takes the header's raw bytes (UTF-8, which reach us read as latin-1).
    const readings = [value, decodedOrSelf(value), Buffer.from(value, 'latin1').toString('utf8')];
    mismatches.check(header, readings.includes(expected.redirect), expected.redirect, value);
  } else {
    const split = header === 'X-Sendfile2' ? splitRange : splitQuery;
    const [path, rest] = split(value);
    const [wantPath, wantRest] = split(expected.redirect);
    if (!PERCENT_ENCODED.test(path)) {
      // nginx (since 1.5.9) and lighttpd decode the URI: a raw space or non-ASCII byte
      // reaches the wrong file or none.
      mismatches.check(header, false, expected.redirect, value, 'not percent-encoded');
    } else {
      const same =
        canonicalPath(path) === canonicalPath(wantPath) &&
        // X-Sendfile2 without a range in the expectation: any range.
        (header === 'X-Sendfile2' && wantRest === undefined ? true : rest === wantRest);
      mismatches.check(header, same, expected.redirect, value);
    }
  }

  const options: [string, string | number | undefined][] = [
    ['X-Accel-Buffering', expected.buffering],
    ['X-Accel-Limit-Rate', expected.limitRate],
    ['X-Accel-Expires', expected.expires instanceof Date ? `@${Math.floor(expected.expires.getTime() / 1000)}` : expected.expires],
    ['X-Accel-Charset', expected.charset],
  ];
  for (const [name, want] of options) {
    if (want === undefined) continue;
    const actual = response.headers.get(name);
    // yes/no/off and charset names are case-insensitive for nginx.
    mismatches.check(name, actual?.trim().toLowerCase() === String(want).toLowerCase(), String(want), actual);
  }

  if (expected.filename !== undefined) {
    const disposition = readDisposition(response, mismatches);
    const actual = disposition?.filename;
    if (disposition) mismatches.check('filename', actual === expected.filename, expected.filename, actual);
  }
  if (expected.contentType !== undefined) {
    const contentType = response.headers.get('content-type');
    mismatches.check('Content-Type', contentTypeMatches(expected.contentType, contentType), expected.contentType, contentType);
  }

  const length = response.headers.get('content-length');
  mismatches.checkDescribed(
    'Content-Length',
    length === null || length === '0',
    '(absent) or "0"',
    length === null ? '(absent)' : JSON.stringify(length),
    "the web server sets the file's own",
  );

  if (response.body !== null) {
    const body = await readBody(response, mismatches);
    if (body) mismatches.checkDescribed('body', body.byteLength === 0, 'empty', describeBytes(body));
  }

  mismatches.throwIfAny('Offload response does not match', 'assertOffloadResponse', assertOffloadResponse);
}

function decodedOrSelf(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `/uri?args` -> path and query (nginx allows arguments in X-Accel-Redirect). */
function splitQuery(text: string): [string, string | undefined] {
  const at = text.indexOf('?');
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** `/path start-end` -> path and range (lighttpd's X-Sendfile2). The range is the last word. */
function splitRange(text: string): [string, string | undefined] {
  const match = /^(.*) ([0-9]+-[0-9]*|-[0-9]+)$/.exec(text);
  return match ? [match[1]!, match[2]] : [text, undefined];
}
