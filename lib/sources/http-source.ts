import { parse as parseDisposition } from 'content-disposition';
import { ConfigurationError, HttpError } from '../errors';
import type { Source, UpstreamAnswer } from '../engine/source';
import { parseHttpDate } from '../http/http-date';
import { parseContentRange } from '../http/range';

/** Where a proxied upstream may be, and how long it may take. */
export interface HttpSourceOptions {
  /**
   * Origins that may be contacted, by the first request and by every redirect hop, e.g.
   * `['https://files.example.com']`. Default: the origin of `base`, else of the URL fetched.
   * The origin of `base` is always allowed.
   */
  allowedOrigins?: readonly string[];
  /**
   * A URL on the origin of `base` must lie under its path (a trailing `/` is implied), redirects
   * included. URLs on the other allowed origins may have any path.
   */
  base?: string | URL;
  /**
   * Milliseconds the upstream has to answer with its headers (all redirect hops together), else
   * 504; and, once the body flows, the longest it may keep us waiting for the next chunk, else the
   * body errors. A slow client never counts against it. Default 30 000.
   */
  timeoutMs?: number;
  /** Redirects followed (within the allowed origins) before giving up with 502. Default 5. */
  maxRedirects?: number;
  /**
   * The fetch to use; default the global one. It must behave like it: `redirect: 'manual'`
   * returns the 3xx itself, and gzip / deflate / br bodies are decoded.
   */
  fetch?: typeof fetch;
}

/** Options checked and normalised (`resolveHttpSourceOptions`). */
export interface ResolvedHttpSourceOptions {
  /** Normalised origins; `undefined`: the origin of the URL fetched. */
  allowedOrigins?: readonly string[];
  /** Directory URL, ending in `/`. */
  base?: URL;
  timeoutMs: number;
  maxRedirects: number;
  fetch?: typeof fetch;
}

/** A proxied upstream as a source. */
export interface HttpSource extends Source {
  /** Cancels the upstream body unless `open()` took it; the engine calls it after every answer. */
  close(): Promise<void>;
  /** The same as `close()`, for callers that serve the source themselves. */
  discard(): Promise<void>;
}

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_REDIRECTS = 5;

/** The validators and preconditions the upstream evaluates for us (RFC 9110 §13.1). */
const CONDITIONAL_HEADERS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Codings Node's fetch (undici) decodes by itself; the body we get is then the identity one. */
const DECODED_BY_FETCH = new Set(['gzip', 'x-gzip', 'deflate', 'br']);
/** setTimeout's limit; a longer delay fires at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Checks the options once (e.g. at module load) and throws `ConfigurationError` for one that
 * cannot work. Resolved options can be passed to `httpSource` again as they are.
 */
export function resolveHttpSourceOptions(
  options: HttpSourceOptions | ResolvedHttpSourceOptions,
  factory = 'httpSource',
): ResolvedHttpSourceOptions {
  const timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > MAX_TIMEOUT_MS) {
    throw new ConfigurationError(`${factory}: timeoutMs must be a number of milliseconds > 0, got ${String(options.timeoutMs)}`);
  }
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0) {
    throw new ConfigurationError(`${factory}: maxRedirects must be a whole number >= 0, got ${String(options.maxRedirects)}`);
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ConfigurationError(`${factory}: fetch must be a function`);
  }

  let base: URL | undefined;
  if (options.base !== undefined) {
    base = configuredUrl(options.base, `${factory}: base`);
    if (base.search || base.hash) throw new ConfigurationError(`${factory}: base must not have a query or a fragment`);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
  }

  let allowedOrigins: string[] | undefined;
  if (options.allowedOrigins !== undefined) {
    if (!Array.isArray(options.allowedOrigins) || options.allowedOrigins.length === 0) {
      throw new ConfigurationError(`${factory}: allowedOrigins must be a non-empty list of origins`);
    }
    allowedOrigins = options.allowedOrigins.map((origin: unknown) => {
      const url = configuredUrl(origin, `${factory}: allowedOrigins`);
      // A path here would look like a restriction and be none.
      if (url.pathname !== '/' || url.search || url.hash) {
        throw new ConfigurationError(`${factory}: allowedOrigins takes origins (scheme://host:port), got ${String(origin)}`);
      }
      return url.origin;
    });
    if (base && !allowedOrigins.includes(base.origin)) allowedOrigins.push(base.origin);
  } else if (base) {
    allowedOrigins = [base.origin];
  }
  return { allowedOrigins, base, timeoutMs, maxRedirects, fetch: options.fetch };
}

