import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { tablesOf, type DemoDatabase } from '@/db';
import { createTestDatabase, testDialects, type TestDatabase } from '@/db/testing/databases';

// The demo's routes, called in-process as Next calls them, with the download log installed as
// the server installs it (installDownloadLog, from instrumentation.ts): each download they answer
// becomes one row, through the package's real download events.

type DownloadsModule = typeof import('./downloads');
type FileRoute = typeof import('../api/files/[id]/route');
type PathRoute = typeof import('../api/path/[...path]/route');

const ENV = ['MEDIA_ROOT', 'DATABASE_URL'] as const;
const savedEnv = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
const INSTALLED = Symbol.for('next-downloadview.demo.download-log');

describe.each(testDialects())('the demo routes, recorded on %s', (dialect) => {
  let tmp: string;
  let database: TestDatabase;
  let db: DemoDatabase;
  let downloads: DownloadsModule;
  let files: FileRoute;
  let paths: PathRoute;
  let fileId: number;
  const bytes = new Uint8Array(3 * 1024 * 1024 + 11).map((_, i) => (i * 7) & 0xff);

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'demo-downloads-'));
    const mediaRoot = path.join(tmp, 'media');
    await mkdir(path.join(mediaRoot, 'uploads'), { recursive: true });
    await writeFile(path.join(mediaRoot, 'uploads', 'big.bin'), bytes);
    database = await createTestDatabase(dialect);
    db = database.db;
    process.env.MEDIA_ROOT = mediaRoot;
    process.env.DATABASE_URL = database.url;
    delete (globalThis as Record<symbol, unknown>)[INSTALLED];
    vi.resetModules();
    downloads = await import('./downloads');
    files = await import('../api/files/[id]/route');
    paths = await import('../api/path/[...path]/route');
    downloads.installDownloadLog();
    const now = new Date();
    const [row] = await db
      .insert(tablesOf(db).files)
      .values({ name: 'big.bin', storagePath: 'uploads/big.bin', size: bytes.length, contentType: 'application/octet-stream', sha256: 'x', createdAt: now, updatedAt: now })
      .returning();
    fileId = row!.id;
  });

  afterAll(async () => {
    const { configureDownloadEvents } = await import('next-downloadview/events');
    configureDownloadEvents(undefined);
    delete (globalThis as Record<symbol, unknown>)[INSTALLED];
    const { closeDatabase, getDb } = await import('@/db');
    await closeDatabase(getDb());
    for (const name of ENV) {
      if (savedEnv[name] === undefined) delete process.env[name];
      else process.env[name] = savedEnv[name];
    }
    await database.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await db.delete(tablesOf(db).downloads);
  });

  /** The log's rows once `count` of them are there (each is written after its body ended). */
  async function logged(count: number) {
    const { downloads: table } = tablesOf(db);
    let rows: (typeof table.$inferSelect)[] = [];
    await vi.waitFor(
      async () => {
        await downloads.installDownloadLog().flush();
        rows = await db.select().from(table).orderBy(table.id);
        expect(rows).toHaveLength(count);
      },
      { timeout: 5000, interval: 20 },
    );
    return rows;
  }

  const context = (id: string) => ({ params: Promise.resolve({ id }) });

  it('records a whole download of /api/files/{id} as completed, with every byte and its row', async () => {
    const response = await files.GET(new Request(`http://x/api/files/${fileId}`), context(String(fileId)));
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(bytes.length);
    expect(await logged(1)).toMatchObject([
      { route: `/api/files/${fileId}`, name: 'big.bin', fileId, status: 200, bytesSent: bytes.length, expectedBytes: bytes.length, outcome: 'completed' },
    ]);
  });

  it('records a download the client stops after its first chunk as aborted, with the bytes that went out', async () => {
    const response = await files.GET(new Request(`http://x/api/files/${fileId}`), context(String(fileId)));
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.value!.byteLength).toBeGreaterThan(0);
    await reader.cancel();
    const [row] = await logged(1);
    expect(row).toMatchObject({ fileId, status: 200, outcome: 'aborted', expectedBytes: bytes.length });
    expect(row!.bytesSent).toBeGreaterThan(0);
    expect(row!.bytesSent).toBeLessThan(bytes.length);
  });

  it('records a range, a 404 and a HEAD, each once, and no file id for a row that does not exist', async () => {
    const range = await files.GET(new Request(`http://x/api/files/${fileId}`, { headers: { range: 'bytes=10-19' } }), context(String(fileId)));
    expect(range.status).toBe(206);
    await range.arrayBuffer();
    const missing = await files.GET(new Request('http://x/api/files/999999'), context('999999'));
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    const head = await files.HEAD(new Request(`http://x/api/files/${fileId}`, { method: 'HEAD' }), context(String(fileId)));
    expect(head.status).toBe(200);
    const rows = await logged(3);
    expect(rows.map(({ route, fileId: id, status, bytesSent, outcome }) => ({ route, id, status, bytesSent, outcome }))).toEqual(
      expect.arrayContaining([
        { route: `/api/files/${fileId}`, id: fileId, status: 206, bytesSent: 10, outcome: 'completed' },
        { route: '/api/files/999999', id: null, status: 404, bytesSent: 0, outcome: 'no-body' },
        { route: `/api/files/${fileId}`, id: fileId, status: 200, bytesSent: 0, outcome: 'no-body' },
      ]),
    );
  });

  it('records a download of another route without a file id', async () => {
    const response = await paths.GET(new Request('http://x/api/path/uploads/big.bin'), { params: Promise.resolve({ path: ['uploads', 'big.bin'] }) });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    expect(await logged(1)).toMatchObject([{ route: '/api/path/uploads/big.bin', name: 'big.bin', fileId: null, bytesSent: bytes.length, outcome: 'completed' }]);
  });

  it('installs one listener per process however often it is asked', () => {
    expect(downloads.installDownloadLog()).toBe(downloads.installDownloadLog());
  });
});
