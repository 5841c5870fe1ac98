import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { asc } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3Storage } from 'next-downloadview/s3';
import { FileSystemStorage, type Storage } from 'next-downloadview/storage';
import { zipDownload } from 'next-downloadview/zip';
import { tablesOf, type DemoDatabase } from '@/db';
import type { FileRow, NewFileRow } from '@/db/schema';
import { createTestDatabase, testDialects, type TestDatabase } from '@/db/testing/databases';
import { readZip } from '@/e2e/helpers';
import { fileEntries, fileEntry } from './zip';

// The demo's files.zip: rows of the files table as entries of the package's zipDownload, the
// CRC-32 of rows that have none learned at the first export, and the statuses before any byte.

const context = { params: Promise.resolve({}) };
const request = (method: 'GET' | 'HEAD' = 'GET', headers: Record<string, string> = {}) =>
  new Request('http://x/api/exports/files.zip', { method, headers });

function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 13) & 0xff;
  return out;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A storage that counts the bytes it gives. */
function counting(storage: Storage) {
  const seen = { read: 0 };
  const wrapped = {
    stat: (name: string) => storage.stat(name),
    async open(name: string, options?: Parameters<Storage['open']>[1]) {
      const stream = await storage.open(name, options);
      return stream.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (chunk, controller) => ((seen.read += chunk.length), controller.enqueue(chunk)) }));
    },
  } as unknown as Storage;
  return { storage: wrapped, seen };
}

describe('fileEntry', () => {
  const at = new Date('2026-11-30T12:00:00Z');
  const row: FileRow = { id: 7, name: 'report.pdf', storagePath: 'uploads/7.pdf', size: 10, contentType: 'application/pdf', sha256: 'ab', crc32: 123, createdAt: at, updatedAt: at };

  it('gives the row name, its bytes in the storage, its size, time, SHA-256 as version and CRC-32', () => {
    expect(fileEntry(row)).toMatchObject({ name: 'report.pdf', path: 'uploads/7.pdf', size: 10, lastModified: at, etag: 'ab', crc32: 123, label: 'row 7 "report.pdf" (uploads/7.pdf)' });
    expect(fileEntry(row).onCrc32).toBeUndefined();
  });

  it('asks for the CRC-32 of a row that has none', () => {
    const entry = fileEntry({ ...row, crc32: null });
    expect(entry.crc32).toBeUndefined();
    expect(typeof entry.onCrc32).toBe('function');
  });
});

