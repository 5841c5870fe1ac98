import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DownloadEvent } from '../events/download-event';
import { pathDownload } from '../factories/path-download';
import { virtualDownload } from '../factories/virtual-download';
import { enableHandoff } from '../engine/handoff';
import { createKitServer, type KitServer } from './kit-server';

// Download events on real servers, with real clients that stay or leave: the kit's server, which
// sends file and in-memory bodies itself and tells how they ended, and a plain Node server that
// pipes the Response's web stream (what `next start` does).

const BIG_SIZE = 24 * 1024 * 1024 + 5;
const SMALL = 'small and whole\n';
let root: string;
let events: DownloadEvent[] = [];
/** Whether the app's Response had a body for Next to pipe (false: the kit's server took it). */
let piped: boolean[] = [];

const routes = () => {
  const onDownload = (event: DownloadEvent) => void events.push(event);
  return {
    file: pathDownload({ root, onDownload }),
    endless: virtualDownload({
      onDownload,
      file: () => ({
        name: 'endless.txt',
        content: async function* () {
          for (;;) yield 'x'.repeat(64 * 1024);
        },
      }),
    }),
  };
};

/** The request Next gives a route: its signal aborts when the response closes before it finished. */
function requestOf(req: IncomingMessage, res: ServerResponse): Request {
  const client = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) client.abort();
  });
  return new Request(`http://app${req.url}`, { method: req.method, headers: req.headers as Record<string, string>, signal: client.signal });
}

/** Writes a Response as Next's sendResponse does: status, headers one by one, then the body piped, cancelled if the client leaves. */
async function sendLikeNext(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (!['content-length', 'content-encoding', 'transfer-encoding'].includes(name)) res.setHeader(name, [value]);
  });
  const body = response.body;
  piped.push(body !== null);
  if (!body) {
    res.end();
    return;
  }
  const reader = body.getReader();
  res.once('close', () => void reader.cancel().catch(() => undefined));
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      if (res.destroyed) return;
      if (!res.write(chunk.value)) await drainedOrClosed(res);
    }
    res.end();
  } catch {
    res.destroy();
  }
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function route(req: IncomingMessage): Promise<{ handlers: ReturnType<typeof routes>[keyof ReturnType<typeof routes>]; name: string }> {
  const name = decodeURIComponent(new URL(req.url!, 'http://app').pathname.slice(1));
  const all = routes();
  return { handlers: name === 'endless.txt' ? all.endless : all.file, name };
}

/** Downloads `url`; `leaveAfter` bytes in, the client destroys its socket. */
function download(url: string, options: { leaveAfter?: number; onResponse?: (res: IncomingMessage) => void } = {}): Promise<{ received: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false }, (res) => {
      let received = 0;
      options.onResponse?.(res);
      res.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
        if (options.leaveAfter !== undefined && received >= options.leaveAfter) {
          request.destroy();
          resolve({ received, complete: false });
        }
      });
      res.on('end', () => resolve({ received, complete: res.complete }));
      res.on('aborted', () => resolve({ received, complete: false }));
      res.on('error', () => resolve({ received, complete: false }));
    });
    request.on('error', (error) => (options.leaveAfter === undefined ? reject(error) : undefined));
  });
}

async function oneEvent(): Promise<DownloadEvent> {
  await vi.waitFor(() => expect(events).toHaveLength(1), { timeout: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(events).toHaveLength(1);
  return events[0]!;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'download-events-server-'));
  await writeFile(path.join(root, 'small.txt'), SMALL);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  events = [];
  piped = [];
});

/** A fresh big file per test: the failure test cuts it short. */
async function bigFile(): Promise<void> {
  await writeFile(path.join(root, 'big.bin'), Buffer.alloc(BIG_SIZE, 0x62));
}

