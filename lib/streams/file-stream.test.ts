import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { mkdir, rename, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileChangedError } from '../errors';
import { identityOf, openFileRanges, openFileStream } from './file-stream';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'file-stream-test-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Bytes 0, 1, 2, ... (mod 251, so no period lines up with a power of two). */
function pattern(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 251;
  return bytes;
}

async function writeTemp(name: string, content: Buffer | string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

async function readChunks(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.concat(await readChunks(stream));
}

/** How many of this process's file descriptors point at `file`. */
function openFdsFor(file: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) count++;
    } catch {
      // The fd used by readdir itself is gone by the time it is read.
    }
  }
  return count;
}

/** Waits (bounded) for the fds on `file` to drop to `expected`; returns the last count seen. */
async function settleFds(file: string, expected = 0, timeoutMs = 1000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = openFdsFor(file);
  while (count !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    count = openFdsFor(file);
  }
  return count;
}

describe('openFileStream', () => {
  describe('without a range', () => {
    it('streams the whole file', async () => {
      const content = pattern(10_000);
      const file = await writeTemp('whole.bin', content);
      expect((await readAll(await openFileStream(file))).equals(content)).toBe(true);
    });

    it('streams the whole file across many small chunks', async () => {
      const content = pattern(1000);
      const file = await writeTemp('small-chunks.bin', content);
      const chunks = await readChunks(await openFileStream(file, { chunkSize: 7 }));
      expect(Buffer.concat(chunks).equals(content)).toBe(true);
      expect(chunks.length).toBe(Math.ceil(1000 / 7));
    });

    it('ends at once, with no bytes, for an empty file', async () => {
      const file = await writeTemp('empty.bin', '');
      const chunks = await readChunks(await openFileStream(file));
      expect(Buffer.concat(chunks).length).toBe(0);
    });

    it('never yields a chunk larger than chunkSize', async () => {
      const content = pattern(5000);
      const file = await writeTemp('sizes.bin', content);
      for (const chunkSize of [1, 7, 64, 4096, 5000, 10_000]) {
        const chunks = await readChunks(await openFileStream(file, { chunkSize }));
        expect(Buffer.concat(chunks).equals(content)).toBe(true);
        for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(chunkSize);
        // Every chunk but the last is full: reads are not needlessly small.
        for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBe(chunkSize);
      }
    });
  });

  describe('with a range', () => {
    const size = 100;
    const rows: Array<{ name: string; start: number; end: number }> = [
      { name: 'the first byte', start: 0, end: 0 },
      { name: 'the last byte', start: size - 1, end: size - 1 },
      { name: 'a middle span', start: 13, end: 58 },
      { name: 'exactly one chunk, on its boundaries', start: 7, end: 13 },
      { name: 'a span ending on a chunk boundary', start: 3, end: 13 },
      { name: 'a span starting on a chunk boundary', start: 14, end: 30 },
      { name: 'the whole file, spelled out', start: 0, end: size - 1 },
      { name: 'everything but the first byte', start: 1, end: size - 1 },
    ];

    it.each(rows)('streams exactly the bytes start..end across chunk boundaries: $name', async ({ start, end }) => {
      const content = pattern(size);
      const file = await writeTemp('range.bin', content);
      const chunks = await readChunks(await openFileStream(file, { start, end, chunkSize: 7 }));
      expect(Buffer.concat(chunks).equals(content.subarray(start, end + 1))).toBe(true);
      for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(7);
    });

    it('streams from start to the end of the file when only start is given', async () => {
      const content = pattern(size);
      const file = await writeTemp('from.bin', content);
      const bytes = await readAll(await openFileStream(file, { start: 90, chunkSize: 7 }));
      expect(bytes.equals(content.subarray(90))).toBe(true);
    });

    it('errors rather than ends short when end lies past the end of the file', async () => {
      const file = await writeTemp('short.bin', pattern(size));
      const stream = await openFileStream(file, { start: 90, end: 150, chunkSize: 7 });
      await expect(readAll(stream)).rejects.toThrow(/early/);
    });
  });

  describe('with an expected identity', () => {
    it('streams the file when it is still the one that was stat-ed', async () => {
      const content = pattern(500);
      const file = await writeTemp('same.bin', content);
      const expected = identityOf(await stat(file));
      expect((await readAll(await openFileStream(file, { expect: expected }))).equals(content)).toBe(true);
    });

    it('rejects with FileChangedError when the file was rewritten with another size', async () => {
      const file = await writeTemp('rewritten.bin', pattern(500));
      const expected = identityOf(await stat(file));
      await writeFile(file, pattern(400));
      await expect(openFileStream(file, { expect: expected })).rejects.toBeInstanceOf(FileChangedError);
    });

    it('rejects with FileChangedError when another file of the same size was renamed over it', async () => {
      const file = await writeTemp('replaced.bin', pattern(500));
      const expected = identityOf(await stat(file));
      const other = await writeTemp('other.bin', Buffer.alloc(500, 1));
      // Same mtime too, so that only the inode tells them apart.
      await utimes(other, expected.mtimeMs / 1000, expected.mtimeMs / 1000);
      await rename(other, file);
      await expect(openFileStream(file, { expect: expected })).rejects.toBeInstanceOf(FileChangedError);
    });

    it('rejects with FileChangedError when only the modification time changed', async () => {
      const file = await writeTemp('touched.bin', pattern(500));
      const expected = identityOf(await stat(file));
      const later = new Date(expected.mtimeMs + 5000);
      await utimes(file, later, later);
      await expect(openFileStream(file, { expect: expected })).rejects.toBeInstanceOf(FileChangedError);
    });

    it('closes the file it opened when the identity does not match', async () => {
      const file = await writeTemp('mismatch-fd.bin', pattern(500));
      const expected = identityOf(await stat(file));
      await writeFile(file, pattern(10));
      await expect(openFileStream(file, { expect: expected })).rejects.toBeInstanceOf(FileChangedError);
      expect(await settleFds(file)).toBe(0);
    });
  });

  describe('when the path is not a plain file', () => {
    it('refuses a symlink as the final component with ELOOP (O_NOFOLLOW)', async () => {
      const target = await writeTemp('target.bin', pattern(10));
      const link = path.join(dir, 'link.bin');
      await symlink(target, link);
      await expect(openFileStream(link)).rejects.toMatchObject({ code: 'ELOOP' });
    });

    it('rejects with ENOENT for a missing file', async () => {
      await expect(openFileStream(path.join(dir, 'missing.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('refuses a FIFO swapped in for the file without blocking on it', async () => {
      const fifo = path.join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const opening = openFileStream(fifo);
      const outcome = await Promise.race([
        opening.then(
          () => 'opened',
          (error: unknown) => (error instanceof FileChangedError ? 'refused' : `failed: ${String(error)}`),
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('still blocked after 1 s'), 1000)),
      ]);
      if (outcome === 'still blocked after 1 s') {
        // Unblock the open(2) stuck in the thread pool: a writer arriving lets it return.
        const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        closeSync(writer);
        await opening.catch(() => undefined);
      }
      expect(outcome).toBe('refused');
    });

    it('refuses a directory, and closes it', async () => {
      const sub = path.join(dir, 'sub');
      await mkdir(sub);
      await expect(openFileStream(sub)).rejects.toBeInstanceOf(FileChangedError);
      expect(await settleFds(sub)).toBe(0);
    });
  });

  describe('when the file is truncated while streaming', () => {
    it('errors the stream instead of ending it', async () => {
      const content = pattern(1000);
      const file = await writeTemp('truncated.bin', content);
      const reader = (await openFileStream(file, { chunkSize: 7 })).getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      await truncate(file, 0);

      let received = first.value!.length;
      const readOn = async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return 'ended';
          received += value.length;
        }
      };
      await expect(readOn()).rejects.toThrow(/early/);
      // At most the chunk read ahead before the truncation got through.
      expect(received).toBeLessThanOrEqual(14);
      expect(await settleFds(file)).toBe(0);
    });

    it('errors when the file shrinks to a point inside the range', async () => {
      const file = await writeTemp('shrunk.bin', pattern(1000));
      const stream = await openFileStream(file, { chunkSize: 7 });
      const reader = stream.getReader();
      await reader.read();
      await truncate(file, 500);
      let received = 7;
      const readOn = async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return 'ended';
          received += value.length;
        }
      };
      await expect(readOn()).rejects.toThrow(/early/);
      expect(received).toBe(500);
    });
  });

  describe('file descriptors', () => {
    it('holds one fd while open and closes it after the last byte is read', async () => {
      const file = await writeTemp('fd-full.bin', pattern(100));
      expect(openFdsFor(file)).toBe(0);
      const stream = await openFileStream(file, { chunkSize: 7 });
      expect(openFdsFor(file)).toBe(1);
      await readAll(stream);
      expect(await settleFds(file)).toBe(0);
    });

    it('closes the fd when the stream is cancelled part-way', async () => {
      const file = await writeTemp('fd-cancel.bin', pattern(100));
      const reader = (await openFileStream(file, { chunkSize: 7 })).getReader();
      await reader.read();
      expect(openFdsFor(file)).toBe(1);
      await reader.cancel();
      expect(await settleFds(file)).toBe(0);
    });

    it('closes the fd when cancelled before anything is read', async () => {
      const file = await writeTemp('fd-cancel-early.bin', pattern(4 * 1024 * 1024));
      const stream = await openFileStream(file);
      await stream.cancel();
      expect(await settleFds(file)).toBe(0);
    });

    it('closes the fd when cancelled while a read is in flight', async () => {
      const file = await writeTemp('fd-cancel-inflight.bin', pattern(8 * 1024 * 1024));
      const reader = (await openFileStream(file, { chunkSize: 4 * 1024 * 1024 })).getReader();
      await reader.read();
      // Ask for the next chunk and cancel while its read is in flight.
      const pending = reader.read();
      await reader.cancel();
      expect((await pending).done).toBe(true);
      expect(await settleFds(file)).toBe(0);
    });

    it('closes the fd when the stream errors', async () => {
      const file = await writeTemp('fd-error.bin', pattern(100));
      const stream = await openFileStream(file, { end: 500, chunkSize: 7 });
      await expect(readAll(stream)).rejects.toThrow(/early/);
      expect(await settleFds(file)).toBe(0);
    });

    it('leaves the process fd count where it was after many full reads, cancels and errors', async () => {
      const file = await writeTemp('fd-many.bin', pattern(100));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const before = readdirSync('/proc/self/fd').length;
      for (let i = 0; i < 20; i++) {
        await readAll(await openFileStream(file, { chunkSize: 7 }));
        const reader = (await openFileStream(file, { chunkSize: 7 })).getReader();
        await reader.read();
        await reader.cancel();
        await expect(readAll(await openFileStream(file, { end: 200, chunkSize: 7 }))).rejects.toThrow();
      }
      await settleFds(file);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(before);
    });
  });
});

