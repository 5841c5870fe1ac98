import { resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import { ConfigurationError, HttpError } from '../errors';
import { createHandlers, routeParam, type DownloadHandlers } from './handlers';
import { checkRequestedPath } from '../fs/confine';
import {
  configuredUrl,
  confinedSegment,
  httpSource,
  resolveHttpSourceOptions,
  type HttpSourceOptions,
} from '../sources/http-source';

type Awaitable<T> = T | Promise<T>;

export interface HttpDownloadOptions extends DownloadOptions, HttpSourceOptions {
  /** One fixed remote file: every request gets this URL. Excludes `base` and `getUrl`. */
  url?: string | URL;
  /**
   * A remote directory, e.g. `https://files.example.com/exports/`. The route's `param`
   * segments are appended to it, each percent-encoded, after the same checks as pathDownload
   * (no `..`, no empty segment, no separator inside a segment, not even percent-encoded):
   * the request can neither leave this directory nor change the host.
   */
  base?: string | URL;
  /** Route parameter holding the path under `base`. Default `path` (`[...path]`). */
  param?: string;
  /**
   * Which URL, per request: a `URL` or an absolute URL string (which must be in
   * `allowedOrigins`, and under `base` on its origin), or a path relative to `base`
   * (a `/`-separated string or segments, checked like the route's param). `undefined` is 404.
   */
  getUrl?: (request: Request, params: RouteParams) => Awaitable<string | URL | readonly string[] | undefined>;
}

const HAS_SCHEME = /^[a-z][a-z\d+.-]*:/i;

/**
 * Serves a remote file through this route (django-downloadview's HTTPDownloadView), streaming
 * and never buffering. The request's Range and conditional headers are forwarded, and the
 * upstream's 206, 304, 412 and 416 relayed; upstream 404 (and 410) is 404, other upstream
 * failures 502, no answer within `timeoutMs` 504.
 *
 * Only `allowedOrigins` (default: the origin of `url` / `base`) are ever contacted, redirects
 * included, and a path from the request never leaves `base`: a hostile path is 400 before any
 * fetch, a redirect elsewhere 502. The file name is the `filename` option, else the last segment
 * of the final URL, decoded.
 *
 * @example
 * // app/api/remote/[...path]/route.ts: /api/remote/2024/report.pdf
 * //   -> https://files.example.com/exports/2024/report.pdf
 * import { httpDownload } from 'next-downloadview';
 * export const { GET, HEAD } = httpDownload({ base: 'https://files.example.com/exports/' });
 *
 * @example
 * // One fixed file, with a shorter timeout
 * export const { GET, HEAD } = httpDownload({ url: 'https://example.com/manual.pdf', timeoutMs: 5_000 });
 *
 * @example
 * // A URL looked up per request, on one of two hosts
 * export const { GET, HEAD } = httpDownload({
 *   allowedOrigins: ['https://a.example.com', 'https://b.example.com'],
 *   getUrl: async (_request, { id }) => (await findExport(String(id)))?.url,
 * });
 */
export function httpDownload(options: HttpDownloadOptions): DownloadHandlers {
  const factory = 'httpDownload';
  const resolved = resolveOptions(options, factory);
  const { url, getUrl, param = 'path' } = options;
  if (url !== undefined && (options.base !== undefined || getUrl !== undefined)) {
    throw new ConfigurationError(`${factory}: give either url, or base and/or getUrl`);
  }
  if (url === undefined && options.base === undefined && getUrl === undefined) {
    throw new ConfigurationError(`${factory}: give a url, a base or getUrl`);
  }
  if (getUrl !== undefined && typeof getUrl !== 'function') {
    throw new ConfigurationError(`${factory}: getUrl must be a function`);
  }
  if (getUrl !== undefined && options.base === undefined && options.allowedOrigins === undefined) {
    throw new ConfigurationError(`${factory}: getUrl without a base needs allowedOrigins`);
  }
  const fixed = url === undefined ? undefined : configuredUrl(url, `${factory}: url`);
  const sourceOptions = resolveHttpSourceOptions(
    {
      ...options,
      // The fixed URL is configuration: its origin is allowed.
      allowedOrigins: fixed && options.allowedOrigins ? [...options.allowedOrigins, fixed.origin] : options.allowedOrigins,
    },
    factory,
  );
  const base = sourceOptions.base;

  async function requestedUrl(request: Request, params: RouteParams): Promise<URL> {
    const requested = getUrl ? await getUrl(request, params) : routeParam(params, param, factory);
    if (requested === undefined) throw new HttpError(404, 'Not Found');
    if (requested instanceof URL) return requested;
    if (getUrl && typeof requested === 'string' && HAS_SCHEME.test(requested)) {
      try {
        return new URL(requested);
      } catch {
        throw new HttpError(400, 'Invalid upstream URL');
      }
    }
    if (!base) throw new Error(`${factory}: getUrl returned a path, but no base is configured`);
    // A route param string is one segment (Next decoded it: a `/` in it was `%2F`).
    const segments = checkUpstreamPath(typeof requested === 'string' && !getUrl ? [requested] : requested);
    // Appended to the base as text, never resolved against it: nothing can climb out.
    return new URL(base.href + segments.map(encodeURIComponent).join('/'));
  }

  // The engine closes each source after its answer, so an upstream body that is not sent
  // (a HEAD, a 304, a throwing option callback) is cancelled, not leaked.
  return createHandlers(async (request, params) => {
    const target = fixed ?? (await requestedUrl(request, params));
    return httpSource(request, target, sourceOptions);
  }, resolved);
}

/**
 * Checks a path taken from the request, like pathDownload (400 for `.`/`..`, empty segments,
 * separators, controls; 404 for nothing), and also every percent-decoding of each segment:
 * a segment that still holds `%2e%2e` or `%2f` after the framework decoded it once was encoded
 * twice, and an upstream that decodes once more would see `..` or `/`.
 */
function checkUpstreamPath(requested: string | readonly string[]): string[] {
  const segments = checkRequestedPath(requested, { dotfiles: true });
  if (!segments.every(confinedSegment)) throw new HttpError(400, 'Invalid path');
  return segments;
}
