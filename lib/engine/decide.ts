import { evaluatePreconditions, type Validators } from '../http/conditional';
import { isActiveContentType, resolveContentType } from '../http/content-type';
import { contentDispositionHeader, safeBasename } from '../http/disposition';
import { formatDigestField, selectDigests } from '../http/digest';
import { formatEntityTag, toEntityTag } from '../http/etag';
import { formatHttpDate } from '../http/http-date';
import { planMultipart, type MultipartPlan } from '../http/multipart';
import { ifRangeMatches, parseRange, type ByteRange } from '../http/range';
import { ENCODING_HEADER, LENGTH_HEADER } from './handoff';
import { memoize } from './memo';
import { perRequest, type ActiveContent, type ResolvedOptions } from './options';
import type { Source } from './source';

/** What the response will be, decided from metadata alone; bytes are opened after. */
export type Decision =
  | { status: 200; headers: Headers; body: { kind: 'whole' } }
  | { status: 206; headers: Headers; body: { kind: 'range'; range: ByteRange } }
  | { status: 206; headers: Headers; body: { kind: 'whole' } }
  | { status: 206; headers: Headers; body: { kind: 'multipart'; plan: MultipartPlan } }
  | { status: 304 | 412 | 416; headers: Headers; body: { kind: 'none' } };

/** The engine's alone: a route that set them by hand could announce bytes it does not send. */
const FRAMING_HEADERS = new Set(['content-length', 'content-range', 'transfer-encoding', LENGTH_HEADER, ENCODING_HEADER]);

/** Headers that describe a body a 416 does not have. */
const REPRESENTATION_ONLY = new Set(['content-type', 'content-length', 'content-disposition', 'content-encoding']);

/**
 * The policy sent with active content (see `isActiveContentType`) unless the route allows it.
 * `sandbox` with no allow-* token (W3C CSP3 §6.3.2, and HTML's sandboxing flags) turns scripts,
 * forms, plugins and pop-ups off and gives the document an opaque origin, so it can neither run
 * code nor read or act on the app's origin. `default-src 'none'` stops what is left of it from
 * loading anything (tracking images, CSS that leaks the page); inline styles and data: images
 * are kept so an SVG or a saved page still looks as it should.
 */
export const ACTIVE_CONTENT_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/** Headers of a 304: validators and caching only (RFC 9110 §15.4.5). */
const NOT_MODIFIED_HEADERS = ['etag', 'last-modified', 'cache-control', 'expires', 'vary', 'content-location', 'repr-digest'];

/**
 * Decides the whole response, once, in the order of RFC 9110 §13.2.2:
 * 412 -> 304 -> Range / If-Range -> 206 or 416 -> 200. HEAD gets the headers GET would get,
 * except that Range applies to GET only (§14.2: "GET is the only method for which range
 * handling is defined").
 */
