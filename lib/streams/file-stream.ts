import { closeSync, constants, fstatSync, openSync, read, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { FileChangedError } from '../errors';
import { bytesStream } from './bytes-stream';

/** 1 MiB: Node's default 64 KiB chunk costs a Next route handler 3-4x in throughput. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

/**
 * With `sync`, a body up to this size is read in one synchronous call and sent from memory:
 * from the page cache that takes a few µs, less than one thread-pool round trip.
 */
export const SMALL_BODY_SIZE = 64 * 1024;

/** Flags of every open: see `openFileStream`. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** What the caller saw when it decided the response; the opened file must still be that file. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface FileStreamOptions {
  /** First byte to send (default 0). */
  start?: number;
  /** Last byte to send, inclusive (default: the size in `expect`, or the size at open). */
  end?: number;
  chunkSize?: number;
  /** When given, the file opened must be this very file, unchanged; otherwise `FileChangedError`. */
  expect?: FileIdentity;
  /** When given, the opened file's stats must pass it; otherwise `FileChangedError`. */
  accept?: (stats: Stats) => boolean;
  /**
   * Open and check with synchronous calls, and read a body of at most `SMALL_BODY_SIZE` and one
   * chunk with one synchronous call too (larger ones are read in the thread pool), as nginx does
   * without aio: right for a local disk, where the calls hit the page cache; wrong for a network
   * file system, where they would block the event loop.
   */
  sync?: boolean;
}

