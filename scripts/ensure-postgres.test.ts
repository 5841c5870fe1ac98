import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPostgres } from './ensure-postgres.mjs';

describe('findPostgres(env)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pg-bin-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function tool(name: string, mode = 0o755) {
    await writeFile(path.join(dir, name), '#!/bin/sh\n');
    await chmod(path.join(dir, name), mode);
  }

  it('takes PG_BIN when it holds an executable initdb and pg_ctl', async () => {
    await tool('initdb');
    await tool('pg_ctl');
    expect(findPostgres({ PG_BIN: dir, PATH: '' })).toBe(dir);
  });

  it('passes over a PG_BIN without pg_ctl, or whose initdb cannot be run', async () => {
    await tool('initdb');
    expect(findPostgres({ PG_BIN: dir, PATH: '' })).not.toBe(dir);
    await tool('pg_ctl');
    await chmod(path.join(dir, 'initdb'), 0o644);
    expect(findPostgres({ PG_BIN: dir, PATH: '' })).not.toBe(dir);
  });

  it('finds a folder on the PATH that holds both', async () => {
    await tool('initdb');
    await tool('pg_ctl');
    const found = findPostgres({ PATH: dir });
    // Debian's /usr/lib/postgresql/<version>/bin comes first where the package is installed.
    expect(found === dir || found?.startsWith('/usr/lib/postgresql/')).toBe(true);
  });
});
