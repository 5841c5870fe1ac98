import { crc32 as zlibCrc32 } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { tablesOf, type DemoDatabase } from '@/db';
import type { FileRow, NewFileRow } from '@/db/schema';
import { createTestDatabase, testDialects, type TestDatabase } from '@/db/testing/databases';

// The demo's file operations against a real database of each dialect (migrated from its
// migrations folder) and the demo's FileSystemStorage on a temporary MEDIA_ROOT.
// `app/_lib/demo.ts` reads MEDIA_ROOT, and db/schema.ts DATABASE_URL, when they are imported, so
// the modules are imported afresh after the variables are set.

type FilesModule = typeof import('./files');
type DemoModule = typeof import('./demo');
type FileRoute = typeof import('../api/files/[id]/route');

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ENV = ['MEDIA_ROOT', 'MAX_UPLOAD_BYTES', 'DATABASE_URL'] as const;
const savedEnv = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));

describe.each(testDialects())('on %s', (dialect) => {
  let tmp: string;
  let mediaRoot: string;
  let routeDatabase: TestDatabase;
  let lib: FilesModule;
  let demo: DemoModule;
  let database: TestDatabase;
  let db: DemoDatabase;
  let filesTable: ReturnType<typeof tablesOf>['files'];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'demo-files-'));
    mediaRoot = path.join(tmp, 'media');
    routeDatabase = await createTestDatabase(dialect);
    process.env.MEDIA_ROOT = mediaRoot;
    process.env.DATABASE_URL = routeDatabase.url;
    delete process.env.MAX_UPLOAD_BYTES;
    vi.resetModules();
    lib = await import('./files');
    demo = await import('./demo');
  });

  afterAll(async () => {
    // The route's connection (getDb's, for DATABASE_URL) goes before its database does.
    const { closeDatabase, getDb } = await import('@/db');
    await closeDatabase(getDb());
    for (const name of ENV) {
      if (savedEnv[name] === undefined) delete process.env[name];
      else process.env[name] = savedEnv[name];
    }
    await routeDatabase.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    delete process.env.MAX_UPLOAD_BYTES;
    await rm(mediaRoot, { recursive: true, force: true });
    database = await createTestDatabase(dialect);
    db = database.db;
    filesTable = tablesOf(db).files;
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await database.dispose();
  });

  function sha256(data: Uint8Array | string): string {
    return createHash('sha256').update(data).digest('hex');
  }

  function upload(content: Uint8Array | string, filename = 'hello.txt', field = 'file'): Request {
    const form = new FormData();
    form.append(field, new File([typeof content === 'string' ? content : new Uint8Array(content)], filename));
    return new Request('http://x/api/files', { method: 'POST', body: form });
  }

  /** Every file under MEDIA_ROOT, dotfiles (temporary `.part` files) included. */
  async function mediaFiles(): Promise<string[]> {
    try {
      const entries = await readdir(mediaRoot, { recursive: true, withFileTypes: true });
      return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(mediaRoot, path.join(entry.parentPath, entry.name)));
    } catch {
      return [];
    }
  }

  async function rowCount(database: DemoDatabase = db): Promise<number> {
    return (await database.select().from(filesTable)).length;
  }

  async function addRows(names: string[], database: DemoDatabase = db): Promise<FileRow[]> {
    const now = new Date('2026-01-02T03:04:05.678Z');
    const values: NewFileRow[] = names.map((name, i) => ({
      name,
      storagePath: `rows/${i}-${Math.random().toString(16).slice(2)}.bin`,
      size: i,
      contentType: 'text/plain',
      sha256: sha256(name),
      createdAt: now,
      updatedAt: now,
    }));
    return database.insert(filesTable).values(values).returning();
  }

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    throw new Error('expected a rejection');
  }

  async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of iterable) out.push(item);
    return out;
  }

  /** A minimal RFC 4180 reader, to check that what filesCsv writes reads back. */
  function parseCsv(text: string): string[][] {
    const rows: string[][] = [];
    let row: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (quoted) {
        if (char === '"' && text[i + 1] === '"') {
          field += '"';
          i++;
        } else if (char === '"') quoted = false;
        else field += char;
      } else if (char === '"') quoted = true;
      else if (char === ',') {
        row.push(field);
        field = '';
      } else if (char === '\r' && text[i + 1] === '\n') {
        row.push(field);
        rows.push(row);
        row = [];
        field = '';
        i++;
      } else field += char;
    }
    if (field !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
    return rows;
  }

  /** The db, with its `select` calls counted: one per page fetched. */
  function countingSelects(database: DemoDatabase): { db: DemoDatabase; selects: () => number } {
    let count = 0;
    const proxy = new Proxy(database, {
      get(target, property, receiver) {
        if (property === 'select') {
          return (...args: Parameters<DemoDatabase['select']>) => {
            count++;
            return target.select(...args);
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    return { db: proxy, selects: () => count };
  }

  describe('the demo storage', () => {
    it('is MEDIA_ROOT as it was when the module was imported', () => {
      expect(demo.media.root).toBe(mediaRoot);
    });
  });

  describe('storageNameFor', () => {
    it.each([
      ['report.pdf', '.pdf'],
      ['REPORT.PDF', '.pdf'],
      ['archive.tar.gz', '.gz'],
      ['中文报告.txt', '.txt'],
      ['no-extension', ''],
      ['trailing-dot.', ''],
      ['spaced.p df', ''],
      ['long.abcdefghijk', ''],
      ['', ''],
    ])('names %j uploads/<uuid>%s', (clientName, extension) => {
      expect(lib.storageNameFor(clientName)).toMatch(new RegExp(`^uploads/${UUID}${extension.replace('.', '\\.')}$`));
    });

    it.each(['../../x.txt', '/etc/passwd', '..\\..\\evil.exe', 'a/b/c.txt'])('never keeps the path of %j', (clientName) => {
      const name = lib.storageNameFor(clientName);
      expect(name).toMatch(new RegExp(`^uploads/${UUID}(\\.[a-z0-9]+)?$`));
      expect(name).not.toContain('..');
      expect(name.split('/')).toHaveLength(2);
    });

    it('gives a new name on every call', () => {
      const names = new Set(Array.from({ length: 100 }, () => lib.storageNameFor('same.txt')));
      expect(names.size).toBe(100);
    });
  });

  describe('createFile', () => {
    it('stores the bytes under a generated name and records name, size, type, SHA-256 and CRC-32', async () => {
      const content = 'hello, demo\n';
      const before = Date.now();
      const row = await lib.createFile(upload(content, 'notes.txt'), db);
      expect(row.storagePath).toMatch(new RegExp(`^uploads/${UUID}\\.txt$`));
      expect(row).toMatchObject({ name: 'notes.txt', size: Buffer.byteLength(content), contentType: 'text/plain', sha256: sha256(content) });
      // Computed in the same pass as the SHA-256: the export of this row resumes by seeking.
      expect(row.crc32).toBe(zlibCrc32(Buffer.from(content)));
      expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(row.updatedAt.getTime()).toBe(row.createdAt.getTime());
      expect(await readFile(path.join(mediaRoot, row.storagePath), 'utf8')).toBe(content);
      expect(await lib.listFiles(db)).toEqual([row]);
      expect(await mediaFiles()).toEqual([row.storagePath]);
    });

    it('records a client name with NUL, control and non-ASCII characters as a name the database can hold', async () => {
      // Postgres text cannot hold NUL at all: an insert with one would fail (a 500), not store it.
      const row = await lib.createFile(upload('x', 'a\u0000b\u0007c été 中文.txt'), db);
      expect(row.name).toBe('abc été 中文.txt');
      expect(await lib.listFiles(db)).toEqual([row]);
    });

    it('keeps a binary file byte for byte', async () => {
      // A PNG's framing (signature, IHDR, one large IDAT of noise, IEND): the type is checked against the first bytes.
      const noise = randomBytes(2 * 1024 * 1024 + 17);
      const idat = Buffer.alloc(8);
      idat.writeUInt32BE(noise.length);
      idat.write('IDAT', 4);
      const content = Buffer.concat([
        Buffer.from('89504e470d0a1a0a0000000d49484452000000020000000208020000000000000000', 'hex'),
        idat,
        noise,
        Buffer.from('000000000000000049454e44ae426082', 'hex'),
      ]);
      const row = await lib.createFile(upload(content, 'photo.PNG'), db);
      expect(row.contentType).toBe('image/png');
      expect(row.sha256).toBe(sha256(content));
      expect((await readFile(path.join(mediaRoot, row.storagePath))).equals(content)).toBe(true);
    });

    it('records only the basename of a client path and never writes to it', async () => {
      const row = await lib.createFile(upload('payload', '../../x.txt'), db);
      expect(row.name).toBe('x.txt');
      expect(row.storagePath).toMatch(new RegExp(`^uploads/${UUID}\\.txt$`));
      expect(await mediaFiles()).toEqual([row.storagePath]);
      expect((await readdir(tmp)).sort()).not.toContain('x.txt');
    });

    it('calls a file without a name "upload" and types it application/octet-stream', async () => {
      const row = await lib.createFile(upload('data', ''), db);
      expect(row.name).toBe('upload');
      expect(row.contentType).toBe('application/octet-stream');
    });

    it('records the type the first bytes show: HTML uploaded as a .png is application/octet-stream, a GIF named .jpg is image/gif', async () => {
      const html = await lib.createFile(upload('<!doctype html><script>alert(1)</script>', 'cat.png'), db);
      expect(html).toMatchObject({ name: 'cat.png', contentType: 'application/octet-stream' });
      const gif = Buffer.from('47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex');
      expect((await lib.createFile(upload(gif, 'photo.jpg'), db)).contentType).toBe('image/gif');
    });

    it('answers 413 over MAX_UPLOAD_BYTES and keeps neither a row nor a file', async () => {
      process.env.MAX_UPLOAD_BYTES = '1000';
      expect(await rejection(lib.createFile(upload(randomBytes(1001)), db))).toMatchObject({ status: 413 });
      expect(await rowCount()).toBe(0);
      expect(await mediaFiles()).toEqual([]);
      expect((await lib.createFile(upload(randomBytes(1000)), db)).size).toBe(1000);
    });

    it.each([
      ['unset', undefined],
      ['not a number', 'lots'],
      ['zero', '0'],
    ])('uses the 100 MiB default when MAX_UPLOAD_BYTES is %s', (_label, value) => {
      if (value === undefined) delete process.env.MAX_UPLOAD_BYTES;
      else process.env.MAX_UPLOAD_BYTES = value;
      expect(demo.maxUploadBytes()).toBe(100 * 1024 * 1024);
    });

    it('answers 415 to a body that is not multipart, and keeps nothing', async () => {
      const request = new Request('http://x/api/files', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(await rejection(lib.createFile(request, db))).toMatchObject({ status: 415 });
      expect(await rowCount()).toBe(0);
      expect(await mediaFiles()).toEqual([]);
    });

    it('answers 400 to a form without a file field, and keeps nothing', async () => {
      expect(await rejection(lib.createFile(upload('data', 'a.txt', 'document'), db))).toMatchObject({ status: 400 });
      expect(await rowCount()).toBe(0);
      expect(await mediaFiles()).toEqual([]);
    });

    it('answers 400 to an upload cut off by the client, and keeps nothing', async () => {
      const boundary = 'cut-boundary';
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent === 0) controller.enqueue(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`));
          else if (sent < 6) controller.enqueue(randomBytes(64 * 1024));
          else {
            await new Promise((resolve) => setTimeout(resolve, 30));
            controller.error(new Error('socket hang up'));
          }
          sent++;
        },
      });
      const request = new Request('http://x/api/files', {
        method: 'POST',
        body,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        duplex: 'half',
      } as RequestInit);
      expect(await rejection(lib.createFile(request, db))).toMatchObject({ status: 400 });
      expect(await rowCount()).toBe(0);
      expect(await mediaFiles()).toEqual([]);
    });

    it('removes the stored bytes again when the row cannot be written', async () => {
      const unmigrated = await createTestDatabase(dialect, { migrate: false });
      try {
        const error = await rejection(lib.createFile(upload('orphan?'), unmigrated.db));
        // Drizzle's error on Postgres carries the server's message as its cause.
        expect(`${String(error)} ${String((error as Error).cause)}`).toMatch(/no such table|relation "files" does not exist/);
        expect(await mediaFiles()).toEqual([]);
      } finally {
        await unmigrated.dispose();
      }
    });

    it('stores concurrent uploads each under its own name and row', async () => {
      const contents = Array.from({ length: 10 }, (_, i) => randomBytes(32 * 1024 + i));
      const rows = await Promise.all(contents.map((content, i) => lib.createFile(upload(content, `file-${i}.bin`), db)));
      expect(new Set(rows.map((row) => row.id)).size).toBe(10);
      expect(new Set(rows.map((row) => row.storagePath)).size).toBe(10);
      for (const [i, row] of rows.entries()) {
        expect(row.name).toBe(`file-${i}.bin`);
        expect(row.sha256).toBe(sha256(contents[i]!));
        expect((await readFile(path.join(mediaRoot, row.storagePath))).equals(contents[i]!)).toBe(true);
      }
      expect(await rowCount()).toBe(10);
      expect((await mediaFiles()).sort()).toEqual(rows.map((row) => row.storagePath).sort());
    });
  });

  describe('deleteFile', () => {
    it('removes the row and the bytes and answers true, then false the second time', async () => {
      const row = await lib.createFile(upload('to delete'), db);
      expect(await lib.deleteFile(row.id, db)).toBe(true);
      expect(await rowCount()).toBe(0);
      expect(await mediaFiles()).toEqual([]);
      expect(await lib.deleteFile(row.id, db)).toBe(false);
    });

    it('leaves the other files alone', async () => {
      const keep = await lib.createFile(upload('keep me', 'keep.txt'), db);
      const drop = await lib.createFile(upload('drop me', 'drop.txt'), db);
      expect(await lib.deleteFile(drop.id, db)).toBe(true);
      expect(await lib.listFiles(db)).toEqual([keep]);
      expect(await mediaFiles()).toEqual([keep.storagePath]);
    });

    it('answers false for an id that never existed', async () => {
      expect(await lib.deleteFile(12345, db)).toBe(false);
    });

    it('removes the row even when its bytes are already gone', async () => {
      const row = await lib.createFile(upload('gone'), db);
      await unlink(path.join(mediaRoot, row.storagePath));
      expect(await lib.deleteFile(row.id, db)).toBe(true);
      expect(await rowCount()).toBe(0);
    });
  });

  describe('parseId', () => {
    it.each([
      ['1', 1],
      ['42', 42],
      ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ])('reads %j as %d', (value, id) => {
      expect(lib.parseId(value)).toBe(id);
    });

    it.each([undefined, '', '0', '-1', '01', '1.5', '1e3', '0x10', ' 1', '1 ', 'abc', '9007199254740993', '99999999999999999'])(
      'answers 404 for %j',
      (value) => {
        expect(() => lib.parseId(value)).toThrow(expect.objectContaining({ status: 404 }));
      },
    );
  });

  describe('listFiles', () => {
    it('lists every row in id order', async () => {
      const rows = await addRows(['c.txt', 'a.txt', 'b.txt']);
      expect((await lib.listFiles(db)).map((row) => row.id)).toEqual(rows.map((row) => row.id).sort((x, y) => x - y));
    });

    it('is empty for an empty table', async () => {
      expect(await lib.listFiles(db)).toEqual([]);
    });
  });

  describe('newestFiles(db, limit)', () => {
    it('gives the newest rows in id order, and how many there are in all', async () => {
      const rows = await addRows(['a', 'b', 'c', 'd', 'e']);
      const { rows: newest, total } = await lib.newestFiles(db, 3);
      expect(newest.map((row) => row.id)).toEqual(rows.slice(2).map((row) => row.id));
      expect(total).toBe(5);
    });

    it('gives every row when there are fewer than the limit', async () => {
      await addRows(['a', 'b']);
      const { rows, total } = await lib.newestFiles(db);
      expect(rows.map((row) => row.name)).toEqual(['a', 'b']);
      expect(total).toBe(2);
    });
  });

  describe('filesJson', () => {
    it('is the JSON array of every row, in id order, made a page at a time', async () => {
      const rows = await addRows(['a', 'b"quoted', 'c\nnewline']);
      const text = (await collect(lib.filesJson(db))).join('');
      expect(JSON.parse(text)).toEqual(rows.map(lib.toJson));
    });

    it('is [] for an empty table', async () => {
      expect(JSON.parse((await collect(lib.filesJson(db))).join(''))).toEqual([]);
    });
  });

  describe('iterateFiles(db, pageSize)', () => {
    it('yields every row in id order across pages', async () => {
      const rows = await addRows(['a', 'b', 'c', 'd', 'e']);
      expect((await collect(lib.iterateFiles(db, 2))).map((row) => row.id)).toEqual(rows.map((row) => row.id));
    });

    it('fetches one page per query: 3 queries for 5 rows in pages of 2', async () => {
      await addRows(['a', 'b', 'c', 'd', 'e']);
      const counted = countingSelects(db);
      const iterator = lib.iterateFiles(counted.db, 2);
      expect(counted.selects()).toBe(0);
      await iterator.next();
      expect(counted.selects()).toBe(1);
      await iterator.next();
      expect(counted.selects()).toBe(1);
      await iterator.next();
      expect(counted.selects()).toBe(2);
      await collect({ [Symbol.asyncIterator]: () => iterator });
      expect(counted.selects()).toBe(3);
    });

    it('reads the table as it goes, not as a snapshot taken up front', async () => {
      await addRows(['a', 'b', 'c']);
      const seen: string[] = [];
      for await (const row of lib.iterateFiles(db, 2)) {
        seen.push(row.name);
        if (row.name === 'a') await addRows(['late']);
      }
      expect(seen).toEqual(['a', 'b', 'c', 'late']);
    });

    it('handles a row count that is a multiple of the page size', async () => {
      await addRows(['a', 'b', 'c', 'd']);
      expect((await collect(lib.iterateFiles(db, 2))).map((row) => row.name)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('skips over gaps left by deleted rows', async () => {
      const rows = await addRows(['a', 'b', 'c', 'd', 'e', 'f']);
      await lib.deleteFile(rows[1]!.id, db);
      await lib.deleteFile(rows[2]!.id, db);
      await lib.deleteFile(rows[4]!.id, db);
      expect((await collect(lib.iterateFiles(db, 2))).map((row) => row.name)).toEqual(['a', 'd', 'f']);
    });

    it('yields nothing for an empty table', async () => {
      expect(await collect(lib.iterateFiles(db, 2))).toEqual([]);
    });
  });

  describe('csvField', () => {
    it.each([
      ['plain text', 'report.pdf', 'report.pdf'],
      ['a number', 42, '42'],
      ['a negative number (not text a spreadsheet would run)', -3, '-3'],
      ['a comma', 'a,b', '"a,b"'],
      ['a double quote', 'say "hi"', '"say ""hi"""'],
      ['a line feed', 'two\nlines', '"two\nlines"'],
      ['a carriage return', 'two\rlines', '"two\rlines"'],
      ['CRLF', 'two\r\nlines', '"two\r\nlines"'],
      ['a formula (=)', '=1+2', "'=1+2"],
      ['a formula (+)', '+1', "'+1"],
      ['a formula (-)', '-1+1', "'-1+1"],
      ['a formula (@)', '@SUM(A1)', "'@SUM(A1)"],
      ['a leading tab', '\tcmd', "'\tcmd"],
      ['a leading carriage return', '\r=1', '"\'\r=1"'],
      ['a formula with commas and quotes', '=HYPERLINK("http://evil","x")', '"\'=HYPERLINK(""http://evil"",""x"")"'],
      ['a formula char not in first place', 'a=b', 'a=b'],
      ['an empty string', '', ''],
    ])('writes %s as %j', (_label, value, expected) => {
      expect(lib.csvField(value)).toBe(expected);
    });
  });

  describe('filesCsv', () => {
    it('writes the header then one CRLF-terminated line per row, in id order', async () => {
      const rows = await addRows(['a.txt', 'b.txt']);
      const text = (await collect(lib.filesCsv(db))).join('');
      const lines = text.split('\r\n');
      expect(lines[0]).toBe('id,name,size,content_type,sha256,created_at,updated_at');
      expect(lines).toHaveLength(4);
      expect(lines[3]).toBe('');
      expect(lines[1]).toBe(`${rows[0]!.id},a.txt,0,text/plain,${sha256('a.txt')},2026-01-02T03:04:05.678Z,2026-01-02T03:04:05.678Z`);
    });

    it('writes only the header for an empty table', async () => {
      expect((await collect(lib.filesCsv(db))).join('')).toBe('id,name,size,content_type,sha256,created_at,updated_at\r\n');
    });

    it('reads back to the same names, with commas, quotes and line breaks intact and formulas defused', async () => {
      const names = ['plain.txt', 'a, b.txt', 'say "hi".txt', 'two\nlines.txt', 'crlf\r\nname.txt', '=cmd|"/c calc"!A1', '@import.txt', 'résumé 中文.txt'];
      const rows = await addRows(names);
      const parsed = parseCsv((await collect(lib.filesCsv(db))).join(''));
      expect(parsed).toHaveLength(names.length + 1);
      expect(parsed.slice(1).map((fields) => fields[1])).toEqual(
        names.map((name) => (/^[=+\-@\t\r]/.test(name) ? `'${name}` : name)),
      );
      expect(parsed.slice(1).map((fields) => Number(fields[0]))).toEqual(rows.map((row) => row.id));
      for (const fields of parsed) expect(fields).toHaveLength(7);
    });

    it('yields one chunk per line, so the export streams row by row', async () => {
      await addRows(['a', 'b', 'c']);
      const chunks = await collect(lib.filesCsv(db));
      expect(chunks).toHaveLength(4);
      for (const chunk of chunks) expect(chunk).toMatch(/^[^\n]*\r\n$/);
    });

    it('writes every row of a table larger than one page', async () => {
      const names = Array.from({ length: 1203 }, (_, i) => `file-${i}.txt`);
      await addRows(names);
      const parsed = parseCsv((await collect(lib.filesCsv(db))).join(''));
      expect(parsed.slice(1).map((fields) => fields[1])).toEqual(names);
    });
  });

  describe('the /api/files/[id] route on rows createFile wrote', () => {
    let routeDb: DemoDatabase;
    let route: FileRoute;

    beforeAll(async () => {
      routeDb = routeDatabase.db;
      route = await import('../api/files/[id]/route');
    });

    function context(id: string) {
      return { params: Promise.resolve({ id }) };
    }

    it('downloads the uploaded bytes with the row name, type, size and SHA-256 ETag', async () => {
      const content = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(100_000 - 9)]);
      const row = await lib.createFile(upload(content, 'Résumé 2026.pdf'), routeDb);
      const response = await route.GET(new Request(`http://x/api/files/${row.id}`), context(String(row.id)));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/pdf');
      expect(response.headers.get('content-length')).toBe('100000');
      expect(response.headers.get('etag')).toBe(`"${row.sha256}"`);
      expect(response.headers.get('last-modified')).toBe(row.updatedAt.toUTCString());
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; /);
      expect(response.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('Résumé 2026.pdf')}`);
      expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    });

    it('answers ?inline with an inline disposition that keeps the filename', async () => {
      const row = await lib.createFile(upload('inline me', 'page.txt'), routeDb);
      const response = await route.GET(new Request(`http://x/api/files/${row.id}?inline`), context(String(row.id)));
      expect(response.headers.get('content-disposition')).toMatch(/^inline; filename="?page\.txt"?$/);
    });

    it('answers 404 to an id that is not a number', async () => {
      expect((await route.GET(new Request('http://x/api/files/abc'), context('abc'))).status).toBe(404);
    });

    it('DELETE answers 204, then the download and a second DELETE answer 404', async () => {
      const row = await lib.createFile(upload('short-lived'), routeDb);
      const id = String(row.id);
      const deleted = await route.DELETE(new Request(`http://x/api/files/${id}`, { method: 'DELETE' }), context(id));
      expect(deleted.status).toBe(204);
      expect(await mediaFiles()).not.toContain(row.storagePath);
      expect((await route.GET(new Request(`http://x/api/files/${id}`), context(id))).status).toBe(404);
      expect((await route.DELETE(new Request(`http://x/api/files/${id}`, { method: 'DELETE' }), context(id))).status).toBe(404);
    });
  });
});
