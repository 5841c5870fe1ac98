import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, FileChangedError } from '../errors';
import { checkRequestedPath } from '../fs/confine';
import { pathSource } from './path-source';
import { readText as readAll, temporaryTree, type TemporaryTree } from '../helpers.test-support';

let base: string;
let root: string;

/**
 * base/
 *   media/                 <- the root
 *     a.txt, sub/b.txt, sub2/ (empty), .env, .git/config, names with spaces and non-ASCII
 *     link-in -> media/sub/b.txt        rel-in -> sub/b.txt
 *     link-out -> base/outside.txt      rel-out -> ../outside.txt
 *     dirlink-in -> media/sub           dirlink-out -> base
 *     link-to-dotfile -> .env           link-to-root -> media
 *     dangling -> media/nothing         loop1 <-> loop2
 *   media2/secret.txt      <- shares the root's name as a prefix
 *   outside.txt
 *   rootlink -> media
 *   .hidden/media/a.txt    <- a root that itself lies under a dot-directory
 */
let tree: TemporaryTree;

beforeEach(() => {
  tree = temporaryTree('path-source-test', {
    'media/sub': { dir: true },
    'media/sub2': { dir: true },
    'media/.git': { dir: true },
    'media2': { dir: true },
    '.hidden/media': { dir: true },
    'media/a.txt': 'alpha',
    'media/sub/b.txt': 'bravo',
    'media/.env': 'SECRET=1',
    'media/.git/config': '[core]',
    'media/espacé .txt': 'accent and space',
    'media/中文.txt': 'chinese',
    'media/some thing.txt': 'space',
    'media2/secret.txt': 'media2 secret',
    'outside.txt': 'outside',
    '.hidden/media/a.txt': 'hidden root',
    'media/link-in': { symlink: 'media/sub/b.txt', inTree: true },
    'media/rel-in': { symlink: 'sub/b.txt' },
    'media/link-out': { symlink: 'outside.txt', inTree: true },
    'media/rel-out': { symlink: '../outside.txt' },
    'media/dirlink-in': { symlink: 'media/sub', inTree: true },
    'media/dirlink-out': { symlink: '', inTree: true },
    'media/link-to-dotfile': { symlink: '.env' },
    'media/link-to-root': { symlink: 'media', inTree: true },
    'media/dangling': { symlink: 'media/nothing', inTree: true },
    'media/loop1': { symlink: 'loop2' },
    'media/loop2': { symlink: 'loop1' },
    'rootlink': { symlink: 'media', inTree: true },
  });
  base = tree.base;
  root = tree.at('media');
});

afterEach(() => tree.remove());

async function statusOf(promise: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
}