/** An http(s) URL from the configuration, without credentials (fetch refuses those). */
export function configuredUrl(value: unknown, what: string): URL {
  let url: URL;
  try {
    url = new URL(value instanceof URL ? value.href : String(value));
  } catch {
    throw new ConfigurationError(`${what} must be an absolute http(s) URL, got ${String(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationError(`${what} must be an http(s) URL, got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new ConfigurationError(`${what} must not hold credentials; send them in headers`);
  }
  return url;
}

interface Scope {
  origins: ReadonlySet<string>;
  base?: URL;
}

/**
 * May this URL be fetched: http(s), no credentials, an allowed origin, and on the origin of
 * `base`, under its path with every segment below it checked like a request path
 * (`confinedSegment`). The URL parser resolves `..`, `%2e%2e` and backslashes before this sees
 * the path, but keeps `..%2f`, `%5c` and `%252e`, which an upstream that decodes once more would
 * turn into a climb out of `base`.
 */
function inScope(url: URL, scope: Scope): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password || !scope.origins.has(url.origin)) return false;
  const base = scope.base;
  if (base === undefined || url.origin !== base.origin) return true;
  if (!url.pathname.startsWith(base.pathname)) return false;
  const segments = url.pathname.slice(base.pathname.length).split('/');
  // A trailing slash (a folder URL, or `base` itself) names nothing above it.
  if (segments[segments.length - 1] === '') segments.pop();
  return segments.every(confinedSegment);
}

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const UNSAFE_SEGMENT = /[/\\\u0000-\u001f\u007f]/;
const PERCENT_ENCODED = /%[0-9a-f]{2}/i;

/**
 * Whether one path segment names a plain name under its folder however many times it is
 * percent-decoded: never empty, `.` or `..`, and without `/`, `\`, NUL or another control
 * character, in its own text or after any decoding (up to 8 rounds; deeper nesting is refused).
 * The same check serves a segment as it stands in a URL and one a framework decoded once.
 */
