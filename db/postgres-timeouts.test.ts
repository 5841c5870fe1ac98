import net from 'node:net';
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drizzleObjectDownload } from 'next-downloadview/drizzle';
import { FileSystemStorage } from 'next-downloadview/storage';
import { closeDatabase, openDatabase, tablesOf, type DemoDatabase } from './index';
import { createTestDatabase, testDialects } from './testing/databases';

// A Postgres that accepts connections and never answers (a hung server, a black-holed network)
// makes requests fail after the connect timeout, never hang.

describe('a Postgres that never answers', () => {
  let server: net.Server;
  let sockets: net.Socket[];
  let db: DemoDatabase;

  beforeEach(async () => {
    sockets = [];
    server = net.createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    db = openDatabase(`postgres://app@127.0.0.1:${port}/demo?connect_timeout=1`);
  });

  afterEach(async () => {
    await closeDatabase(db);
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails a query after connect_timeout', async () => {
    const started = Date.now();
    await expect(db.select().from(tablesOf(db).files)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("answers drizzleObjectDownload's request with a plain 503 and Retry-After after connect_timeout", async () => {
    const { GET } = drizzleObjectDownload({ storage: new FileSystemStorage('/nonexistent'), db, table: tablesOf(db).files, fields: { file: 'storagePath' } });
    const started = Date.now();
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const response = await GET(new Request('http://x/files/1'), { params: Promise.resolve({ id: '1' }) });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.text()).not.toContain('127.0.0.1');
    } finally {
      console.error = original;
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe.each(testDialects().filter((dialect) => dialect === 'postgres'))('the pool on a real %s', (dialect) => {
  it('runs statements with a 30 s statement_timeout', async () => {
    const database = await createTestDatabase(dialect);
    try {
      const result = await (database.db as unknown as NodePgDatabase).execute<{ statement_timeout: string }>(sql`SHOW statement_timeout`);
      expect(result.rows[0]?.statement_timeout).toBe('30s');
    } finally {
      await database.dispose();
    }
  });
});
