import { stat } from 'node:fs/promises';
import path from 'node:path';
import { HttpError, missingSetting, ConfigurationError } from '../errors';
import { resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import { createHandlers, routeParam, type DownloadHandlers } from './handlers';
import { pathSource, type PathSourceOptions } from '../sources/path-source';
import { checkRequestedPath } from '../fs/confine';
import { ifFound, negotiatePrecompressed, resolvePrecompressed, type PrecompressedOption, type ResolvedPrecompressed } from '../sources/precompressed';

export interface PathDownloadOptions<P extends RouteParams = RouteParams> extends DownloadOptions<P>, PathSourceOptions {
  /**
   * Directory the served files must lie in. Requests name a file relative to it. A value read from
   * the environment (`process.env.MEDIA_ROOT!`) may be undefined while `next build` loads the
   * route: it is checked at the first request (set, an existing folder), not at load.
   */
  root?: string | undefined;
  /**
   * Which file: a fixed path (absolute, or relative to `root`), or a function of the request
   * returning a path relative to `root` (a `/`-separated string or segments). Default: the
   * route's `param` (`[...path]`).
   */
  path?: string | ((request: Request, params: P) => string | readonly string[] | undefined | Promise<string | readonly string[] | undefined>);
  /** Route parameter holding the requested path when `path` is not given. Default `path`. */
  param?: string;
  /**
   * Serve `name.br` or `name.gz` from beside the file `name` when the request's Accept-Encoding
   * takes it: `true` (Brotli, then gzip), a list of `'br'` / `'gzip'` (best first), or
   * `{ encodings, stale: 'serve' }` to also send a sibling older than its original (ignored by
   * default). Every answer then carries `Vary: Accept-Encoding`. Only under the kit's server
   * (`next-downloadview/server`): plain `next start` drops Content-Encoding, so there the file
   * itself is always sent. Default off.
   */
  precompressed?: PrecompressedOption;
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
export function pathDownload<P extends RouteParams = RouteParams>(options: PathDownloadOptions<P>): DownloadHandlers {
  const resolved = resolveOptions(options as DownloadOptions, 'pathDownload');
  const { path: which, param = 'path', dotfiles = false, chunkSize, syncFs = true } = options;
  // `root: process.env.MEDIA_ROOT!` is undefined while `next build` loads the route: a root that
  // was given but holds no value is checked at the first request, where the variable must be set.
  const rootGiven = 'root' in options;
  if (options.root !== undefined && (typeof options.root !== 'string' || options.root === '')) {
    throw new ConfigurationError('pathDownload: root must be a non-empty path');
  }
  if (!rootGiven && typeof which !== 'string') {
    throw new ConfigurationError('pathDownload: give a root, or a fixed path');
  }
  if (which !== undefined && typeof which !== 'string' && typeof which !== 'function') {
    throw new ConfigurationError('pathDownload: path must be a path or a function');
  }
  if (typeof param !== 'string' || param === '') throw new ConfigurationError('pathDownload: param must be a route parameter name');
  if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize < 1)) {
    throw new ConfigurationError('pathDownload: chunkSize must be a whole number of bytes');
  }
  if (typeof syncFs !== 'boolean') throw new ConfigurationError('pathDownload: syncFs must be true or false');
  const sourceOptions = { dotfiles, chunkSize, syncFs };
  const variants = resolvePrecompressed(options.precompressed, 'pathDownload');
  const folder = rootGiven ? rootFolder(options.root) : undefined;

  // A fixed path is the configuration's own: it is resolved once and not re-checked per request.
  if (typeof which === 'string') {
    let file: string | undefined;
    return createHandlers(async (request) => {
      const root = folder ? (folder.checked ?? (await folder.check())) : undefined;
      file ??= root === undefined ? path.resolve(/* turbopackIgnore: true */ which) : path.resolve(/* turbopackIgnore: true */ root, which);
      return withVariants(request, file, root, sourceOptions, variants);
    }, resolved);
  }

  return createHandlers(async (request, params) => {
    const requested = which ? await which(request, params as P) : routeParam(params, param, 'pathDownload');
    if (requested === undefined) throw new HttpError(404, 'Not Found');
    const segments = checkRequestedPath(requested, sourceOptions);
    const root = folder!.checked ?? (await folder!.check());
    return withVariants(request, path.join(root, ...segments), root, sourceOptions, variants);
  }, resolved);
}

/** The file, or the precompressed sibling of it that the request prefers. */
async function withVariants(
  request: Request,
  file: string,
  root: string | undefined,
  sourceOptions: PathSourceOptions,
  variants: ResolvedPrecompressed | undefined,
) {
  const source = await pathSource(file, root, sourceOptions);
  if (!variants) return source;
  return negotiatePrecompressed(request, source, variants, (suffix) => ifFound(() => pathSource(file + suffix, root, sourceOptions)));
}

/**
 * The route's root, checked at the first request that needs it and then remembered: it must be
 * set (a variable read at build time may exist only at runtime) and be an existing folder. A
 * failed check is a `ConfigurationError` (a 500 naming the problem, logged once), tried again on
 * the next request, so a folder mounted after start is found.
 */
function rootFolder(given: string | undefined): { checked?: string; check(): Promise<string> } {
  const folder: { checked?: string; check(): Promise<string> } = { check };
  return folder;
  async function check(): Promise<string> {
    if (given === undefined) {
      throw missingSetting('pathDownload: root', 'MEDIA_ROOT');
    }
    const root = path.resolve(/* turbopackIgnore: true */ given);
    let stats;
    try {
      stats = await stat(root);
    } catch (error) {
      throw new ConfigurationError('pathDownload: root does not exist or cannot be read', {
        detail: `${root}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      });
    }
    if (!stats.isDirectory()) throw new ConfigurationError('pathDownload: root is not a folder', { detail: root });
    folder.checked = root;
    return root;
  }
}
