import { resolveOffloadRules, type OffloadRule, type ResolvedOffloadRules } from '../offload/rules';
import { ConfigurationError, MissingSettingError } from '../errors';
import { resolveCache, type CacheHeaders, type CacheOption } from './cache-policy';
import { resolveRateLimit, type RateLimitOption, type ResolvedRateLimit } from './rate-limit';
import { assertNodeRuntime } from './runtime';
import type { Source, SourceMeta } from './source';
import type { DownloadListener } from '../events/download-event';

/** Route parameters as Next passes them (`[...path]` gives an array). */
export type RouteParams = Record<string, string | string[] | undefined>;

/** A value fixed in the options, or computed per request from the request and the source. */
export type PerRequest<T> = T | ((request: Request, source: SourceMeta) => T);

/**
 * Options every download factory takes. `P` types the route params the hooks receive, e.g.
 * `{ id: string }` for `app/files/[id]/route.ts` (Next's generated
 * `Awaited<RouteContext<'/files/[id]'>['params']>`); it is inferred from the hooks' annotations.
 */
export interface DownloadOptions<P extends RouteParams = RouteParams> {
  /** `true` (default): `attachment`, the browser saves the file; `false`: `inline`. */
  attachment?: PerRequest<boolean>;
  /** Name offered to the browser; defaults to the source's name. */
  filename?: PerRequest<string | undefined>;
  /** Media type; defaults to the source's, then a guess from the name. */
  contentType?: PerRequest<string | undefined>;
  /** Charset for textual types; defaults to the source's, then `utf-8`. */
  charset?: PerRequest<string | undefined>;
  /**
   * Cache-Control of successful responses. Default `private, no-cache, no-transform`: kept out
   * of shared caches, revalidated (cheaply: 304) before reuse. `no-transform` is always added:
   * a proxy or framework that recompresses a download makes its Content-Range a lie.
   */
  cacheControl?: string;
  /**
   * The same as switches (`{ maxAge: 31536000, public: true, immutable: true }`), or a function of
   * the request and the file returning them (`undefined`: the default). Exclusive with
   * `cacheControl`. `no-transform` is always added.
   */
  cache?: CacheOption;
  /** Extra headers on every response of the route (200, 206, 304, 416). */
  headers?: PerRequest<HeadersInit | undefined>;
  /**
   * Runs before anything is looked up or opened. Return `false` for 403, a Response to answer
   * with it (e.g. a 401 with `WWW-Authenticate`), or `true` / nothing to go on. Next's own
   * `redirect()`, `notFound()`, `forbidden()` and `unauthorized()` work here as in a plain route.
   */
  authorize?: (request: Request, params: P) => boolean | void | Response | Promise<boolean | void | Response>;
  /** Answer for a missing file instead of the plain 404. */
  notFound?: (request: Request, params: P) => Response | Promise<Response>;
  /**
   * Decides If-Modified-Since for content whose date is not the whole story (django-downloadview's
   * `was_modified_since`): return `true` if the content changed after `since`.
   */
  modifiedSince?: (source: SourceMeta, since: Date) => boolean;
  /** More ranges than this in one request get the whole file (200). Default 16. */
  maxRanges?: number;
  /**
   * What to do with a file a browser would render as a document able to run script (HTML, SVG,
   * any XML, MHTML, a type it would sniff: see `isActiveContentType`), whatever its type came
   * from (the source, a guess from its name, `contentType`, `headers`, an upstream):
   * - `'attachment'` (default): sent as an attachment even where `attachment` says `inline`,
   *   and with `Content-Security-Policy: sandbox` (no script, an opaque origin) in case a client
   *   renders it anyway. Right for files users upload or anyone else wrote.
   * - `'sandbox'`: `attachment` decides as for any file, and an inline one is rendered under
   *   that same sandbox policy: an SVG or HTML page is shown, none of its script runs and it
   *   cannot act as the app's origin (W3C CSP3 §6.3.2).
   * - `'allow'`: served like any other file, on the app's origin. Only for content you wrote
   *   and trust as much as the app's own pages.
   */
  activeContent?: ActiveContent;
  /**
   * Hand files to the web server (nginx X-Accel-Redirect, X-Sendfile) instead of streaming them:
   * this route's rules, first match wins, or `false` for none. Default: the rules set with
   * `configureOffload`.
   */
  offload?: readonly OffloadRule[] | false;
  /**
   * Called once per request this route answers, after its body ended or broke: what was sent, to
   * whom, and how it ended (see `DownloadEvent` in `next-downloadview/events`). Besides the
   * listener of `configureDownloadEvents`. Never awaited: it cannot delay or change the download,
   * and what it throws is logged (once per distinct message).
   */
  onDownload?: DownloadListener;
  /**
   * Bandwidth limit of each download: bytes per second (`1_000_000`: 1 MB/s), or
   * `{ bytesPerSecond, after }` to send the first `after` bytes at full speed (nginx's
   * `limit_rate_after`), or a function of the request and the file returning either, or
   * `undefined` for no limit (e.g. by the user's plan). Applies to every body the route sends
   * (whole, ranges, multipart), under the kit's server and plain `next start`, holding no more
   * than one chunk of the file per slow client. An offloaded download passes the rate to nginx
   * as `X-Accel-Limit-Rate` (`after` is then the location's `limit_rate_after`); one that an
   * Apache or lighttpd rule or a redirect would deliver is streamed by the app instead, so that
   * the limit holds.
   */
  rateLimit?: RateLimitOption;
}

