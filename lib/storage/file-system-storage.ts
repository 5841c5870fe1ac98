import { createHash, randomBytes, type Hash } from 'node:crypto';
import { realpathSync, statSync, type Stats } from 'node:fs';
import { link, lstat, mkdir, open as openHandle, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { digestFromHex } from '../http/digest';
import { fileEntityTag, formatEntityTag, toEntityTag } from '../http/etag';
import type { ByteRange } from '../http/range';
import { HttpError, missingSetting, FileChangedError, NotFoundError } from '../errors';
import { canonicalRoot, checkRequestedPath, insideRoot, isHidden } from '../fs/confine';
import { DEFAULT_CHUNK_SIZE, openFile, openFileRanges, openFileStream, readSmallSync, type FileBody } from '../streams/file-stream';
import { checkSaveMetadata, type OpenOptions, type SaveContent, type SaveOptions, type Storage, type StoredFile } from './storage';
import { DEFAULT_WALK_LIMITS, walk, type WalkOptions } from './walk';

/** Options of `FileSystemStorage`. */
export interface FileSystemStorageOptions {
  /** Serve and list dotfiles? Default `false` (temporary upload files are dotfiles). */
  dotfiles?: boolean;
  /** Bytes per read when streaming; default 1 MiB. */
  chunkSize?: number;
  /**
   * Look files up and open them (realpath, stat, open, fstat, close) and read bodies of up to
   * 64 KiB with synchronous calls, as nginx does: on a local disk they hit the page cache and
   * take a few µs each, less than a thread-pool round trip. Larger bodies are still read in the
   * thread pool. Default `true`. Set `false` for a network file system or a slow disk, where one
   * call could stall every request of the process. Saves, deletes and listings always use the
   * thread pool.
   */
  syncFs?: boolean;
  /** Public base URL of the folder, if a web server exposes it (for `url()`). */
  baseUrl?: string;
  /**
   * `list()` and `removeStaleTemporaryFiles()` do not enter folders more than this many levels
   * below the root (default 32), and say so in one `console.warn` line.
   */
  maxWalkDepth?: number;
  /**
   * They stop after reading this many directory entries (default 100 000), and say so in one
   * `console.warn` line.
   */
  maxWalkEntries?: number;
  /**
   * What a file's ETag is made from. `'mtime'` (default): its size and modification time, free to
   * compute, but the same bytes on two disks (two machines behind one load balancer) get two
   * ETags, so a 304 or a resume that reaches the other machine starts over. `'sha256'`: the SHA-256
   * of its content (`"<64 hex>"`, the form a database checksum column gives through
   * objectDownload), the same on every machine. `save` computes it while writing; a file put there
   * otherwise is read whole once, the first time it is asked for, and its hash remembered while
   * its device, inode, size, mtime and ctime stay the same. `list()` gives an ETag only for files
   * whose hash is known.
   */
  etag?: 'mtime' | 'sha256';
  /** With `etag: 'sha256'`, how many files' hashes are remembered (default 10 000). */
  maxHashedFiles?: number;
}

/** The identity of one version of a file: a new write changes mtime and ctime, a swap the inode. */
function versionKey(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/** `.<name>.<12 hex>.part`: what `save` writes before the rename. */
const TEMPORARY_FILE = /^\..+\.[0-9a-f]{12}\.part$/;

/**
 * File system errors that mean "there is no such file here" for this server. EACCES and EPERM
 * (a file or folder the server may not read) answer as missing too: the client asked for
 * nothing it could have, and a 500 would tell it the path exists.
 */
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EISDIR']);
const NOT_FOUND_CODES = new Set([...MISSING_CODES, 'EACCES', 'EPERM']);

/** Whether a failed read means "no such file" to the caller (missing or not readable). */
function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && NOT_FOUND_CODES.has(code);
}

/** Whether the file is really gone (a delete that may not remove a file must say so). */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && MISSING_CODES.has(code);
}

/**
 * Files in a folder. Every name is checked before the disk is touched (no `..`, no encoded
 * separators, no control characters, no dotfiles unless allowed), canonicalised with symlinks
 * resolved, and confirmed to lie under the canonical root on a segment boundary; that same path
 * is then opened.
 *
 * Saves are atomic: the bytes go to a temporary dotfile in the target's folder, are flushed to
 * disk, and only then renamed (or hard-linked, when not overwriting) to the final name.
 *
 * @example
 * const media = new FileSystemStorage(process.env.MEDIA_ROOT ?? 'var/media');
 * await media.save('reports/2026.csv', csvText);
 */