describe('openFileRanges', () => {
  it('streams each range, in the order given, from one open file', async () => {
    const data = pattern(100);
    const file = await writeTemp('ranges.bin', data);
    const streams = await openFileRanges(file, [{ start: 90, end: 99 }, { start: 0, end: 4 }, { start: 40, end: 60 }], { chunkSize: 3 });
    expect(openFdsFor(file)).toBe(1);
    expect(await readAll(streams[0]!)).toEqual(data.subarray(90, 100));
    expect(await readAll(streams[1]!)).toEqual(data.subarray(0, 5));
    expect(await readAll(streams[2]!)).toEqual(data.subarray(40, 61));
    expect(await settleFds(file)).toBe(0);
  });

  it('reads the file it opened after the name was deleted or another file renamed over it', async () => {
    const data = pattern(100);
    const file = await writeTemp('ranges-swap.bin', data);
    const [first, second, third] = await openFileRanges(file, [{ start: 0, end: 9 }, { start: 50, end: 59 }, { start: 90, end: 99 }]);
    expect(await readAll(first!)).toEqual(data.subarray(0, 10));
    await writeFile(path.join(dir, 'other.bin'), Buffer.alloc(100, 0xee));
    await rename(path.join(dir, 'other.bin'), file);
    expect(await readAll(second!)).toEqual(data.subarray(50, 60));
    rmSync(file);
    expect(await readAll(third!)).toEqual(data.subarray(90, 100));
  });

  it('keeps the file open until every stream is done, and closes it once the rest are cancelled', async () => {
    const file = await writeTemp('ranges-cancel.bin', pattern(100));
    const [first, second, third] = await openFileRanges(file, [{ start: 0, end: 9 }, { start: 20, end: 29 }, { start: 40, end: 49 }]);
    await readAll(first!);
    expect(openFdsFor(file)).toBe(1);
    const reader = second!.getReader();
    await reader.read();
    await reader.cancel();
    expect(openFdsFor(file)).toBe(1);
    await third!.cancel();
    expect(await settleFds(file)).toBe(0);
  });

  it('errors a range the file has shrunk below, and still closes the file', async () => {
    const file = await writeTemp('ranges-shrink.bin', pattern(100));
    const [first, second] = await openFileRanges(file, [{ start: 0, end: 9 }, { start: 80, end: 99 }]);
    await readAll(first!);
    await truncate(file, 50);
    await expect(readAll(second!)).rejects.toThrow(/early/);
    expect(await settleFds(file)).toBe(0);
  });

  it('rejects with FileChangedError, holding no fd, when the file is not the expected one', async () => {
    const file = await writeTemp('ranges-identity.bin', pattern(100));
    const expected = identityOf(await stat(file));
    await writeFile(file, pattern(101));
    await expect(openFileRanges(file, [{ start: 0, end: 1 }], { expect: expected })).rejects.toBeInstanceOf(FileChangedError);
    expect(await settleFds(file)).toBe(0);
  });
});

describe('identityOf', () => {
  it('takes dev, ino, size and mtimeMs from stats', async () => {
    const file = await writeTemp('identity.bin', pattern(42));
    const stats = await stat(file);
    expect(identityOf(stats)).toEqual({ dev: stats.dev, ino: stats.ino, size: 42, mtimeMs: stats.mtimeMs });
  });
});
