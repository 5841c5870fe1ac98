import { HttpError } from '../http/http-error';
import { ConfigurationError, resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import { noticingSource } from '../events/download-record';
import { createHandlers, routeParam, type DownloadHandlers } from './handlers';
import { checkRequestedPath } from '../sources/path-source';
import { storageSource } from '../sources/storage-source';
import { ifFound, negotiatePrecompressed, PRECOMPRESSED_SUFFIX, resolvePrecompressed, type PrecompressedEncoding, type PrecompressedOption } from '../sources/precompressed';
import type { Storage } from '../storage/storage';
import { checkDeliveryOptions, rememberStorageName, withDelivery, type DeliveryOptions } from './delivery';

export interface StorageDownloadOptions<P extends RouteParams = RouteParams> extends DownloadOptions<P>, DeliveryOptions {
  /** Where the files live, e.g. `new FileSystemStorage(process.env.MEDIA_ROOT!)`. */
  storage: Storage;
  /**
   * Which file: a fixed name, or a function of the request returning a name (a `/`-separated
   * string or segments). Default: the route's `param` (`[...path]`).
   */
  path?: string | ((request: Request, params: P) => string | readonly string[] | undefined | Promise<string | readonly string[] | undefined>);
  /** Route parameter holding the name when `path` is not given. Default `path`. */
  param?: string;
  /**
   * Serve `name.br` or `name.gz` from the storage in place of `name` when the request's
   * Accept-Encoding takes it: `true` (Brotli, then gzip), a list of `'br'` / `'gzip'` (best
   * first), or `{ encodings, stale: 'serve' }` to also send a sibling older than its original
   * (ignored by default). Every answer then carries `Vary: Accept-Encoding`. Only under the
   * kit's server (`next-downloadview/server`): plain `next start` drops Content-Encoding, so
   * there the file itself is always sent. Default off.
   */
  precompressed?: PrecompressedOption;
}

/**
 * Serves a file from a storage by name (django-downloadview's StorageDownloadView). A name the
 * storage refuses is 400; a missing file is 404, never 500.
 *
 * @example
 * // app/media/[...path]/route.ts
 * import { storageDownload } from 'next-downloadview';
 * import { FileSystemStorage } from 'next-downloadview/storage';
 * const media = new FileSystemStorage(process.env.MEDIA_ROOT ?? 'var/media');
 * export const { GET, HEAD } = storageDownload({ storage: media });
 *
 * // With an S3Storage: a 307 to a presigned URL that downloads under the same name.
 * export const { GET, HEAD } = storageDownload({ storage: bucket, delivery: 'redirect' });
 */
export function storageDownload<P extends RouteParams = RouteParams>(options: StorageDownloadOptions<P>): DownloadHandlers {
  const resolved = resolveOptions(options as DownloadOptions, 'storageDownload');
  const { storage, path: which, param = 'path' } = options;
  if (!storage || typeof storage.stat !== 'function' || typeof storage.open !== 'function') {
    throw new ConfigurationError('storageDownload: storage must implement the Storage interface (stat, open, ...)');
  }
  if (which !== undefined && typeof which !== 'string' && typeof which !== 'function') {
    throw new ConfigurationError('storageDownload: path must be a name or a function');
  }
  const variants = resolvePrecompressed(options.precompressed, 'storageDownload');
  // The source is noted for the download event where it is found (a redirect answers before `serve` loads it).
  const delivery = withDelivery(
    noticingSource(async (request: Request, params: RouteParams) => {
      const requested = typeof which === 'string' ? which : which ? await which(request, params as P) : routeParam(params, param, 'storageDownload');
      if (requested === undefined || requested.length === 0) throw new HttpError(404, 'Not Found');
      // Segments are checked one by one first: a decoded `%2f` inside one must not become a separator.
      const name = typeof requested === 'string' ? requested : checkRequestedPath(requested, { dotfiles: true }).join('/');
      const source = rememberStorageName(await storageSource(storage, name), name);
      if (!variants) return source;
      const chosen = await negotiatePrecompressed(request, source, variants, (suffix) => ifFound(() => storageSource(storage, name + suffix)));
      // A redirect goes to the stored file that was chosen.
      const encoding = chosen.encoding as PrecompressedEncoding | undefined;
      return rememberStorageName(chosen, encoding && chosen !== source ? name + PRECOMPRESSED_SUFFIX[encoding] : name);
    }),
    resolved,
    storage,
    checkDeliveryOptions(options, 'storageDownload'),
  );
  return createHandlers(delivery.load, delivery.options);
}
