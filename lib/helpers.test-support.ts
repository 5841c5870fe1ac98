import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Helpers the package's tests share (test support: never built or shipped). Each test file used
 * to carry its own copy of these.
 */

/** Every chunk of a web stream, in order. */
export async function readChunks(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** All the bytes of a web stream. */
export async function readBytes(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.concat(await readChunks(stream));
}

/** All the bytes of a web stream, as UTF-8 text. */
export async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return (await readBytes(stream)).toString('utf8');
}

/** A Response's body as UTF-8 text, whatever charset its Content-Type names. */
export async function responseText(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer());
}

/** What Next passes a route handler beside the request: the route's params, as a promise. */
export function routeContext<P>(params: P): { params: Promise<P> } {
  return { params: Promise.resolve(params) };
}

/** The context of a `[...path]` route asked for these segments. */
export function pathContext(segments: string[]): { params: Promise<{ path: string[] }> } {
  return routeContext({ path: segments });
}

/** An entry of a `temporaryTree`: a file's contents, a folder, or a symbolic link. */
export type TreeEntry =
  | string
  | Uint8Array
  | { dir: true }
  /** A link holding `target` as written (relative to the link's folder), or, with `inTree`, the absolute path of `target` in the tree. */
  | { symlink: string; inTree?: boolean };

export interface TemporaryTree {
  /** The tree's own folder (a fresh one under the system's temporary folder). */
  base: string;
  /** The absolute path of `relative` (`/`-separated) in the tree. */
  at(relative: string): string;
  /** Deletes the tree. */
  remove(): void;
}

/**
 * A throwaway folder holding `entries`, made in the order given (a link may point at an entry
 * made before it, or at nothing); the folders a file needs are made with it. The media trees of
 * the file and path tests (a root with files, dotfiles, a file outside it and links in and out).
 */
export function temporaryTree(prefix: string, entries: Record<string, TreeEntry>): TemporaryTree {
  const base = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const at = (relative: string): string => path.join(base, ...relative.split('/'));
  for (const [relative, entry] of Object.entries(entries)) {
    const target = at(relative);
    mkdirSync(path.dirname(target), { recursive: true });
    if (typeof entry === 'string' || entry instanceof Uint8Array) writeFileSync(target, entry);
    else if ('dir' in entry) mkdirSync(target, { recursive: true });
    else symlinkSync(entry.inTree ? at(entry.symlink) : entry.symlink, target);
  }
  return { base, at, remove: () => rmSync(base, { recursive: true, force: true }) };
}
