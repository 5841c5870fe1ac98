import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkRequestedPath } from '../fs/confine';
import type { MemoryFiles } from './memory-storage';

/** Options of `temporaryMediaRoot`. */
export interface TemporaryMediaRootOptions {
  /**
   * The environment variable the app reads its media folder from, set to the new folder until
   * `cleanup`. Default `MEDIA_ROOT`; `false` sets none.
   */
  env?: string | false;
}

/** A media folder made for one test: see `temporaryMediaRoot`. */
export interface TemporaryMediaRoot extends AsyncDisposable {
  /** The folder, absolute. */
  readonly root: string;
  /** The absolute path of a file in it. */
  path(name: string): string;
  /** Writes a file (and its folders) in it. */
  write(name: string, content: string | Uint8Array): Promise<string>;
  /** Removes the folder and puts the environment variable back as it was. */
  cleanup(): Promise<void>;
}

/**
 * A throwaway media folder for a test (django-downloadview's `temporary_media_root`): a new
 * folder under the system's temporary one, with `files` written in it, and `MEDIA_ROOT` (or the
 * variable named by `env`) pointing at it until `cleanup()`. A route whose module reads
 * `process.env.MEDIA_ROOT` must be imported after the call (`await import(...)`), since the module
 * reads the variable when it loads.
 *
 * @example
 * const media = await temporaryMediaRoot({ 'report.pdf': '%PDF-1.7' });
 * try {
 *   const { GET } = await import('@/app/media/[...path]/route');
 *   const response = await GET(new Request('http://test/media/report.pdf'), { params: Promise.resolve({ path: ['report.pdf'] }) });
 *   await assertDownloadResponse(response, { filename: 'report.pdf', body: '%PDF-1.7' });
 * } finally {
 *   await media.cleanup();
 * }
 */
export async function temporaryMediaRoot(files: MemoryFiles = {}, options: TemporaryMediaRootOptions = {}): Promise<TemporaryMediaRoot> {
  const variable = options.env ?? 'MEDIA_ROOT';
  if (variable !== false && (typeof variable !== 'string' || variable === '')) {
    throw new TypeError('temporaryMediaRoot: env must be a variable name or false');
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'media-'));
  const inside = (name: string): string => path.join(root, ...checkRequestedPath(name, { dotfiles: true }));
  const write = async (name: string, content: string | Uint8Array): Promise<string> => {
    const file = inside(name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    return file;
  };
  try {
    for (const [name, content] of Object.entries(files)) await write(name, content);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  const had = variable !== false && Object.hasOwn(process.env, variable);
  const before = variable === false ? undefined : process.env[variable];
  if (variable !== false) process.env[variable] = root;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    if (variable !== false) {
      if (had) process.env[variable] = before;
      else delete process.env[variable];
    }
    await rm(root, { recursive: true, force: true });
  };
  return { root, path: inside, write, cleanup, [Symbol.asyncDispose]: cleanup };
}
