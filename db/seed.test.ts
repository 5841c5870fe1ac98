import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_FILES, pseudoRandomBytes, seedMedia } from './seed';

describe('seedMedia', () => {
  let root: string;
  beforeEach(async () => {
    root = path.join(await mkdtemp(path.join(tmpdir(), 'seed-')), 'media');
  });
  afterEach(async () => {
    await rm(path.dirname(root), { recursive: true, force: true });
  });

  it('creates the folder and every sample file when the folder is missing', async () => {
    const created = await seedMedia(root);
    expect(created.sort()).toEqual(SAMPLE_FILES.map((sample) => sample.name).sort());
    expect(await readFile(path.join(root, 'résumé été.txt'), 'utf8')).toContain('accentué');
    expect((await readFile(path.join(root, 'sample.bin'))).equals(Buffer.from(pseudoRandomBytes(3 * 1024 * 1024, 'sample.bin')))).toBe(true);
  });

  it('creates nothing the second time', async () => {
    await seedMedia(root);
    expect(await seedMedia(root)).toEqual([]);
  });

  it('never overwrites a file that is already there', async () => {
    await seedMedia(root);
    await writeFile(path.join(root, 'hello.txt'), 'mine');
    await seedMedia(root);
    expect(await readFile(path.join(root, 'hello.txt'), 'utf8')).toBe('mine');
  });
});

describe('pseudoRandomBytes', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(Buffer.from(pseudoRandomBytes(100, 'a')).equals(Buffer.from(pseudoRandomBytes(100, 'a')))).toBe(true);
    expect(Buffer.from(pseudoRandomBytes(100, 'a')).equals(Buffer.from(pseudoRandomBytes(100, 'b')))).toBe(false);
  });
});
