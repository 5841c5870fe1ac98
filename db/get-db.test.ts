import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// getDb: one connection per process and database, even across copies of the module.

describe('getDb()', () => {
  let tmp: string;
  const saved = process.env.DATABASE_URL;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'get-db-'));
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    await rm(tmp, { recursive: true, force: true });
  });

  it('gives every copy of the module the one database of DATABASE_URL, and another for another URL', async () => {
    process.env.DATABASE_URL = path.join(tmp, 'a.db');
    vi.resetModules();
    const first = await import('./index');
    vi.resetModules();
    const second = await import('./index');
    expect(first).not.toBe(second);
    const db = first.getDb();
    expect(second.getDb()).toBe(db);
    expect(first.getDb()).toBe(db);
    process.env.DATABASE_URL = path.join(tmp, 'b.db');
    const other = second.getDb();
    expect(other).not.toBe(db);
    expect(second.dialectOf(other)).toBe('sqlite');
    await first.closeDatabase(db);
    await first.closeDatabase(other);
    // Closed, it is no longer given out: the next getDb opens a new one.
    expect(second.getDb()).not.toBe(other);
    await second.closeDatabase(second.getDb());
  });
});
