import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RouteParams } from '../engine/options';
import { ConfigurationError } from '../errors';
import { FileSystemStorage } from '../storage/file-system-storage';
import type { Storage } from '../storage/storage';
import { drizzleObjectDownload, type DrizzleObjectDownloadOptions } from '../drizzle/drizzle-object-download';
import { objectDownload, objectSource, type ObjectDownloadOptions, type ObjectFields } from './object-download';

// objectDownload against a real SQLite file (through Drizzle) and a FileSystemStorage on a real
// temporary directory:
//   <tmp>/media/docs/report.bin, docs/latin1.csv, docs/data.json.gz, docs/résumé.txt
//   <tmp>/outside/secret.txt
//   <tmp>/objects.db: table `documents`, one row per case below.
//
// The table is the test's own (the kit does not know the demo's schema), with a column for every
// field mapping, so each mapping can be shown to change the response.

const documents = sqliteTable('documents', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  slug: text('slug').notNull(),
  path: text('path'),
  title: text('title'),
  mime: text('mime'),
  charset: text('charset'),
  encoding: text('encoding'),
  modified: integer('modified', { mode: 'timestamp_ms' }),
  modifiedMs: integer('modified_ms'),
  modifiedIso: text('modified_iso'),
  size: integer('size'),
  checksum: text('checksum'),
});

type DocumentRow = typeof documents.$inferSelect;
type NewDocument = typeof documents.$inferInsert;

const CREATE_TABLE = `CREATE TABLE documents (
  id integer PRIMARY KEY AUTOINCREMENT NOT NULL,
  slug text NOT NULL,
  path text,
  title text,
  mime text,
  charset text,
  encoding text,
  modified integer,
  modified_ms integer,
  modified_iso text,
  size integer,
  checksum text
)`;

/** Every mapping, each to a column of its own. */
const ALL_FIELDS: ObjectFields = {
  file: 'path',
  basename: 'title',
  contentType: 'mime',
  charset: 'charset',
  encoding: 'encoding',
  lastModified: 'modified',
  size: 'size',
  checksum: 'checksum',
};

const REPORT = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251)); // 1000 binary bytes
const LATIN1 = Buffer.from('name,city\nJos\xe9,S\xe3o Paulo\n', 'latin1');
const JSON_TEXT = '{"hello":"world"}\n'.repeat(20);
const JSON_GZ = gzipSync(JSON_TEXT);
const SECRET = 'TOP-SECRET-BYTES';
/** Deliberately not the files' mtime, so a Last-Modified from the row is recognisable. */
const ROW_DATE = new Date('2024-02-29T12:34:56.000Z');
const FILE_DATE = new Date('2020-01-01T00:00:00.000Z');
const CHECKSUM = createHash('sha256').update(REPORT).digest('hex');

let tmp: string;
let root: string;
let storage: FileSystemStorage;
let sqlite: Database.Database;
let db: BetterSQLite3Database;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'object-download-'));
  root = path.join(tmp, 'media');
  await mkdir(path.join(root, 'docs'), { recursive: true });
  await mkdir(path.join(tmp, 'outside'));
  await writeFile(path.join(root, 'docs', 'report.bin'), REPORT);
  await writeFile(path.join(root, 'docs', 'latin1.csv'), LATIN1);
  await writeFile(path.join(root, 'docs', 'data.json.gz'), JSON_GZ);
  await writeFile(path.join(root, 'docs', 'résumé.txt'), 'CV\n');
  await writeFile(path.join(tmp, 'outside', 'secret.txt'), SECRET);
  for (const name of ['report.bin', 'latin1.csv', 'data.json.gz', 'résumé.txt']) {
    await utimes(path.join(root, 'docs', name), FILE_DATE, FILE_DATE);
  }
  storage = new FileSystemStorage(root);
  sqlite = new Database(path.join(tmp, 'objects.db'));
  sqlite.exec(CREATE_TABLE);
  db = drizzle(sqlite);
});

