import { realpathSync, statSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileEntityTag, formatEntityTag } from '../http/etag';
import { HttpError } from '../errors';
import type { Source } from '../engine/source';
import { identityOf, openFile, openFileRanges, openFileStream, readSmallSync } from '../streams/file-stream';
import { canonicalRoot, insideRoot, isHidden } from '../fs/confine';


/** How a local file is served: dotfiles, read size. */
export interface PathSourceOptions {
  /** Serve dotfiles (`.env`, `.git/...`)? Default `false`: they answer 404 as if absent. */
  dotfiles?: boolean;
  /** Bytes per read; default 1 MiB. */
  chunkSize?: number;
  /**
   * Look files up and open them (realpath, stat, open, fstat, close) and read bodies of up to
   * 64 KiB with synchronous calls, as nginx does: on a local disk they hit the page cache and
   * take a few µs each, less than a thread-pool round trip, which is most of the cost of a small
   * download. Larger bodies are still read in the thread pool. Default `true`. Set `false` for a
   * network file system or a slow disk, where one call could stall every request of the
   * process: every call then goes through Node's thread pool.
   */
  syncFs?: boolean;
}

/**
 * File system errors that mean "there is no such file here" for this server. EACCES and EPERM
 * (a file or folder the server may not read) answer as missing too: the client asked for
 * nothing it could have, and a 500 would tell it the path exists.
 */
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EISDIR', 'EACCES', 'EPERM']);

function notFoundOr(error: unknown): never {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && NOT_FOUND_CODES.has(code)) throw new HttpError(404, 'Not Found');
  throw error;
}

/**
 * A local file as a source, confined to `root` when given. The path is canonicalised once
 * (symlinks resolved), checked to lie under the canonical root on a segment boundary, and that
 * same canonical path is what gets opened, with O_NOFOLLOW and an identity check against the stat
 * that decided the headers.
 */
export async function pathSource(
  file: string,
  root: string | undefined,
  options: PathSourceOptions = {},
): Promise<Source> {
  let canonical: string;
  let stats: Stats;
  const sync = options.syncFs ?? true;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000]/.test(file)) throw new HttpError(400, 'Invalid path');
  try {
    canonical = sync ? realpathSync.native(file) : await realpath(file);
    if (root !== undefined) {
      // Outside the root (a symlink that leads away), or the root itself: nothing to serve.
      const relative = insideRoot(await canonicalRoot(root), canonical);
      if (relative === undefined || (!options.dotfiles && isHidden(relative))) throw new HttpError(404, 'Not Found');
    }
    stats = sync ? statSync(canonical) : await stat(canonical);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    notFoundOr(error);
  }
  if (!stats.isFile()) throw new HttpError(404, 'Not Found');

  const identity = identityOf(stats);
  return {
    name: path.basename(file),
    size: stats.size,
    lastModified: stats.mtime,
    etag: formatEntityTag(fileEntityTag(stats.size, stats.mtimeMs)),
    exact: true,
    locate: async () => ({ path: canonical }),
    async open(range) {
      try {
        return await openFileStream(canonical, {
          start: range?.start,
          end: range?.end,
          chunkSize: options.chunkSize,
          expect: identity,
          sync,
        });
      } catch (error) {
        return notFoundOr(error);
      }
    },
    async openFile(range) {
      try {
        return await openFile(canonical, { start: range?.start, end: range?.end, chunkSize: options.chunkSize, expect: identity, sync });
      } catch (error) {
        return notFoundOr(error);
      }
    },
    readSmall: sync
      ? (range) => {
          try {
            return readSmallSync(canonical, { start: range?.start, end: range?.end, chunkSize: options.chunkSize, expect: identity });
          } catch (error) {
            return notFoundOr(error);
          }
        }
      : undefined,
    async openRanges(ranges) {
      try {
        return await openFileRanges(canonical, ranges, { chunkSize: options.chunkSize, expect: identity });
      } catch (error) {
        return notFoundOr(error);
      }
    },
  };
}