export function confinedSegment(segment: string): boolean {
  let current = segment;
  for (let round = 0; ; round++) {
    if (current === '' || current === '.' || current === '..' || UNSAFE_SEGMENT.test(current)) return false;
    if (!PERCENT_ENCODED.test(current)) return true;
    if (round >= 8) return false;
    // Byte by byte: enough to reveal ASCII `.`, `/`, `\` and controls, and never throws.
    current = current.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** For log lines: the query may hold a token. */
function where(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * A remote file as a source: fetches `url` once, forwarding the request's Range and conditional
 * headers, and maps the upstream's answer onto the engine's (`answered`). Nothing is buffered:
 * `open()` returns the upstream body as it arrives.
 *
 * - HEAD is sent upstream as HEAD (as GET, body cancelled, if the upstream refuses HEAD), and
 *   Range is forwarded for GET only (RFC 9110 §14.2), a single range only: a multi-range
 *   request gets the whole file, which §14.2 allows.
 * - `Accept-Encoding: identity` is asked for. A body fetch decoded anyway is sent decoded,
 *   without Content-Encoding and Content-Length, with its ETag made weak (the validator
 *   described other bytes, RFC 9110 §8.8.1); a coding fetch does not decode is 502.
 * - Upstream 404 and 410 are 404; 304, 412 and 416 are relayed; other failures are 502;
 *   no headers within `timeoutMs`, 504; a URL or redirect outside the allowed origins (or above
 *   `base`) is 400 for the first URL and 502 for a redirect, and is never fetched.
 *
 * The body is cancelled here whenever the engine will not ask for it (HEAD, 304, 412, 416);
 * call `discard()` if the response fails before `open()`.
 */
export async function httpSource(
  request: Request,
  url: string | URL,
  options: HttpSourceOptions | ResolvedHttpSourceOptions = {},
): Promise<HttpSource> {
  const resolved = resolveHttpSourceOptions(options);
  let target: URL;
  try {
    target = new URL(url instanceof URL ? url.href : url);
  } catch {
    throw new HttpError(400, 'Invalid upstream URL');
  }
  const scope: Scope = {
    origins: new Set(resolved.allowedOrigins ?? [target.origin]),
    base: resolved.base,
  };
  if (!inScope(target, scope)) throw new HttpError(400, 'Upstream URL not allowed');

  const fetchImpl = resolved.fetch ?? fetch;
  const headOnly = request.method === 'HEAD';
  const headers = forwardedHeaders(request);
  const sentRange = headers.has('range');

  // One controller per request: the header deadline, the client going away and a stalled body
  // all end the upstream exchange through it.
  const controller = new AbortController();
  const timedOut = new Error(`upstream sent no headers within ${resolved.timeoutMs} ms`);
  const timer = setTimeout(() => controller.abort(timedOut), resolved.timeoutMs);
  const clientGone = () => controller.abort(request.signal.reason);
  if (request.signal.aborted) clientGone();
  else request.signal.addEventListener('abort', clientGone, { once: true });

  let response: Response;
  let finalUrl = target;
  let method = headOnly ? 'HEAD' : 'GET';
  try {
    for (let hops = 0; ; ) {
      response = await fetchImpl(finalUrl, { method, headers, redirect: 'manual', signal: controller.signal });
      if (REDIRECT_STATUSES.has(response.status)) {
        await cancel(response.body);
        if (hops >= resolved.maxRedirects) {
          throw new HttpError(502, `upstream ${where(target)}: more than ${resolved.maxRedirects} redirects`);
        }
        const location = response.headers.get('location');
        const next = location === null ? undefined : parseUrl(location, finalUrl);
        if (next === undefined || !inScope(next, scope)) {
          throw new HttpError(502, `upstream ${where(finalUrl)} redirected outside the allowed origins`);
        }
        finalUrl = next;
        hops++;
        continue;
      }
      // Some servers refuse HEAD: ask with GET and drop the body below.
      if (method === 'HEAD' && (response.status === 405 || response.status === 501)) {
        await cancel(response.body);
        method = 'GET';
        continue;
      }
      break;
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if (controller.signal.reason === timedOut) throw new HttpError(504, `upstream ${where(finalUrl)}: ${timedOut.message}`);
    // nginx's 499: nobody is left to read the answer, and it is not our failure to log.
    if (request.signal.aborted) throw new HttpError(499, 'Client Closed Request');
    throw new HttpError(502, `upstream ${where(finalUrl)} unreachable: ${describe(error)}`);
  } finally {
    clearTimeout(timer);
    request.signal.removeEventListener('abort', clientGone);
  }

  try {
    return mapResponse(response, finalUrl, { headOnly, sentRange, controller, timeoutMs: resolved.timeoutMs });
  } catch (error) {
    await cancel(response.body);
    throw error;
  }
}

/** The request's Range and conditional headers, to let the upstream decide (RFC 9110 §13.2.2). */
function forwardedHeaders(request: Request): Headers {
  // Anything else could be decoded by fetch, and then no length or range would hold.
  const headers = new Headers({ 'accept-encoding': 'identity' });
  for (const name of CONDITIONAL_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const range = request.headers.get('range');
  if (request.method === 'GET' && range !== null && /^\s*bytes\s*=[^,]*$/i.test(range)) {
    headers.set('range', range);
    const ifRange = request.headers.get('if-range');
    if (ifRange !== null) headers.set('if-range', ifRange);
  }
  return headers;
}

function mapResponse(
  response: Response,
  url: URL,
  context: { headOnly: boolean; sentRange: boolean; controller: AbortController; timeoutMs: number },
): HttpSource {
  const { status, headers } = response;
  if (status === 404 || status === 410) throw new HttpError(404, 'Not Found');

  const codings = (headers.get('content-encoding') ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  const decoded = codings.length > 0;
  if (decoded && !codings.every((coding) => DECODED_BY_FETCH.has(coding))) {
    throw new HttpError(502, `upstream ${where(url)} sent Content-Encoding ${codings.join(', ')}, which is not decoded`);
  }

  let answered: UpstreamAnswer;
  /** The length a 206 part must have, from its Content-Range: its body is counted against it. */
  let partLength: number | undefined;
  const contentRange = headers.get('content-range') ?? undefined;
  switch (status) {
    case 200:
    case 304:
    case 412:
      answered = { status };
      break;
    case 206: {
      // A range of compressed bytes cannot be decoded on its own; an unasked-for 206 is broken.
      const part = parseContentRange(contentRange);
      const length = part?.kind === 'range' ? part.end - part.start + 1 : undefined;
      // RFC 9110 §14.4 and §8.6: the part is exactly last-pos - first-pos + 1 bytes, and a
      // Content-Length that says otherwise means one of the two lies: relaying either would
      // hand the client a short or padded part under a Content-Range that looks whole.
      const declared = headers.get('content-length');
      if (
        !context.sentRange ||
        decoded ||
        length === undefined ||
        (declared !== null && contentLength(declared) !== length)
      ) {
        throw new HttpError(502, `upstream ${where(url)} sent a 206 that cannot be relayed`);
      }
      answered = { status, contentRange: contentRange! };
      partLength = length;
      break;
    }
    case 416:
      answered = { status, contentRange: parseContentRange(contentRange)?.kind === 'unsatisfied' ? contentRange : undefined };
      break;
    default:
      throw new HttpError(502, `upstream ${where(url)} answered ${status}`);
  }

  const hasBody = !context.headOnly && (status === 200 || status === 206);
  let body = hasBody ? response.body : null;
  if (!hasBody) void cancel(response.body);

  const etag = headers.get('etag') ?? undefined;
  const acceptRanges = (headers.get('accept-ranges') ?? '').toLowerCase();
  const { controller, timeoutMs } = context;
  return {
    name: nameFromUrl(url) ?? nameFromDisposition(headers.get('content-disposition')),
    // The engine counts the body against this length and breaks the connection when it differs,
    // so an upstream body shorter or longer than its own framing is never relayed as whole.
    size: partLength ?? (decoded || status !== 200 ? undefined : contentLength(headers.get('content-length'))),
    lastModified: parseHttpDate(headers.get('last-modified')),
    etag: etag === undefined ? undefined : decoded ? { tag: etag, weak: true } : etag,
    contentType: headers.get('content-type') ?? undefined,
    ranges: !decoded && (status === 206 || /(^|,)\s*bytes\s*(,|$)/.test(acceptRanges)),
    answered,
    open() {
      if (body === null) throw new Error('httpSource: the upstream body was already taken or discarded');
      const taken = body;
      body = null;
      return idleGuarded(taken, timeoutMs, controller);
    },
    async close() {
      const dropped = body;
      body = null;
      await cancel(dropped);
    },
    discard() {
      return this.close();
    },
  };
}

/**
 * Passes the body on, erroring it (and the upstream exchange) when a read waits longer than
 * `timeoutMs`. Reads happen only when our client asks for more (highWaterMark 0), so a slow
 * client never trips it; a stalled upstream does.
 */
function idleGuarded(
  body: ReadableStream<Uint8Array>,
  timeoutMs: number,
  controller: AbortController,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(out) {
        const timer = setTimeout(
          () => controller.abort(new Error(`upstream body stalled for ${timeoutMs} ms`)),
          timeoutMs,
        );
        try {
          const { done, value } = await reader.read();
          if (done) out.close();
          else out.enqueue(value);
        } finally {
          clearTimeout(timer);
        }
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

async function cancel(body: ReadableStream<Uint8Array> | null): Promise<void> {
  await body?.cancel().catch(() => undefined);
}

function parseUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

function contentLength(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  const length = Number(value);
  return Number.isSafeInteger(length) ? length : undefined;
}

/** The last path segment, percent-decoded once: `r%C3%A9sum%C3%A9.pdf` is `résumé.pdf`. */
function nameFromUrl(url: URL): string | undefined {
  const last = url.pathname.split('/').pop() ?? '';
  if (last === '') return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function nameFromDisposition(value: string | null): string | undefined {
  if (value === null) return undefined;
  try {
    return parseDisposition(value).parameters.filename || undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
