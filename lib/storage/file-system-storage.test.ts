import { link, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, FileChangedError, NotFoundError } from '../errors';
import { FileSystemStorage } from './file-system-storage';
import { type StoredFile } from './storage';
import { rejection, storedNames } from './storage-contract';

// FileSystemStorage against a real temporary directory:
//   <tmp>/media/a.txt, with space.txt, résumé.pdf, sub/b.txt, sub/deep/c.txt, sub/.hidden, dir/,
//     .env, .git/config, link-in -> a.txt, link-out -> ../outside/secret.txt,
//     link-dir-out -> ../outside, link-sibling -> ../media2/secret.txt, link-sibling-dir -> ../media2,
//     link-to-dotfile -> .env
//   <tmp>/media2/secret.txt   (a sibling whose name starts with the root's name)
//   <tmp>/outside/secret.txt

const A = 'hello, world\n'; // 13 bytes
const B = 'nested file\n';
const C = 'deeper still\n';
const SECRET = 'TOP-SECRET-BYTES';

let tmp: string;
let root: string;
let storage: FileSystemStorage;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'fs-storage-'));
  root = path.join(tmp, 'media');
  await mkdir(path.join(root, 'sub', 'deep'), { recursive: true });
  await mkdir(path.join(root, 'dir'));
  await mkdir(path.join(root, '.git'));
  await mkdir(path.join(tmp, 'media2'));
  await mkdir(path.join(tmp, 'outside'));
  await writeFile(path.join(root, 'a.txt'), A);
  await writeFile(path.join(root, 'with space.txt'), 'spaced');
  await writeFile(path.join(root, 'résumé.pdf'), '%PDF-1.4');
  await writeFile(path.join(root, 'sub', 'b.txt'), B);
  await writeFile(path.join(root, 'sub', 'deep', 'c.txt'), C);
  await writeFile(path.join(root, 'sub', '.hidden'), SECRET);
  await writeFile(path.join(root, '.env'), SECRET);
  await writeFile(path.join(root, '.git', 'config'), SECRET);
  await writeFile(path.join(tmp, 'media2', 'secret.txt'), SECRET);
  await writeFile(path.join(tmp, 'outside', 'secret.txt'), SECRET);
  await symlink(path.join(root, 'a.txt'), path.join(root, 'link-in'));
  await symlink(path.join(tmp, 'outside', 'secret.txt'), path.join(root, 'link-out'));
  await symlink(path.join(tmp, 'outside'), path.join(root, 'link-dir-out'));
  await symlink(path.join(tmp, 'media2', 'secret.txt'), path.join(root, 'link-sibling'));
  await symlink(path.join(tmp, 'media2'), path.join(root, 'link-sibling-dir'));
  await symlink(path.join(root, '.env'), path.join(root, 'link-to-dotfile'));
  storage = new FileSystemStorage(root);
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return (await bytes(stream)).toString('utf8');
}

async function bytes(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function fileEtag(file: string): Promise<string> {
  const stats = await stat(file);
  return `"${Math.floor(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}"`;
}

async function expectStatus(promise: Promise<unknown>, status: number): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(HttpError);
  expect((error as HttpError).status).toBe(status);
}

async function expectNotFound(promise: Promise<unknown>): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(NotFoundError);
  expect((error as NotFoundError).status).toBe(404);
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** Files in `folder` that look like save()'s temporary files. */
async function partFiles(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name.endsWith('.part'));
}

