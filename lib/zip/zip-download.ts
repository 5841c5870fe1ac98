import { createHash } from 'node:crypto';
import { ConfigurationError, HttpError, NotFoundError } from '../errors';
import { resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import type { Source } from '../engine/source';
import type { ByteRange } from '../http/range';
import { createHandlers, type DownloadHandlers } from '../factories/handlers';
import type { Storage } from '../storage/storage';
import { eventLoopTurn } from '../streams/event-loop-turn';
import { iterableToStream } from '../streams/iterable-stream';
import { entryName, UniqueNames } from './entry-name';
import { archiveBytes, planArchive, type ArchiveEntry } from './zip-archive';
import { entryLayout } from './zip-format';

/**
 * One file of an archive: its name, what is known about it, and where its bytes are: a `path` in
 * the route's `storage`, or an `open` of your own.
 */
export interface ZipEntry {
  /** The entry's name; made portable and unique in the archive (`a.txt`, `a (2).txt`), see `entryName`. */
  name: string;
  /**
   * Exact length in bytes. When every entry has one, the archive has an exact Content-Length, an
   * ETag and byte ranges; an entry without one is measured as it is read (Zip64 fields).
   */
  size?: number;
  /** Stored as the entry's time (DOS time, the server's time zone), and part of the archive's ETag. */
  lastModified?: Date;
  /**
   * The CRC-32 of the bytes (as `zlib.crc32` gives it), when it is known ahead (stored with the
   * row): a Range or If-Range request then reads only the entries, and the parts of them, that it
   * needs. Checked whenever the entry is read whole: a wrong one breaks the download.
   */
  crc32?: number;
  /**
   * A version of the bytes (a content hash, an object store's ETag): part of the archive's ETag,
   * with the name, size and time. Without it, the size and time stand for the content.
   */
  etag?: string;
  /** The file's name in the route's `storage`. */
  path?: string;
  /** The bytes, or the bytes `range.start..range.end` (inclusive), for an entry without a `path`. */
  open?(range?: ByteRange): Promise<ReadableStream<Uint8Array>> | ReadableStream<Uint8Array>;
  /** How the log names the entry when it breaks the archive (default: its path or name). */
  label?: string;
  /**
   * Called when an archive has read the entry whole and computed its CRC-32, if no `crc32` was
   * given: store it with the row, and later ranges of archives holding it read only what they
   * need (the archive's bytes and ETag do not change). Called as the bytes go out; what it
   * throws is logged and changes nothing of the download.
   */
  onCrc32?(crc32: number): void;
}

/** What `entries` may return: a list, or rows as a query yields them. */
export type ZipEntries = Iterable<ZipEntry> | AsyncIterable<ZipEntry>;

/** Options of `zipDownload`: every factory's options, and the archive's entries. */
export interface ZipDownloadOptions<P extends RouteParams = RouteParams> extends DownloadOptions<P> {
  /**
   * The entries of a request's archive, in order, after `authorize`: only their metadata is
   * read here (nothing for HEAD and 304 reads a byte). `undefined` or `null` answers 404.
   */
  entries: (request: Request, params: P) => ZipEntries | undefined | null | Promise<ZipEntries | undefined | null>;
  /** Where the entries that give a `path` live. */
  storage?: Storage;
  /**
   * `stat` every entry that has a `path` before the status is decided (16 at a time), so that a
   * file missing from the storage or of another size is a 502 before any byte, not an archive
   * that breaks halfway. One `stat` per entry and request, HEAD included. Default `false`: an
   * entry that fails is seen when the archive reaches it, and breaks the connection then.
   */
  check?: boolean;
}

/** How many entries `check` asks the storage about at once. */
export const CHECK_CONCURRENCY = 16;

/** Bump when the bytes of an archive change for the same entries. */
const ZIP_FORMAT = 'stored-dd/v2';

/**
 * A ZIP archive of files from any storage or source, made as it is sent: stored entries (no
 * compression, so the length is exact), Zip64 past 4 GiB or 65,535 entries, UTF-8 names made
 * portable and unique. One file is open at a time; the first bytes go out before the last file
 * is read, and memory does not grow with the archive.
 *
 * When every entry's size is known the archive has an exact Content-Length, a strong ETag (of
 * the entries' names, sizes, times and `etag`s), so HEAD, 304, Range and
 * If-Range work as for a file, from the one engine, and HEAD or 304 read no byte.
 *
 * Resuming: when every entry's `crc32` is given, a Range request starts reading at the first
 * entry it needs (a resume at 9 GB of a 10 GB archive reads about 1 GB). Without CRC-32s a Range
 * is still answered, correctly: the entries before it are read again to compute the CRC-32s
 * the central directory holds (the archive is made again, only the range is sent). That beats
 * refusing ranges (`Accept-Ranges: none`): the client would then download the whole archive
 * again, the same reading on the server and all of the network besides.
 *
 * An entry that is missing when the archive reaches it, or not of its size, breaks the
 * connection (the promised length is not met), and the log names it.
 *
 * @example
 * // app/exports/files.zip/route.ts
 * import { zipDownload } from 'next-downloadview/zip';
 * export const { GET, HEAD } = zipDownload({
 *   filename: 'files.zip',
 *   storage,                                  // a FileSystemStorage or S3Storage
 *   entries: async () => (await db.select().from(files)).map((row) => ({
 *     name: row.name, path: row.storagePath, size: row.size,
 *     lastModified: row.updatedAt, etag: row.sha256, crc32: row.crc32 ?? undefined,
 *   })),
 * });
 */
export function zipDownload<P extends RouteParams = RouteParams>(options: ZipDownloadOptions<P>): DownloadHandlers {
  const resolved = resolveOptions(options as DownloadOptions, 'zipDownload');
  const { entries, storage, check = false } = options;
  if (typeof entries !== 'function') throw new ConfigurationError('zipDownload: entries must be a function');
  if (storage !== undefined && (typeof storage !== 'object' || typeof storage?.open !== 'function')) {
    throw new ConfigurationError('zipDownload: storage must be a Storage');
  }
  if (typeof check !== 'boolean') throw new ConfigurationError('zipDownload: check must be true or false');
  return createHandlers(async (request, params) => {
    const listed = await entries(request, params as P);
    if (listed === undefined || listed === null) throw new HttpError(404, 'Not Found');
    return zipSource(listed, { storage, check });
  }, resolved);
}

/**
 * The archive of `entries` as a source (see `zipDownload`, which serves it): named `archive.zip`,
 * `application/zip`; metadata only until `open`.
 */
export async function zipSource(entries: ZipEntries, { storage, check = false }: { storage?: Storage; check?: boolean } = {}): Promise<Source> {
  const names = new UniqueNames();
  const prepared: ArchiveEntry[] = [];
  const checks: { entry: ZipEntry; path: string; label: string }[] = [];
  const hash = createHash('sha256').update(ZIP_FORMAT).update(Intl.DateTimeFormat().resolvedOptions().timeZone);
  let sized = true;
  for await (const entry of entries) {
    const { size, crc32, lastModified, path } = validEntry(entry, storage);
    const name = names.take(entryName(entry.name));
    const label = entry.label ?? JSON.stringify(path ?? entry.name);
    const read: ArchiveEntry['read'] =
      path !== undefined
        ? (range) => storage!.open(path, range ? { range } : undefined)
        : async (range) => entry.open!(range);
    const onCrc32 = typeof entry.onCrc32 === 'function' ? (sum: number) => tellCrc32(entry, label, sum) : undefined;
    prepared.push({ layout: entryLayout(name, size, lastModified), crc32, label, read, onCrc32 });
    if (check && path !== undefined) checks.push({ entry, path, label });
    if (size === undefined) sized = false;
    hash.update(JSON.stringify([name, size, lastModified?.getTime() ?? null, entry.etag ?? null]));
    const wait = eventLoopTurn();
    if (wait) await wait;
  }
  if (checks.length > 0) await checkEntries(checks, storage!);
  const plan = await planArchive(prepared);
  return {
    name: 'archive.zip',
    contentType: 'application/zip',
    size: plan.length,
    // No Last-Modified: an archive changes without any of its dates moving (an entry removed or
    // renamed), so a date would let If-Modified-Since answer 304, and a date in If-Range resume,
    // across two different archives. The ETag covers every entry.
    etag: sized ? `zip-${hash.digest('base64url')}` : undefined,
    open: (range) => iterableToStream(archiveBytes(plan, range, logBreak)),
  };
}

function validEntry(entry: ZipEntry, storage: Storage | undefined) {
  if (entry === null || typeof entry !== 'object' || typeof entry.name !== 'string') {
    throw new TypeError('zipDownload: every entry needs a name (a string)');
  }
  const { size, crc32, lastModified, path } = entry;
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new TypeError(`zipDownload: the size of ${JSON.stringify(entry.name)} must be a whole number of bytes, got ${String(size)}`);
  }
  if (crc32 !== undefined && (!Number.isInteger(crc32) || crc32 < 0 || crc32 > 0xffffffff)) {
    throw new TypeError(`zipDownload: the crc32 of ${JSON.stringify(entry.name)} must be an unsigned 32-bit integer, got ${String(crc32)}`);
  }
  if (lastModified !== undefined && !(lastModified instanceof Date)) {
    throw new TypeError(`zipDownload: the lastModified of ${JSON.stringify(entry.name)} must be a Date`);
  }
  if ((path === undefined) === (typeof entry.open !== 'function')) {
    throw new TypeError(`zipDownload: the entry ${JSON.stringify(entry.name)} needs a path or an open(), one of them`);
  }
  if (path !== undefined && !storage) throw new TypeError(`zipDownload: the entry ${JSON.stringify(entry.name)} has a path, and the route no storage`);
  return { size, crc32, lastModified, path };
}

