import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { drizzleObjectDownload } from '../drizzle/drizzle-object-download';
import type { RedirectingStorage, RedirectUrlOptions } from '../factories/delivery';
import { httpDownload } from '../factories/http-download';
import { objectDownload } from '../factories/object-download';
import { pathDownload } from '../factories/path-download';
import { sendFile } from '../factories/send-file';
import { sourceDownload } from '../factories/source-download';
import { storageDownload } from '../factories/storage-download';
import { virtualDownload } from '../factories/virtual-download';
import { HttpError } from '../http/http-error';
import { FileSystemStorage } from '../storage/file-system-storage';
import { MemoryStorage } from '../testing/memory-storage';
import { configureDownloadEvents, type DownloadEvent, type DownloadListener } from './download-event';

// One event per answered request, told after the body ended or broke, with what was sent. The
// handlers are called in-process; the server-side outcomes are in download-events.server.test.ts.

const SMALL = 'hello, events\n';
const BIG_SIZE = 300 * 1024 + 7;
const BIG = Buffer.alloc(BIG_SIZE, 0x61);
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'download-events-'));
  await writeFile(path.join(root, 'small.txt'), SMALL);
  await writeFile(path.join(root, 'big.bin'), BIG);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  configureDownloadEvents(undefined);
  vi.restoreAllMocks();
});

/** A listener that keeps what it is told. */
function recorder(): { events: DownloadEvent[]; listener: DownloadListener } {
  const events: DownloadEvent[] = [];
  return { events, listener: (event) => void events.push(event) };
}

/** Lets the deferred listener calls run (they are made with setImmediate). */
async function turns(count = 3): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

const ctx = (segments: string[]) => ({ params: { path: segments } });

async function readSome(response: Response, bytes: number): Promise<number> {
  const reader = response.body!.getReader();
  let read = 0;
  while (read < bytes) {
    const chunk = await reader.read();
    if (chunk.done) break;
    read += chunk.value.byteLength;
  }
  await reader.cancel();
  return read;
}