/** Polls (bounded) until `check` is true. */
async function until(check: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Yields `first`, then waits for `release` before yielding `rest`. */
async function* held(first: string, rest: string, release: Promise<void>): AsyncGenerator<string> {
  yield first;
  await release;
  yield rest;
}

// Names that could name another file than the one they spell.
const REFUSED: Array<[string, string]> = [
  ['..', 'the parent'],
  ['../outside/secret.txt', 'a climb out of the root'],
  ['a/../b', 'a climb inside the name'],
  ['sub/../../outside/secret.txt', 'a climb hidden after a real folder'],
  ['.', 'the current folder'],
  ['sub/./b.txt', 'a dot segment'],
  ['/etc/passwd', 'an absolute path'],
  ['/a.txt', 'a leading slash'],
  ['a//b', 'an empty segment'],
  ['sub/', 'a trailing slash'],
  ['sub\\b.txt', 'a backslash'],
  ['..\\outside\\secret.txt', 'a backslash climb'],
  ['a\u0000.txt', 'a NUL byte'],
  ['a\n.txt', 'a newline'],
  ['a\u001f.txt', 'a control character'],
  ['a\u007f.txt', 'DEL'],
];

describe('FileSystemStorage', () => {
  describe('constructor', () => {
    it('resolves the root to an absolute path', () => {
      expect(new FileSystemStorage('relative/media').root).toBe(path.resolve('relative/media'));
    });

    it('refuses an empty root', () => {
      expect(() => new FileSystemStorage('')).toThrow(TypeError);
    });
  });

  describe('stat', () => {
    it('gives the size, modification time and a size+mtime etag of a file', async () => {
      const file = path.join(root, 'a.txt');
      const stored = await storage.stat('a.txt');
      expect(stored.name).toBe('a.txt');
      expect(stored.size).toBe(13);
      expect(stored.lastModified?.getTime()).toBe((await stat(file)).mtime.getTime());
      expect(stored.etag).toBe(await fileEtag(file));
    });

    it('finds files in nested folders and keeps the name it was asked for', async () => {
      const stored = await storage.stat('sub/deep/c.txt');
      expect(stored.name).toBe('sub/deep/c.txt');
      expect(stored.size).toBe(Buffer.byteLength(C));
    });

    it('finds names with spaces and non-ASCII characters', async () => {
      expect((await storage.stat('with space.txt')).size).toBe(6);
      expect((await storage.stat('résumé.pdf')).size).toBe(8);
    });

    it('follows a symlink that stays inside the root', async () => {
      expect((await storage.stat('link-in')).size).toBe(13);
    });

    it('throws NotFoundError (404) for a missing file', async () => {
      await expectNotFound(storage.stat('missing.txt'));
      await expectNotFound(storage.stat('sub/missing/deeper.txt'));
    });

    it('throws NotFoundError for a name that goes through a file as if it were a folder', async () => {
      await expectNotFound(storage.stat('a.txt/x'));
    });

    it('throws NotFoundError for a directory', async () => {
      await expectNotFound(storage.stat('dir'));
      await expectNotFound(storage.stat('sub'));
    });

    it('throws NotFoundError when the root itself does not exist', async () => {
      await expectNotFound(new FileSystemStorage(path.join(tmp, 'nowhere')).stat('a.txt'));
    });

    it('throws NotFoundError for a symlink that leads outside the root', async () => {
      await expectNotFound(storage.stat('link-out'));
      await expectNotFound(storage.stat('link-dir-out/secret.txt'));
    });

    it('does not take /x/media2 for part of a root of /x/media', async () => {
      await expectNotFound(storage.stat('link-sibling'));
      await expectNotFound(storage.stat('link-sibling-dir/secret.txt'));
    });

    it('keeps symlinks out of the root out with dotfiles: true too (the ".." of the way out is not a dotfile check)', async () => {
      const open = new FileSystemStorage(root, { dotfiles: true });
      for (const name of ['link-out', 'link-dir-out/secret.txt', 'link-sibling', 'link-sibling-dir/secret.txt']) {
        await expectNotFound(open.stat(name));
        await expectNotFound(open.open(name));
        expect(await open.exists(name)).toBe(false);
        expect(await open.delete(name)).toBe(false);
      }
      expect(await readFile(path.join(tmp, 'outside', 'secret.txt'), 'utf8')).toBe(SECRET);
      expect(await readFile(path.join(tmp, 'media2', 'secret.txt'), 'utf8')).toBe(SECRET);
    });

    it('serves a root that is itself reached through a symlink', async () => {
      await symlink(root, path.join(tmp, 'media-link'));
      const viaLink = new FileSystemStorage(path.join(tmp, 'media-link'));
      expect((await viaLink.stat('sub/b.txt')).size).toBe(Buffer.byteLength(B));
      await expectNotFound(viaLink.stat('link-out'));
    });

    describe('with a refused name', () => {
      it.each(REFUSED)('answers 400 for %j (%s)', async (name) => {
        await expectStatus(storage.stat(name), 400);
      });

      it('refuses before the disk is touched: 400, not the 404 a missing root would give', async () => {
        const nowhere = new FileSystemStorage(path.join(tmp, 'nowhere'));
        await expectNotFound(nowhere.stat('a.txt'));
        for (const [name] of REFUSED) await expectStatus(nowhere.stat(name), 400);
      });
    });

    describe('dotfiles', () => {
      it('hides dotfiles and files in dot folders as not found', async () => {
        await expectStatus(storage.stat('.env'), 404);
        await expectStatus(storage.stat('.git/config'), 404);
        await expectStatus(storage.stat('sub/.hidden'), 404);
      });

      it('hides a dotfile reached through a symlink with an innocent name', async () => {
        await expectNotFound(storage.stat('link-to-dotfile'));
      });

      it('reports a hidden dotfile as NotFoundError, as the Storage interface promises for "no such file"', async () => {
        await expectNotFound(storage.stat('.env'));
        await expectNotFound(storage.stat('sub/.hidden'));
      });

      it('serves dotfiles with dotfiles: true', async () => {
        const open = new FileSystemStorage(root, { dotfiles: true });
        expect((await open.stat('.env')).size).toBe(SECRET.length);
        expect((await open.stat('.git/config')).size).toBe(SECRET.length);
        expect((await open.stat('link-to-dotfile')).size).toBe(SECRET.length);
      });
    });
  });

  describe('open', () => {
    it('streams the whole file', async () => {
      expect(await text(await storage.open('a.txt'))).toBe(A);
      expect(await text(await storage.open('sub/deep/c.txt'))).toBe(C);
      expect(await text(await storage.open('with space.txt'))).toBe('spaced');
      expect(await text(await storage.open('résumé.pdf'))).toBe('%PDF-1.4');
    });

    it('streams exactly the bytes of a range, in small chunks too', async () => {
      const binary = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      await writeFile(path.join(root, 'bin'), binary);
      const chunked = new FileSystemStorage(root, { chunkSize: 7 });
      expect(await text(await storage.open('a.txt', { range: { start: 0, end: 4 } }))).toBe('hello');
      expect(await text(await storage.open('a.txt', { range: { start: 7, end: 12 } }))).toBe('world\n');
      expect(await text(await storage.open('a.txt', { range: { start: 5, end: 5 } }))).toBe(',');
      expect(await bytes(await chunked.open('bin', { range: { start: 100, end: 899 } }))).toEqual(binary.subarray(100, 900));
    });

    it('opens the version named by ifMatch', async () => {
      const { etag } = await storage.stat('a.txt');
      expect(await text(await storage.open('a.txt', { ifMatch: etag }))).toBe(A);
      expect(await text(await storage.open('a.txt', { ifMatch: etag, range: { start: 7, end: 11 } }))).toBe('world');
    });

    it('throws FileChangedError when the file was rewritten with another size since the etag', async () => {
      const { etag } = await storage.stat('a.txt');
      await writeFile(path.join(root, 'a.txt'), 'a longer replacement\n');
      await expect(storage.open('a.txt', { ifMatch: etag })).rejects.toBeInstanceOf(FileChangedError);
    });

    it('throws FileChangedError when the file has the same size but another mtime', async () => {
      const file = path.join(root, 'a.txt');
      const { etag } = await storage.stat('a.txt');
      await writeFile(file, 'HELLO, WORLD\n');
      const later = new Date((await stat(file)).mtimeMs + 5000);
      await utimes(file, later, later);
      await expect(storage.open('a.txt', { ifMatch: etag })).rejects.toBeInstanceOf(FileChangedError);
    });

    it('throws FileChangedError when the file was replaced by an atomic save', async () => {
      const { etag } = await storage.stat('a.txt');
      await storage.save('a.txt', 'replaced by save\n', { overwrite: true });
      await expect(storage.open('a.txt', { ifMatch: etag })).rejects.toBeInstanceOf(FileChangedError);
    });

    it('throws FileChangedError for a weak ifMatch: a weak tag cannot promise these bytes', async () => {
      const { etag } = await storage.stat('a.txt');
      await expect(storage.open('a.txt', { ifMatch: `W/${String(etag)}` })).rejects.toBeInstanceOf(FileChangedError);
    });

    it('throws NotFoundError for a missing file, a directory, or a symlink out of the root', async () => {
      await expectNotFound(storage.open('missing.txt'));
      await expectNotFound(storage.open('dir'));
      await expectNotFound(storage.open('link-out'));
      await expectNotFound(storage.open('link-sibling'));
    });

    it('hides dotfiles unless dotfiles: true', async () => {
      await expectStatus(storage.open('.env'), 404);
      await expectNotFound(storage.open('link-to-dotfile'));
      expect(await text(await new FileSystemStorage(root, { dotfiles: true }).open('.env'))).toBe(SECRET);
    });

    it.each(REFUSED)('answers 400 for %j (%s)', async (name) => {
      await expectStatus(storage.open(name), 400);
    });
  });

  describe('readSmall', () => {
    it('reads a small file, or a range of one, at once', async () => {
      expect(Buffer.from((await storage.readSmall('a.txt'))!).toString()).toBe(A);
      expect(Buffer.from((await storage.readSmall('sub/deep/c.txt', { range: { start: 0, end: 5 } }))!).toString()).toBe('deeper');
    });

    it('reads the version named by ifMatch, and refuses another one with FileChangedError', async () => {
      const { etag } = await storage.stat('a.txt');
      expect(Buffer.from((await storage.readSmall('a.txt', { ifMatch: etag }))!).toString()).toBe(A);
      await writeFile(path.join(root, 'a.txt'), 'a longer replacement\n');
      await expect(storage.readSmall('a.txt', { ifMatch: etag })).rejects.toBeInstanceOf(FileChangedError);
    });

    it('gives undefined for a body larger than 64 KiB, and without syncFs', async () => {
      await writeFile(path.join(root, 'large.bin'), Buffer.alloc(64 * 1024 + 1));
      expect(await storage.readSmall('large.bin')).toBeUndefined();
      expect(await storage.readSmall('large.bin', { range: { start: 0, end: 64 * 1024 - 1 } })).toHaveLength(64 * 1024);
      expect(await new FileSystemStorage(root, { syncFs: false }).readSmall('a.txt')).toBeUndefined();
    });

    it('refuses what open refuses: missing, a folder, out of the root, dotfiles, bad names', async () => {
      await expectNotFound(storage.readSmall('missing.txt'));
      await expectNotFound(storage.readSmall('dir'));
      await expectNotFound(storage.readSmall('link-out'));
      await expectNotFound(storage.readSmall('link-sibling'));
      await expectStatus(storage.readSmall('.env'), 404);
      await expectNotFound(storage.readSmall('link-to-dotfile'));
      for (const [name] of REFUSED) await expectStatus(storage.readSmall(name), 400);
    });
  });

  describe('exists', () => {
    it('is true for files, including nested, spaced and non-ASCII names', async () => {
      for (const name of ['a.txt', 'sub/deep/c.txt', 'with space.txt', 'résumé.pdf', 'link-in']) {
        expect(await storage.exists(name)).toBe(true);
      }
    });

    it('is false for missing files, directories and symlinks out of the root', async () => {
      for (const name of ['missing.txt', 'dir', 'sub', 'link-out', 'link-sibling', 'link-dir-out/secret.txt']) {
        expect(await storage.exists(name)).toBe(false);
      }
    });

    it('is false for dotfiles unless dotfiles: true', async () => {
      expect(await storage.exists('.env')).toBe(false);
      expect(await storage.exists('sub/.hidden')).toBe(false);
      expect(await new FileSystemStorage(root, { dotfiles: true }).exists('.env')).toBe(true);
    });

    it('is false for refused names', async () => {
      for (const [name] of REFUSED) expect(await storage.exists(name)).toBe(false);
    });
  });

  describe('delete', () => {
    it('removes a file and answers true', async () => {
      expect(await storage.delete('sub/deep/c.txt')).toBe(true);
      expect(await exists(path.join(root, 'sub', 'deep', 'c.txt'))).toBe(false);
      expect(await storage.delete('résumé.pdf')).toBe(true);
      expect(await exists(path.join(root, 'résumé.pdf'))).toBe(false);
    });

    it('answers false for a missing file', async () => {
      expect(await storage.delete('missing.txt')).toBe(false);
      expect(await storage.delete('sub/missing/deeper.txt')).toBe(false);
    });

    it('answers false for a directory and leaves it alone', async () => {
      expect(await storage.delete('dir')).toBe(false);
      expect((await stat(path.join(root, 'dir'))).isDirectory()).toBe(true);
    });

    it('never deletes outside the root through a symlink', async () => {
      expect(await storage.delete('link-out')).toBe(false);
      expect(await storage.delete('link-dir-out/secret.txt')).toBe(false);
      expect(await storage.delete('link-sibling')).toBe(false);
      expect(await readFile(path.join(tmp, 'outside', 'secret.txt'), 'utf8')).toBe(SECRET);
      expect(await readFile(path.join(tmp, 'media2', 'secret.txt'), 'utf8')).toBe(SECRET);
    });

    it('answers 400 for refused names and deletes nothing', async () => {
      await expectStatus(storage.delete('../outside/secret.txt'), 400);
      await expectStatus(storage.delete('a/../a.txt'), 400);
      expect(await readFile(path.join(tmp, 'outside', 'secret.txt'), 'utf8')).toBe(SECRET);
      expect(await readFile(path.join(root, 'a.txt'), 'utf8')).toBe(A);
    });

    it('answers false for a hidden dotfile, as for a missing file, and keeps it', async () => {
      expect(await storage.delete('.env')).toBe(false);
      expect(await readFile(path.join(root, '.env'), 'utf8')).toBe(SECRET);
    });

    it('deletes a dotfile with dotfiles: true', async () => {
      expect(await new FileSystemStorage(root, { dotfiles: true }).delete('.env')).toBe(true);
      expect(await exists(path.join(root, '.env'))).toBe(false);
    });
  });

  describe('save', () => {
    it('writes a string as UTF-8 and returns the stored file', async () => {
      const stored = await storage.save('new.txt', 'héllo');
      expect(await readFile(path.join(root, 'new.txt'), 'utf8')).toBe('héllo');
      expect(stored.name).toBe('new.txt');
      expect(stored.size).toBe(Buffer.byteLength('héllo'));
      expect(stored.etag).toBe(await fileEtag(path.join(root, 'new.txt')));
      expect(stored).toEqual(await storage.stat('new.txt'));
    });

    it('accepts the metadata of SaveOptions and keeps only the bytes: the type still comes from the name', async () => {
      const stored = await storage.save('meta.txt', 'text', {
        contentType: 'image/png',
        contentDisposition: 'attachment',
        cacheControl: 'no-store',
        metadata: { 'uploaded-by': 'user-7' },
      });
      expect(stored).toEqual(await storage.stat('meta.txt'));
      expect(stored.contentType).toBeUndefined();
      expect(await readFile(path.join(root, 'meta.txt'), 'utf8')).toBe('text');
    });

    it('refuses metadata that could not be a header with 400, as an object store does, and writes nothing', async () => {
      const error = await storage.save('bad-meta.txt', 'x', { metadata: { note: 'a\r\nb' } }).then(
        () => undefined,
        (reason: unknown) => reason as HttpError,
      );
      expect(error?.status).toBe(400);
      expect(await storage.exists('bad-meta.txt')).toBe(false);
    });

    it('writes a Uint8Array byte for byte', async () => {
      const binary = new Uint8Array(Array.from({ length: 300 }, (_, i) => i % 256));
      await storage.save('bin.dat', binary);
      expect(new Uint8Array(await readFile(path.join(root, 'bin.dat')))).toEqual(binary);
    });

    it('writes a ReadableStream', async () => {
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode('one '));
          controller.enqueue(encoder.encode('two '));
          controller.enqueue(encoder.encode('three'));
          controller.close();
        },
      });
      const stored = await storage.save('stream.txt', stream);
      expect(await readFile(path.join(root, 'stream.txt'), 'utf8')).toBe('one two three');
      expect(stored.size).toBe(13);
    });

    it('writes an async generator of strings and bytes', async () => {
      async function* chunks() {
        yield 'abc';
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield new TextEncoder().encode('def');
        yield 'ü';
      }
      await storage.save('gen.txt', chunks());
      expect(await readFile(path.join(root, 'gen.txt'), 'utf8')).toBe('abcdefü');
    });

    it('writes a plain iterable of chunks', async () => {
      await storage.save('array.txt', ['x', 'y', new TextEncoder().encode('z')]);
      expect(await readFile(path.join(root, 'array.txt'), 'utf8')).toBe('xyz');
    });

    it('writes empty content as an empty file', async () => {
      expect((await storage.save('empty.txt', '')).size).toBe(0);
      expect(await readFile(path.join(root, 'empty.txt'), 'utf8')).toBe('');
    });

    it('creates nested folders, with spaced and non-ASCII names', async () => {
      await storage.save('new folder/ünïcode/日本語 file.txt', 'deep');
      expect(await readFile(path.join(root, 'new folder', 'ünïcode', '日本語 file.txt'), 'utf8')).toBe('deep');
      expect(await text(await storage.open('new folder/ünïcode/日本語 file.txt'))).toBe('deep');
    });

    it('leaves no temporary file behind after a successful save', async () => {
      await storage.save('sub/new.txt', 'x');
      await storage.save('sub/new.txt', 'y', { overwrite: true });
      expect(await partFiles(path.join(root, 'sub'))).toEqual([]);
    });

    describe('onto an existing name', () => {
      it('answers 409 by default and keeps the old content', async () => {
        await expectStatus(storage.save('a.txt', 'intruder'), 409);
        expect(await readFile(path.join(root, 'a.txt'), 'utf8')).toBe(A);
        expect(await partFiles(root)).toEqual([]);
      });

      it('answers 409 with overwrite: false and keeps the old content', async () => {
        await expectStatus(storage.save('sub/b.txt', 'intruder', { overwrite: false }), 409);
        expect(await readFile(path.join(root, 'sub', 'b.txt'), 'utf8')).toBe(B);
        expect(await partFiles(path.join(root, 'sub'))).toEqual([]);
      });

      it('replaces the file with overwrite: true', async () => {
        const stored = await storage.save('a.txt', 'replaced', { overwrite: true });
        expect(await readFile(path.join(root, 'a.txt'), 'utf8')).toBe('replaced');
        expect(stored.size).toBe(8);
      });

      it('replaces a symlink itself with overwrite: true, never the file outside it points to', async () => {
        await storage.save('link-out', 'mine now', { overwrite: true });
        expect(await readFile(path.join(tmp, 'outside', 'secret.txt'), 'utf8')).toBe(SECRET);
        expect((await lstat(path.join(root, 'link-out'))).isSymbolicLink()).toBe(false);
        expect(await text(await storage.open('link-out'))).toBe('mine now');
      });
    });

    describe('with maxBytes', () => {
      it('keeps content of exactly maxBytes', async () => {
        await storage.save('limit.txt', 'abcde', { maxBytes: 5 });
        expect(await readFile(path.join(root, 'limit.txt'), 'utf8')).toBe('abcde');
      });

      it('answers 413 for a string over the limit, and keeps nothing', async () => {
        await expectStatus(storage.save('big.txt', 'abcdef', { maxBytes: 5 }), 413);
        expect(await exists(path.join(root, 'big.txt'))).toBe(false);
        expect(await partFiles(root)).toEqual([]);
      });

      it('answers 413 once a stream passes the limit, and keeps neither the file nor a .part', async () => {
        let pulled = 0;
        async function* endless() {
          for (;;) {
            pulled++;
            yield new Uint8Array(1024);
          }
        }
        await storage.save('sub/huge.bin', endless(), { maxBytes: 10_000 }).then(
          () => expect.unreachable('the save should fail'),
          (error: unknown) => expect((error as HttpError).status).toBe(413),
        );
        expect(pulled).toBeLessThan(20);
        expect(await exists(path.join(root, 'sub', 'huge.bin'))).toBe(false);
        expect(await partFiles(path.join(root, 'sub'))).toEqual([]);
      });

      it('answers 413 for an over-limit save onto an existing name and keeps the old content', async () => {
        await expectStatus(storage.save('a.txt', 'x'.repeat(100), { overwrite: true, maxBytes: 50 }), 413);
        expect(await readFile(path.join(root, 'a.txt'), 'utf8')).toBe(A);
        expect(await partFiles(root)).toEqual([]);
      });
    });

    describe('when the content fails mid-way', () => {
      it('propagates the error and leaves no final file and no .part file behind', async () => {
        const failure = new Error('client went away');
        async function* broken() {
          yield 'first chunk ';
          yield 'second chunk ';
          throw failure;
        }
        await expect(storage.save('sub/upload.bin', broken())).rejects.toBe(failure);
        expect(await exists(path.join(root, 'sub', 'upload.bin'))).toBe(false);
        expect(await partFiles(path.join(root, 'sub'))).toEqual([]);
      });

      it('leaves no .part file when the content fails before its first chunk', async () => {
        // The failure comes before the temporary file could have been created by a lazy open.
        for (let i = 0; i < 20; i++) {
          // eslint-disable-next-line require-yield
          async function* broken(): AsyncGenerator<string> {
            throw new Error('no content');
          }
          await expect(storage.save(`early/${i}.bin`, broken())).rejects.toThrow('no content');
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await partFiles(path.join(root, 'early'))).toEqual([]);
      });

      it('keeps the old file whole when an overwrite fails', async () => {
        async function* broken() {
          yield 'partial';
          throw new Error('boom');
        }
        await expect(storage.save('a.txt', broken(), { overwrite: true })).rejects.toThrow('boom');
        expect(await readFile(path.join(root, 'a.txt'), 'utf8')).toBe(A);
        expect(await partFiles(root)).toEqual([]);
      });

      it('propagates the error of a ReadableStream that errors', async () => {
        let sent = false;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (!sent) {
              sent = true;
              controller.enqueue(new TextEncoder().encode('some bytes'));
            } else {
              controller.error(new Error('stream broke'));
            }
          },
        });
        await expect(storage.save('stream.bin', stream)).rejects.toThrow('stream broke');
        expect(await exists(path.join(root, 'stream.bin'))).toBe(false);
        expect(await partFiles(root)).toEqual([]);
      });
    });

    describe('atomicity', () => {
      it('writes to a temporary .<name>.<hex>.part dotfile in the same folder, and the final name appears only at the end', async () => {
        const release = deferred();
        const saving = storage.save('sub/slow.txt', held('first half, ', 'second half', release.promise));
        const folder = path.join(root, 'sub');
        await until(async () => (await partFiles(folder)).length > 0);
        const parts = await partFiles(folder);
        expect(parts).toHaveLength(1);
        expect(parts[0]).toMatch(/^\.slow\.txt\.[0-9a-f]+\.part$/);
        // A reader sees no file at all while the upload is in progress...
        expect(await exists(path.join(folder, 'slow.txt'))).toBe(false);
        expect(await storage.exists('sub/slow.txt')).toBe(false);
        await expectNotFound(storage.stat('sub/slow.txt'));
        release.resolve();
        await saving;
        // ...and the whole file once it is done.
        expect(await readFile(path.join(folder, 'slow.txt'), 'utf8')).toBe('first half, second half');
        expect(await partFiles(folder)).toEqual([]);
      });

      it('keeps serving the old content under the final name while an overwrite is in progress', async () => {
        const release = deferred();
        const saving = storage.save('a.txt', held('new ', 'content', release.promise), { overwrite: true });
        await until(async () => (await partFiles(root)).length > 0);
        expect(await text(await storage.open('a.txt'))).toBe(A);
        release.resolve();
        await saving;
        expect(await text(await storage.open('a.txt'))).toBe('new content');
      });

      it('lets exactly one of two concurrent saves of a new name win; the other gets 409', async () => {
        const releaseFirst = deferred();
        const releaseSecond = deferred();
        const first = storage.save('race.txt', held('AAAAAAAAAA', 'AAAAAAAAAA', releaseFirst.promise));
        const second = storage.save('race.txt', held('BBBBB', 'BBBBB', releaseSecond.promise));
        // Both are writing their temporary files at the same time.
        await until(async () => (await partFiles(root)).length === 2);
        releaseSecond.resolve();
        releaseFirst.resolve();
        const results = await Promise.allSettled([first, second]);
        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.filter((result) => result.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(((lost[0] as PromiseRejectedResult).reason as HttpError).status).toBe(409);
        const winner = (won[0] as PromiseFulfilledResult<StoredFile>).value;
        const content = await readFile(path.join(root, 'race.txt'), 'utf8');
        expect(['A'.repeat(20), 'B'.repeat(10)]).toContain(content);
        expect(winner.size).toBe(content.length);
        expect(await partFiles(root)).toEqual([]);
      });

      it('lets many concurrent saves of one new name produce one whole file', async () => {
        const saves = Array.from({ length: 8 }, (_, i) => {
          const chunk = String.fromCharCode(65 + i).repeat(1000 * (i + 1));
          return storage.save('many.txt', [chunk, chunk]);
        });
        const results = await Promise.allSettled(saves);
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect((result.reason as HttpError).status).toBe(409);
        }
        const content = await readFile(path.join(root, 'many.txt'), 'utf8');
        expect(content).toMatch(/^(.)\1*$/);
        expect(content.length).toBe(2000 * (content.charCodeAt(0) - 64));
        expect(await partFiles(root)).toEqual([]);
      });
    });

    describe('with a refused name', () => {
      it.each(REFUSED)('answers 400 for %j (%s) and writes nothing', async (name) => {
        await expectStatus(storage.save(name, 'payload'), 400);
        expect(await readdir(path.join(tmp, 'outside'))).toEqual(['secret.txt']);
        expect(await partFiles(root)).toEqual([]);
      });

      it('refuses before the disk is touched: a missing root is not even created', async () => {
        const nowhere = path.join(tmp, 'nowhere');
        const store = new FileSystemStorage(nowhere);
        for (const [name] of REFUSED) await expectStatus(store.save(name, 'payload'), 400);
        expect(await exists(nowhere)).toBe(false);
      });

      it('answers 400 for a name whose folder is a symlink out of the root, and writes nothing there', async () => {
        await expectStatus(storage.save('link-dir-out/planted.txt', 'payload'), 400);
        await expectStatus(storage.save('link-sibling-dir/planted.txt', 'payload'), 400);
        expect(await readdir(path.join(tmp, 'outside'))).toEqual(['secret.txt']);
        expect(await readdir(path.join(tmp, 'media2'))).toEqual(['secret.txt']);
      });

      it('creates no folder outside the root through a symlinked folder', async () => {
        await expectStatus(storage.save('link-dir-out/new-dir/planted.txt', 'payload'), 400);
        expect(await readdir(path.join(tmp, 'outside'))).toEqual(['secret.txt']);
      });
    });

    describe('when something is in the way', () => {
      it('answers 409, not a raw file system error, when a folder of the name is an existing file', async () => {
        await expectStatus(storage.save('a.txt/inside.txt', 'payload'), 409);
        expect(await readFile(path.join(root, 'a.txt'), 'utf8')).toBe(A);
      });

      it('answers 409, not a raw file system error, when overwriting a name that is a directory', async () => {
        await expectStatus(storage.save('dir', 'payload', { overwrite: true }), 409);
        expect((await stat(path.join(root, 'dir'))).isDirectory()).toBe(true);
        expect(await partFiles(root)).toEqual([]);
      });
    });

    it('saves a name as long as the file system allows (255 bytes), despite the longer temporary name', async () => {
      const name = `${'n'.repeat(251)}.txt`;
      await storage.save(name, 'long');
      expect(await readFile(path.join(root, name), 'utf8')).toBe('long');
      expect(await partFiles(root)).toEqual([]);
    });

    it('saves into the root when the root does not exist yet', async () => {
      const store = new FileSystemStorage(path.join(tmp, 'fresh', 'media'));
      await store.save('first.txt', 'one');
      expect(await readFile(path.join(tmp, 'fresh', 'media', 'first.txt'), 'utf8')).toBe('one');
    });
  });

  describe('list', () => {
    it('lists every file recursively with /-separated names and their metadata', async () => {
      expect(await storedNames(storage)).toEqual([
        'a.txt',
        'link-in',
        'résumé.pdf',
        'sub/b.txt',
        'sub/deep/c.txt',
        'with space.txt',
      ]);
      const files: StoredFile[] = [];
      for await (const file of storage.list()) files.push(file);
      const c = files.find((file) => file.name === 'sub/deep/c.txt');
      expect(c).toEqual(await storage.stat('sub/deep/c.txt'));
    });

    it('skips directories, dotfiles, dot folders and symlinks that lead out of the root', async () => {
      const names = await storedNames(storage);
      for (const hidden of ['dir', 'sub', '.env', '.git/config', 'sub/.hidden', 'link-out', 'link-sibling', 'link-to-dotfile']) {
        expect(names).not.toContain(hidden);
      }
      expect(names.some((name) => name.startsWith('link-dir-out') || name.startsWith('link-sibling-dir'))).toBe(false);
    });

    it('lists dotfiles with dotfiles: true', async () => {
      const names = await storedNames(new FileSystemStorage(root, { dotfiles: true }));
      expect(names).toEqual(expect.arrayContaining(['.env', '.git/config', 'sub/.hidden', 'link-to-dotfile']));
    });

    it('filters by prefix', async () => {
      expect(await storedNames(storage, 'sub/')).toEqual(['sub/b.txt', 'sub/deep/c.txt']);
      expect(await storedNames(storage, 'sub/deep/')).toEqual(['sub/deep/c.txt']);
      expect(await storedNames(storage, 'a')).toEqual(['a.txt']);
      expect(await storedNames(storage, 'nothing/')).toEqual([]);
    });

    it('does not list a save in progress: neither its .part file nor its final name', async () => {
      const release = deferred();
      const saving = storage.save('sub/uploading.txt', held('part one ', 'part two', release.promise));
      await until(async () => (await partFiles(path.join(root, 'sub'))).length > 0);
      const during = await storedNames(storage);
      expect(during.filter((name) => name.includes('uploading'))).toEqual([]);
      release.resolve();
      await saving;
      expect(await storedNames(storage, 'sub/')).toEqual(['sub/b.txt', 'sub/deep/c.txt', 'sub/uploading.txt']);
    });

    it('does not list the .part file of a save in progress even with dotfiles: true', async () => {
      const open = new FileSystemStorage(root, { dotfiles: true });
      const release = deferred();
      const saving = open.save('uploading.txt', held('part one ', 'part two', release.promise));
      await until(async () => (await partFiles(root)).length > 0);
      const during = await storedNames(open);
      release.resolve();
      await saving;
      expect(during.filter((name) => name.endsWith('.part'))).toEqual([]);
    });

    it('yields nothing for a root that does not exist', async () => {
      expect(await storedNames(new FileSystemStorage(path.join(tmp, 'nowhere')))).toEqual([]);
    });
  });

  describe('url', () => {
    it('is undefined without a baseUrl', () => {
      expect(storage.url('a.txt')).toBeUndefined();
    });

    it('joins the baseUrl and the name, percent-encoding each segment', () => {
      const store = new FileSystemStorage(root, { baseUrl: 'https://cdn.example/media/' });
      expect(store.url('a.txt')).toBe('https://cdn.example/media/a.txt');
      expect(store.url('new folder/résumé #1?.pdf')).toBe('https://cdn.example/media/new%20folder/r%C3%A9sum%C3%A9%20%231%3F.pdf');
      expect(store.url('100%/a&b=c.txt')).toBe('https://cdn.example/media/100%25/a%26b%3Dc.txt');
    });

    it('takes a baseUrl with or without a trailing slash', () => {
      expect(new FileSystemStorage(root, { baseUrl: 'https://cdn.example/media' }).url('sub/b.txt')).toBe(
        'https://cdn.example/media/sub/b.txt',
      );
    });

    it('throws 400 for a refused name rather than building a URL for it', () => {
      const store = new FileSystemStorage(root, { baseUrl: 'https://cdn.example/media' });
      for (const [name] of REFUSED) {
        expect(() => store.url(name)).toThrow(HttpError);
      }
    });
  });

  describe('localPath', () => {
    it('is the canonical path of the file under the root', async () => {
      const real = await realpath(root);
      expect(await storage.localPath('a.txt')).toBe(path.join(real, 'a.txt'));
      expect(await storage.localPath('sub/deep/c.txt')).toBe(path.join(real, 'sub', 'deep', 'c.txt'));
      expect(await storage.localPath('résumé.pdf')).toBe(path.join(real, 'résumé.pdf'));
    });

    it('resolves a symlink inside the root to its target', async () => {
      expect(await storage.localPath('link-in')).toBe(path.join(await realpath(root), 'a.txt'));
    });

    it('refuses a symlink that leads out of the root, as a missing file', async () => {
      for (const name of ['link-out', 'link-sibling', 'link-dir-out/secret.txt']) {
        await expect(storage.localPath(name)).rejects.toBeInstanceOf(NotFoundError);
      }
    });

    it('throws 400 for a refused name', async () => {
      for (const [name] of REFUSED) {
        await expect(storage.localPath(name)).rejects.toMatchObject({ status: 400 });
      }
    });
  });

  describe('as a whole', () => {
    it('round-trips save, stat, open, list and delete', async () => {
      const name = 'reports/2026 Q1/résumé.csv';
      const saved = await storage.save(name, 'a,b\n1,2\n');
      expect(await storage.exists(name)).toBe(true);
      expect(await storage.stat(name)).toEqual(saved);
      expect(await text(await storage.open(name, { ifMatch: saved.etag }))).toBe('a,b\n1,2\n');
      expect(await storedNames(storage, 'reports/')).toEqual([name]);
      expect(await storage.delete(name)).toBe(true);
      expect(await storage.exists(name)).toBe(false);
      expect(await storage.delete(name)).toBe(false);
    });

    it('serves a hard-linked file by the name it was asked for', async () => {
      await link(path.join(root, 'a.txt'), path.join(root, 'sub', 'hard.txt'));
      expect((await storage.stat('sub/hard.txt')).name).toBe('sub/hard.txt');
    });
  });
});