/** A listener's failure is logged, never the download's. */
function tellCrc32(entry: ZipEntry, label: string, sum: number): void {
  try {
    entry.onCrc32!(sum);
  } catch (error) {
    console.error(`next-downloadview: zipDownload: onCrc32 of ${label} failed`, error);
  }
}

class SizeMismatch extends Error {
  constructor(stored: number, expected: number) {
    super(`the stored file has ${stored} bytes, its entry ${expected}`);
    this.name = 'SizeMismatch';
  }
}

function reason(error: unknown): string {
  if (error instanceof NotFoundError) return 'the file is missing from the storage';
  if (error instanceof Error) return error.message;
  return String(error);
}

function logBreak(entry: ArchiveEntry, error: unknown): void {
  console.error(`next-downloadview: zipDownload: ${entry.label} broke the archive after the headers: ${reason(error)}`);
}

/**
 * Checks, before the archive commits to a status, that every entry's file is there with its size
 * (`check: true`). A file that is missing, of another size, or that the storage refuses to name
 * is a 502: the archive exists, but the store behind it failed the server (a 404 would tell the
 * client and any cache that there is no such archive). A 5xx of the storage stays (a store that
 * does not answer in time is its 504). One line of the log names the first failing entry.
 */
async function checkEntries(checks: readonly { entry: ZipEntry; path: string; label: string }[], storage: Storage): Promise<void> {
  let next = 0;
  const failures = new Map<number, unknown>();
  const worker = async () => {
    for (;;) {
      // A local disk may answer synchronously: without turns, 50,000 checks would be one run of microtasks.
      const wait = eventLoopTurn();
      if (wait) await wait;
      if (failures.size > 0 || next >= checks.length) return;
      const index = next++;
      const { entry, path } = checks[index]!;
      try {
        const stored = await storage.stat(path);
        if (entry.size !== undefined && stored.size !== entry.size) throw new SizeMismatch(stored.size, entry.size);
      } catch (error) {
        failures.set(index, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, checks.length) }, worker));
  if (failures.size === 0) return;
  const index = Math.min(...failures.keys());
  const error = failures.get(index);
  console.error(`next-downloadview: zipDownload: ${checks[index]!.label} breaks the archive: ${reason(error)}`);
  if (error instanceof HttpError && error.status >= 500) throw error;
  if (error instanceof HttpError || error instanceof SizeMismatch) {
    throw new HttpError(502, 'The archive cannot be made: a file is missing from the storage or has changed');
  }
  throw error;
}