export function decide(request: Request, source: Source, options: ResolvedOptions): Decision {
  const validators: Validators = {
    etag: source.etag === undefined ? undefined : toEntityTag(source.etag),
    lastModified: validDate(source.lastModified),
  };
  const extra = extraHeaders(request, source, options);
  const name = basename(perRequest(options.filename, request, source) ?? source.name ?? '');
  const headers = representationHeaders(request, source, options, validators, name);
  if (extra) for (const [header, value] of extra) headers.set(header, value);
  if (source.vary?.length) appendVary(headers, source.vary);
  const digests = source.answered ? [] : selectDigests(request.headers.get('want-repr-digest'), source.digests);
  if (digests.length) headers.set('repr-digest', formatDigestField(source.digests!, digests)!);
  // After the route's own headers, which may have set the type or the disposition themselves.
  guardActiveContent(headers, name, options.activeContent);
  // The route's own headers (cookies, custom ones) go on every answer, 304 and 412 included.
  const status = (code: 304 | 412 | 416, keep: (name: string) => boolean): Decision => {
    const out = new Headers();
    for (const [name, value] of headers) if (keep(name) || extra?.has(name)) out.set(name, value);
    return { status: code, headers: out, body: { kind: 'none' } };
  };

  if (source.answered) return relay(source, headers, status);

  const precondition = evaluatePreconditions(request.method, request.headers, validators, {
    modifiedSince: options.modifiedSince && ((since: Date) => options.modifiedSince!(source, since)),
  });
  if (precondition.kind === 'precondition-failed') return status(412, (name) => name === 'etag' || name === 'last-modified' || name === 'vary');
  if (precondition.kind === 'not-modified') return status(304, (name) => NOT_MODIFIED_HEADERS.includes(name));

  const size = source.size;
  const rangeHeader = request.headers.get('range');
  if (request.method !== 'GET' || rangeHeader === null || size === undefined || !acceptsRanges(source)) {
    return whole(request, source, headers);
  }
  // §13.1.5: a Range whose If-Range does not match (strongly) is ignored: the client gets the
  // whole, new representation instead of a piece of it spliced onto a piece of the old one.
  const ifRange = request.headers.get('if-range');
  if (ifRange !== null && !ifRangeMatches(ifRange, validators)) {
    return whole(request, source, headers);
  }

  const parsed = parseRange(rangeHeader, size, { maxRanges: options.maxRanges });
  switch (parsed.kind) {
    case 'none':
    case 'ignored':
      return whole(request, source, headers);
    case 'unsatisfiable': {
      const out = status(416, (name) => !REPRESENTATION_ONLY.has(name));
      out.headers.set('content-range', `bytes */${size}`);
      return out;
    }
    case 'ranges': {
      const [first] = parsed.ranges;
      if (parsed.ranges.length === 1 && first) {
        headers.set('content-range', `bytes ${first.start}-${first.end}/${size}`);
        headers.set('content-length', String(first.end - first.start + 1));
        return { status: 206, headers, body: { kind: 'range', range: first } };
      }
      const plan = planMultipart(parsed.ranges, size, headers.get('content-type') ?? 'application/octet-stream');
      headers.set('content-type', plan.contentType);
      headers.set('content-length', String(plan.length));
      return { status: 206, headers, body: { kind: 'multipart', plan } };
    }
  }
}

/**
 * A 200 with the whole representation. Its content is the representation itself, so a known
 * digest of it is also the content's (RFC 9530 §2), for the algorithms `Want-Content-Digest`
 * prefers. A HEAD gets it too: it carries the fields its GET would (RFC 9110 §9.3.2).
 */
function whole(request: Request, source: Source, headers: Headers): Decision {
  if (source.digests && !source.answered) {
    const algorithms = selectDigests(request.headers.get('want-content-digest'), source.digests);
    if (algorithms.length) headers.set('content-digest', formatDigestField(source.digests, algorithms)!);
  }
  return { status: 200, headers, body: { kind: 'whole' } };
}

/** Adds request fields to `Vary` once each, after any the route set itself. */
function appendVary(headers: Headers, fields: readonly string[]): void {
  const present = (headers.get('vary') ?? '').toLowerCase().split(',').map((field) => field.trim());
  if (present.includes('*')) return;
  for (const field of fields) if (!present.includes(field.toLowerCase())) headers.append('vary', field);
}

/** Keeps the upstream's verdict, with our headers around it. */
function relay(
  source: Source,
  headers: Headers,
  status: (code: 304 | 412 | 416, keep: (name: string) => boolean) => Decision,
): Decision {
  const answer = source.answered!;
  switch (answer.status) {
    case 200:
      return { status: 200, headers, body: { kind: 'whole' } };
    case 206:
      headers.set('content-range', answer.contentRange);
      return { status: 206, headers, body: { kind: 'whole' } };
    case 304:
      return status(304, (name) => NOT_MODIFIED_HEADERS.includes(name));
    case 412:
      return status(412, (name) => name === 'etag' || name === 'last-modified');
    case 416: {
      const out = status(416, (name) => !REPRESENTATION_ONLY.has(name));
      if (answer.contentRange) out.headers.set('content-range', answer.contentRange);
      else if (source.size !== undefined) out.headers.set('content-range', `bytes */${source.size}`);
      return out;
    }
  }
}

