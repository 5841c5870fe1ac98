import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { downloadSecretFromEnvironment } from './download-secret';

const WARNED = Symbol.for('next-downloadview.demo.local-secret-warned');

describe('downloadSecretFromEnvironment(env, log)', () => {
  let tmp: string;
  const saved = process.env.DATABASE_URL;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'secret-'));
    process.env.DATABASE_URL = path.join(tmp, 'data', 'demo.db');
    delete (globalThis as Record<symbol, unknown>)[WARNED];
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    delete (globalThis as Record<symbol, unknown>)[WARNED];
    await rm(tmp, { recursive: true, force: true });
  });

  it('takes DOWNLOAD_SECRET as it is, writes nothing and says nothing', async () => {
    const log = vi.fn();
    const secret = 'k'.repeat(32);
    expect(downloadSecretFromEnvironment({ DOWNLOAD_SECRET: secret }, log)).toBe(secret);
    expect(log).not.toHaveBeenCalled();
    await expect(stat(path.join(tmp, 'data', '.download-secret'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a DOWNLOAD_SECRET shorter than 32 bytes, saying how to make one', () => {
    expect(() => downloadSecretFromEnvironment({ DOWNLOAD_SECRET: 'short' }, vi.fn())).toThrow(/at least 32 bytes/);
  });

  it('without DOWNLOAD_SECRET, generates one next to the database, keeps it, and warns once that it is this machine\'s', async () => {
    const log = vi.fn();
    const first = downloadSecretFromEnvironment({}, log);
    const file = path.join(tmp, 'data', '.download-secret');
    expect(Buffer.byteLength(first)).toBeGreaterThanOrEqual(32);
    expect(await readFile(file, 'utf8')).toBe(first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(downloadSecretFromEnvironment({}, log)).toBe(first);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0]![0]).toMatch(/DOWNLOAD_SECRET is not set.*this machine.*need one shared DOWNLOAD_SECRET/);
  });

  it('under Postgres keeps the generated secret in var/ of the working directory, not in a path made of the URL', () => {
    process.env.DATABASE_URL = 'postgres://user:pw@db.example:5432/demo';
    const cwd = vi.spyOn(process, 'cwd').mockReturnValue(tmp);
    try {
      const log = vi.fn();
      downloadSecretFromEnvironment({}, log);
      expect(log.mock.calls[0]![0]).toContain(path.join(tmp, 'var', '.download-secret'));
    } finally {
      cwd.mockRestore();
    }
  });
});