describe('checkRequestedPath', () => {
  const accepted: Array<{ input: string | string[]; segments: string[]; dotfiles?: boolean }> = [
    { input: ['a.txt'], segments: ['a.txt'] },
    { input: 'a.txt', segments: ['a.txt'] },
    { input: ['sub', 'b.txt'], segments: ['sub', 'b.txt'] },
    { input: 'sub/b.txt', segments: ['sub', 'b.txt'] },
    { input: ['espacé .txt'], segments: ['espacé .txt'] },
    { input: ['中文.txt'], segments: ['中文.txt'] },
    { input: ['%2e%2e'], segments: ['%2e%2e'] }, // already decoded: a literal name
    { input: ['a..b'], segments: ['a..b'] },
    { input: ['..a'], segments: ['..a'], dotfiles: true },
    { input: ['.env'], segments: ['.env'], dotfiles: true },
    { input: '.git/config', segments: ['.git', 'config'], dotfiles: true },
    { input: ['...'], segments: ['...'], dotfiles: true },
  ];

  it.each(accepted)('accepts $input (dotfiles: $dotfiles) as $segments', ({ input, segments, dotfiles }) => {
    expect(checkRequestedPath(input, { dotfiles })).toEqual(segments);
  });

  const refused: Array<{ input: string | string[]; status: number; dotfiles?: boolean }> = [
    { input: ['..'], status: 400 },
    { input: '..', status: 400 },
    { input: ['..'], status: 400, dotfiles: true },
    { input: ['sub', '..', 'a.txt'], status: 400 },
    { input: 'sub/../a.txt', status: 400 },
    { input: ['.'], status: 400 },
    { input: ['.'], status: 400, dotfiles: true },
    { input: ['sub', '.', 'b.txt'], status: 400 },
    { input: ['sub', ''], status: 400 },
    { input: ['', 'a.txt'], status: 400 },
    { input: 'sub//b.txt', status: 400 },
    { input: '/etc/passwd', status: 400 },
    { input: 'sub/', status: 400 },
    { input: ['../a.txt'], status: 400 }, // a decoded %2f
    { input: ['sub/b.txt'], status: 400 },
    { input: ['..\\a.txt'], status: 400 }, // a decoded %5c
    { input: ['sub\\b.txt'], status: 400 },
    { input: ['a\u0000.txt'], status: 400 },
    { input: ['a.txt\u0000'], status: 400 },
    { input: ['a\n.txt'], status: 400 },
    { input: ['a\r.txt'], status: 400 },
    { input: ['a\t.txt'], status: 400 },
    { input: ['a\u001f.txt'], status: 400 },
    { input: ['a\u007f.txt'], status: 400 },
    { input: ['.env'], status: 404 },
    { input: '.env', status: 404 },
    { input: ['.git', 'config'], status: 404 },
    { input: ['sub', '.hidden'], status: 404 },
    { input: ['..a'], status: 404 },
    { input: ['...'], status: 404 },
    { input: [], status: 404 },
    { input: '', status: 404 },
  ];

  it.each(refused)('answers $status for $input (dotfiles: $dotfiles)', ({ input, status, dotfiles }) => {
    let thrown: unknown;
    try {
      checkRequestedPath(input, { dotfiles });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HttpError);
    expect((thrown as HttpError).status).toBe(status);
  });
});

