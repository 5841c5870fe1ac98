import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { integer as pgInteger, pgTable, smallint as pgSmallint, text as pgText, uuid as pgUuid } from 'drizzle-orm/pg-core';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drizzleObjectDownload } from 'next-downloadview/drizzle';
import { FileSystemStorage } from 'next-downloadview/storage';
import { tablesOf, type DemoDatabase } from './index';
import { createTestDatabase, testDialects, type TestDatabase } from './testing/databases';

// drizzleObjectDownload (objectDownload over a Drizzle table) on each database the demo runs on: the demo's `files`
// table, and a table of the test's own with the column types a lookup meets (32- and 16-bit
// integers, text, Postgres's uuid), against FileSystemStorages on temporary folders.

const DEMO_FIELDS = { file: 'storagePath', basename: 'name', contentType: 'contentType', size: 'size', checksum: 'sha256', lastModified: 'updatedAt' } as const;

const pgNotes = pgTable('notes', {
  id: pgInteger('id').primaryKey(),
  small: pgSmallint('small').notNull(),
  slug: pgText('slug').notNull(),
  ref: pgUuid('ref').notNull(),
  path: pgText('path').notNull(),
});
const sqliteNotes = sqliteTable('notes', {
  id: integer('id').primaryKey(),
  small: integer('small').notNull(),
  slug: text('slug').notNull(),
  ref: text('ref').notNull(),
  path: text('path').notNull(),
});
const REF = '4f0c3b5e-8d2a-4c71-9a53-2b8e6f1d7c90';

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function get(handler: (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>, param: string, value: string, headers?: HeadersInit) {
  return handler(new Request(`http://x/files/${encodeURIComponent(value)}`, { headers }), { params: Promise.resolve({ [param]: value }) });
}

describe.each(testDialects())('drizzleObjectDownload on %s', (dialect) => {
  let tmp: string;
  let database: TestDatabase;
  let db: DemoDatabase;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'object-db-'));
    database = await createTestDatabase(dialect);
    db = database.db;
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await database.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  /** The same bytes in two media folders, as on two machines: written at different times. */
  async function twoMachines(name: string, content: string) {
    const roots = [path.join(tmp, 'a'), path.join(tmp, 'b')];
    for (const [index, root] of roots.entries()) {
      await mkdir(path.join(root, 'uploads'), { recursive: true });
      await writeFile(path.join(root, name), content);
      const when = new Date(Date.UTC(2026, 0, 1 + index * 30));
      await utimes(path.join(root, name), when, when);
    }
    return roots.map((root) => drizzleObjectDownload({ storage: new FileSystemStorage(root), db, table: tablesOf(db).files, fields: DEMO_FIELDS }));
  }

  async function insertFile(name: string, content: string) {
    const { files } = tablesOf(db);
    const updatedAt = new Date(Date.UTC(2026, 5, 1, 12, 0, 0, 250));
    const [row] = await db
      .insert(files)
      .values({ name: path.posix.basename(name), storagePath: name, size: Buffer.byteLength(content), contentType: 'text/plain', sha256: sha256(content), createdAt: updatedAt, updatedAt })
      .returning();
    return row!;
  }

  describe('with the demo table', () => {
    it('gives the same ETag, Last-Modified and length from two machines whose copies differ in mtime', async () => {
      const content = 'same bytes on both disks\n';
      const row = await insertFile('uploads/a.txt', content);
      const [one, two] = await twoMachines('uploads/a.txt', content);
      const answers = await Promise.all([get(one!.GET, 'id', String(row.id)), get(two!.GET, 'id', String(row.id))]);
      for (const response of answers) {
        expect(response.status).toBe(200);
        expect(response.headers.get('etag')).toBe(`"${row.sha256}"`);
        expect(response.headers.get('last-modified')).toBe(row.updatedAt.toUTCString());
        expect(response.headers.get('content-length')).toBe(String(row.size));
        expect(await response.text()).toBe(content);
      }
    });

    it('answers 304 on one machine to the ETag the other gave', async () => {
      const row = await insertFile('uploads/b.txt', 'validators travel\n');
      const [one, two] = await twoMachines('uploads/b.txt', 'validators travel\n');
      const etag = (await one!.HEAD(new Request(`http://x/files/${row.id}`, { method: 'HEAD' }), { params: Promise.resolve({ id: String(row.id) }) })).headers.get('etag')!;
      const response = await get(two!.GET, 'id', String(row.id), { 'if-none-match': etag });
      expect(response.status).toBe(304);
    });

    it('resumes on one machine a download the other began (Range with If-Range)', async () => {
      const content = 'x'.repeat(1000) + 'tail';
      const row = await insertFile('uploads/c.bin', content);
      const [one, two] = await twoMachines('uploads/c.bin', content);
      const first = await get(one!.GET, 'id', String(row.id));
      const etag = first.headers.get('etag')!;
      await first.body?.cancel();
      const rest = await get(two!.GET, 'id', String(row.id), { range: 'bytes=1000-', 'if-range': etag });
      expect(rest.status).toBe(206);
      expect(rest.headers.get('content-range')).toBe(`bytes 1000-1003/${content.length}`);
      expect(await rest.text()).toBe('tail');
    });

    it.each(['0', '-1', '4294967296', '9007199254740991', '9223372036854775807', '99999999999999999999', '1e3', 'abc', 'a\u0000'])(
      'answers 404 for id %j',
      async (id) => {
        await insertFile('uploads/d.txt', 'd');
        const [one] = await twoMachines('uploads/d.txt', 'd');
        expect((await get(one!.GET, 'id', id)).status).toBe(404);
      },
    );
  });

  describe("with a table's 32-bit, 16-bit, text and uuid lookups", () => {
    let storage: FileSystemStorage;
    beforeEach(async () => {
      storage = new FileSystemStorage(path.join(tmp, 'notes'));
      await mkdir(path.join(tmp, 'notes'), { recursive: true });
      await writeFile(path.join(tmp, 'notes', 'n.txt'), 'note\n');
      const ref = dialect === 'postgres' ? 'uuid' : 'text';
      const small = dialect === 'postgres' ? 'smallint' : 'integer';
      const create = `CREATE TABLE notes (id integer PRIMARY KEY, small ${small} NOT NULL, slug text NOT NULL, ref ${ref} NOT NULL, path text NOT NULL)`;
      const insert = `INSERT INTO notes (id, small, slug, ref, path) VALUES (7, 7, 'seven', '${REF}', 'n.txt')`;
      if (dialect === 'postgres') {
        await (db as unknown as NodePgDatabase).execute(sql.raw(create));
        await (db as unknown as NodePgDatabase).execute(sql.raw(insert));
      } else {
        db.run(sql.raw(create));
        db.run(sql.raw(insert));
      }
    });

    function notes(column: 'id' | 'small' | 'slug' | 'ref') {
      const table = dialect === 'postgres' ? pgNotes : sqliteNotes;
      return drizzleObjectDownload({ storage, db, table, lookup: { column, param: 'key' }, fields: { file: 'path' } });
    }

    it.each([
      ['id', '7'],
      ['small', '7'],
      ['slug', 'seven'],
      ['ref', REF],
    ] as const)('finds the row by %s', async (column, value) => {
      const response = await get(notes(column).GET, 'key', value);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('note\n');
    });

    it('builds its select once per database and binds each request\'s value (no row of one request in another\'s answer)', async () => {
      const insert = `INSERT INTO notes (id, small, slug, ref, path) VALUES (8, 8, 'eight', '${REF.replace('4f0c', '5f0c')}', 'm.txt')`;
      await writeFile(path.join(tmp, 'notes', 'm.txt'), 'other\n');
      if (dialect === 'postgres') await (db as unknown as NodePgDatabase).execute(sql.raw(insert));
      else db.run(sql.raw(insert));
      const select = vi.spyOn(db, 'select');
      const { GET } = notes('id');
      const bodies: string[] = [];
      for (const id of ['7', '8', '7', '9', '8']) {
        const response = await get(GET, 'key', id);
        bodies.push(response.status === 200 ? await response.text() : String(response.status));
      }
      expect(bodies).toEqual(['note\n', 'other\n', 'note\n', '404', 'other\n']);
      expect(select).toHaveBeenCalledTimes(1);
    });

    it.each([
      ['id', '2147483648'],
      ['id', '-2147483649'],
      ['id', '9007199254740991'],
      ['small', '32768'],
      ['small', '-32769'],
      ['small', '70000'],
      ['slug', 'sev\u0000en'],
      ['slug', '\u0000'],
      ['ref', 'not-a-uuid'],
      ['ref', `${REF}0`],
      ['ref', '\u0000'],
    ] as const)('answers 404, not 500, for %s %j, which no row can hold', async (column, value) => {
      const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
      const response = await get(notes(column).GET, 'key', value);
      expect(response.status).toBe(404);
      expect(errors).not.toHaveBeenCalled();
    });
  });
});
