import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { HttpError } from '../errors';

const roots = new Map<string, Promise<string>>();

/**
 * The canonical (symlink-free) path of a root folder, resolved on first use and then kept for
 * the life of the process: one file system call less on every download. A failure is not kept,
 * so a root created after start-up is found. If the root is a symlink retargeted later, files
 * under the new target resolve outside the kept path and answer 404: the check fails closed.
 */
export function canonicalRoot(root: string): Promise<string> {
  let found = roots.get(root);
  if (!found) {
    found = realpath(root);
    roots.set(root, found);
    found.catch(() => roots.delete(root));
  }
  return found;
}

/**
 * Where a canonical path lies relative to a canonical root: its relative path when strictly
 * inside (on a segment boundary, so `/media` never contains `/media2/x`), `''` for the root
 * itself when `allowRoot`, otherwise `undefined`.
 */
export function insideRoot(root: string, canonical: string, allowRoot = false): string | undefined {
  const relative = path.relative(root, canonical);
  if (relative === '') return allowRoot ? '' : undefined;
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return undefined;
  return relative;
}

/** Whether any segment of a relative path is a dotfile or dot-folder. */
export function isHidden(relative: string): boolean {
  return relative.split(path.sep).some((segment) => segment.startsWith('.'));
}

/**
 * Checks a requested path, given as URL segments (already percent-decoded, as Next passes
 * `[...path]`) or as a `/`-separated string, and returns its segments.
 *
 * Anything that could name a file other than the one the segments spell is refused with 400
 * before the file system is touched: `.` and `..`, empty segments (`a//b`), separators inside a
 * segment (`..%2f`, `%5c`), backslashes, NUL and other control characters. Dotfiles are 404.
 */
export function checkRequestedPath(requested: string | readonly string[], options: { dotfiles?: boolean } = {}): string[] {
  const segments = typeof requested === 'string' ? requested.split('/') : [...requested];
  if (segments.length === 0 || (segments.length === 1 && segments[0] === '')) {
    throw new HttpError(404, 'Not Found');
  }
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') throw new HttpError(400, 'Invalid path');
    // eslint-disable-next-line no-control-regex
    if (/[/\\\u0000-\u001f\u007f]/.test(segment)) throw new HttpError(400, 'Invalid path');
    if (!options.dotfiles && segment.startsWith('.')) throw new HttpError(404, 'Not Found');
  }
  return segments;
}
