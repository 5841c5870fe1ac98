import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walk, type WalkOptions } from './walk';

let tmp: string;
let root: string;

beforeEach(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'walk-')));
  root = path.join(tmp, 'root');
  await mkdir(path.join(root, 'a', 'b'), { recursive: true });
  await writeFile(path.join(root, 'top.txt'), '');
  await writeFile(path.join(root, 'a', 'b', 'deep.txt'), '');
  await symlink('..', path.join(root, 'a', 'up'));
  await symlink(tmp, path.join(root, 'out'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function collect(options: WalkOptions = {}, from = root) {
  const found: Array<[string, string]> = [];
  for await (const entry of walk(from, { warn: () => undefined, ...options })) {
    found.push([entry.name, entry.dirent.isSymbolicLink() ? 'link' : 'file']);
  }
  return found.sort(([a], [b]) => a.localeCompare(b));
}

describe('walk', () => {
  it('yields files and symlinks with /-separated names, and enters real folders only', async () => {
    expect(await collect()).toEqual([
      ['a/b/deep.txt', 'file'],
      ['a/up', 'link'],
      ['out', 'link'],
      ['top.txt', 'file'],
    ]);
  });

  it('gives each entry its path under the canonical root', async () => {
    await symlink(root, path.join(tmp, 'root-link'));
    for await (const entry of walk(path.join(tmp, 'root-link'))) {
      expect(entry.path).toBe(path.join(root, ...entry.name.split('/')));
    }
  });

  it('asks enter() before reading a folder', async () => {
    const asked: string[] = [];
    const found = await collect({ enter: (name) => (asked.push(name), name !== 'a/b') });
    expect(asked.sort()).toEqual(['a', 'a/b']);
    expect(found.map(([name]) => name)).not.toContain('a/b/deep.txt');
  });

  it('says once, through warn, why it stopped', async () => {
    const lines: string[] = [];
    await collect({ maxDepth: 1, warn: (line) => lines.push(line), label: 'test' });
    expect(lines).toEqual([expect.stringMatching(/^test: did not enter folders more than 1 levels .*a\/b/)]);
    lines.length = 0;
    const found = await collect({ maxEntries: 2, warn: (line) => lines.push(line) });
    expect(found.length).toBeLessThanOrEqual(2);
    expect(lines).toEqual([expect.stringMatching(/stopped after 2 entries/)]);
  });

  it('yields nothing for a missing root', async () => {
    expect(await collect({}, path.join(tmp, 'nowhere'))).toEqual([]);
  });
});