describe('pathSource', () => {
  describe('confinement to the root', () => {
    const rows: Array<{ name: string; file: () => string; root?: () => string; content?: string; status?: number }> = [
      { name: 'a file in the root', file: () => path.join(root, 'a.txt'), content: 'alpha' },
      { name: 'a file in a sub-directory', file: () => path.join(root, 'sub', 'b.txt'), content: 'bravo' },
      { name: 'a symlink inside the root to a file inside it', file: () => path.join(root, 'link-in'), content: 'bravo' },
      { name: 'a relative symlink to a file inside the root', file: () => path.join(root, 'rel-in'), content: 'bravo' },
      { name: 'a file through a directory symlink that stays inside', file: () => path.join(root, 'dirlink-in', 'b.txt'), content: 'bravo' },
      { name: 'a file when the root itself is given as a symlink', file: () => path.join(base, 'rootlink', 'a.txt'), root: () => path.join(base, 'rootlink'), content: 'alpha' },
      { name: 'a file when the root is given with a trailing slash', file: () => path.join(root, 'a.txt'), root: () => `${root}/`, content: 'alpha' },
      { name: 'a file of a root that lies under a dot-directory', file: () => path.join(base, '.hidden', 'media', 'a.txt'), root: () => path.join(base, '.hidden', 'media'), content: 'hidden root' },
      { name: 'a sibling directory that shares the root as a prefix', file: () => path.join(base, 'media2', 'secret.txt'), status: 404 },
      { name: 'the parent of the root', file: () => path.join(base, 'outside.txt'), status: 404 },
      { name: 'a symlink inside the root to a file outside it', file: () => path.join(root, 'link-out'), status: 404 },
      { name: 'a relative symlink that climbs out of the root', file: () => path.join(root, 'rel-out'), status: 404 },
      { name: 'a file through a directory symlink that leads outside', file: () => path.join(root, 'dirlink-out', 'outside.txt'), status: 404 },
      { name: 'the same sibling through a directory symlink', file: () => path.join(root, 'dirlink-out', 'media2', 'secret.txt'), status: 404 },
      { name: 'the root itself', file: () => root, status: 404 },
      { name: 'a symlink to the root', file: () => path.join(root, 'link-to-root'), status: 404 },
      { name: 'a missing file', file: () => path.join(root, 'missing.txt'), status: 404 },
      { name: 'a file in a missing directory', file: () => path.join(root, 'nope', 'a.txt'), status: 404 },
      { name: 'a directory', file: () => path.join(root, 'sub'), status: 404 },
      { name: 'an empty directory', file: () => path.join(root, 'sub2'), status: 404 },
      { name: 'a path through a file (ENOTDIR)', file: () => path.join(root, 'a.txt', 'x'), status: 404 },
      { name: 'a name longer than NAME_MAX (ENAMETOOLONG)', file: () => path.join(root, 'x'.repeat(300)), status: 404 },
      { name: 'a path longer than PATH_MAX', file: () => path.join(root, ...Array.from({ length: 2100 }, () => 'ab')), status: 404 },
      { name: 'a dangling symlink', file: () => path.join(root, 'dangling'), status: 404 },
      { name: 'a symlink loop (ELOOP)', file: () => path.join(root, 'loop1'), status: 404 },
      { name: 'a dotfile', file: () => path.join(root, '.env'), status: 404 },
      { name: 'a file in a dot-directory', file: () => path.join(root, '.git', 'config'), status: 404 },
      { name: 'a symlink that leads to a dotfile', file: () => path.join(root, 'link-to-dotfile'), status: 404 },
    ];

    it.each(rows)('$name: $status$content', async ({ file, root: rootOf, content, status }) => {
      const promise = pathSource(file(), rootOf ? rootOf() : root);
      if (status !== undefined) {
        expect(await statusOf(promise)).toBe(status);
      } else {
        const source = await promise;
        expect(await readAll(await source.open())).toBe(content);
      }
    });

    it('answers 404 for a FIFO, without opening it', async () => {
      execFileSync('mkfifo', [path.join(root, 'fifo')]);
      expect(await statusOf(pathSource(path.join(root, 'fifo'), root))).toBe(404);
    });

    it('serves a file outside any root when no root is given', async () => {
      const source = await pathSource(path.join(base, 'outside.txt'), undefined);
      expect(await readAll(await source.open())).toBe('outside');
    });
  });

  describe('with dotfiles: true', () => {
    it.each([
      { name: 'a dotfile', rel: ['.env'], content: 'SECRET=1' },
      { name: 'a file in a dot-directory', rel: ['.git', 'config'], content: '[core]' },
      { name: 'a symlink that leads to a dotfile', rel: ['link-to-dotfile'], content: 'SECRET=1' },
    ])('serves $name', async ({ rel, content }) => {
      const source = await pathSource(path.join(root, ...rel), root, { dotfiles: true });
      expect(await readAll(await source.open())).toBe(content);
    });

    it('still refuses a symlink that leads outside the root', async () => {
      expect(await statusOf(pathSource(path.join(root, 'link-out'), root, { dotfiles: true }))).toBe(404);
    });
  });

  describe('names', () => {
    it.each(['espacé .txt', '中文.txt', 'some thing.txt'])('serves %s and names it so', async (name) => {
      const source = await pathSource(path.join(root, name), root);
      expect(source.name).toBe(name);
      expect((await readAll(await source.open())).length).toBeGreaterThan(0);
    });

    it('names the file after the requested path, not the symlink target', async () => {
      const source = await pathSource(path.join(root, 'link-in'), root);
      expect(source.name).toBe('link-in');
    });

    it('serves a requested path checked by checkRequestedPath and joined under the root', async () => {
      const segments = checkRequestedPath(['sub', 'b.txt']);
      const source = await pathSource(path.join(root, ...segments), root);
      expect(source.name).toBe('b.txt');
      expect(await readAll(await source.open())).toBe('bravo');
    });
  });

  describe('metadata', () => {
    it('gives size, lastModified, a strong etag and exact: true', async () => {
      const file = path.join(root, 'sub', 'b.txt');
      const stats = await stat(file);
      const source = await pathSource(file, root);
      expect(source.size).toBe(5);
      expect(source.lastModified).toEqual(stats.mtime);
      expect(source.etag).toBe(`"${Math.floor(stats.mtimeMs).toString(16)}-${(5).toString(16)}"`);
      expect(typeof source.etag === 'string' && source.etag.startsWith('W/')).toBe(false);
      expect(source.exact).toBe(true);
    });

    it('gives a new etag when the file changes', async () => {
      const file = path.join(root, 'a.txt');
      const before = await pathSource(file, root);
      await writeFile(file, 'alpha, longer');
      const later = new Date(Date.now() + 10_000);
      await utimes(file, later, later);
      const after = await pathSource(file, root);
      expect(after.etag).not.toBe(before.etag);
      expect(after.size).toBe(13);
    });

    it('reads the size of an empty file as 0 and streams nothing', async () => {
      const file = path.join(root, 'empty.txt');
      await writeFile(file, '');
      const source = await pathSource(file, root);
      expect(source.size).toBe(0);
      expect(await readAll(await source.open())).toBe('');
    });
  });

  describe('open', () => {
    it.each([
      { start: 0, end: 0, bytes: 'a' },
      { start: 4, end: 4, bytes: 'a' },
      { start: 1, end: 3, bytes: 'lph' },
      { start: 0, end: 4, bytes: 'alpha' },
    ])('gives exactly bytes $start..$end', async ({ start, end, bytes }) => {
      const source = await pathSource(path.join(root, 'a.txt'), root, { chunkSize: 2 });
      expect(await readAll(await source.open({ start, end }))).toBe(bytes);
    });

    it('can be opened more than once', async () => {
      const source = await pathSource(path.join(root, 'a.txt'), root);
      expect(await readAll(await source.open())).toBe('alpha');
      expect(await readAll(await source.open({ start: 2, end: 4 }))).toBe('pha');
    });

    it('respects chunkSize', async () => {
      const file = path.join(root, 'big.txt');
      await writeFile(file, 'x'.repeat(100));
      const source = await pathSource(file, root, { chunkSize: 7 });
      for await (const chunk of await source.open()) expect(chunk.length).toBeLessThanOrEqual(7);
    });

    it('rejects with FileChangedError when the file was rewritten after its metadata was read', async () => {
      const file = path.join(root, 'a.txt');
      const source = await pathSource(file, root);
      await writeFile(file, 'a different length');
      await expect(source.open()).rejects.toBeInstanceOf(FileChangedError);
    });

    it('answers 404 when the file was deleted after its metadata was read', async () => {
      const file = path.join(root, 'a.txt');
      const source = await pathSource(file, root);
      await unlink(file);
      expect(await statusOf(Promise.resolve(source.open()))).toBe(404);
    });

    it('refuses a symlink swapped in after the metadata was read (404, not followed)', async () => {
      const file = path.join(root, 'a.txt');
      const source = await pathSource(file, root);
      await rm(file);
      await symlink(path.join(base, 'outside.txt'), file);
      expect(await statusOf(Promise.resolve(source.open()))).toBe(404);
    });

    it('refuses a directory symlink swapped in above the file after the metadata was read', async () => {
      const file = path.join(root, 'sub', 'b.txt');
      const source = await pathSource(file, root);
      // sub/ now leads to a directory outside the root that holds a b.txt of its own.
      mkdirSync(path.join(base, 'elsewhere'));
      writeFileSync(path.join(base, 'elsewhere', 'b.txt'), 'EVIL!');
      await rm(path.join(root, 'sub'), { recursive: true });
      await symlink(path.join(base, 'elsewhere'), path.join(root, 'sub'));
      const opened = Promise.resolve(source.open()).then(readAll);
      await expect(opened).rejects.toBeInstanceOf(FileChangedError);
    });
  });
});
