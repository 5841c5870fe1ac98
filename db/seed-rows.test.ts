import { crc32 as zlibCrc32 } from 'node:zlib';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { asc } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drizzleObjectDownload } from 'next-downloadview/drizzle';
import { FileSystemStorage } from 'next-downloadview/storage';
import { tablesOf, type DemoDatabase } from './index';
import { SAMPLE_FILES, seedFileRows, seedMedia } from './seed';
import { createTestDatabase, testDialects, type TestDatabase } from './testing/databases';

// seedFileRows against a real database of each dialect migrated from its migrations folder, and
// a media folder that seedMedia filled in a temporary directory.

describe.each(testDialects())('on %s', (dialect) => {
  let tmp: string;
  let root: string;
  let database: TestDatabase;
  let db: DemoDatabase;
  let files: ReturnType<typeof tablesOf>['files'];

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'seed-rows-'));
    root = path.join(tmp, 'media');
    database = await createTestDatabase(dialect);
    db = database.db;
    files = tablesOf(db).files;
  });

  afterEach(async () => {
    await database.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  function sha256(data: Uint8Array): string {
    return createHash('sha256').update(data).digest('hex');
  }

  function rows() {
    return db.select().from(files).orderBy(asc(files.id));
  }

  const EXPECTED_TYPES: Record<string, string> = {
    'hello.txt': 'text/plain',
    'report 2026.csv': 'text/csv',
    'résumé été.txt': 'text/plain',
    '中文报告.txt': 'text/plain',
    'docs/guide.md': 'text/markdown',
    'sample.bin': 'application/octet-stream',
    'logs/access.log': 'text/plain',
  };

  describe('seedFileRows(db, root)', () => {
    it('records every sample file of the media folder on an empty table, and says how many', async () => {
      await seedMedia(root);
      expect(await seedFileRows(db, root)).toBe(SAMPLE_FILES.length);
      expect((await rows()).map((row) => row.storagePath)).toEqual(SAMPLE_FILES.map((sample) => sample.name));
    });

    it('records the size, SHA-256, CRC-32, type, basename and modification time of each file', async () => {
      await seedMedia(root);
      await seedFileRows(db, root);
      for (const row of await rows()) {
        const file = path.join(root, row.storagePath);
        const bytes = await readFile(file);
        expect(row.name).toBe(path.posix.basename(row.storagePath));
        expect(row.size).toBe(bytes.length);
        expect(row.sha256).toBe(sha256(bytes));
        expect(row.crc32).toBe(zlibCrc32(bytes));
        expect(row.contentType).toBe(EXPECTED_TYPES[row.storagePath]);
        const mtime = (await stat(file)).mtime.getTime();
        expect(row.updatedAt.getTime()).toBe(mtime);
        expect(row.createdAt.getTime()).toBe(mtime);
      }
    });

    it('names the file in a sub folder after its last segment but keeps the whole storage path', async () => {
      await seedMedia(root);
      await seedFileRows(db, root);
      const guide = (await rows()).find((row) => row.storagePath === 'docs/guide.md');
      expect(guide?.name).toBe('guide.md');
    });

    it('leaves a table that has rows alone', async () => {
      await seedMedia(root);
      await seedFileRows(db, root);
      const before = await rows();
      expect(await seedFileRows(db, root)).toBe(0);
      expect(await rows()).toEqual(before);
    });

    it('leaves a table with a single unrelated row alone', async () => {
      await seedMedia(root);
      const now = new Date();
      await db.insert(files).values({ name: 'mine.txt', storagePath: 'uploads/mine.txt', size: 1, contentType: 'text/plain', sha256: 'x', createdAt: now, updatedAt: now });
      expect(await seedFileRows(db, root)).toBe(0);
      expect(await rows()).toHaveLength(1);
    });

    it('skips sample files that are not in the media folder', async () => {
      await seedMedia(root);
      await unlink(path.join(root, 'hello.txt'));
      await unlink(path.join(root, 'docs', 'guide.md'));
      expect(await seedFileRows(db, root)).toBe(SAMPLE_FILES.length - 2);
      expect((await rows()).map((row) => row.storagePath)).not.toContain('hello.txt');
    });

    it('records nothing for a missing media folder', async () => {
      expect(await seedFileRows(db, path.join(tmp, 'nowhere'))).toBe(0);
      expect(await rows()).toEqual([]);
    });

    it('gives rows that download, byte for byte, through drizzleObjectDownload with the demo mapping', async () => {
      await seedMedia(root);
      await seedFileRows(db, root);
      const { GET } = drizzleObjectDownload({
        storage: new FileSystemStorage(root),
        db,
        table: files,
        fields: { file: 'storagePath', basename: 'name', contentType: 'contentType', size: 'size', checksum: 'sha256', lastModified: 'updatedAt' },
      });
      for (const row of await rows()) {
        const response = await GET(new Request(`http://x/api/files/${row.id}`), { params: Promise.resolve({ id: String(row.id) }) });
        expect(response.status).toBe(200);
        expect(response.headers.get('etag')).toBe(`"${row.sha256}"`);
        expect(response.headers.get('content-length')).toBe(String(row.size));
        const disposition = response.headers.get('content-disposition');
        const ascii = /^[\x20-\x7e]*$/.test(row.name);
        expect(disposition).toContain(ascii ? row.name : `filename*=UTF-8''${encodeURIComponent(row.name)}`);
        expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(row.sha256);
      }
    });
});
});
