import type { DownloadEvent } from 'next-downloadview/events';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { tablesOf, type DemoDatabase } from '@/db';
import { createTestDatabase, testDialects, type TestDatabase } from '@/db/testing/databases';
import { createDownloadLog, DEFAULT_LIMIT, downloadRecordFor, downloadsByFile, fileIdOf, listDownloads, MAX_LIMIT, parseLimit } from './downloads';

// The demo's download log: what an event becomes, how the listener writes rows (batched, never
// waiting, never failing a download), and how the log is read back, on both databases.

function event(overrides: Partial<DownloadEvent> = {}): DownloadEvent {
  const route = overrides.route ?? '/api/path/docs/guide.md';
  return {
    route,
    request: new Request(`http://x${route}`),
    params: {},
    name: 'guide.md',
    size: 10,
    status: 200,
    ranges: [],
    bytesSent: 10,
    expectedBytes: 10,
    outcome: 'completed',
    startedAt: new Date('2026-12-08T00:00:00.000Z'),
    durationMs: 3,
    ...overrides,
  };
}

describe('fileIdOf', () => {
  it.each([
    ['/api/files/12', { id: '12' }, 12],
    ['/api/files/9007199254740991', { id: '9007199254740991' }, 9007199254740991],
    ['/api/files/0', { id: '0' }, null],
    ['/api/files/012', { id: '012' }, null],
    ['/api/files/1e3', { id: '1e3' }, null],
    ['/api/files/-1', { id: '-1' }, null],
    ['/api/files/99999999999999999', { id: '99999999999999999' }, null],
    ['/api/files/abc', { id: 'abc' }, null],
    ['/api/files/12', { id: ['12'] }, null],
    ['/api/files/12', {}, null],
    ['/api/path/12', { path: ['12'] }, null],
    ['/api/storage/files/12', { id: '12' }, null],
  ] as const)('%s with params %j is %s', (route, params, expected) => {
    expect(fileIdOf({ route, params: params as DownloadEvent['params'] })).toBe(expected);
  });
});

describe('downloadRecordFor', () => {
  it('keeps what the log shows, with nulls for what the event does not know', () => {
    const record = downloadRecordFor(event({ route: '/api/files/7', params: { id: '7' }, name: undefined, expectedBytes: undefined, status: 404, bytesSent: 0, outcome: 'no-body', durationMs: 1.6 }));
    expect(record).toEqual({
      route: '/api/files/7',
      name: null,
      fileId: 7,
      status: 404,
      bytesSent: 0,
      expectedBytes: null,
      outcome: 'no-body',
      startedAt: new Date('2026-12-08T00:00:00.000Z'),
      durationMs: 2,
    });
  });

  it('bounds a route and a name of a client\'s choosing', () => {
    const record = downloadRecordFor(event({ route: `/api/path/${'a'.repeat(20_000)}`, name: 'b'.repeat(5000) }));
    expect(record.route).toHaveLength(2048);
    expect(record.name).toHaveLength(1024);
  });
});

describe('parseLimit', () => {
  it.each([
    [[], DEFAULT_LIMIT],
    [['1'], 1],
    [['10'], 10],
    [[String(MAX_LIMIT)], MAX_LIMIT],
    [[String(MAX_LIMIT + 1)], MAX_LIMIT],
    [['99999999999999999999'], MAX_LIMIT],
  ])('%j gives %i', (values, expected) => {
    expect(parseLimit(values)).toBe(expected);
  });

  it.each([[['']], [['0']], [['-1']], [['1.5']], [['1e3']], [[' 5']], [['+5']], [['0x10']], [['abc']], [['1', '2']], [['1'.repeat(21)]]])(
    '%j is a 400 saying what a limit is',
    (values) => {
      expect(() => parseLimit(values)).toThrow(expect.objectContaining({ status: 400, message: `limit must be a whole number from 1 to ${MAX_LIMIT}` }));
    },
  );
});