afterEach(async () => {
  vi.restoreAllMocks();
  sqlite.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Inserts a row and returns its id as the route param Next would pass. */
async function insert(values: Partial<NewDocument>): Promise<string> {
  const [row] = await db
    .insert(documents)
    .values({ slug: 'doc', ...values })
    .returning();
  return String(row!.id);
}

function context(params: RouteParams) {
  return { params: Promise.resolve(params) };
}

/** Each test ends like a client that leaves: the engine then releases any body left unread. */
let client = new AbortController();
afterEach(() => {
  client.abort();
  client = new AbortController();
});

function request(init: RequestInit = {}, url = 'http://x/api/documents/1') {
  return new Request(url, { signal: client.signal, ...init });
}

function download(options: Partial<DrizzleObjectDownloadOptions> = {}) {
  return drizzleObjectDownload({ storage, db, table: documents, fields: ALL_FIELDS, ...options });
}

/** GET /documents/:id through a fresh objectDownload. */
function get(id: string, headers: HeadersInit = {}, options: Partial<DrizzleObjectDownloadOptions> = {}) {
  return download(options).GET(request({ headers }), context({ id }));
}

/** Wraps a storage so that `stat` and `open` calls are counted. */
function counted(inner: Storage) {
  const calls = { stat: 0, open: 0 };
  const wrapped: Storage = {
    stat: (name) => {
      calls.stat++;
      return inner.stat(name);
    },
    open: (name, options) => {
      calls.open++;
      return inner.open(name, options);
    },
    save: (name, content, options) => inner.save(name, content, options),
    delete: (name) => inner.delete(name),
    exists: (name) => inner.exists(name),
    list: (prefix) => inner.list(prefix),
  };
  return { storage: wrapped, calls };
}

async function bytes(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

function configurationError(make: () => unknown): ConfigurationError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError at creation');
}

describe('objectDownload', () => {
  describe('with a Drizzle db and table', () => {
    it('serves the bytes of the file the row names, found by the id route param', async () => {
      const id = await insert({ path: 'docs/report.bin' });
      const response = await get(id);
      expect(response.status).toBe(200);
      expect((await bytes(response)).equals(REPORT)).toBe(true);
      expect(response.headers.get('content-length')).toBe('1000');
    });

    it('picks the row of the id, not another one', async () => {
      await insert({ path: 'docs/report.bin' });
      const second = await insert({ path: 'docs/résumé.txt' });
      const response = await get(second);
      expect(await response.text()).toBe('CV\n');
    });

    it('matches lookup.column against the route param lookup.param', async () => {
      await insert({ slug: 'annual-report', path: 'docs/report.bin' });
      await insert({ slug: 'cv', path: 'docs/résumé.txt' });
      const { GET } = download({ lookup: { column: 'slug', param: 'slug' } });
      const response = await GET(request(), context({ slug: 'cv' }));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('CV\n');
      expect((await GET(request(), context({ slug: 'nope' }))).status).toBe(404);
    });

    it('takes a function returning the db, and calls it only once a request needs it', async () => {
      const id = await insert({ path: 'docs/résumé.txt' });
      const open = vi.fn(() => db);
      const { GET } = download({ db: open });
      expect(open).not.toHaveBeenCalled();
      const response = await GET(request(), context({ id }));
      expect(await response.text()).toBe('CV\n');
      expect(open).toHaveBeenCalled();
    });

    it('answers 404 when no row has that id', async () => {
      await insert({ path: 'docs/report.bin' });
      const response = await get('999');
      expect(response.status).toBe(404);
    });

    it.each([
      ['a word', 'abc'],
      ['a decimal', '1.5'],
      ['an exponent', '1e0'],
      ['hex', '0x1'],
      ['an id with a trailing word', '1abc'],
      ['a number past 2^53', '99999999999999999999'],
      ['an empty string', ''],
      ['whitespace around a number', ' 1 '],
    ])('answers 404 for %s (%j) on an integer column, without a query', async (_label, id) => {
      await insert({ path: 'docs/report.bin' });
      const open = vi.fn(() => db);
      const response = await download({ db: open }).GET(request(), context({ id }));
      expect(response.status).toBe(404);
      expect(open).not.toHaveBeenCalled();
    });

    it('answers 404 when the route gives its param as a catch-all array, and 500 when it has no such param', async () => {
      await insert({ path: 'docs/report.bin' });
      const { GET } = download();
      expect((await GET(request(), context({ id: ['1'] }))).status).toBe(404);
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const missing = await GET(request(), context({}));
      expect(missing.status).toBe(500);
      expect(await missing.text()).toContain('drizzleObjectDownload: the route has no [id] segment');
      log.mockRestore();
    });
  });

  describe('field mappings', () => {
    describe('basename', () => {
      it('names the download after the row, not the storage name', async () => {
        const id = await insert({ path: 'docs/report.bin', title: 'Annual report.bin' });
        const response = await get(id);
        expect(response.headers.get('content-disposition')).toBe('attachment; filename="Annual report.bin"');
      });

      it('sends a non-ASCII basename in both the ASCII and the UTF-8 filename* forms', async () => {
        const id = await insert({ path: 'docs/report.bin', title: 'Résumé 中文.pdf' });
        const disposition = (await get(id)).headers.get('content-disposition')!;
        expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]+\.pdf"; /);
        expect(disposition).toContain(`filename*=UTF-8''${encodeURIComponent('Résumé 中文.pdf')}`);
      });

      it('reduces a basename with a path to its last segment', async () => {
        const id = await insert({ path: 'docs/report.bin', title: '../../etc/passwd' });
        expect((await get(id)).headers.get('content-disposition')).toMatch(/^attachment; filename="?passwd"?$/);
      });

      it('falls back to the last segment of the storage name when the row has none', async () => {
        const id = await insert({ path: 'docs/report.bin', title: null });
        expect((await get(id)).headers.get('content-disposition')).toMatch(/^attachment; filename="?report\.bin"?$/);
      });

      it('keeps the name with an inline disposition', async () => {
        const id = await insert({ path: 'docs/report.bin', title: 'Annual.bin' });
        const response = await get(id, {}, { attachment: false });
        expect(response.headers.get('content-disposition')).toMatch(/^inline; filename="?Annual\.bin"?$/);
      });
    });

    describe('contentType', () => {
      it('takes Content-Type from the row over the guess from the name', async () => {
        const id = await insert({ path: 'docs/report.bin', mime: 'application/pdf' });
        expect((await get(id)).headers.get('content-type')).toBe('application/pdf');
        const guessed = await insert({ path: 'docs/report.bin', mime: null });
        expect((await get(guessed)).headers.get('content-type')).toBe('application/octet-stream');
      });

      it('adds utf-8 to a textual type from the row when no charset is given', async () => {
        const id = await insert({ path: 'docs/report.bin', mime: 'text/csv' });
        expect((await get(id)).headers.get('content-type')).toBe('text/csv; charset=utf-8');
      });

      it('ignores a row value that is not a media type instead of sending it', async () => {
        const id = await insert({ path: 'docs/latin1.csv', mime: 'not a type\r\nX-Evil: 1' });
        const response = await get(id);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
        expect(response.headers.get('x-evil')).toBeNull();
      });
    });

    describe('charset', () => {
      it('puts the row charset on the Content-Type', async () => {
        const id = await insert({ path: 'docs/latin1.csv', mime: 'text/csv', charset: 'iso-8859-1' });
        const response = await get(id);
        expect(response.headers.get('content-type')).toBe('text/csv; charset=iso-8859-1');
        expect((await bytes(response)).equals(LATIN1)).toBe(true);
      });

      it('applies the row charset to a type guessed from the name too', async () => {
        const id = await insert({ path: 'docs/latin1.csv', charset: 'iso-8859-1' });
        expect((await get(id)).headers.get('content-type')).toBe('text/csv; charset=iso-8859-1');
      });
    });

    describe('encoding', () => {
      it('sends Content-Encoding from the row with the stored bytes as they are', async () => {
        const id = await insert({ path: 'docs/data.json.gz', title: 'data.json', mime: 'application/json', encoding: 'gzip' });
        const response = await get(id);
        expect(response.headers.get('content-encoding')).toBe('gzip');
        expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(response.headers.get('content-length')).toBe(String(JSON_GZ.length));
        const body = await bytes(response);
        expect(body.equals(JSON_GZ)).toBe(true);
        expect(gunzipSync(body).toString()).toBe(JSON_TEXT);
      });

      it('sends no Content-Encoding when the row has none', async () => {
        const id = await insert({ path: 'docs/data.json.gz', encoding: null });
        expect((await get(id)).headers.get('content-encoding')).toBeNull();
      });
    });

    describe('lastModified', () => {
      it('takes Last-Modified from a Date (a timestamp_ms column), not the file mtime', async () => {
        const id = await insert({ path: 'docs/report.bin', modified: ROW_DATE });
        expect((await get(id)).headers.get('last-modified')).toBe(ROW_DATE.toUTCString());
      });

      it('takes Last-Modified from epoch milliseconds', async () => {
        const id = await insert({ path: 'docs/report.bin', modifiedMs: ROW_DATE.getTime() });
        const response = await get(id, {}, { fields: { ...ALL_FIELDS, lastModified: 'modifiedMs' } });
        expect(response.headers.get('last-modified')).toBe(ROW_DATE.toUTCString());
      });

      it('takes Last-Modified from an ISO string', async () => {
        const id = await insert({ path: 'docs/report.bin', modifiedIso: '2024-02-29T12:34:56Z' });
        const response = await get(id, {}, { fields: { ...ALL_FIELDS, lastModified: 'modifiedIso' } });
        expect(response.headers.get('last-modified')).toBe(ROW_DATE.toUTCString());
      });

      it('falls back to the file mtime when the row has no date or one that does not parse', async () => {
        const empty = await insert({ path: 'docs/report.bin', modified: null });
        expect((await get(empty)).headers.get('last-modified')).toBe(FILE_DATE.toUTCString());
        const garbage = await insert({ path: 'docs/report.bin', modifiedIso: 'yesterday-ish' });
        const response = await get(garbage, {}, { fields: { ...ALL_FIELDS, lastModified: 'modifiedIso' } });
        expect(response.status).toBe(200);
        expect(response.headers.get('last-modified')).toBe(FILE_DATE.toUTCString());
      });
    });

    describe('checksum', () => {
      it('sends the row checksum as a strong ETag', async () => {
        const id = await insert({ path: 'docs/report.bin', size: 1000, checksum: CHECKSUM });
        expect((await get(id)).headers.get('etag')).toBe(`"${CHECKSUM}"`);
      });

      it('falls back to the storage ETag without a checksum', async () => {
        const id = await insert({ path: 'docs/report.bin', checksum: null });
        expect((await get(id)).headers.get('etag')).toBe(String((await storage.stat('docs/report.bin')).etag));
      });

      it('turns a checksum that is not a valid entity-tag into a safe one', async () => {
        const id = await insert({ path: 'docs/report.bin', checksum: 'has "quotes" and\r\nnewlines' });
        const response = await get(id);
        expect(response.status).toBe(200);
        expect(response.headers.get('etag')).toMatch(/^"[\x21\x23-\x7e]+"$/);
      });
    });

    describe('size', () => {
      it('sends the size when the row agrees with the file', async () => {
        const id = await insert({ path: 'docs/report.bin', size: 1000, checksum: CHECKSUM });
        const response = await get(id);
        expect(response.headers.get('content-length')).toBe('1000');
        expect(response.headers.get('etag')).toBe(`"${CHECKSUM}"`);
      });

      it('sends the real length and every byte when the row records another size', async () => {
        vi.spyOn(console, 'warn').mockImplementation(() => undefined);
        const id = await insert({ path: 'docs/report.bin', size: 5, checksum: CHECKSUM });
        const response = await get(id);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-length')).toBe('1000');
        expect((await bytes(response)).equals(REPORT)).toBe(true);
      });

      it('does not vouch for other bytes with the row checksum when the size disagrees', async () => {
        vi.spyOn(console, 'warn').mockImplementation(() => undefined);
        const id = await insert({ path: 'docs/report.bin', size: 2000, checksum: CHECKSUM });
        expect((await get(id)).headers.get('etag')).not.toBe(`"${CHECKSUM}"`);
      });

      // The size is stale, but what the row says the file *is* still holds: a gzip file stays
      // gzip (without Content-Encoding a browser saves compressed bytes under the JSON name),
      // and its media type does not depend on its length.
      it('still describes the file with the row type, charset and encoding when only the size disagrees', async () => {
        vi.spyOn(console, 'warn').mockImplementation(() => undefined);
        const id = await insert({
          path: 'docs/data.json.gz',
          title: 'data.json',
          mime: 'application/json',
          charset: 'iso-8859-1',
          encoding: 'gzip',
          size: 1,
        });
        const response = await get(id);
        expect(response.headers.get('content-length')).toBe(String(JSON_GZ.length));
        expect(response.headers.get('content-encoding')).toBe('gzip');
        expect(response.headers.get('content-type')).toBe('application/json; charset=iso-8859-1');
        expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="?data\.json"?$/);
      });
    });

    it('uses every mapping at once', async () => {
      const id = await insert({
        path: 'docs/latin1.csv',
        title: 'Clients été.csv',
        mime: 'text/csv',
        charset: 'iso-8859-1',
        encoding: 'identity',
        modified: ROW_DATE,
        size: LATIN1.length,
        checksum: 'v42',
      });
      const response = await get(id);
      expect(response.status).toBe(200);
      expect(Object.fromEntries(response.headers)).toMatchObject({
        'content-type': 'text/csv; charset=iso-8859-1',
        'content-encoding': 'identity',
        'content-length': String(LATIN1.length),
        'last-modified': ROW_DATE.toUTCString(),
        etag: '"v42"',
      });
      expect(response.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('Clients été.csv')}`);
      expect((await bytes(response)).equals(LATIN1)).toBe(true);
    });
  });

  describe('a file that is not there', () => {
    it.each([
      ['the file field is null', { path: null }],
      ['the file field is empty', { path: '' }],
      ['the file is missing from the storage', { path: 'docs/gone.pdf' }],
      ['the file field names a folder', { path: 'docs' }],
      ['the file field names a hidden dotfile', { path: '.env' }],
    ])('answers 404 when %s, never 500', async (_label, values) => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      await writeFile(path.join(root, '.env'), SECRET);
      const id = await insert(values);
      const response = await get(id);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain(SECRET);
      expect(error).not.toHaveBeenCalled();
    });

    it('never serves a file outside the storage that a row points to', async () => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const id = await insert({ path: '../outside/secret.txt' });
      const response = await get(id);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(await response.text()).not.toContain(SECRET);
    });

    it('answers 404 when the file is deleted after the row was written', async () => {
      const id = await insert({ path: 'docs/report.bin' });
      expect((await get(id)).status).toBe(200);
      await storage.delete('docs/report.bin');
      expect((await get(id)).status).toBe(404);
    });

    it('lets notFound answer a missing row and a missing file', async () => {
      const notFound = vi.fn(() => new Response('custom', { status: 404 }));
      const missingFile = await insert({ path: 'docs/gone.pdf' });
      const { GET } = download({ notFound });
      expect(await (await GET(request(), context({ id: '999' }))).text()).toBe('custom');
      expect(await (await GET(request(), context({ id: missingFile }))).text()).toBe('custom');
      expect(notFound).toHaveBeenCalledTimes(2);
    });
  });

  describe('conditional and range requests', () => {
    async function reportRow(): Promise<string> {
      return insert({ path: 'docs/report.bin', size: 1000, checksum: CHECKSUM, modified: ROW_DATE });
    }

    it('answers 304 to If-None-Match with the row checksum, without opening the file', async () => {
      const id = await reportRow();
      const { storage: spy, calls } = counted(storage);
      const response = await get(id, { 'if-none-match': `"${CHECKSUM}"` }, { storage: spy });
      expect(response.status).toBe(304);
      expect(response.headers.get('etag')).toBe(`"${CHECKSUM}"`);
      expect(await response.text()).toBe('');
      expect(calls.open).toBe(0);
    });

    it('answers 200 to If-None-Match with another checksum', async () => {
      const id = await reportRow();
      expect((await get(id, { 'if-none-match': '"something-else"' })).status).toBe(200);
    });

    it('answers 304 to If-Modified-Since at the row date, and 200 to one before it', async () => {
      const id = await reportRow();
      expect((await get(id, { 'if-modified-since': ROW_DATE.toUTCString() })).status).toBe(304);
      const before = new Date(ROW_DATE.getTime() - 60_000).toUTCString();
      expect((await get(id, { 'if-modified-since': before })).status).toBe(200);
    });

    it('answers 412 to If-Match with another checksum', async () => {
      const id = await reportRow();
      expect((await get(id, { 'if-match': '"old"' })).status).toBe(412);
      expect((await get(id, { 'if-match': `"${CHECKSUM}"` })).status).toBe(200);
    });

    it('answers 206 with exactly the bytes of a Range', async () => {
      const id = await reportRow();
      const response = await get(id, { range: 'bytes=100-199' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe('bytes 100-199/1000');
      expect(response.headers.get('content-length')).toBe('100');
      expect((await bytes(response)).equals(REPORT.subarray(100, 200))).toBe(true);
    });

    it('answers 206 to a suffix range', async () => {
      const id = await reportRow();
      const response = await get(id, { range: 'bytes=-10' });
      expect(response.status).toBe(206);
      expect((await bytes(response)).equals(REPORT.subarray(990))).toBe(true);
    });

    it('honours If-Range with the row checksum, and sends the whole file for another one', async () => {
      const id = await reportRow();
      const matching = await get(id, { range: 'bytes=0-9', 'if-range': `"${CHECKSUM}"` });
      expect(matching.status).toBe(206);
      expect((await bytes(matching)).equals(REPORT.subarray(0, 10))).toBe(true);
      const stale = await get(id, { range: 'bytes=0-9', 'if-range': '"old"' });
      expect(stale.status).toBe(200);
      expect((await bytes(stale)).length).toBe(1000);
    });

    it('answers 416 with bytes */size for a range past the end', async () => {
      const id = await reportRow();
      const response = await get(id, { range: 'bytes=5000-' });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */1000');
    });

    it('ranges over the real length when the row size is stale', async () => {
      vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const id = await insert({ path: 'docs/report.bin', size: 10 });
      const response = await get(id, { range: 'bytes=500-' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe('bytes 500-999/1000');
      expect((await bytes(response)).equals(REPORT.subarray(500))).toBe(true);
    });
  });

  describe('HEAD', () => {
    it('answers the headers of GET without opening the file', async () => {
      const id = await insert({ path: 'docs/report.bin', title: 'r.bin', size: 1000, checksum: CHECKSUM, modified: ROW_DATE });
      const { storage: spy, calls } = counted(storage);
      const { GET, HEAD } = download({ storage: spy });
      const head = await HEAD(request({ method: 'HEAD' }), context({ id }));
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      expect(calls.open).toBe(0);
      expect(calls.stat).toBe(1);
      const getResponse = await GET(request(), context({ id }));
      expect(Object.fromEntries(head.headers)).toEqual(Object.fromEntries(getResponse.headers));
      await getResponse.arrayBuffer();
      expect(calls.open).toBe(1);
    });

    it('answers 404 for a missing row or file without opening anything', async () => {
      const id = await insert({ path: 'docs/gone.pdf' });
      const { storage: spy, calls } = counted(storage);
      const { HEAD } = download({ storage: spy });
      expect((await HEAD(request({ method: 'HEAD' }), context({ id }))).status).toBe(404);
      expect((await HEAD(request({ method: 'HEAD' }), context({ id: '999' }))).status).toBe(404);
      expect(calls.open).toBe(0);
    });
  });

  describe('with getObject', () => {
    it('serves the row it returns, with the request and route params it was given', async () => {
      const getObject = vi.fn(async (_request: Request, params: RouteParams) =>
        params.name === 'cv' ? { stored: 'docs/résumé.txt', label: 'My CV.txt', type: 'text/markdown' } : undefined,
      );
      const { GET } = objectDownload({ storage, getObject, fields: { file: 'stored', basename: 'label', contentType: 'type' } });
      const req = request();
      const response = await GET(req, context({ name: 'cv' }));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('CV\n');
      expect(response.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="My CV.txt"');
      expect(getObject).toHaveBeenCalledWith(req, { name: 'cv' });
    });

    it('uses the `file` property when no file field is mapped', async () => {
      const { GET } = objectDownload({ storage, getObject: () => ({ file: 'docs/résumé.txt' }) });
      const response = await GET(request(), context({}));
      expect(await response.text()).toBe('CV\n');
      expect(response.headers.get('content-disposition')).toContain("filename*=UTF-8''r%C3%A9sum%C3%A9.txt");
    });

    it.each([
      ['undefined', undefined],
      ['null', null],
    ])('answers 404 when it returns %s', async (_label, value) => {
      const { GET } = objectDownload({ storage, getObject: () => value });
      expect((await GET(request(), context({}))).status).toBe(404);
    });

    it('answers 404 when the file property is not a string', async () => {
      const { GET } = objectDownload({ storage, getObject: () => ({ file: 42 }) });
      expect((await GET(request(), context({}))).status).toBe(404);
    });

    it('answers 500 that leaks nothing when it throws', async () => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const { GET } = objectDownload({
        storage,
        getObject: () => {
          throw new Error(`db password ${SECRET}`);
        },
      });
      const response = await GET(request(), context({}));
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain(SECRET);
      expect(error).toHaveBeenCalled();
    });

    it('needs no database: the row can come from anywhere', async () => {
      const { GET } = objectDownload({ storage, getObject: () => ({ path: 'docs/résumé.txt' }), fields: { file: 'path' } });
      expect(await (await GET(request(), context({ id: 'any' }))).text()).toBe('CV\n');
    });

    it('runs authorize before looking anything up', async () => {
      const getObject = vi.fn(() => ({ file: 'docs/résumé.txt' }));
      const { GET } = objectDownload({ storage, getObject, authorize: () => false });
      expect((await GET(request(), context({}))).status).toBe(403);
      expect(getObject).not.toHaveBeenCalled();
    });
  });

  describe('configuration errors, thrown at creation', () => {
    it('refuses an unknown field mapping, naming it', () => {
      const error = configurationError(() =>
        objectDownload({ storage, getObject: () => undefined, fields: { file: 'path', mimeType: 'mime' } as never }),
      );
      expect(error.message).toContain('mimeType');
    });

    it('refuses a field mapped to a column the table does not have, naming both', () => {
      const error = configurationError(() => download({ fields: { file: 'path', checksum: 'sha256' } }));
      expect(error.message).toContain('sha256');
      expect(error.message).toContain('checksum');
    });

    it('refuses a table without the default `file` column when no file field is given', () => {
      configurationError(() => drizzleObjectDownload({ storage, db, table: documents }));
    });

    it('refuses an empty or non-string field value', () => {
      configurationError(() => download({ fields: { file: '' } }));
      configurationError(() => download({ fields: { file: 'path', size: 7 as unknown as string } }));
    });

    it('refuses a lookup column the table does not have', () => {
      const error = configurationError(() => download({ lookup: { column: 'uuid' } }));
      expect(error.message).toContain('uuid');
    });

    // `in` and `obj[name]` also see Object.prototype: `toString` is not a column either.
    it('refuses a lookup column that is only an Object.prototype property', () => {
      configurationError(() => download({ lookup: { column: 'toString' } }));
    });

    it('refuses a field mapped to a name that is only an Object.prototype property', () => {
      configurationError(() => download({ fields: { ...ALL_FIELDS, basename: 'constructor' } }));
    });

    it('refuses options with neither getObject nor db and table', () => {
      configurationError(() => objectDownload({ storage } as unknown as ObjectDownloadOptions));
      configurationError(() => drizzleObjectDownload({ storage, table: documents, fields: ALL_FIELDS } as unknown as DrizzleObjectDownloadOptions));
      configurationError(() => drizzleObjectDownload({ storage, db, fields: ALL_FIELDS } as unknown as DrizzleObjectDownloadOptions));
    });

    it('refuses a db that is neither a Drizzle database nor a function', () => {
      configurationError(() => download({ db: { query: () => [] } }));
    });

    it('refuses a storage that does not implement Storage', () => {
      configurationError(() => download({ storage: {} as Storage }));
    });

    it('refuses the options every factory checks', () => {
      configurationError(() => download({ maxRanges: 0 }));
    });
  });
});

describe('objectSource', () => {
  it('describes the stored file with the row fields and opens its bytes', async () => {
    const row: DocumentRow = {
      id: 1,
      slug: 'x',
      path: 'docs/latin1.csv',
      title: 'clients.csv',
      mime: 'text/csv',
      charset: 'iso-8859-1',
      encoding: 'identity',
      modified: ROW_DATE,
      modifiedMs: null,
      modifiedIso: null,
      size: LATIN1.length,
      checksum: 'abc',
    };
    const source = await objectSource(row, { ...ALL_FIELDS, file: 'path' }, storage);
    expect(source).toMatchObject({
      name: 'clients.csv',
      size: LATIN1.length,
      contentType: 'text/csv',
      charset: 'iso-8859-1',
      encoding: 'identity',
      lastModified: ROW_DATE,
      etag: 'abc',
    });
    const chunks: Uint8Array[] = [];
    for await (const chunk of await source.open({ start: 0, end: 3 })) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString('latin1')).toBe('name');
  });

  it('throws a 404 for a row without a file', async () => {
    await expect(objectSource({ path: '' }, { file: 'path' }, storage)).rejects.toMatchObject({ status: 404 });
    await expect(objectSource({}, { file: 'path' }, storage)).rejects.toMatchObject({ status: 404 });
  });

  it('keeps the storage metadata for fields the row leaves empty', async () => {
    const source = await objectSource({ path: 'docs/report.bin', mime: '', modified: null }, ALL_FIELDS as ObjectFields & { file: string }, storage);
    const stored = await storage.stat('docs/report.bin');
    expect(source.name).toBe('report.bin');
    expect(source.etag).toBe(stored.etag);
    expect(source.lastModified?.getTime()).toBe((await stat(path.join(root, 'docs', 'report.bin'))).mtime.getTime());
  });
});
