import type { Dirent } from 'node:fs';
import { opendir, realpath } from 'node:fs/promises';
import path from 'node:path';

/** How far a walk goes before it stops. */
export interface WalkLimits {
  /** Folders more than this many levels below the root are not entered. */
  maxDepth: number;
  /** Directory entries read (files, folders and links together) before the walk stops. */
  maxEntries: number;
}

/** Deep enough for any real media tree, small enough that a runaway tree costs little. */
export const DEFAULT_WALK_LIMITS: WalkLimits = { maxDepth: 32, maxEntries: 100_000 };

export interface WalkOptions extends Partial<WalkLimits> {
  /** Whether to enter the folder of that relative name; default: every folder. */
  enter?: (name: string) => boolean;
  /** Where the line saying why the walk stopped short goes; default `console.warn`. */
  warn?: (message: string) => void;
  /** Who walks, for that line. */
  label?: string;
}

/** A file, link or other non-folder entry found under the root. */
export interface WalkEntry {
  /** Relative to the root, `/`-separated. */
  name: string;
  /** The canonical root joined with the entry's segments. */
  path: string;
  /** As the folder lists it: a symlink is a symlink, never what it points to (lstat semantics). */
  dirent: Dirent;
}

const GONE = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Walks the real folders under `root`, yielding every entry that is not a folder.
 *
 * Unlike Node 20's `readdir(root, { recursive: true })`, which follows symlinked folders (so
 * `docs/up -> ..` makes it loop until memory runs out, and a link to `/etc` lists `/etc`),
 * a symlink is never entered: it is yielded as an entry, for the caller to resolve and confine
 * like any name. Before a folder is read its canonical path is checked to be the one the walk
 * expects, so a folder swapped for a symlink since it was listed is skipped, not followed.
 * Folders are read one at a time, entry by entry, and the walk stops at `maxEntries` entries or
 * below `maxDepth` levels, saying so in one line per limit.
 */
export async function* walk(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const maxDepth = options.maxDepth ?? DEFAULT_WALK_LIMITS.maxDepth;
  const maxEntries = options.maxEntries ?? DEFAULT_WALK_LIMITS.maxEntries;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const label = options.label ?? 'walk';
  let canonicalRoot: string;
  try {
    canonicalRoot = await realpath(root);
  } catch (error) {
    if (GONE.has((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }

  const pending: Array<{ folder: string; name: string; depth: number }> = [{ folder: canonicalRoot, name: '', depth: 0 }];
  let entries = 0;
  let tooDeep: string | undefined;
  try {
    while (pending.length > 0) {
      const { folder, name, depth } = pending.pop()!;
      let directory;
      try {
        if (depth > 0 && (await realpath(folder)) !== folder) continue;
        directory = await opendir(folder);
      } catch (error) {
        // Removed (or replaced by a file) since its parent was read.
        if (GONE.has((error as NodeJS.ErrnoException).code ?? '')) continue;
        throw error;
      }
      for await (const dirent of directory) {
        if (++entries > maxEntries) {
          warn(`${label}: stopped after ${maxEntries} entries under ${root} (maxWalkEntries); the rest was not visited`);
          return;
        }
        const child = name === '' ? dirent.name : `${name}/${dirent.name}`;
        const childPath = path.join(folder, dirent.name);
        if (!dirent.isDirectory()) {
          yield { name: child, path: childPath, dirent };
          continue;
        }
        if (options.enter && !options.enter(child)) continue;
        if (depth + 1 > maxDepth) {
          tooDeep ??= child;
          continue;
        }
        pending.push({ folder: childPath, name: child, depth: depth + 1 });
      }
    }
  } finally {
    if (tooDeep !== undefined) {
      warn(`${label}: did not enter folders more than ${maxDepth} levels under ${root} (maxWalkDepth), such as ${tooDeep}`);
    }
  }
}
