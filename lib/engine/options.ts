import { resolveOffloadRules, type OffloadRule, type ResolvedOffloadRules } from './offload/rules';
import { ConfigurationError } from '../errors';
import { assertNodeRuntime } from './runtime';
import type { Source, SourceMeta } from './source';

export { ConfigurationError };

/** Route parameters as Next passes them (`[...path]` gives an array). */
export type RouteParams = Record<string, string | string[] | undefined>;

/** A value fixed in the options, or computed per request from the request and the source. */
export type PerRequest<T> = T | ((request: Request, source: SourceMeta) => T);

/** Options every download factory takes. */
export interface DownloadOptions {
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
  /** Extra headers on every response of the route (200, 206, 304, 416). */
  headers?: PerRequest<HeadersInit | undefined>;
  /**
   * Runs before anything is looked up or opened. Return `false` for 403, a Response to answer
   * with it (e.g. a 401 with `WWW-Authenticate`), or `true` / nothing to go on.
   */
  authorize?: (request: Request, params: RouteParams) => boolean | void | Response | Promise<boolean | void | Response>;
  /** Answer for a missing file instead of the plain 404. */
  notFound?: (request: Request, params: RouteParams) => Response | Promise<Response>;
  /**
   * Decides If-Modified-Since for content whose date is not the whole story (django-downloadview's
   * `was_modified_since`): return `true` if the content changed after `since`.
   */
  modifiedSince?: (source: SourceMeta, since: Date) => boolean;
  /** More ranges than this in one request get the whole file (200). Default 16. */
  maxRanges?: number;
  /**
   * Hand files to the web server (nginx X-Accel-Redirect, X-Sendfile) instead of streaming them:
   * this route's rules, first match wins, or `false` for none. Default: the rules set with
   * `configureOffload`.
   */
  offload?: readonly OffloadRule[] | false;
}

export const DEFAULT_CACHE_CONTROL = 'private, no-cache, no-transform';

/** Options after the checks done once, when the route module is loaded. */
export interface ResolvedOptions extends Omit<DownloadOptions, 'cacheControl' | 'maxRanges' | 'offload'> {
  cacheControl: string;
  maxRanges: number;
  offload?: ResolvedOffloadRules;
}

export function resolveOptions(options: DownloadOptions, factory: string): ResolvedOptions {
  assertNodeRuntime();
  const maxRanges = options.maxRanges ?? 16;
  if (!Number.isInteger(maxRanges) || maxRanges < 1) {
    throw new ConfigurationError(`${factory}: maxRanges must be a whole number >= 1, got ${String(options.maxRanges)}`);
  }
  for (const hook of ['authorize', 'notFound', 'modifiedSince'] as const) {
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
  const offload = options.offload === undefined ? undefined : resolveOffloadRules(options.offload, factory);
  return { ...options, cacheControl, maxRanges, offload };
}

export function perRequest<T>(value: PerRequest<T>, request: Request, source: Source | SourceMeta): T {
  return typeof value === 'function' ? (value as (request: Request, source: SourceMeta) => T)(request, source) : value;
}
