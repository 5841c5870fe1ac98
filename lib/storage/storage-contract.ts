import { describe, expect, it } from 'vitest';
import { FileChangedError, HttpError, NotFoundError } from '../errors';
import type { Storage } from './storage';

/**
 * What every `Storage` promises, as one suite that each storage runs against a real backend
 * (a temporary folder, an S3-compatible server). `makeStorage` gives a new, empty storage for
 * each test.
 *
 * @example
 * describeStorageContract('FileSystemStorage', async () => new FileSystemStorage(await mkdtemp(...)));
 */
/** The names a storage lists under `prefix`, sorted. */
export async function storedNames(storage: Storage, prefix?: string): Promise<string[]> {
  const found: string[] = [];
  for await (const file of storage.list(prefix)) found.push(file.name);
  return found.sort();
}

/** What `promise` rejects with; fails if it fulfils. */
export async function rejection<E = unknown>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('expected a rejection');
}

export function describeStorageContract(name: string, makeStorage: () => Promise<Storage>): void {
  async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
    return Buffer.from(await new Response(stream).arrayBuffer()).toString('utf8');
  }

  describe(`${name} (storage contract)`, () => {
    describe('stat', () => {
      it('gives the size, a strong etag and the modification time of a saved file', async () => {
        const storage = await makeStorage();
        await storage.save('a.txt', 'hello, world\n');
        const stored = await storage.stat('a.txt');
        expect(stored.name).toBe('a.txt');
        expect(stored.size).toBe(13);
        expect(stored.etag).toBeDefined();
        expect(String(typeof stored.etag === 'string' ? stored.etag : stored.etag!.tag)).not.toMatch(/^W\//);
        expect(stored.lastModified).toBeInstanceOf(Date);
      });

      it('throws NotFoundError (404) for a missing file', async () => {
        const storage = await makeStorage();
        const error = await rejection(storage.stat('missing.txt'));
        expect(error).toBeInstanceOf(NotFoundError);
        expect((error as HttpError).status).toBe(404);
      });
    });

    describe('open', () => {
      it('streams the whole file', async () => {
        const storage = await makeStorage();
        await storage.save('sub/b.txt', 'nested file\n');
        expect(await text(await storage.open('sub/b.txt'))).toBe('nested file\n');
      });

      it('streams an inclusive byte range', async () => {
        const storage = await makeStorage();
        await storage.save('a.txt', 'hello, world\n');
        expect(await text(await storage.open('a.txt', { range: { start: 7, end: 11 } }))).toBe('world');
        expect(await text(await storage.open('a.txt', { range: { start: 0, end: 0 } }))).toBe('h');
      });

      it('opens the version it is asked for (ifMatch = the etag of stat)', async () => {
        const storage = await makeStorage();
        await storage.save('a.txt', 'hello, world\n');
        const { etag } = await storage.stat('a.txt');
        expect(await text(await storage.open('a.txt', { ifMatch: etag, range: { start: 0, end: 4 } }))).toBe('hello');
      });

      it('throws FileChangedError when the file was replaced after the stat that decided the headers', async () => {
        const storage = await makeStorage();
        await storage.save('a.txt', 'hello, world\n');
        const { etag } = await storage.stat('a.txt');
        await storage.save('a.txt', 'another version, longer\n', { overwrite: true });
        expect(await rejection(storage.open('a.txt', { ifMatch: etag }))).toBeInstanceOf(FileChangedError);
        expect(await rejection(storage.open('a.txt', { ifMatch: etag, range: { start: 0, end: 3 } }))).toBeInstanceOf(FileChangedError);
      });

      it('throws NotFoundError for a missing file', async () => {
        const storage = await makeStorage();
        expect(await rejection(storage.open('missing.txt'))).toBeInstanceOf(NotFoundError);
      });
    });

    describe('save', () => {
      it('stores text, bytes, iterables and streams byte for byte', async () => {
        const storage = await makeStorage();
        const bytes = new Uint8Array(300).map((_, i) => i % 256);
        await storage.save('text.txt', 'grüße\n');
        await storage.save('bytes.bin', bytes);
        await storage.save('iterable.txt', ['one ', new TextEncoder().encode('two')]);
        await storage.save('async.txt', (async function* () {
          yield 'three ';
          yield 'four';
        })());
        await storage.save('stream.txt', new Response('five six').body!);
        expect(await text(await storage.open('text.txt'))).toBe('grüße\n');
        expect(new Uint8Array(await new Response(await storage.open('bytes.bin')).arrayBuffer())).toEqual(bytes);
        expect(await text(await storage.open('iterable.txt'))).toBe('one two');
        expect(await text(await storage.open('async.txt'))).toBe('three four');
        expect(await text(await storage.open('stream.txt'))).toBe('five six');
      });

      it('returns what stat gives', async () => {
        const storage = await makeStorage();
        const saved = await storage.save('a.txt', 'abc');
        const stored = await storage.stat('a.txt');
        expect(saved.size).toBe(3);
        expect(saved.etag).toEqual(stored.etag);
      });

      it('saves an empty file', async () => {
        const storage = await makeStorage();
        expect((await storage.save('empty.txt', '')).size).toBe(0);
        expect(await text(await storage.open('empty.txt'))).toBe('');
      });

      it('shows nothing under the name until the save completes, and the old file while it replaces it', async () => {
        const storage = await makeStorage();
        const seen: unknown[] = [];
        await storage.save('new.txt', (async function* () {
          yield 'first half, ';
          seen.push(await storage.exists('new.txt'), await storedNames(storage));
          yield 'second half';
        })());
        expect(seen).toEqual([false, []]);
        expect(await text(await storage.open('new.txt'))).toBe('first half, second half');
        await storage.save('new.txt', (async function* () {
          yield 'replacement ';
          seen.push(await text(await storage.open('new.txt')));
          yield 'done';
        })(), { overwrite: true });
        expect(seen[2]).toBe('first half, second half');
        expect(await text(await storage.open('new.txt'))).toBe('replacement done');
      });

      it('refuses to replace a file with 409 unless overwrite is set, and keeps the old bytes', async () => {
        const storage = await makeStorage();
        await storage.save('a.txt', 'first');
        const error = await rejection(storage.save('a.txt', 'second'));
        expect((error as HttpError).status).toBe(409);
        expect(await text(await storage.open('a.txt'))).toBe('first');
        await storage.save('a.txt', 'third', { overwrite: true });
        expect(await text(await storage.open('a.txt'))).toBe('third');
      });

      it('refuses a body past maxBytes with 413 and keeps nothing', async () => {
        const storage = await makeStorage();
        const error = await rejection(storage.save('big.bin', (async function* () {
          yield new Uint8Array(60);
          yield new Uint8Array(60);
        })(), { maxBytes: 100 }));
        expect((error as HttpError).status).toBe(413);
        expect(await storage.exists('big.bin')).toBe(false);
        expect(await storedNames(storage)).toEqual([]);
        expect((await storage.save('fits.bin', new Uint8Array(100), { maxBytes: 100 })).size).toBe(100);
      });

      it('keeps nothing when the content fails half way, and leaves an older file as it was', async () => {
        const storage = await makeStorage();
        const failing = async function* () {
          yield 'partial ';
          throw new Error('client went away');
        };
        await expect(storage.save('new.txt', failing())).rejects.toThrow('client went away');
        expect(await storage.exists('new.txt')).toBe(false);
        await storage.save('old.txt', 'old');
        await expect(storage.save('old.txt', failing(), { overwrite: true })).rejects.toThrow('client went away');
        expect(await text(await storage.open('old.txt'))).toBe('old');
        expect(await storedNames(storage)).toEqual(['old.txt']);
      });
    });

    describe('delete and exists', () => {
      it('removes a file once, then says there was none', async () => {
        const storage = await makeStorage();
        await storage.save('a.txt', 'x');
        expect(await storage.exists('a.txt')).toBe(true);
        expect(await storage.delete('a.txt')).toBe(true);
        expect(await storage.exists('a.txt')).toBe(false);
        expect(await storage.delete('a.txt')).toBe(false);
        expect(await rejection(storage.stat('a.txt'))).toBeInstanceOf(NotFoundError);
      });
    });

    describe('list', () => {
      it('lists every file, and by prefix only those under it', async () => {
        const storage = await makeStorage();
        for (const file of ['a.txt', 'docs/one.txt', 'docs/two.txt', 'docs/deep/three.txt', 'docsx.txt']) await storage.save(file, file);
        expect(await storedNames(storage)).toEqual(['a.txt', 'docs/deep/three.txt', 'docs/one.txt', 'docs/two.txt', 'docsx.txt']);
        expect(await storedNames(storage, 'docs/')).toEqual(['docs/deep/three.txt', 'docs/one.txt', 'docs/two.txt']);
        expect(await storedNames(storage, 'nothing/')).toEqual([]);
        for await (const file of storage.list('docs/one')) expect(file.size).toBe('docs/one.txt'.length);
      });
    });

    describe('names', () => {
      it.each(['../a.txt', 'docs/../../a.txt', '/etc/passwd', 'a\\b.txt', 'a\u0000b', 'a\nb', 'docs//a.txt', './a.txt'])(
        'refuses %j with a 4xx everywhere, before touching anything',
        async (bad) => {
          const storage = await makeStorage();
          for (const attempt of [storage.stat(bad), storage.open(bad), storage.save(bad, 'x'), storage.delete(bad)]) {
            const error = await rejection(attempt);
            expect(error).toBeInstanceOf(HttpError);
            expect((error as HttpError).status).toBeGreaterThanOrEqual(400);
            expect((error as HttpError).status).toBeLessThan(500);
          }
          expect(await storage.exists(bad)).toBe(false);
          expect(await storedNames(storage)).toEqual([]);
        },
      );

      it('keeps non-ASCII and spaced names as they are', async () => {
        const storage = await makeStorage();
        await storage.save('résumé final (2).pdf', 'pdf');
        await storage.save('中文/文件.txt', 'zh');
        expect(await storedNames(storage)).toEqual(['中文/文件.txt', 'résumé final (2).pdf'].sort());
        expect(await text(await storage.open('中文/文件.txt'))).toBe('zh');
      });
    });
  });
}
