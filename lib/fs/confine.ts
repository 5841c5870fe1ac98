import { realpath } from 'node:fs/promises';
import path from 'node:path';

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