export class FileSystemStorage implements Storage {
  readonly #root: string | undefined;
  /** Reads are checked against the file's identity and size (see `openFileStream`). */
  readonly exactReads = true;
  readonly #options: FileSystemStorageOptions;
  readonly #sync: boolean;
  /** With `etag: 'sha256'`: version key -> hex hash, oldest first; a hash being computed is shared. */
  readonly #hashes = new Map<string, string>();
  readonly #hashing = new Map<string, Promise<string | undefined>>();

  /**
   * @param root The folder. A value read from the environment (`process.env.MEDIA_ROOT!`) may be
   *   undefined while `next build` loads the route: it is checked at first use, where a missing
   *   one is a `ConfigurationError` (a 500 naming it, logged once), not at construction.
   */
  constructor(root: string | undefined, options: FileSystemStorageOptions = {}) {
    if (root !== undefined && (typeof root !== 'string' || root === '')) throw new TypeError('FileSystemStorage: root must be a non-empty path');
    this.#root = root === undefined ? undefined : path.resolve(/* turbopackIgnore: true */ root);
    for (const limit of ['maxWalkDepth', 'maxWalkEntries'] as const) {
      const value = options[limit];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
        throw new TypeError(`FileSystemStorage: ${limit} must be a whole number >= 1, got ${String(value)}`);
      }
    }
    if (options.syncFs !== undefined && typeof options.syncFs !== 'boolean') {
      throw new TypeError('FileSystemStorage: syncFs must be true or false');
    }
    if (options.etag !== undefined && options.etag !== 'mtime' && options.etag !== 'sha256') {
      throw new TypeError("FileSystemStorage: etag must be 'mtime' or 'sha256'");
    }
    if (options.maxHashedFiles !== undefined && (!Number.isSafeInteger(options.maxHashedFiles) || options.maxHashedFiles < 1)) {
      throw new TypeError(`FileSystemStorage: maxHashedFiles must be a whole number >= 1, got ${String(options.maxHashedFiles)}`);
    }
    this.#options = options;
    this.#sync = options.syncFs ?? true;
  }

  /** The folder, absolute. Throws a `ConfigurationError` when it was not set (see the constructor). */
  get root(): string {
    if (this.#root === undefined) {
      throw missingSetting('FileSystemStorage: root', 'MEDIA_ROOT');
    }
    return this.#root;
  }

  /** Options of a walk under the root; see `walk` for why it never follows a symlinked folder. */
  #walkOptions(enter?: (name: string) => boolean): WalkOptions {
    return {
      maxDepth: this.#options.maxWalkDepth ?? DEFAULT_WALK_LIMITS.maxDepth,
      maxEntries: this.#options.maxWalkEntries ?? DEFAULT_WALK_LIMITS.maxEntries,
      label: 'FileSystemStorage',
      enter,
    };
  }

  /** Checks a name and joins it to the root, without touching the disk. */
  #target(name: string): string {
    let segments: string[];
    try {
      segments = checkRequestedPath(name, { dotfiles: this.#options.dotfiles });
    } catch (error) {
      // A hidden name is "no such file" to the caller, like a missing one.
      if (error instanceof HttpError && error.status === 404) throw new NotFoundError(name);
      throw error;
    }
    // Temporary files of saves in progress are never addressable, even with dotfiles allowed.
    if (TEMPORARY_FILE.test(segments[segments.length - 1]!)) throw new NotFoundError(name);
    return path.join(this.root, ...segments);
  }

  /** Whether a canonical path lies strictly inside the canonical root (a segment boundary). */
  async #inside(canonical: string, allowRoot = false): Promise<boolean> {
    return insideRoot(await canonicalRoot(this.root), canonical, allowRoot) !== undefined;
  }

  /** The canonical path of a name inside the root, not hidden; it may not exist (ENOENT). */
  async #canonical(name: string): Promise<string> {
    const target = this.#target(name);
    const file = this.#sync ? realpathSync.native(target) : await realpath(target);
    const relative = insideRoot(await canonicalRoot(this.root), file);
    if (relative === undefined || (!this.#options.dotfiles && isHidden(relative))) throw new NotFoundError(name);
    return file;
  }

  /** The canonical path of an existing file inside the root, with its stats. */
  async #resolve(name: string): Promise<{ file: string; stats: Stats }> {
    try {
      const file = await this.#canonical(name);
      const stats = this.#sync ? statSync(file) : await stat(file);
      if (!stats.isFile()) throw new NotFoundError(name);
      return { file, stats };
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(name);
      throw error;
    }
  }

  #describe(name: string, stats: Stats, hash?: string): StoredFile {
    const content = this.#options.etag === 'sha256';
    const opaque = content ? (hash ?? this.#hashes.get(versionKey(stats))) : fileEntityTag(stats.size, stats.mtimeMs).opaque;
    // With `etag: 'sha256'` the tag is the content's SHA-256, computed from the whole file for
    // this version: it is also the file's Repr-Digest (RFC 9530).
    const sha256 = content ? digestFromHex('sha-256', opaque) : undefined;
    return {
      name,
      size: stats.size,
      lastModified: stats.mtime,
      etag: opaque === undefined ? undefined : formatEntityTag({ opaque, weak: false }),
      ...(sha256 && { digests: { 'sha-256': sha256 } }),
    };
  }

  #remember(stats: Stats, hash: string): void {
    const key = versionKey(stats);
    this.#hashes.delete(key);
    this.#hashes.set(key, hash);
    const limit = this.#options.maxHashedFiles ?? 10_000;
    for (const oldest of this.#hashes.keys()) {
      if (this.#hashes.size <= limit) break;
      this.#hashes.delete(oldest);
    }
  }

  /**
   * The SHA-256 of the file's content as `stats` describe it, computed once per version. The
   * file's stats after the read must still be `stats`: a file written meanwhile gives no hash
   * (and no ETag), never the hash of a mix of two versions.
   */
  async #contentHash(file: string, stats: Stats): Promise<string | undefined> {
    const key = versionKey(stats);
    const known = this.#hashes.get(key);
    if (known !== undefined) return known;
    let pending = this.#hashing.get(key);
    if (!pending) {
      pending = (async () => {
        const handle = await openHandle(file, 'r');
        try {
          const hash = createHash('sha256');
          const buffer = Buffer.allocUnsafe(this.#options.chunkSize ?? DEFAULT_CHUNK_SIZE);
          for (;;) {
            const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
            if (bytesRead === 0) break;
            hash.update(buffer.subarray(0, bytesRead));
          }
          const after = await handle.stat();
          if (versionKey(after) !== key) return undefined;
          const hex = hash.digest('hex');
          this.#remember(stats, hex);
          return hex;
        } finally {
          await handle.close();
        }
      })().finally(() => this.#hashing.delete(key));
      this.#hashing.set(key, pending);
    }
    return pending;
  }

  async stat(name: string): Promise<StoredFile> {
    const { file, stats } = await this.#resolve(name);
    if (this.#options.etag !== 'sha256') return this.#describe(name, stats);
    try {
      return this.#describe(name, stats, await this.#contentHash(file, stats));
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(name);
      throw error;
    }
  }

  /** Whether a regular file of that name is under the root (a name the storage refuses is not). */
  async exists(name: string): Promise<boolean> {
    try {
      await this.#resolve(name);
      return true;
    } catch (error) {
      if (error instanceof HttpError && (error.status === 404 || error.status === 400)) return false;
      throw error;
    }
  }

  async open(name: string, options: OpenOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return this.#opened(name, options.ifMatch, async (file, accept) =>
      openFileStream(file, {
        start: options.range?.start,
        end: options.range?.end,
        chunkSize: this.#options.chunkSize ?? DEFAULT_CHUNK_SIZE,
        accept,
        sync: this.#sync,
      }),
    );
  }

  /** The bytes `open` would stream, as the open file, checked the same way (see `Source.openFile`). */
  async openFile(name: string, options: OpenOptions = {}): Promise<FileBody> {
    return this.#opened(name, options.ifMatch, async (file, accept) =>
      openFile(file, {
        start: options.range?.start,
        end: options.range?.end,
        chunkSize: this.#options.chunkSize ?? DEFAULT_CHUNK_SIZE,
        accept,
        sync: this.#sync,
      }),
    );
  }

  /**
   * With `syncFs` (the default), a body of up to 64 KiB read at once with synchronous calls,
   * checked like `open`; `undefined` for a larger one, or without `syncFs`.
   */
  async readSmall(name: string, options: OpenOptions = {}): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (!this.#sync) return undefined;
    return this.#opened(name, options.ifMatch, async (file, accept) =>
      readSmallSync(file, {
        start: options.range?.start,
        end: options.range?.end,
        chunkSize: this.#options.chunkSize ?? DEFAULT_CHUNK_SIZE,
        accept,
      }),
    );
  }

  /** One opening of the file for every range of a multipart answer (see `openFileRanges`). */
  async openRanges(
    name: string,
    ranges: readonly ByteRange[],
    options: Pick<OpenOptions, 'ifMatch'> = {},
  ): Promise<ReadableStream<Uint8Array>[]> {
    return this.#opened(name, options.ifMatch, async (file, accept) =>
      openFileRanges(file, ranges, { chunkSize: this.#options.chunkSize ?? DEFAULT_CHUNK_SIZE, accept }),
    );
  }

  async #opened<T>(
    name: string,
    ifMatch: OpenOptions['ifMatch'],
    openIt: (file: string, accept: ((stats: Stats) => boolean) | undefined) => Promise<T>,
  ): Promise<T> {
    // The opened file's own stats are checked against `ifMatch` (no separate stat first).
    const wanted = ifMatch === undefined ? undefined : toEntityTag(ifMatch);
    const current = (stats: Stats) =>
      this.#options.etag === 'sha256' ? this.#hashes.get(versionKey(stats)) : fileEntityTag(stats.size, stats.mtimeMs).opaque;
    const accept = wanted && ((stats: Stats) => !wanted.weak && wanted.opaque === current(stats));
    try {
      return await openIt(await this.#canonical(name), accept);
    } catch (error) {
      // Without `ifMatch` the only change refused is "not a regular file" (a folder, a FIFO).
      if (error instanceof FileChangedError) throw wanted ? new FileChangedError(name) : new NotFoundError(name);
      if (isNotFound(error)) throw new NotFoundError(name);
      throw error;
    }
  }

  /**
   * Writes the file atomically (a temporary file, then a link or rename). Of `SaveOptions` only
   * `overwrite` and `maxBytes` act: a folder keeps no type, disposition, cache policy or user
   * metadata (the name gives the type), but their values are checked as an object store checks them.
   */
  async save(name: string, content: SaveContent, options: SaveOptions = {}): Promise<StoredFile> {
    checkSaveMetadata(options);
    try {
      return await this.#save(name, content, options);
    } catch (error) {
      throw storageFull(error) ?? error;
    }
  }

  async #save(name: string, content: SaveContent, options: SaveOptions): Promise<StoredFile> {
    const target = this.#target(name);
    const folder = path.dirname(target);
    await mkdir(this.root, { recursive: true });
    await this.#makeFolder(folder);
    // A short temporary name: a final name may already be as long as the file system allows.
    const hint = path.basename(target).slice(0, 32);
    const temporary = path.join(folder, `.${hint}.${randomBytes(6).toString('hex')}.part`);
    const hash = this.#options.etag === 'sha256' ? createHash('sha256') : undefined;
    let written: Stats;
    try {
      written = await writeAll(temporary, content, options.maxBytes, hash);
      if (options.overwrite) {
        try {
          await rename(temporary, target);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'ENOTDIR') throw new HttpError(409, 'A folder of that name exists');
          throw error;
        }
      } else {
        // link() fails with EEXIST instead of replacing: check-and-create in one step.
        try {
          await link(temporary, target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new HttpError(409, 'A file of that name exists');
          throw error;
        }
        await unlink(temporary);
      }
      await syncFolder(folder);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    if (!hash) return this.#describe(name, await stat(target));
    // The renamed or linked file is the temporary one (same inode); a link changed its ctime.
    const saved = await stat(target);
    const hex = hash.digest('hex');
    if (saved.ino === written.ino && saved.dev === written.dev && saved.size === written.size && saved.mtimeMs === written.mtimeMs) this.#remember(saved, hex);
    return this.#describe(name, saved);
  }

  /**
   * Creates `folder` and its missing parents, but only below the canonical root: the deepest
   * folder that exists is resolved first, so a symlinked folder cannot lead the creation out.
   */
  async #makeFolder(folder: string): Promise<void> {
    let existing = folder;
    for (;;) {
      try {
        existing = await realpath(existing);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new HttpError(409, 'A file of that name is in the way');
          throw error;
        }
        const parent = path.dirname(existing);
        if (parent === existing) throw new HttpError(400, 'Invalid path');
        existing = parent;
      }
    }
    if (!(await this.#inside(existing, true))) throw new HttpError(400, 'Invalid path');
    try {
      await mkdir(folder, { recursive: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') throw new HttpError(409, 'A file of that name is in the way');
      throw error;
    }
    // Resolved again: a folder swapped for a symlink meanwhile is caught here.
    if (!(await this.#inside(await realpath(folder), true))) throw new HttpError(400, 'Invalid path');
  }

  async delete(name: string): Promise<boolean> {
    let file: string;
    try {
      ({ file } = await this.#resolve(name));
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
    try {
      await unlink(file);
      await syncFolder(path.dirname(file));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /**
   * Files under the root, walked without entering symlinked folders (a link to `..` or to `/etc`
   * costs nothing) and within `maxWalkDepth` / `maxWalkEntries`. A symlinked file is listed
   * under its own name when `stat` would serve it (its target is a file inside the root), so the
   * listing holds exactly names that can be opened; a file reached only through a symlinked
   * folder is listed under its real folder.
   */
  async *list(prefix = ''): AsyncIterable<StoredFile> {
    const hidden = (name: string) => !this.#options.dotfiles && path.posix.basename(name).startsWith('.');
    // Folders that cannot hold a name with the prefix, or are hidden, are not even read.
    const enter = (folder: string) =>
      !hidden(folder) && (`${folder}/`.startsWith(prefix) || prefix.startsWith(`${folder}/`));
    for await (const { name, dirent } of walk(this.root, this.#walkOptions(enter))) {
      if (!name.startsWith(prefix) || hidden(name) || TEMPORARY_FILE.test(dirent.name)) continue;
      if (!dirent.isFile() && !dirent.isSymbolicLink()) continue;
      try {
        // Only known hashes: a listing never reads every file.
        const { stats } = await this.#resolve(name);
        yield this.#describe(name, stats);
      } catch (error) {
        // Links to folders or out of the root, files removed since, names we would refuse to serve.
        if (error instanceof HttpError) continue;
        throw error;
      }
    }
  }

  /**
   * Removes temporary files that saves interrupted by a crash left behind (they are dotfiles,
   * never served). Only those older than `olderThanMs` (default one hour), so a save still
   * running in another process is not cut short. Only regular files in real folders under the
   * root are candidates: the walk never enters a symlinked folder, a symlink is never removed,
   * and the folder is resolved again just before the unlink, so nothing outside the root is
   * ever deleted.
   */
  async removeStaleTemporaryFiles(olderThanMs = 60 * 60 * 1000): Promise<string[]> {
    const removed: string[] = [];
    for await (const { name, path: file, dirent } of walk(this.root, this.#walkOptions())) {
      if (!dirent.isFile() || !TEMPORARY_FILE.test(dirent.name)) continue;
      const stats = await lstat(file).catch(() => undefined);
      if (!stats?.isFile() || Date.now() - stats.mtimeMs < olderThanMs) continue;
      // The walk found it under the canonical root; a folder swapped for a symlink since then
      // would resolve elsewhere.
      const folder = path.dirname(file);
      if ((await realpath(folder).catch(() => undefined)) !== folder) continue;
      await unlink(file).catch(() => undefined);
      removed.push(name);
    }
    return removed;
  }

  url(name: string): string | undefined {
    const base = this.#options.baseUrl;
    if (base === undefined) return undefined;
    const segments = checkRequestedPath(name, { dotfiles: this.#options.dotfiles });
    return `${base.replace(/\/+$/, '')}/${segments.map(encodeURIComponent).join('/')}`;
  }

  async localPath(name: string): Promise<string> {
    return (await this.#resolve(name)).file;
  }
}

/**
 * A full disk or an exhausted quota, wherever the save met it (a folder, the write, the flush,
 * the link): RFC 4918 §11.5's 507 Insufficient Storage, which says what happened and that the
 * same request may work later, instead of a 500. The save has removed its temporary file.
 */
function storageFull(error: unknown): HttpError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  return new HttpError(507, 'Not enough storage space left for this file');
}

/**
 * Writes `content` to a new file, flushed to disk, feeding `hash` on the way; 413 (and nothing
 * kept) past `maxBytes`. Returns the written file's stats.
 */
async function writeAll(file: string, content: SaveContent, maxBytes: number | undefined, hash?: Hash): Promise<Stats> {
  let written = 0;
  const count = (chunk: Uint8Array | string): Uint8Array => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    written += bytes.length;
    hash?.update(bytes);
    if (maxBytes !== undefined && written > maxBytes) {
      throw new HttpError(413, `File is larger than the limit of ${maxBytes} bytes`);
    }
    return bytes;
  };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (typeof content === 'string' || content instanceof Uint8Array) {
      yield count(content);
      return;
    }
    for await (const chunk of content as AsyncIterable<Uint8Array | string>) yield count(chunk);
  }
  // Opened (and so created) before any content is read: when the content fails, the caller's
  // unlink always comes after the file exists. A write stream opens lazily, and its open could
  // land after that unlink and leave the temporary file behind.
  const handle = await openHandle(file, 'wx');
  try {
    for await (const chunk of chunks()) {
      for (let at = 0; at < chunk.length; ) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
    }
    await handle.sync();
    return await handle.stat();
  } finally {
    await handle.close();
  }
}

/** Makes a rename or unlink in `folder` durable (the directory entry itself is flushed). */
async function syncFolder(folder: string): Promise<void> {
  const handle = await openHandle(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
