import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { stat, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesOf } from './bytes-stream';
import { FileChangedError } from '../errors';
import { identityOf, openFile, openFileStream, SMALL_BODY_SIZE } from './file-stream';
import { readBytes as readAll } from '../helpers.test-support';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'file-stream-sync-test-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function pattern(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 251;
  return bytes;
}

async function writeTemp(name: string, content: Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

describe('openFileStream with sync', () => {
  it('reads a small file at once into memory: the engine can send the bytes themselves', async () => {
    const content = pattern(4096);
    const file = await writeTemp('small.bin', content);
    const stream = await openFileStream(file, { sync: true, expect: identityOf(await stat(file)) });
    expect(Buffer.from(bytesOf(stream)!)).toEqual(content);
    expect(await readAll(stream)).toEqual(content);
  });

  it('reads exactly the bytes of a small range of a large file at once', async () => {
    const content = pattern(SMALL_BODY_SIZE * 3);
    const file = await writeTemp('large.bin', content);
    const stream = await openFileStream(file, { sync: true, start: 1000, end: 1000 + SMALL_BODY_SIZE - 1 });
    expect(Buffer.from(bytesOf(stream)!)).toEqual(content.subarray(1000, 1000 + SMALL_BODY_SIZE));
  });

  it('streams a body larger than SMALL_BODY_SIZE, whether or not the size was known before', async () => {
    const content = pattern(SMALL_BODY_SIZE + 1);
    const file = await writeTemp('over.bin', content);
    for (const expect_ of [undefined, identityOf(await stat(file))]) {
      const stream = await openFileStream(file, { sync: true, expect: expect_ });
      expect(bytesOf(stream)).toBeUndefined();
      expect(await readAll(stream)).toEqual(content);
    }
  });

  it('streams a body larger than one chunk in chunks, as without sync', async () => {
    const file = await writeTemp('chunks.bin', pattern(100));
    const stream = await openFileStream(file, { sync: true, chunkSize: 30 });
    expect(bytesOf(stream)).toBeUndefined();
    const sizes: number[] = [];
    for await (const chunk of stream) sizes.push(chunk.byteLength);
    expect(sizes).toEqual([30, 30, 30, 10]);
  });

  it('reads an empty file as an empty body', async () => {
    const file = await writeTemp('empty.bin', Buffer.alloc(0));
    const stream = await openFileStream(file, { sync: true });
    expect(bytesOf(stream)?.byteLength).toBe(0);
    expect(await readAll(stream)).toEqual(Buffer.alloc(0));
  });

  it('refuses a file that is no longer the one that decided the headers (FileChangedError)', async () => {
    const file = await writeTemp('changed.bin', pattern(100));
    const before = identityOf(await stat(file));
    await writeFile(file, pattern(101));
    await expect(openFileStream(file, { sync: true, expect: before })).rejects.toBeInstanceOf(FileChangedError);
  });

  it('refuses a file that ends before the range it was asked for, before any byte is sent', async () => {
    const file = await writeTemp('short.bin', pattern(100));
    await truncate(file, 50);
    await expect(openFileStream(file, { sync: true, start: 0, end: 99 })).rejects.toBeInstanceOf(FileChangedError);
  });

  it('refuses what the accept check refuses, and a folder', async () => {
    const file = await writeTemp('accept.bin', pattern(10));
    await expect(openFileStream(file, { sync: true, accept: () => false })).rejects.toBeInstanceOf(FileChangedError);
    await expect(openFileStream(dir, { sync: true })).rejects.toBeInstanceOf(FileChangedError);
  });

  it('does not follow a symlink in the last component (O_NOFOLLOW)', async () => {
    const file = await writeTemp('target.bin', pattern(10));
    const link = path.join(dir, 'link.bin');
    await symlink(file, link);
    await expect(openFileStream(link, { sync: true })).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('gives ENOENT for a missing file, as without sync', async () => {
    await expect(openFileStream(path.join(dir, 'missing'), { sync: true })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  describe('a large body, opened synchronously and read in the thread pool', () => {
    const openFds = () => readdirSync('/proc/self/fd').length;

    it('closes the descriptor when the stream ends, and when it is cancelled unread', async () => {
      const content = pattern(3 * SMALL_BODY_SIZE + 7);
      const file = await writeTemp('large.bin', content);
      const before = openFds();
      expect((await readAll(await openFileStream(file, { sync: true, chunkSize: SMALL_BODY_SIZE }))).equals(content)).toBe(true);
      expect(openFds()).toBe(before);
      const unread = await openFileStream(file, { sync: true });
      expect(openFds()).toBe(before + 1);
      await unread.cancel();
      expect(openFds()).toBe(before);
    });

    it('closes the descriptor of a stream dropped unread once it is garbage collected, as a FileHandle is', async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const file = await writeTemp('dropped.bin', pattern(2 * SMALL_BODY_SIZE));
      const before = openFds();
      // Opened and dropped in a frame of its own, so that nothing here keeps the stream.
      await (async () => {
        await openFileStream(file, { sync: true });
      })();
      expect(openFds()).toBe(before + 1);
      for (let i = 0; i < 50 && openFds() > before; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(openFds()).toBe(before);
    });

    it('refuses a large file replaced since its stat, before any byte is read', async () => {
      const file = await writeTemp('swapped.bin', pattern(2 * SMALL_BODY_SIZE));
      const before = identityOf(await stat(file));
      await writeFile(file, pattern(2 * SMALL_BODY_SIZE + 1));
      const fds = openFds();
      await expect(openFileStream(file, { sync: true, expect: before })).rejects.toBeInstanceOf(FileChangedError);
      expect(openFds()).toBe(fds);
    });

    it('errors instead of ending when the file is cut short while being read', async () => {
      const file = await writeTemp('cut.bin', pattern(4 * SMALL_BODY_SIZE));
      const stream = await openFileStream(file, { sync: true, chunkSize: SMALL_BODY_SIZE });
      const reader = stream.getReader();
      await reader.read();
      await truncate(file, SMALL_BODY_SIZE + 10);
      await reader.read();
      await expect(reader.read()).rejects.toThrow(/ended .* early/);
    });

    it('gives a large range as the open file, which reads the exact range and closes once', async () => {
      const content = pattern(2 * SMALL_BODY_SIZE);
      const file = await writeTemp('taken.bin', content);
      const before = openFds();
      const taken = await openFile(file, { sync: true, start: 10, end: 2 * SMALL_BODY_SIZE - 1 });
      expect(taken).toMatchObject({ start: 10, end: 2 * SMALL_BODY_SIZE - 1 });
      const buffer = Buffer.alloc(100);
      const { bytesRead } = await taken.handle.read(buffer, 0, 100, 10);
      expect(bytesRead).toBe(100);
      expect(buffer.equals(content.subarray(10, 110))).toBe(true);
      await taken.close();
      await taken.close();
      expect(openFds()).toBe(before);
      await expect(taken.handle.read(buffer, 0, 1, 0)).rejects.toThrow();
    });
  });
});
