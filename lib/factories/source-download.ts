import { ConfigurationError, HttpError } from '../errors';
import { resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import type { Source } from '../engine/source';
import { createHandlers, type DownloadHandlers } from './handlers';

/** Options of `sourceDownload`: every factory's options, and where the bytes come from. */
export interface SourceDownloadOptions<P extends RouteParams = RouteParams> extends DownloadOptions<P> {
  /**
   * The source of a request, after `authorize`: its metadata (size, date, ETag, name, type) and an
   * `open(range?)` that gives the bytes. `undefined` or `null` answers 404; throw an `HttpError`
   * for any other answer (400 for a bad parameter, say).
   */
  source: (request: Request, params: P) => Source | undefined | null | Promise<Source | undefined | null>;
}

/**
 * The factory under the others, for bytes that live somewhere the kit has no source for (a
 * database blob, an archive member, another service's API). Describe the file, give its bytes,
 * and the engine does the rest: conditional requests, ranges, HEAD, Content-Disposition, and
 * `close()` once the answer is decided, when the source holds something to release.
 *
 * Metadata first, bytes last: `open` is called only for a GET that ends in 200 or 206, with the
 * range to send, so a HEAD or a 304 reads nothing.
 *
 * @example
 * // app/blobs/[id]/route.ts: a file kept as a blob in a key-value store
 * import { HttpError, sourceDownload } from 'next-downloadview';
 * export const { GET, HEAD } = sourceDownload({
 *   source: async (_request, { id }) => {
 *     const blob = await kv.getBlob(String(id));          // your store
 *     if (!blob) return undefined;                        // 404
 *     return {
 *       name: blob.name, size: blob.size, etag: blob.sha256, lastModified: blob.updatedAt,
 *       open: (range) => blob.stream(range?.start, range?.end),   // inclusive byte offsets
 *     };
 *   },
 * });
 */
export function sourceDownload<P extends RouteParams = RouteParams>(options: SourceDownloadOptions<P>): DownloadHandlers {
  const resolved = resolveOptions(options as DownloadOptions, 'sourceDownload');
  const { source } = options;
  if (typeof source !== 'function') throw new ConfigurationError('sourceDownload: source must be a function');
  return createHandlers(async (request, params) => {
    const found = await source(request, params as P);
    if (found === undefined || found === null) throw new HttpError(404, 'Not Found');
    if (typeof found.open !== 'function') throw new Error('sourceDownload: the source has no open()');
    return found;
  }, resolved);
}