export function acceptsRanges(source: Source): boolean {
  return source.size !== undefined && (source.ranges ?? true);
}

// The same files are asked for over and over: their header values are built once.
const basename = memoize(safeBasename);
const disposition = memoize((key) => contentDispositionHeader(key.slice(1) || undefined, key[0] === 'a' ? 'attachment' : 'inline'));
const httpDate = memoize((time) => formatHttpDate(new Date(Number(time))));
const guessedType = memoize((key) => {
  const [source, charset, name] = key.split('\0');
  return resolveContentType({ source: source || undefined, charset: charset || undefined, name });
});

const activeType = memoize((type) => isActiveContentType(type || null));

function representationHeaders(
  request: Request,
  source: Source,
  options: ResolvedOptions,
  validators: Validators,
  name: string,
): Headers {
  const headers = new Headers();
  const explicit = perRequest(options.contentType, request, source);
  const charset = perRequest(options.charset, request, source) ?? source.charset;
  headers.set(
    'content-type',
    explicit === undefined && !source.contentType?.includes('\0') && !charset?.includes('\0')
      ? guessedType(`${source.contentType ?? ''}\0${charset ?? ''}\0${name}`)
      : resolveContentType({ explicit, source: source.contentType, name, charset }),
  );
  const attachment = perRequest(options.attachment, request, source) ?? true;
  headers.set('content-disposition', disposition(`${attachment ? 'a' : 'i'}${name}`));
  if (source.size !== undefined) headers.set('content-length', String(source.size));
  if (source.encoding) headers.set('content-encoding', source.encoding);
  if (validators.lastModified) headers.set('last-modified', httpDate(String(validators.lastModified.getTime())));
  if (validators.etag) headers.set('etag', formatEntityTag(validators.etag));
  headers.set('accept-ranges', acceptsRanges(source) ? 'bytes' : 'none');
  const cache = typeof options.cache === 'function' ? options.cache(request, source) : options.cache;
  headers.set('cache-control', cache.cacheControl);
  if (cache.expiresIn !== undefined) headers.set('expires', httpDate(String((Math.floor(Date.now() / 1000) + cache.expiresIn) * 1000)));
  headers.set('x-content-type-options', 'nosniff');
  return headers;
}

/**
 * Keeps a document that can run script off the app's origin, whatever the type came from (the
 * source, a guess from a client's file name, the route's options or headers, an upstream): it
 * gets the sandbox policy and, unless the route chose `'sandbox'`, becomes an attachment. The
 * policy is appended: a route's own Content-Security-Policy still applies, since a browser
 * enforces every policy it is sent (W3C CSP3 §8.1).
 */
function guardActiveContent(headers: Headers, name: string, policy: ActiveContent): void {
  if (policy === 'allow' || !activeType(headers.get('content-type') ?? '')) return;
  headers.append('content-security-policy', ACTIVE_CONTENT_POLICY);
  if (policy === 'attachment' && !/^\s*attachment\s*(;|$)/i.test(headers.get('content-disposition') ?? '')) {
    headers.set('content-disposition', contentDispositionHeader(name || undefined, 'attachment'));
  }
}

function extraHeaders(request: Request, source: Source, options: ResolvedOptions): Headers | undefined {
  if (options.headers === undefined) return undefined;
  const extra = new Headers(perRequest(options.headers, request, source));
  for (const name of FRAMING_HEADERS) extra.delete(name);
  return extra;
}

/**
 * A Last-Modified that an IMF-fixdate can carry (a four-digit year), never later than now:
 * RFC 9110 §8.8.2.1 has an origin replace a modification date in the future (a skewed clock,
 * a touched file) with the time of the response.
 */
function validDate(date: Date | undefined): Date | undefined {
  if (!date) return undefined;
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) return undefined;
  const now = Date.now();
  return date.getTime() > now ? new Date(now) : date;
}