describe.each(testDialects())('the download log on %s', (dialect) => {
  let database: TestDatabase;
  let db: DemoDatabase;
  let logged: string[];

  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    db = database.db;
    logged = [];
  });

  afterEach(async () => {
    await database.dispose();
  });

  async function addFile(name: string): Promise<number> {
    const { files } = tablesOf(db);
    const now = new Date();
    const [row] = await db.insert(files).values({ name, storagePath: `uploads/${name}`, size: 10, contentType: 'text/plain', sha256: name, createdAt: now, updatedAt: now }).returning();
    return row!.id;
  }

  async function rows() {
    const { downloads } = tablesOf(db);
    return db.select().from(downloads).orderBy(downloads.id);
  }

  function log(options: Parameters<typeof createDownloadLog>[1] = {}) {
    return createDownloadLog(() => db, { log: (line) => logged.push(line), ...options });
  }

  it('writes one row per event, with the file row of /api/files/{id}', async () => {
    const id = await addFile('a.txt');
    const downloadLog = log();
    downloadLog.listener(event({ route: `/api/files/${id}`, params: { id: String(id) }, name: 'a.txt', outcome: 'aborted', bytesSent: 4, expectedBytes: 10, status: 200 }));
    downloadLog.listener(event({ status: 206, ranges: [{ start: 0, end: 4 }], bytesSent: 5, expectedBytes: 5 }));
    await downloadLog.flush();
    expect(await rows()).toMatchObject([
      { route: `/api/files/${id}`, name: 'a.txt', fileId: id, status: 200, bytesSent: 4, expectedBytes: 10, outcome: 'aborted', durationMs: 3 },
      { route: '/api/path/docs/guide.md', name: 'guide.md', fileId: null, status: 206, bytesSent: 5, expectedBytes: 5, outcome: 'completed' },
    ]);
    expect((await rows())[0]!.startedAt).toEqual(new Date('2026-12-08T00:00:00.000Z'));
    expect(logged).toEqual([]);
  });

  it('records a file id that names no row as null, without losing the rows written with it', async () => {
    const id = await addFile('kept.txt');
    const downloadLog = log();
    downloadLog.listener(event({ route: '/api/files/999', params: { id: '999' }, name: undefined, status: 404, outcome: 'no-body', bytesSent: 0, expectedBytes: undefined }));
    downloadLog.listener(event({ route: `/api/files/${id}`, params: { id: String(id) } }));
    await downloadLog.flush();
    expect((await rows()).map((row) => [row.route, row.fileId])).toEqual([
      ['/api/files/999', null],
      [`/api/files/${id}`, id],
    ]);
    expect(logged).toEqual([]);
  });

  it('returns before writing anything: the listener never waits for the database', async () => {
    const downloadLog = log();
    const returned = downloadLog.listener(event());
    expect(returned).toBeUndefined();
    expect(await rows()).toEqual([]);
    await downloadLog.flush();
    expect(await rows()).toHaveLength(1);
  });

  it('keeps every row of a burst of 2,000 downloads, written in batches of 100', async () => {
    let statements = 0;
    const counting = new Proxy(db, {
      get(target, key, receiver) {
        if (key === 'insert') statements++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const downloadLog = createDownloadLog(() => counting, { log: (line) => logged.push(line) });
    for (let i = 0; i < 2000; i++) downloadLog.listener(event({ route: `/api/path/${i}`, durationMs: i }));
    // Other work of the process runs between batches, not after the whole burst.
    let writtenWhenTimerRan = -1;
    setTimeout(() => (writtenWhenTimerRan = statements), 0);
    await downloadLog.flush();
    expect(writtenWhenTimerRan).toBeGreaterThanOrEqual(0);
    expect(writtenWhenTimerRan).toBeLessThan(20);
    const written = await rows();
    expect(written).toHaveLength(2000);
    expect(written.map((row) => row.durationMs)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(statements).toBe(20);
    expect(logged).toEqual([]);
  });

  it('logs a write that fails and never throws to the download; the next rows are written', async () => {
    let failing = true;
    const downloadLog = createDownloadLog(
      () => {
        if (failing) throw new Error('database is locked');
        return db;
      },
      { log: (line) => logged.push(line) },
    );
    expect(() => downloadLog.listener(event({ route: '/api/path/lost' }))).not.toThrow();
    await downloadLog.flush();
    expect(logged).toEqual(['demo: could not record 1 download in the downloads table: database is locked']);
    failing = false;
    downloadLog.listener(event({ route: '/api/path/kept' }));
    await downloadLog.flush();
    expect((await rows()).map((row) => row.route)).toEqual(['/api/path/kept']);
  });

  it('writes the rest of a batch when the database refuses one of its rows, and logs that row', async () => {
    const refusing = new Proxy(db, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'insert') return value;
        return (table: never) => {
          const insert = target.insert(table);
          return {
            values: (rows: { route: string }[]) => {
              if (rows.some((row) => row.route === '/api/path/refused')) return Promise.reject(new Error('CHECK constraint failed'));
              return insert.values(rows as never);
            },
          };
        };
      },
    });
    const downloadLog = createDownloadLog(() => refusing, { log: (line) => logged.push(line) });
    for (const name of ['a', 'refused', 'b']) downloadLog.listener(event({ route: `/api/path/${name}` }));
    await downloadLog.flush();
    expect((await rows()).map((row) => row.route)).toEqual(['/api/path/a', '/api/path/b']);
    expect(logged).toEqual(['demo: could not record 1 download in the downloads table: CHECK constraint failed']);
  });

  it('stores a name holding NUL (Postgres refuses it in text) and a start that is no date', async () => {
    const downloadLog = log();
    const before = Date.now();
    downloadLog.listener(event({ name: 'a\0b.txt', startedAt: new Date(Number.NaN) }));
    downloadLog.listener(event({ route: '/api/path/next' }));
    await downloadLog.flush();
    const written = await rows();
    expect(written.map((row) => row.name)).toEqual(['a\uFFFDb.txt', 'guide.md']);
    expect(written[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(logged).toEqual([]);
  });

  it('holds at most maxPending rows while the database is behind, and says how many it dropped', async () => {
    const downloadLog = log({ maxPending: 10 });
    for (let i = 0; i < 15; i++) downloadLog.listener(event({ route: `/api/path/${i}` }));
    await downloadLog.flush();
    expect(await rows()).toHaveLength(10);
    expect(logged).toEqual(['demo: 5 downloads not recorded: more than 10 were waiting for the database']);
  });

  if (dialect === 'sqlite') {
    it('writes what is still queued at once when the process exits (flushSync)', async () => {
      const downloadLog = log();
      downloadLog.listener(event({ route: '/api/path/at-exit' }));
      downloadLog.flushSync();
      expect((await rows()).map((row) => row.route)).toEqual(['/api/path/at-exit']);
      await downloadLog.flush();
      expect(await rows()).toHaveLength(1);
    });
  }

  describe('listDownloads', () => {
    it('answers the newest first, by start then by id, at most `limit`, as JSON with ISO 8601 times', async () => {
      const downloadLog = log();
      const at = (ms: number) => new Date(Date.UTC(2026, 11, 8, 0, 0, 0, ms));
      downloadLog.listener(event({ route: '/api/path/late-start', startedAt: at(300) }));
      downloadLog.listener(event({ route: '/api/path/early', startedAt: at(100) }));
      downloadLog.listener(event({ route: '/api/path/same-1', startedAt: at(200) }));
      downloadLog.listener(event({ route: '/api/path/same-2', startedAt: at(200), expectedBytes: undefined, name: undefined }));
      await downloadLog.flush();
      const listed = await listDownloads(3, db);
      expect(listed.map((row) => row.route)).toEqual(['/api/path/late-start', '/api/path/same-2', '/api/path/same-1']);
      expect(listed[1]).toEqual({
        route: '/api/path/same-2',
        name: null,
        fileId: null,
        status: 200,
        bytesSent: 10,
        expectedBytes: null,
        outcome: 'completed',
        startedAt: '2026-12-08T00:00:00.200Z',
        durationMs: 3,
      });
      expect(await listDownloads(50, db)).toHaveLength(4);
    });
  });

  describe('downloadsByFile', () => {
    it('counts each file\'s completed downloads and lists its three newest aborted ones, newest first', async () => {
      const [a, b, c] = [await addFile('a'), await addFile('b'), await addFile('c')];
      const downloadLog = log();
      const at = (ms: number) => new Date(Date.UTC(2026, 11, 8, 0, 0, 0, ms));
      const of = (id: number, outcome: DownloadEvent['outcome'], ms: number, bytesSent = 10) =>
        downloadLog.listener(event({ route: `/api/files/${id}`, params: { id: String(id) }, outcome, startedAt: at(ms), bytesSent }));
      of(a, 'completed', 1);
      of(a, 'completed', 2);
      of(a, 'no-body', 3);
      for (let i = 0; i < 5; i++) of(a, 'aborted', 10 + i, i);
      of(b, 'aborted', 5, 7);
      of(c, 'completed', 6);
      downloadLog.listener(event({ outcome: 'completed' }));
      await downloadLog.flush();
      const byFile = await downloadsByFile([a, b, 404_404], db);
      expect(byFile.get(a)).toEqual({
        completed: 2,
        aborted: [4, 3, 2].map((i) => ({ startedAt: at(10 + i), bytesSent: i, expectedBytes: 10, status: 200 })),
      });
      expect(byFile.get(b)).toEqual({ completed: 0, aborted: [{ startedAt: at(5), bytesSent: 7, expectedBytes: 10, status: 200 }] });
      expect(byFile.get(404_404)).toEqual({ completed: 0, aborted: [] });
      expect(byFile.has(c)).toBe(false);
      expect(await downloadsByFile([], db)).toEqual(new Map());
    });
  });
});

describe.each(testDialects())('GET /api/downloads on %s', (dialect) => {
  let database: TestDatabase;
  const saved = process.env.DATABASE_URL;
  let GET: typeof import('../api/downloads/route').GET;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    process.env.DATABASE_URL = database.url;
    vi.resetModules();
    ({ GET } = await import('../api/downloads/route'));
    const downloadLog = createDownloadLog(() => database.db);
    for (let i = 0; i < 60; i++) downloadLog.listener(event({ route: `/api/path/${i}`, startedAt: new Date(Date.UTC(2026, 11, 8, 0, 0, i)) }));
    await downloadLog.flush();
  });

  afterAll(async () => {
    const { closeDatabase, getDb } = await import('@/db');
    await closeDatabase(getDb());
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    await database.dispose();
  });

  it('answers the newest 50 without a limit, as JSON nobody caches', async () => {
    const response = await GET(new Request('http://x/api/downloads'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { downloads } = (await response.json()) as { downloads: { route: string; startedAt: string }[] };
    expect(downloads).toHaveLength(50);
    expect(downloads[0]).toMatchObject({ route: '/api/path/59', startedAt: '2026-12-08T00:00:59.000Z' });
    expect(downloads[49]!.route).toBe('/api/path/10');
  });

  it('answers at most ?limit= rows', async () => {
    const { downloads } = (await (await GET(new Request('http://x/api/downloads?limit=2'))).json()) as { downloads: { route: string }[] };
    expect(downloads.map((row) => row.route)).toEqual(['/api/path/59', '/api/path/58']);
  });

  it.each(['abc', '0', '-3', '2.5', '', '1e2'])('answers 400 with a short message to ?limit=%s', async (limit) => {
    const response = await GET(new Request(`http://x/api/downloads?limit=${limit}`));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('limit must be a whole number from 1 to 500');
  });
});