describe.each(testDialects())('files.zip on %s', (dialect) => {
  let database: TestDatabase;
  let db: DemoDatabase;
  let root: string;
  let disk: FileSystemStorage;
  const servers: Server[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'demo-zip-'));
    disk = new FileSystemStorage(root);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await rm(root, { recursive: true, force: true });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await database?.dispose();
  });

  /** Rows whose files are on disk (but for `missing`), stored without a CRC-32 as rows of before the column. */
  async function rowsOnDisk(sizes: number[], { missing = [] as number[], prefix = 'r' } = {}): Promise<FileRow[]> {
    database = await createTestDatabase(dialect);
    db = database.db;
    const at = new Date('2026-01-02T03:04:06Z');
    const values: NewFileRow[] = [];
    for (const [i, size] of sizes.entries()) {
      const content = bytes(size, i);
      const storagePath = `${prefix}/${i}.bin`;
      if (!missing.includes(i)) await disk.save(storagePath, content, { overwrite: true });
      values.push({ name: `file ${i}.bin`, storagePath, size, contentType: 'application/octet-stream', sha256: sha256(content), crc32: null, createdAt: at, updatedAt: at });
    }
    return db.insert(tablesOf(db).files).values(values).returning();
  }

  const readRows = () => db.select().from(tablesOf(db).files).orderBy(asc(tablesOf(db).files.id));
  const exportOf = (storage: Storage) => zipDownload({ filename: 'files.zip', storage, check: true, entries: async () => fileEntries(await readRows(), db) });

  it('learns the CRC-32 of rows that had none at the first export, and a resume at 90% then reads about a tenth', async () => {
    const sizes = [400_000, 0, 300_000, 700_000, 600_000];
    await rowsOnDisk(sizes, { prefix: 'learn' });
    const { storage, seen } = counting(disk);
    const { GET, HEAD } = exportOf(storage);
    const etag = (await HEAD(request('HEAD'), context)).headers.get('etag')!;
    const whole = Buffer.from(await (await GET(request(), context)).arrayBuffer());
    expect(readZip(whole).map((file) => file.data.length)).toEqual(sizes);
    const total = sizes.reduce((sum, size) => sum + size, 0);
    expect(seen.read).toBe(total);
    await vi.waitFor(async () => expect((await readRows()).map((row) => row.crc32)).toEqual(sizes.map((size, i) => crc32(bytes(size, i)))));

    // The same archive, the same ETag: a download begun before the CRC-32s were stored resumes.
    const cut = Math.floor(whole.length * 0.9);
    seen.read = 0;
    const response = await GET(request('GET', { range: `bytes=${cut}-`, 'if-range': etag }), context);
    expect(response.status).toBe(206);
    const tail = Buffer.from(await response.arrayBuffer());
    expect(Buffer.concat([whole.subarray(0, cut), tail]).equals(whole)).toBe(true);
    expect(seen.read).toBeLessThanOrEqual(whole.length - cut);
    expect(seen.read).toBeGreaterThan(0);
  });

  it('keeps no CRC-32 for a row whose file was replaced meanwhile (another SHA-256)', async () => {
    const [row] = await rowsOnDisk([1000], { prefix: 'replaced' });
    await db.update(tablesOf(db).files).set({ sha256: 'other' });
    fileEntry(row!, db).onCrc32!(42);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await readRows())[0]!.crc32).toBeNull();
  });

  it.each([
    ['the first file', 0],
    ['a later file', 3],
  ])('answers 502 before any byte, for GET and HEAD, when %s is missing, and logs its row', async (_what, index) => {
    await rowsOnDisk([10, 20, 30, 40, 50], { missing: [index], prefix: `missing${index}` });
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    for (const method of ['GET', 'HEAD'] as const) {
      const response = await exportOf(disk)[method](request(method), context);
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).not.toBe('application/zip');
    }
    const lines = log.mock.calls.map((call) => String(call[0])).filter((line) => line.includes('breaks the archive'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`row ${index + 1} "file ${index}.bin"`);
    expect(lines[0]).toContain('missing');
  });

  it('answers 504 before any byte when the store does not answer in time', async () => {
    await rowsOnDisk([10, 10], { prefix: 'hang' });
    // An S3 endpoint that takes the connection and never answers.
    const server = createServer(() => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s3 = new S3Storage({ bucket: 'hangs', endpoint, credentials: { accessKeyId: 'k', secretAccessKey: 's' }, timeoutMs: 300 });
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const started = performance.now();
    for (const method of ['GET', 'HEAD'] as const) expect((await exportOf(s3)[method](request(method), context)).status).toBe(504);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(String(log.mock.calls[0]?.[0])).toMatch(/row 1 "file 0\.bin"/);
  });

  it('breaks the connection, and logs the row, when a file vanishes after the headers', async () => {
    const rows = await rowsOnDisk([256 * 1024, 256 * 1024, 256 * 1024], { prefix: 'vanish' });
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const response = await exportOf(disk).GET(request(), context);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    expect((await reader.read()).value!.length).toBeGreaterThan(0);
    await disk.delete(rows[2]!.storagePath);
    await expect((async () => {
      for (;;) if ((await reader.read()).done) return;
    })()).rejects.toThrow();
    expect(log.mock.calls.map((call) => String(call[0]))).toContainEqual(expect.stringMatching(/row 3 "file 2\.bin" .*broke the archive after the headers/));
  });
});
