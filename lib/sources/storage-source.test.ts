import { describe, expect, it } from 'vitest';
import type { ByteRange } from '../http/range';
import { type OpenOptions, type Storage, type StoredFile } from '../storage/storage';
import { NotFoundError } from '../errors';
import { storageSource } from './storage-source';

const MODIFIED = new Date('2026-01-02T03:04:05Z');

/** An in-memory storage that records what it was asked. */
function fakeStorage(files: Record<string, Omit<StoredFile, 'name'> & { body?: string }>) {
  const calls = { stat: [] as string[], open: [] as Array<{ name: string; options?: OpenOptions }> };
  const storage: Storage = {
    async stat(name) {
      calls.stat.push(name);
      const file = files[name];
      if (!file) throw new NotFoundError(name);
      const { body: _body, ...meta } = file;
      return { name, ...meta };
    },
    async open(name, options) {
      calls.open.push({ name, options });
      const body = files[name]?.body;
      if (body === undefined) throw new NotFoundError(name);
      const range: ByteRange | undefined = options?.range;
      const bytes = new TextEncoder().encode(body);
      const part = range ? bytes.subarray(range.start, range.end + 1) : bytes;
      return new ReadableStream({
        start(controller) {
          controller.enqueue(part);
          controller.close();
        },
      });
    },
    save: () => Promise.reject(new Error('not used')),
    delete: () => Promise.reject(new Error('not used')),
    exists: () => Promise.reject(new Error('not used')),
    list: () => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('not used')) }),
    }),
  };
  return { storage, calls };
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe('storageSource', () => {
  it('describes the stored file: size, modification time, etag and content type', async () => {
    const { storage } = fakeStorage({
      'a.txt': { size: 5, lastModified: MODIFIED, etag: '"v1"', contentType: 'text/csv', body: 'hello' },
    });
    const source = await storageSource(storage, 'a.txt');
    expect(source.size).toBe(5);
    expect(source.lastModified).toBe(MODIFIED);
    expect(source.etag).toBe('"v1"');
    expect(source.contentType).toBe('text/csv');
  });

  it('names the source after the last segment of the stored name', async () => {
    const { storage } = fakeStorage({ 'reports/2026/Q1 résumé.pdf': { size: 3, body: 'pdf' } });
    expect((await storageSource(storage, 'reports/2026/Q1 résumé.pdf')).name).toBe('Q1 résumé.pdf');
  });

  it('takes the name a plain top-level file has as it is', async () => {
    const { storage } = fakeStorage({ 'a.txt': { size: 5, body: 'hello' } });
    expect((await storageSource(storage, 'a.txt')).name).toBe('a.txt');
  });

  it('stats the file once, when it is made', async () => {
    const { storage, calls } = fakeStorage({ 'a.txt': { size: 5, body: 'hello' } });
    await storageSource(storage, 'a.txt');
    expect(calls.stat).toEqual(['a.txt']);
    expect(calls.open).toEqual([]);
  });

  it('uses metadata it is given instead of calling stat', async () => {
    const { storage, calls } = fakeStorage({ 'a.txt': { size: 5, body: 'hello' } });
    const known: StoredFile = { name: 'dir/a.txt', size: 5, etag: '"known"' };
    const source = await storageSource(storage, 'a.txt', known);
    expect(calls.stat).toEqual([]);
    expect(source.etag).toBe('"known"');
    expect(source.name).toBe('a.txt');
  });

  it('rejects with the storage NotFoundError for a missing file', async () => {
    const { storage } = fakeStorage({});
    await expect(storageSource(storage, 'missing.txt')).rejects.toBeInstanceOf(NotFoundError);
  });

  describe('open', () => {
    it('opens the whole file with ifMatch set to the etag that decided the headers', async () => {
      const { storage, calls } = fakeStorage({ 'sub/a.txt': { size: 5, etag: '"v1"', body: 'hello' } });
      const source = await storageSource(storage, 'sub/a.txt');
      expect(await text(await source.open())).toBe('hello');
      expect(calls.open).toEqual([{ name: 'sub/a.txt', options: { range: undefined, ifMatch: '"v1"' } }]);
    });

    it('opens a range with ifMatch', async () => {
      const { storage, calls } = fakeStorage({ 'a.txt': { size: 5, etag: { tag: 'v2' }, body: 'hello' } });
      const source = await storageSource(storage, 'a.txt');
      expect(await text(await source.open({ start: 1, end: 3 }))).toBe('ell');
      expect(calls.open[0]?.options).toEqual({ range: { start: 1, end: 3 }, ifMatch: { tag: 'v2' } });
    });

    it('passes the etag of known metadata as ifMatch', async () => {
      const { storage, calls } = fakeStorage({ 'a.txt': { size: 5, etag: '"current"', body: 'hello' } });
      const source = await storageSource(storage, 'a.txt', { name: 'a.txt', size: 5, etag: '"known"' });
      await source.open();
      expect(calls.open[0]?.options?.ifMatch).toBe('"known"');
    });

    it('opens by the name it was asked for, not by the name in the metadata', async () => {
      const { storage, calls } = fakeStorage({ 'sub/a.txt': { size: 5, body: 'hello' } });
      const source = await storageSource(storage, 'sub/a.txt', { name: 'other/name.txt', size: 5 });
      await source.open();
      expect(calls.open[0]?.name).toBe('sub/a.txt');
    });
  });

  describe('readSmall', () => {
    function withReadSmall(size: number) {
      const { storage, calls } = fakeStorage({ 'a.txt': { size, etag: '"v1"', body: 'x'.repeat(size) } });
      const asked: Array<{ name: string; options?: OpenOptions }> = [];
      storage.readSmall = async (name, options) => {
        asked.push({ name, options });
        return new TextEncoder().encode('x'.repeat(size));
      };
      return { storage, calls, asked };
    }

    it('asks the storage for a small body with the etag that decided the headers', async () => {
      const { storage, asked } = withReadSmall(5);
      const source = await storageSource(storage, 'a.txt');
      expect(await source.readSmall!()).toHaveLength(5);
      expect(await source.readSmall!({ start: 1, end: 2 })).toHaveLength(5);
      expect(asked).toEqual([
        { name: 'a.txt', options: { range: undefined, ifMatch: '"v1"' } },
        { name: 'a.txt', options: { range: { start: 1, end: 2 }, ifMatch: '"v1"' } },
      ]);
    });

    it('does not ask for a body larger than 64 KiB', async () => {
      const { storage, asked } = withReadSmall(64 * 1024 + 1);
      const source = await storageSource(storage, 'a.txt');
      expect(await source.readSmall!()).toBeUndefined();
      expect(await source.readSmall!({ start: 0, end: 64 * 1024 })).toBeUndefined();
      expect(await source.readSmall!({ start: 0, end: 64 * 1024 - 1 })).toBeInstanceOf(Uint8Array);
      expect(asked.map((call) => call.options?.range)).toEqual([{ start: 0, end: 64 * 1024 - 1 }]);
    });

    it('is absent when the storage cannot read at once', async () => {
      const { storage } = fakeStorage({ 'a.txt': { size: 5, body: 'hello' } });
      expect((await storageSource(storage, 'a.txt')).readSmall).toBeUndefined();
    });
  });
});
