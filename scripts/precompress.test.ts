import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { precompress } from './precompress.mjs';

const LOG = 'GET /api/path/report.csv 200\n'.repeat(500);
let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'precompress-'));
  await mkdir(path.join(root, 'logs'));
  await writeFile(path.join(root, 'logs', 'access.log'), LOG);
  await writeFile(path.join(root, 'tiny.txt'), 'hi\n');
  // Brotli makes it smaller, but it is under MIN_SIZE: not worth a sibling.
  await writeFile(path.join(root, 'small.csv'), 'month,downloads\n2026-01,1200\n2026-02,1350\n2026-03,1610\n');
  await writeFile(path.join(root, 'photo.bin'), Buffer.alloc(4096, 1));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('precompress(root)', () => {
  it('writes .br and .gz beside text files of 1 KiB or more that they make smaller, and leaves the rest', async () => {
    const written: string[] = await precompress(root);
    expect(written.sort()).toEqual(['logs/access.log.br', 'logs/access.log.gz']);
    expect(brotliDecompressSync(await readFile(path.join(root, 'logs/access.log.br'))).toString()).toBe(LOG);
    expect(gunzipSync(await readFile(path.join(root, 'logs/access.log.gz'))).toString()).toBe(LOG);
  });

  it('writes siblings of the files it is given even when larger, with keepLarger', async () => {
    const written: string[] = await precompress(root, { files: ['tiny.txt', 'missing.txt'], keepLarger: true });
    expect(written.sort()).toEqual(['tiny.txt.br', 'tiny.txt.gz']);
  });

  it('rewrites a sibling only when it is older than its file', async () => {
    await precompress(root);
    expect(await precompress(root)).toEqual([]);
    const later = new Date(Date.now() + 5_000);
    await writeFile(path.join(root, 'logs', 'access.log'), `${LOG}more\n`);
    await utimes(path.join(root, 'logs', 'access.log'), later, later);
    expect((await precompress(root)).sort()).toEqual(['logs/access.log.br', 'logs/access.log.gz']);
    expect(gunzipSync(await readFile(path.join(root, 'logs/access.log.gz'))).toString()).toBe(`${LOG}more\n`);
    // Dated like its file, so a route does not take it for stale.
    const date = async (name: string) => Math.floor((await stat(path.join(root, name))).mtimeMs);
    expect(await date('logs/access.log.gz')).toBe(await date('logs/access.log'));
  });
});