export function identityOf(stats: Stats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * Opens `path` now (so that a missing or swapped file is an error before any header is sent) and
 * returns a stream of bytes `start..end` read with positional reads in large chunks.
 *
 * - The final path component is opened with O_NOFOLLOW: a symlink swapped in after the caller
 *   checked the path is refused instead of followed.
 * - Backpressure: nothing is read ahead (highWaterMark 0); a chunk is read when the consumer
 *   asks for one. Next's pipe to the socket already holds a chunk in flight, so a read-ahead
 *   would only add a third 1 MiB buffer per slow client (the bench's slow-clients workload).
 * - The file is closed as soon as the last byte is read, on cancel (client gone) and on error.
 * - If the file ends before `end` (it was truncated while being sent), the stream errors instead
 *   of ending: a short body must reach the client as a broken connection, never as a success.
 */
export async function openFileStream(
  path: string,
  options: FileStreamOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const start = options.start ?? 0;
  let opened: { handle: OpenFile; stats: Stats };
  if (options.sync) {
    const { fd, stats } = openCheckedFd(path, options);
    const end = options.end ?? stats.size - 1;
    if (end - start + 1 <= smallBodyLimit(options)) {
      try {
        return bytesStream(readAllSync(path, fd, start, end));
      } finally {
        closeSync(fd);
      }
    }
    opened = { handle: syncOpened(fd), stats };
  } else {
    opened = await openChecked(path, options);
  }
  return fileStream(fileBody(opened.handle, start, options.end ?? opened.stats.size - 1, options.chunkSize));
}

/**
 * Opens `path` like `openFileStream` (checked, `sync` or not) and gives the open file itself,
 * bytes `start..end` of it, instead of a stream: for a server that sends files with its own
 * reads (the kit's server, through the hand-off). The caller owns it and must `close()` it.
 */
export async function openFile(path: string, options: FileStreamOptions = {}): Promise<FileBody> {
  const { handle, stats } = options.sync
    ? (({ fd, stats }) => ({ handle: syncOpened(fd), stats }))(openCheckedFd(path, options))
    : await openChecked(path, options);
  return fileBody(handle, options.start ?? 0, options.end ?? stats.size - 1, options.chunkSize);
}

function fileBody(handle: OpenFile, start: number, end: number, chunkSize: number | undefined): FileBody {
  let closed = false;
  return {
    handle,
    start,
    end,
    chunkSize,
    close: async () => {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** Bytes `start..end` of an open file as a stream; the file is closed when the stream is done. */
export function fileStream(file: FileBody): ReadableStream<Uint8Array> {
  return fileHandleStream(file.handle, file.start, file.end, file.chunkSize ?? DEFAULT_CHUNK_SIZE, file.close);
}

/**
 * Opens `path` once, checked like `openFileStream`, and returns one stream per range, in the
 * order given, all reading from that one open file: a multipart/byteranges answer then sends
 * every part from the file that decided its headers, even if the name is deleted or another
 * file renamed over it meanwhile (RFC 9110 §14.6 parts describe one representation).
 *
 * The file is closed once, when every stream has ended, errored or been cancelled; a caller
 * that stops early must cancel the streams it will not read.
 */
export async function openFileRanges(
  path: string,
  ranges: readonly { start: number; end: number }[],
  options: Omit<FileStreamOptions, 'start' | 'end'> = {},
): Promise<ReadableStream<Uint8Array>[]> {
  const { handle } = await openChecked(path, options);
  let open = ranges.length;
  const release = async () => {
    if (--open === 0) await handle.close();
  };
  if (open === 0) await handle.close();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  return ranges.map(({ start, end }) => fileHandleStream(handle, start, end, chunkSize, release));
}

/**
 * The bytes `start..end` read at once with synchronous calls, checked like `openChecked`, when
 * they fit in one chunk of at most `SMALL_BODY_SIZE`; otherwise `undefined` (the caller streams
 * them). The file is closed before this returns. A file that ends early was changed after its
 * stat: `FileChangedError`, before any header is sent, so the request can look it up again.
 */
export function readSmallSync(path: string, options: Omit<FileStreamOptions, 'sync'>): Uint8Array<ArrayBuffer> | undefined {
  const limit = smallBodyLimit(options);
  const start = options.start ?? 0;
  // The size that decided the headers is known: a large body skips the synchronous open.
  if (options.expect && (options.end ?? options.expect.size - 1) - start + 1 > limit) return undefined;
  const { fd, stats } = openCheckedFd(path, options);
  try {
    const end = options.end ?? stats.size - 1;
    if (end - start + 1 > limit) return undefined;
    return readAllSync(path, fd, start, end);
  } finally {
    closeSync(fd);
  }
}

/** The largest body read at once: `SMALL_BODY_SIZE`, or one chunk if chunks are smaller. */
function smallBodyLimit(options: Pick<FileStreamOptions, 'chunkSize'>): number {
  return Math.min(SMALL_BODY_SIZE, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
}

/** Bytes `start..end` of an open file, read at once; a file that ends early was changed. */
function readAllSync(path: string, fd: number, start: number, end: number): Uint8Array<ArrayBuffer> {
  const length = Math.max(0, end - start + 1);
  const bytes = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const count = readSync(fd, bytes, filled, length - filled, start + filled);
    if (count === 0) throw new FileChangedError(path);
    filled += count;
  }
  return bytes;
}

/**
 * An open file as the streams and the kit's server use it: `fs/promises`' FileHandle, or a
 * descriptor opened synchronously (`openCheckedFd`), read in the thread pool all the same.
 */
export interface OpenFile {
  readonly fd: number;
  /** Reads up to `length` bytes at `position` of the file into `buffer` from `offset`; 0 bytes read is the end of the file. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Closes the file. */
  close(): Promise<void>;
}

/**
 * Descriptors of sync-opened files that were dropped without `close()` (a stream nobody read or
 * cancelled) are closed when the garbage collector takes them, as Node does for a FileHandle.
 * A file closed by its owner is unregistered first, so a descriptor number reused since is never
 * touched.
 */
const dropped = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already gone: nothing to release.
  }
});

/** A descriptor from `openSync`: reads go to the thread pool, the close is synchronous (nothing to flush after reads). */
function syncOpened(fd: number): OpenFile {
  let closed = false;
  const file: OpenFile = {
    fd,
    read: (buffer, offset, length, position) =>
      new Promise((resolve, reject) => {
        if (closed) return reject(new Error('file closed'));
        read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve({ bytesRead })));
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      dropped.unregister(file);
      closeSync(fd);
    },
  };
  dropped.register(file, fd, file);
  return file;
}

/**
 * `openChecked` with synchronous calls (`sync`), giving the descriptor itself (closed again if
 * the file is refused): open and fstat hit the page cache, and skip two thread-pool round trips
 * per download, which on a busy two-core box cost more than the calls.
 */
function openCheckedFd(path: string, options: Omit<FileStreamOptions, 'sync'>): { fd: number; stats: Stats } {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const stats = fstatSync(fd);
    checkStats(path, stats, options);
    return { fd, stats };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function checkStats(path: string, stats: Stats, options: Omit<FileStreamOptions, 'sync'>): void {
  if (
    !stats.isFile() ||
    (options.expect && !sameFile(identityOf(stats), options.expect)) ||
    (options.accept && !options.accept(stats))
  ) {
    throw new FileChangedError(path);
  }
}

async function openChecked(path: string, options: FileStreamOptions): Promise<{ handle: OpenFile; stats: Stats }> {
  // O_NONBLOCK: a FIFO swapped in for the file would otherwise block the open (and a libuv
  // thread) until a writer comes; it opens at once and is then refused as not a file.
  const handle = await open(path, OPEN_FLAGS);
  try {
    const stats = await handle.stat();
    checkStats(path, stats, options);
    return { handle, stats };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Bytes `start..end` (inclusive) of an open file: a body to send, from `openFile`. Whoever holds
 * it closes it, exactly once (`close` is idempotent).
 */
export interface FileBody {
  handle: OpenFile;
  start: number;
  end: number;
  /** Bytes per read when it is sent as a stream (`fileStream`); default `DEFAULT_CHUNK_SIZE`. */
  chunkSize?: number | undefined;
  /** Closes the file; later calls do nothing. */
  close(): Promise<void>;
}

/**
 * Bytes `start..end` of an open file; `release` is called exactly once, when the stream is done.
 */
function fileHandleStream(
  handle: OpenFile,
  start: number,
  end: number,
  chunkSize: number,
  release: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let position = start;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await release();
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const remaining = end - position + 1;
        if (remaining <= 0) {
          await close();
          controller.close();
          return;
        }
        const buffer = Buffer.allocUnsafe(Math.min(chunkSize, remaining));
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(buffer, 0, buffer.length, position));
        } catch (error) {
          await close().catch(() => undefined);
          throw error;
        }
        if (bytesRead === 0) {
          await close();
          throw new Error(`file ended ${remaining} bytes early`);
        }
        position += bytesRead;
        controller.enqueue(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
        if (position > end) {
          await close();
          controller.close();
        }
      },
      async cancel() {
        await close();
      },
    },
    { highWaterMark: 0 },
  );
}
