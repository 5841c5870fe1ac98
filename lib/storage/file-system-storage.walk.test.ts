import { lstat, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileSystemStorage } from './file-system-storage';
import { storedNames } from './storage-contract.test-support';

// The walks of FileSystemStorage (list, removeStaleTemporaryFiles) against a real tree with
// symlinked folders, loops and links out of the root:
//   <tmp>/media/a.txt, docs/guide.txt, docs/up -> .. (a loop), loop-a -> loop-b, loop-b -> loop-a,
//     alias -> docs (a symlinked folder inside the root), away -> ../outside (out of the root),
//     link-in -> docs/guide.txt (a symlinked file inside the root)
//   <tmp>/outside/secret.txt, <tmp>/outside/.secret.txt.0123456789ab.part (stale, must survive)

const STALE = '.secret.txt.0123456789ab.part';
const HOUR_AGO = new Date(Date.now() - 2 * 60 * 60 * 1000);

let tmp: string;
let root: string;
let outside: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'fs-walk-'));
  root = path.join(tmp, 'media');
  outside = path.join(tmp, 'outside');
  await mkdir(path.join(root, 'docs'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(root, 'a.txt'), 'a');
  await writeFile(path.join(root, 'docs', 'guide.txt'), 'guide');
  await writeFile(path.join(outside, 'secret.txt'), 'secret');
  await writeFile(path.join(outside, STALE), 'left by someone else');
  await utimes(path.join(outside, STALE), HOUR_AGO, HOUR_AGO);
  await symlink('..', path.join(root, 'docs', 'up'));
  await symlink('loop-b', path.join(root, 'loop-a'));
  await symlink('loop-a', path.join(root, 'loop-b'));
  await symlink('docs', path.join(root, 'alias'));
  await symlink(outside, path.join(root, 'away'));
  await symlink(path.join('docs', 'guide.txt'), path.join(root, 'link-in'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(tmp, { recursive: true, force: true });
});

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

/** Makes `depth` nested folders `d1/d2/...` under the root, a file in the deepest. */
async function nest(depth: number): Promise<string> {
  const segments = Array.from({ length: depth }, (_, index) => `d${index + 1}`);
  await mkdir(path.join(root, ...segments), { recursive: true });
  const name = [...segments, 'deep.txt'].join('/');
  await writeFile(path.join(root, ...segments, 'deep.txt'), 'deep');
  return name;
}

describe('FileSystemStorage walks', () => {
  describe('list', () => {
    it('lists each real file once, without following symlinked folders or loops', async () => {
      const started = Date.now();
      expect(await storedNames(new FileSystemStorage(root))).toEqual(['a.txt', 'docs/guide.txt', 'link-in']);
      expect(Date.now() - started).toBeLessThan(2000);
    }, 10_000);

    it('lists nothing outside the root, even with dotfiles: true', async () => {
      const names = await storedNames(new FileSystemStorage(root, { dotfiles: true }));
      expect(names.filter((name) => name.startsWith('away') || name.includes('secret'))).toEqual([]);
      expect(names.some((name) => name.startsWith('alias/') || name.startsWith('docs/up/'))).toBe(false);
    }, 10_000);

    it('lists a symlinked file inside the root under its own name, as stat and open serve it', async () => {
      const storage = new FileSystemStorage(root);
      const listed: string[] = [];
      for await (const file of storage.list()) if (file.name === 'link-in') listed.push(file.name);
      expect(listed).toEqual(['link-in']);
      expect((await storage.stat('link-in')).size).toBe(5);
    });

    it('does not list a symlinked file whose target lies outside the root', async () => {
      await symlink(path.join(outside, 'secret.txt'), path.join(root, 'out.txt'));
      expect(await storedNames(new FileSystemStorage(root))).not.toContain('out.txt');
    });

    it('filters by prefix and does not walk folders outside it', async () => {
      expect(await storedNames(new FileSystemStorage(root), 'docs/')).toEqual(['docs/guide.txt']);
    });

    it('stops below maxWalkDepth with one warning line, listing what is above', async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const shallow = await nest(2);
      await writeFile(path.join(root, 'd1', 'd2', 'd3-file.txt'), 'x');
      await mkdir(path.join(root, 'd1', 'd2', 'd3', 'd4'), { recursive: true });
      await writeFile(path.join(root, 'd1', 'd2', 'd3', 'd4', 'too-deep.txt'), 'x');
      const names = await storedNames(new FileSystemStorage(root, { maxWalkDepth: 2 }));
      expect(names).toContain(shallow);
      expect(names).toContain('d1/d2/d3-file.txt');
      expect(names.filter((name) => name.includes('too-deep'))).toEqual([]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/maxWalkDepth/);
    });

    it('stops after maxWalkEntries entries with one warning line', async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      await mkdir(path.join(root, 'many'));
      for (let index = 0; index < 50; index++) await writeFile(path.join(root, 'many', `f${index}.txt`), 'x');
      const names = await storedNames(new FileSystemStorage(root, { maxWalkEntries: 20 }));
      expect(names.length).toBeLessThanOrEqual(20);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/maxWalkEntries/);
    });

    it('walks a deep tree within the default limits without a warning', async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const name = await nest(20);
      expect(await storedNames(new FileSystemStorage(root))).toContain(name);
      expect(warn).not.toHaveBeenCalled();
    });

    it('refuses limits that are not whole numbers above zero', () => {
      expect(() => new FileSystemStorage(root, { maxWalkDepth: -1 })).toThrow(TypeError);
      expect(() => new FileSystemStorage(root, { maxWalkEntries: 0 })).toThrow(TypeError);
      expect(() => new FileSystemStorage(root, { maxWalkEntries: 1.5 })).toThrow(TypeError);
    });
  });

  describe('removeStaleTemporaryFiles', () => {
    it('never deletes a stale-looking file outside the root reached through a symlinked folder', async () => {
      const removed = await new FileSystemStorage(root).removeStaleTemporaryFiles();
      expect(removed).toEqual([]);
      expect(await exists(path.join(outside, STALE))).toBe(true);
    }, 10_000);

    it('removes a stale temporary file inside the root, and keeps a fresh one', async () => {
      const stale = path.join(root, 'docs', '.guide.txt.aaaaaaaaaaaa.part');
      const fresh = path.join(root, 'docs', '.guide.txt.bbbbbbbbbbbb.part');
      await writeFile(stale, 'old');
      await writeFile(fresh, 'new');
      await utimes(stale, HOUR_AGO, HOUR_AGO);
      const removed = await new FileSystemStorage(root).removeStaleTemporaryFiles();
      expect(removed).toEqual(['docs/.guide.txt.aaaaaaaaaaaa.part']);
      expect(await exists(stale)).toBe(false);
      expect(await exists(fresh)).toBe(true);
    }, 10_000);

    it('removes a symlink named like a temporary file never, nor what it points to', async () => {
      await symlink(path.join(outside, STALE), path.join(root, '.x.cccccccccccc.part'));
      expect(await new FileSystemStorage(root).removeStaleTemporaryFiles(0)).toEqual([]);
      expect(await exists(path.join(outside, STALE))).toBe(true);
      expect(await exists(path.join(root, '.x.cccccccccccc.part'))).toBe(true);
    }, 10_000);

    it('answers nothing for a root that does not exist', async () => {
      expect(await new FileSystemStorage(path.join(tmp, 'nowhere')).removeStaleTemporaryFiles()).toEqual([]);
    });
  });
});
