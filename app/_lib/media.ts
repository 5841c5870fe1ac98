import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface MediaEntry {
  /** Path relative to the media root, with `/` separators. */
  name: string;
  size: number;
  modified: Date;
}

/** Every regular file under `root` (dotfiles left out, as the download route does). */
export async function listMedia(root: string): Promise<MediaEntry[]> {
  const entries: MediaEntry[] = [];
  let names: string[];
  try {
    names = await readdir(root, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  for (const name of names) {
    if (name.split(path.sep).some((segment) => segment.startsWith('.'))) continue;
    const stats = await stat(path.join(root, name)).catch(() => undefined);
    if (stats?.isFile()) entries.push({ name: name.split(path.sep).join('/'), size: stats.size, modified: stats.mtime });
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

/** `/api/path/` URL of a media file: each segment percent-encoded, separators kept. */
export function mediaHref(prefix: string, name: string): string {
  return `${prefix}${name.split('/').map(encodeURIComponent).join('/')}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