describe('download events', () => {
  describe('pathDownload', () => {
    it('tells one completed event with the whole body, after the body was read and not before', async () => {
      const { events, listener } = recorder();
      const { GET } = pathDownload({ root, onDownload: listener });
      const before = Date.now();
      const response = await GET(new Request('http://app/media/big.bin'), ctx(['big.bin']));
      await turns();
      expect(events).toEqual([]);
      expect((await response.arrayBuffer()).byteLength).toBe(BIG_SIZE);
      await turns();
      expect(events).toHaveLength(1);
      const [event] = events;
      expect(event).toMatchObject({
        route: '/media/big.bin',
        params: { path: ['big.bin'] },
        name: 'big.bin',
        size: BIG_SIZE,
        status: 200,
        ranges: [],
        bytesSent: BIG_SIZE,
        expectedBytes: BIG_SIZE,
        outcome: 'completed',
      });
      expect(event!.request.url).toBe('http://app/media/big.bin');
      expect(event!.startedAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(event!.durationMs).toBeGreaterThanOrEqual(0);
      expect(event!.error).toBeUndefined();
      expect(Object.isFrozen(event)).toBe(true);
    });

    it('tells a small file read at once as completed too', async () => {
      const { events, listener } = recorder();
      const response = await pathDownload({ root, onDownload: listener }).GET(new Request('http://app/m/small.txt'), ctx(['small.txt']));
      expect(await response.text()).toBe(SMALL);
      await turns();
      expect(events.map((e) => [e.outcome, e.bytesSent, e.expectedBytes, e.size])).toEqual([['completed', SMALL.length, SMALL.length, SMALL.length]]);
    });

    it('gives the range of a 206 and the bytes of that range', async () => {
      const { events, listener } = recorder();
      const response = await pathDownload({ root, onDownload: listener }).GET(
        new Request('http://app/m/big.bin', { headers: { range: 'bytes=100-199999' } }),
        ctx(['big.bin']),
      );
      expect(response.status).toBe(206);
      expect((await response.arrayBuffer()).byteLength).toBe(199_900);
      await turns();
      expect(events).toMatchObject([{ status: 206, ranges: [{ start: 100, end: 199_999 }], bytesSent: 199_900, expectedBytes: 199_900, outcome: 'completed' }]);
    });

    it('gives every range of a multipart answer, and counts the whole multipart body', async () => {
      const { events, listener } = recorder();
      const response = await pathDownload({ root, onDownload: listener }).GET(
        new Request('http://app/m/big.bin', { headers: { range: 'bytes=0-9, 200000-200009' } }),
        ctx(['big.bin']),
      );
      const body = await response.arrayBuffer();
      await turns();
      expect(events).toMatchObject([{ status: 206, ranges: [{ start: 0, end: 9 }, { start: 200_000, end: 200_009 }], outcome: 'completed' }]);
      expect(events[0]!.bytesSent).toBe(body.byteLength);
      expect(events[0]!.expectedBytes).toBe(Number(response.headers.get('content-length')));
    });

    it('tells aborted, with the bytes that went out, when the reader cancels the body', async () => {
      const { events, listener } = recorder();
      const response = await pathDownload({ root, onDownload: listener, chunkSize: 64 * 1024 }).GET(new Request('http://app/m/big.bin'), ctx(['big.bin']));
      const read = await readSome(response, 100_000);
      await turns();
      expect(events).toMatchObject([{ outcome: 'aborted', bytesSent: read, expectedBytes: BIG_SIZE, status: 200 }]);
      expect(read).toBeLessThan(BIG_SIZE);
    });

    it('tells aborted with 0 bytes when the client left before anyone read the body', async () => {
      const { events, listener } = recorder();
      const client = new AbortController();
      const response = await pathDownload({ root, onDownload: listener }).GET(new Request('http://app/m/big.bin', { signal: client.signal }), ctx(['big.bin']));
      client.abort();
      await turns();
      expect(response.status).toBe(200);
      expect(events).toMatchObject([{ outcome: 'aborted', bytesSent: 0 }]);
    });

    it.each([
      ['HEAD', { method: 'HEAD' }, 200],
      ['a 304', { headers: { 'if-none-match': '*' } }, 304],
      ['a 412', { headers: { 'if-match': '"other"' } }, 412],
      ['a 416', { headers: { range: 'bytes=999999999-' } }, 416],
    ] as const)('tells no-body for %s, with the file it is about', async (_name, init, status) => {
      const { events, listener } = recorder();
      const response = await pathDownload({ root, onDownload: listener }).GET(new Request('http://app/m/big.bin', init), ctx(['big.bin']));
      expect(response.status).toBe(status);
      await turns();
      expect(events).toMatchObject([{ status, outcome: 'no-body', bytesSent: 0, expectedBytes: undefined, ranges: [], name: 'big.bin', size: BIG_SIZE }]);
    });

    it('tells no-body for a 404 (no file: no name) and for a 405', async () => {
      const { events, listener } = recorder();
      const handlers = pathDownload({ root, onDownload: listener });
      await handlers.GET(new Request('http://app/m/missing.txt'), ctx(['missing.txt']));
      await handlers.POST(new Request('http://app/m/big.bin', { method: 'POST' }), ctx(['big.bin']));
      await turns();
      expect(events.map((e) => [e.status, e.outcome, e.name, e.bytesSent])).toEqual([
        [404, 'no-body', undefined, 0],
        [405, 'no-body', undefined, 0],
      ]);
    });

    it('tells offloaded when a web server sends the file', async () => {
      const { events, listener } = recorder();
      const response = await pathDownload({ root, onDownload: listener, offload: [{ backend: 'nginx', source: root, destination: '/_protected/' }] }).GET(
        new Request('http://app/m/big.bin'),
        ctx(['big.bin']),
      );
      expect(response.headers.get('x-accel-redirect')).toBe('/_protected/big.bin');
      await turns();
      expect(events).toMatchObject([{ outcome: 'offloaded', status: 200, bytesSent: 0, name: 'big.bin', size: BIG_SIZE }]);
    });

    it('tells no-body, not redirected, for a redirect that authorize answers before any file is found', async () => {
      const { events, listener } = recorder();
      const response = await pathDownload({ root, onDownload: listener, authorize: () => Response.redirect('http://app/login', 303) }).GET(
        new Request('http://app/m/big.bin'),
        ctx(['big.bin']),
      );
      expect(response.status).toBe(303);
      await turns();
      expect(events).toMatchObject([{ outcome: 'no-body', status: 303, name: undefined }]);
    });

    it('tells nothing when a hook throws what steers Next (the route did not answer)', async () => {
      const { events, listener } = recorder();
      const steer = Object.assign(new Error('NEXT_REDIRECT'), { digest: 'NEXT_REDIRECT;replace;/login;307;' });
      const { GET } = pathDownload({ root, onDownload: listener, authorize: () => { throw steer; } });
      await expect(GET(new Request('http://app/m/big.bin'), ctx(['big.bin']))).rejects.toBe(steer);
      await turns();
      expect(events).toEqual([]);
    });
  });

  describe('the listeners', () => {
    it('calls the global listener and the route one, each once; undefined removes the global one', async () => {
      const global = recorder();
      const route = recorder();
      configureDownloadEvents(global.listener);
      const { GET } = pathDownload({ root, onDownload: route.listener });
      await (await GET(new Request('http://app/m/small.txt'), ctx(['small.txt']))).text();
      await turns();
      expect(global.events).toHaveLength(1);
      expect(route.events).toEqual(global.events);
      configureDownloadEvents(undefined);
      await (await GET(new Request('http://app/m/small.txt'), ctx(['small.txt']))).text();
      await turns();
      expect([global.events.length, route.events.length]).toEqual([1, 2]);
    });

    it('reaches a route without onDownload through the global listener alone', async () => {
      const { events, listener } = recorder();
      configureDownloadEvents(listener);
      await (await pathDownload({ root }).GET(new Request('http://app/m/small.txt'), ctx(['small.txt']))).text();
      await turns();
      expect(events).toMatchObject([{ outcome: 'completed', name: 'small.txt' }]);
    });

    it('refuses a listener that is not a function, at load and in configureDownloadEvents', () => {
      expect(() => pathDownload({ root, onDownload: 'log' as unknown as DownloadListener })).toThrow(/onDownload must be a function/);
      expect(() => configureDownloadEvents(42 as unknown as DownloadListener)).toThrow(TypeError);
    });

    it('keeps a throwing listener from changing the download, and logs each distinct error once', async () => {
      const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      let calls = 0;
      const { GET } = pathDownload({
        root,
        onDownload: () => {
          calls++;
          throw new Error('audit log is down');
        },
      });
      configureDownloadEvents(async () => {
        throw new Error('counter is down');
      });
      for (let i = 0; i < 3; i++) {
        const response = await GET(new Request('http://app/m/small.txt'), ctx(['small.txt']));
        expect(response.status).toBe(200);
        expect(await response.text()).toBe(SMALL);
      }
      await turns();
      expect(calls).toBe(3);
      const messages = logged.mock.calls.map((call) => String((call[1] as Error).message));
      expect(messages.sort()).toEqual(['audit log is down', 'counter is down']);
    });

    it('never waits for a slow listener: the next download is answered while it still runs', async () => {
      let started = 0;
      const { GET } = pathDownload({ root, onDownload: () => new Promise<void>(() => void started++) });
      for (let i = 0; i < 2; i++) expect(await (await GET(new Request('http://app/m/small.txt'), ctx(['small.txt']))).text()).toBe(SMALL);
      await turns();
      expect(started).toBe(2);
    });

    it('is called on a later turn than the one that ended the body', async () => {
      const order: string[] = [];
      const { GET } = virtualDownload({ file: { name: 'a.txt', content: 'abc' }, onDownload: () => void order.push('listener') });
      const response = await GET(new Request('http://app/a.txt'));
      await response.text();
      order.push('body read');
      await turns();
      expect(order).toEqual(['body read', 'listener']);
    });
  });

  describe('sourceDownload', () => {
    it('tells failed, with the error and the bytes before it, when the source breaks mid-body', async () => {
      const { events, listener } = recorder();
      const broken = new Error('disk went away');
      const { GET } = sourceDownload({
        onDownload: listener,
        source: () => ({
          name: 'broken.bin',
          size: 10,
          open: () =>
            new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(new Uint8Array(4));
              },
              pull(controller) {
                controller.error(broken);
              },
            }),
        }),
      });
      const response = await GET(new Request('http://app/blob'));
      await expect(response.arrayBuffer()).rejects.toBe(broken);
      await turns();
      expect(events).toMatchObject([{ outcome: 'failed', bytesSent: 4, expectedBytes: 10, name: 'broken.bin', size: 10 }]);
      expect(events[0]!.error).toBe(broken);
    });

    it('tells no-body for an HttpError the source throws', async () => {
      const { events, listener } = recorder();
      const { GET } = sourceDownload({ onDownload: listener, source: () => { throw new HttpError(400, 'Bad id'); } });
      expect((await GET(new Request('http://app/blob'))).status).toBe(400);
      await turns();
      expect(events).toMatchObject([{ status: 400, outcome: 'no-body', name: undefined }]);
    });
  });

  describe('virtualDownload', () => {
    it('counts generated content of unknown length, expectedBytes undefined', async () => {
      const { events, listener } = recorder();
      const { GET } = virtualDownload({
        onDownload: listener,
        file: () => ({
          name: 'rows.csv',
          content: async function* () {
            yield 'id\n';
            yield '1\n';
          },
        }),
      });
      expect(await (await GET(new Request('http://app/rows.csv'))).text()).toBe('id\n1\n');
      await turns();
      expect(events).toMatchObject([{ outcome: 'completed', bytesSent: 5, expectedBytes: undefined, name: 'rows.csv' }]);
    });
  });

  describe('storageDownload', () => {
    it('tells completed for a streamed file', async () => {
      const { events, listener } = recorder();
      const { GET } = storageDownload({ storage: new FileSystemStorage(root), onDownload: listener });
      expect((await (await GET(new Request('http://app/s/big.bin'), ctx(['big.bin']))).arrayBuffer()).byteLength).toBe(BIG_SIZE);
      await turns();
      expect(events).toMatchObject([{ outcome: 'completed', bytesSent: BIG_SIZE, name: 'big.bin', size: BIG_SIZE }]);
    });

    it('tells redirected, with the file, for delivery by redirect', async () => {
      const { events, listener } = recorder();
      const storage = Object.assign(new MemoryStorage({ 'a.txt': 'abc' }), {
        presignedUrl: (name: string, options: RedirectUrlOptions) => `https://store.example/${name}?expires=${options.expiresIn}`,
      }) as MemoryStorage & RedirectingStorage;
      const response = await storageDownload({ storage, delivery: 'redirect', onDownload: listener }).GET(new Request('http://app/s/a.txt'), ctx(['a.txt']));
      expect(response.status).toBe(307);
      await turns();
      expect(events).toMatchObject([{ outcome: 'redirected', status: 307, name: 'a.txt', size: 3, bytesSent: 0, expectedBytes: undefined }]);
    });
  });

  describe('objectDownload and drizzleObjectDownload', () => {
    it('tell completed with the row\'s file', async () => {
      const { events, listener } = recorder();
      const storage = new FileSystemStorage(root);
      const rows: Record<string, { file: string }> = { '1': { file: 'small.txt' } };
      const { GET } = objectDownload({ storage, onDownload: listener, getObject: (_request, params) => rows[String(params.id)] });
      expect(await (await GET(new Request('http://app/o/1'), { params: { id: '1' } })).text()).toBe(SMALL);

      const sqlite = new Database(':memory:');
      sqlite.exec('CREATE TABLE docs (id integer PRIMARY KEY, file text NOT NULL)');
      sqlite.exec("INSERT INTO docs (id, file) VALUES (7, 'big.bin')");
      const docs = sqliteTable('docs', { id: integer('id').primaryKey(), file: text('file').notNull() });
      const drizzled = drizzleObjectDownload({ storage, db: drizzle(sqlite), table: docs, onDownload: listener });
      expect((await (await drizzled.GET(new Request('http://app/d/7'), { params: Promise.resolve({ id: '7' }) })).arrayBuffer()).byteLength).toBe(BIG_SIZE);
      sqlite.close();
      await turns();
      expect(events.map((e) => [e.route, e.name, e.outcome, e.bytesSent])).toEqual([
        ['/o/1', 'small.txt', 'completed', SMALL.length],
        ['/d/7', 'big.bin', 'completed', BIG_SIZE],
      ]);
      expect(events[1]!.params).toEqual({ id: '7' });
    });
  });

  describe('httpDownload', () => {
    it('tells completed with the upstream body', async () => {
      const upstream = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
        res.end('from origin');
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      try {
        const { events, listener } = recorder();
        const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
        const { GET } = httpDownload({ base, onDownload: listener });
        expect(await (await GET(new Request('http://app/h/report.txt'), ctx(['report.txt']))).text()).toBe('from origin');
        await turns();
        expect(events).toMatchObject([{ outcome: 'completed', bytesSent: 11, expectedBytes: 11, name: 'report.txt', status: 200 }]);
      } finally {
        await new Promise((resolve) => upstream.close(resolve));
      }
    });
  });

  describe('sendFile', () => {
    it('tells completed with the params it was given, and no-body for a missing file', async () => {
      const { events, listener } = recorder();
      const response = await sendFile(new Request('http://app/invoices/3'), path.join(root, 'small.txt'), { onDownload: listener, params: { id: '3' } });
      expect(await response.text()).toBe(SMALL);
      await sendFile(new Request('http://app/invoices/4'), path.join(root, 'gone.txt'), { onDownload: listener });
      await turns();
      expect(events.map((e) => [e.route, e.outcome, e.status, e.bytesSent, e.params])).toEqual([
        ['/invoices/3', 'completed', 200, SMALL.length, { id: '3' }],
        ['/invoices/4', 'no-body', 404, 0, {}],
      ]);
    });
  });
});