describe('download events under the kit\'s server', () => {
  let kit: KitServer;
  let base: string;

  beforeAll(async () => {
    enableHandoff();
    kit = createKitServer(async (req, res) => {
      const { handlers, name } = await route(req);
      const response = await handlers.GET(requestOf(req, res), { params: { path: name.split('/') } });
      await sendLikeNext(response, res);
    });
    await new Promise<void>((resolve) => kit.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(kit.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await kit.shutdown();
  });

  it('tells completed with every byte of a file the server sent itself', async () => {
    await bigFile();
    const { received, complete } = await download(`${base}/big.bin`);
    expect([received, complete]).toEqual([BIG_SIZE, true]);
    expect(piped).toEqual([false]);
    expect(await oneEvent()).toMatchObject({ outcome: 'completed', bytesSent: BIG_SIZE, expectedBytes: BIG_SIZE, status: 200, name: 'big.bin' });
  });

  it('tells the range of a 206 the server sent itself, with its bytes', async () => {
    await bigFile();
    const received = await new Promise<number>((resolve, reject) => {
      get(`${base}/big.bin`, { agent: false, headers: { range: 'bytes=1000-2000999' } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
        res.on('end', () => resolve(bytes));
      }).on('error', reject);
    });
    expect(received).toBe(2_000_000);
    expect(piped).toEqual([false]);
    expect(await oneEvent()).toMatchObject({ outcome: 'completed', status: 206, ranges: [{ start: 1000, end: 2_000_999 }], bytesSent: 2_000_000, expectedBytes: 2_000_000 });
  });

  it('tells completed for a small file written with the headers', async () => {
    expect(await download(`${base}/small.txt`)).toEqual({ received: SMALL.length, complete: true });
    expect(piped).toEqual([false]);
    expect(await oneEvent()).toMatchObject({ outcome: 'completed', bytesSent: SMALL.length, expectedBytes: SMALL.length });
  });

  it('tells aborted, with fewer bytes than the file, when the client leaves mid-file', async () => {
    await bigFile();
    const { received } = await download(`${base}/big.bin`, { leaveAfter: 1 });
    expect(received).toBeLessThan(BIG_SIZE);
    expect(piped).toEqual([false]);
    const event = await oneEvent();
    expect(event).toMatchObject({ outcome: 'aborted', expectedBytes: BIG_SIZE });
    expect(event.bytesSent).toBeGreaterThanOrEqual(received);
    expect(event.bytesSent).toBeLessThan(BIG_SIZE);
  });

  it('tells failed, with the error, when the file is cut short while it is sent', async () => {
    await bigFile();
    const result = download(`${base}/big.bin`, {
      onResponse: (res) => {
        // The client stops reading; the server fills the socket and waits; the file shrinks; the client reads on.
        res.pause();
        setTimeout(() => {
          void truncate(path.join(root, 'big.bin'), 0).then(() => res.resume());
        }, 200);
      },
    });
    expect((await result).complete).toBe(false);
    expect(piped).toEqual([false]);
    const event = await oneEvent();
    expect(event).toMatchObject({ outcome: 'failed', expectedBytes: BIG_SIZE });
    expect(event.bytesSent).toBeLessThan(BIG_SIZE);
    expect(String(event.error)).toMatch(/early/);
  });

  it('tells aborted for a streamed body (generated content) whose client leaves', async () => {
    const { received } = await download(`${base}/endless.txt`, { leaveAfter: 1 });
    expect(piped).toEqual([true]);
    const event = await oneEvent();
    expect(event).toMatchObject({ outcome: 'aborted', expectedBytes: undefined, name: 'endless.txt' });
    expect(event.bytesSent).toBeGreaterThanOrEqual(received);
  });
});

describe('download events under a plain Node server piping the web stream', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      void (async () => {
        const { handlers, name } = await route(req);
        const response = await handlers.GET(requestOf(req, res), { params: { path: name.split('/') } });
        res.writeHead(response.status, Object.fromEntries(response.headers));
        if (!response.body) return void res.end();
        await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), res);
      })().catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('tells completed with every byte', async () => {
    await bigFile();
    expect(await download(`${base}/big.bin`)).toEqual({ received: BIG_SIZE, complete: true });
    expect(await oneEvent()).toMatchObject({ outcome: 'completed', bytesSent: BIG_SIZE, expectedBytes: BIG_SIZE });
  });

  it('tells aborted when the client leaves: the piping cancels the stream', async () => {
    await bigFile();
    const { received } = await download(`${base}/big.bin`, { leaveAfter: 1 });
    const event = await oneEvent();
    expect(event.outcome).toBe('aborted');
    expect(event.bytesSent).toBeGreaterThanOrEqual(received);
    expect(event.bytesSent).toBeLessThan(BIG_SIZE);
  });

  it('tells failed, with the error, when the file is cut short while it is sent', async () => {
    await bigFile();
    const result = download(`${base}/big.bin`, {
      onResponse: (res) => {
        res.pause();
        setTimeout(() => {
          void truncate(path.join(root, 'big.bin'), 0).then(() => res.resume());
        }, 200);
      },
    });
    expect((await result).complete).toBe(false);
    const event = await oneEvent();
    expect(event.outcome).toBe('failed');
    expect(event.bytesSent).toBeLessThan(BIG_SIZE);
    expect(event.error).toBeInstanceOf(Error);
  });
});
