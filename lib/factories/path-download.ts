import path from 'node:path';
import { HttpError } from '../http/http-error';
import { ConfigurationError, resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import { createHandlers, type DownloadHandlers } from './handlers';
import { checkRequestedPath, pathSource, type PathSourceOptions } from '../sources/path-source';

export interface PathDownloadOptions extends DownloadOptions, PathSourceOptions {
  /** Directory the served files must lie in. Requests name a file relative to it. */
  root?: string;
  /**
   * Which file: a fixed path (absolute, or relative to `root`), or a function of the request
   * returning a path relative to `root` (a `/`-separated string or segments). Default: the
   * route's `param` (`[...path]`).
   */
  path?: string | ((request: Request, params: RouteParams) => string | readonly string[] | undefined | Promise<string | readonly string[] | undefined>);
  /** Route parameter holding the requested path when `path` is not given. Default `path`. */
  param?: string;
}

/**
 * Serves files from the local disk (django-downloadview's PathDownloadView).
 *
 * A path taken from the request is checked before the disk is touched (400 for `..`, encoded
 * separators, backslashes, control characters; 404 for dotfiles unless `dotfiles: true`), then
 * canonicalised, confirmed to lie under `root` (a symlink that leads outside is 404), and that
 * same file is opened. Directories and missing files are 404.
 *
 * @example
 * // app/media/[...path]/route.ts
 * import { pathDownload } from 'next-downloadview';
 * export const { GET, HEAD } = pathDownload({ root: process.env.MEDIA_ROOT ?? 'var/media' });
 *
 * @example
 * // One fixed file, shown in the browser
 * export const { GET, HEAD } = pathDownload({ path: '/srv/docs/manual.pdf', attachment: false });
 */
export function pathDownload(options: PathDownloadOptions): DownloadHandlers {
  const resolved = resolveOptions(options, 'pathDownload');
  const { path: which, param = 'path', dotfiles = false, chunkSize, syncFs = true } = options;
  if (options.root !== undefined && (typeof options.root !== 'string' || options.root === '')) {
    throw new ConfigurationError('pathDownload: root must be a non-empty path');
  }
  if (options.root === undefined && typeof which !== 'string') {
    throw new ConfigurationError('pathDownload: give a root, or a fixed path');
  }
  if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize < 1)) {
    throw new ConfigurationError('pathDownload: chunkSize must be a whole number of bytes');
  }
  if (typeof syncFs !== 'boolean') throw new ConfigurationError('pathDownload: syncFs must be true or false');
  const root = options.root === undefined ? undefined : path.resolve(/* turbopackIgnore: true */ options.root);
  const sourceOptions = { dotfiles, chunkSize, syncFs };

  // A fixed path is the configuration's own: it is resolved once and not re-checked per request.
  if (typeof which === 'string') {
    const file = root === undefined ? path.resolve(/* turbopackIgnore: true */ which) : path.resolve(/* turbopackIgnore: true */ root, which);
    return createHandlers(() => pathSource(file, root, sourceOptions), resolved);
  }

  return createHandlers(async (request, params) => {
    const requested = which ? await which(request, params) : params[param];
    if (requested === undefined) throw new HttpError(404, 'Not Found');
    const segments = checkRequestedPath(requested, sourceOptions);
    return pathSource(path.join(root!, ...segments), root, sourceOptions);
  }, resolved);
}
