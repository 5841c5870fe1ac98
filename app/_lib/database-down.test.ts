import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError } from 'next-downloadview';
import { drizzleObjectDownload } from 'next-downloadview/drizzle';
import { FileSystemStorage } from 'next-downloadview/storage';
import { closeDatabase, migrateDatabase, openDatabase, tablesOf, type DemoDatabase } from '@/db';
import { testDialects } from '@/db/testing/databases';
import { startPostgres } from '../../scripts/postgres.mjs';
import { listFiles } from './files';

// A Postgres that cannot be reached makes the demo's database routes answer 503 with
// Retry-After (a client, a load balancer or nginx's proxy_next_upstream retries it), never a
// 500: a real Postgres stopped under the running app, a port nobody listens on, and a server
// that accepts connections and never answers.

const opened: DemoDatabase[] = [];
const stops: Array<() => void> = [];

afterEach(async () => {
  for (const db of opened.splice(0)) await closeDatabase(db);
  for (const stop of stops.splice(0)) stop();
});

function open(url: string): DemoDatabase {
  const db = openDatabase(url);
  opened.push(db);
  return db;
}

function download(db: DemoDatabase) {
  return drizzleObjectDownload({ storage: new FileSystemStorage('/nonexistent'), db, table: tablesOf(db).files, fields: { file: 'storagePath' } }).GET;
}

/** What the demo's routes do with it: the rejection of `run`, and how long it took. */
async function failure(run: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await run().then(
    () => undefined,
    (reason: unknown) => reason,
  );
  return { error, ms: Date.now() - started };
}

async function expectUnavailable(db: DemoDatabase, withinMs: number): Promise<void> {
  const listed = await failure(() => listFiles(db));
  expect(listed.error).toBeInstanceOf(HttpError);
  expect((listed.error as HttpError).status).toBe(503);
  expect((listed.error as HttpError).headers).toEqual({ 'retry-after': '5' });
  expect(listed.ms).toBeLessThan(withinMs);

  const started = Date.now();
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void errors.push(args);
  try {
    const response = await download(db)(new Request('http://x/files/1'), { params: Promise.resolve({ id: '1' }) });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.text()).toBe('Service Unavailable\n');
  } finally {
    console.error = original;
  }
  expect(Date.now() - started).toBeLessThan(withinMs);
}

describe('a database that cannot be reached', () => {
  it('is a 503 with Retry-After at once on a port nobody listens on', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    await expectUnavailable(open(`postgres://app@127.0.0.1:${port}/demo?connect_timeout=2`), 1_500);
  });

  it('is a 503 with Retry-After after connect_timeout on a server that never answers (frozen)', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    const { port } = server.address() as net.AddressInfo;
    await expectUnavailable(open(`postgres://app@127.0.0.1:${port}/demo?connect_timeout=1`), 4_000);
  });

  it.runIf(testDialects().includes('postgres'))('is a 503 with Retry-After once a real Postgres is stopped under the running app', async () => {
    const server = await startPostgres();
    stops.push(() => server.stop());
    const db = open(`${server.url}${server.url.includes('?') ? '&' : '?'}connect_timeout=2`);
    await migrateDatabase(db);
    expect(await listFiles(db)).toEqual([]);
    server.stop();
    await expectUnavailable(db, 3_000);
  }, 60_000);
});
