import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, migrateDatabase, openDatabase, tablesOf, withMigratedDatabase } from './index';
import { SAMPLE_FILES, seedFileRows, seedMedia } from './seed';
import { createTestDatabase, testDialects, type TestDatabase } from './testing/databases';

// Instances started together against one database (several machines, or workers) each run the
// start script's migrate-and-seed: the schema must be made and the samples recorded exactly once.

describe.each(testDialects())('withMigratedDatabase on %s, from several starts at once', (dialect) => {
  let tmp: string;
  let database: TestDatabase;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'migrate-together-'));
    database = await createTestDatabase(dialect, { migrate: false });
  });

  afterEach(async () => {
    await database.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  it('migrates once and records the sample files once', async () => {
    const root = path.join(tmp, 'media');
    await seedMedia(root);
    const recorded = await Promise.all(Array.from({ length: 4 }, () => withMigratedDatabase(database.url, (db) => seedFileRows(db, root))));
    expect(recorded.sort()).toEqual([0, 0, 0, SAMPLE_FILES.length]);
    const { files } = tablesOf(database.db);
    expect(await database.db.select().from(files)).toHaveLength(SAMPLE_FILES.length);
  });

  it('seeds once from several connections of their own at once, without the start lock', async () => {
    const root = path.join(tmp, 'media');
    await seedMedia(root);
    await migrateDatabase(database.db);
    const connections = Array.from({ length: 4 }, () => openDatabase(database.url));
    try {
      const recorded = await Promise.all(connections.map((db) => seedFileRows(db, root)));
      expect(recorded.sort()).toEqual([0, 0, 0, SAMPLE_FILES.length]);
    } finally {
      await Promise.all(connections.map((db) => closeDatabase(db)));
    }
    const { files } = tablesOf(database.db);
    expect(await database.db.select().from(files)).toHaveLength(SAMPLE_FILES.length);
  });
});