/** How a route serves active content: see `DownloadOptions.activeContent`. */
export type ActiveContent = 'attachment' | 'sandbox' | 'allow';

const ACTIVE_CONTENT: readonly ActiveContent[] = ['attachment', 'sandbox', 'allow'];

export const DEFAULT_CACHE_CONTROL = 'private, no-cache, no-transform';

/** Options after the checks done once, when the route module is loaded. */
export interface ResolvedOptions extends Omit<DownloadOptions, 'cacheControl' | 'cache' | 'maxRanges' | 'offload' | 'activeContent' | 'rateLimit'> {
  cacheControl: string;
  /** Cache-Control and Expires of successful answers, fixed or per request. */
  cache: CacheHeaders | ((request: Request, source: SourceMeta) => CacheHeaders);
  maxRanges: number;
  activeContent: ActiveContent;
  offload?: ResolvedOffloadRules;
  /**
   * Set on a route with `delivery: 'redirect'`: a GET for bytes whose location can mint a URL is
   * answered with a redirect to it, valid this many seconds.
   */
  redirectExpiresIn?: number;
  /** The bandwidth limit, checked; a function's answers are checked per request. */
  rateLimit?: ResolvedRateLimit;
}

export function resolveOptions<P extends RouteParams>(options: DownloadOptions<P>, factory: string): ResolvedOptions {
  assertNodeRuntime();
  const maxRanges = options.maxRanges ?? 16;
  if (!Number.isInteger(maxRanges) || maxRanges < 1) {
    throw new ConfigurationError(`${factory}: maxRanges must be a whole number >= 1, got ${String(options.maxRanges)}`);
  }
  for (const hook of ['authorize', 'notFound', 'modifiedSince', 'onDownload'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new ConfigurationError(`${factory}: ${hook} must be a function`);
    }
  }
  if (options.headers !== undefined && typeof options.headers !== 'function') {
    try {
      new Headers(options.headers);
    } catch (error) {
      throw new ConfigurationError(`${factory}: headers: ${(error as Error).message}`);
    }
  }
  let cacheControl = options.cacheControl ?? DEFAULT_CACHE_CONTROL;
  if (/[\r\n]/.test(cacheControl)) throw new ConfigurationError(`${factory}: cacheControl must be one line`);
  if (!/(^|,)\s*no-transform\s*(,|$)/i.test(cacheControl)) {
    cacheControl = cacheControl.trim() ? `${cacheControl}, no-transform` : 'no-transform';
  }
  const activeContent = options.activeContent ?? 'attachment';
  if (!ACTIVE_CONTENT.includes(activeContent)) {
    throw new ConfigurationError(`${factory}: activeContent must be 'attachment', 'sandbox' or 'allow', got ${JSON.stringify(options.activeContent)}`);
  }
  if (options.cache !== undefined && options.cacheControl !== undefined) {
    throw new ConfigurationError(`${factory}: give cache or cacheControl, not both`);
  }
  const cache = resolveCache(options.cache, cacheControl, factory);
  const rateLimit = resolveRateLimit(options.rateLimit, factory);
  const resolved: ResolvedOptions = { ...(options as DownloadOptions), cacheControl, cache, maxRanges, activeContent, offload: undefined, rateLimit };
  if (options.offload !== undefined) {
    try {
      resolved.offload = resolveOffloadRules(options.offload, factory);
    } catch (error) {
      if (!(error instanceof MissingSettingError)) throw error;
      // A rule's folder comes from a setting that is set only where the server starts: the rules
      // are checked at the first request that reaches the offload step, once they succeed.
      const rules = options.offload;
      let checked: ResolvedOffloadRules | undefined;
      Object.defineProperty(resolved, 'offload', {
        enumerable: true,
        get: () => (checked ??= resolveOffloadRules(rules, factory)),
      });
    }
  }
  return resolved;
}

export function perRequest<T>(value: PerRequest<T>, request: Request, source: Source | SourceMeta): T {
  return typeof value === 'function' ? (value as (request: Request, source: SourceMeta) => T)(request, source) : value;
}
