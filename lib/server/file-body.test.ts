import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { Agent, createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { pathDownload } from '../factories/path-download';
import { enableLengthHeader, restoreContentLength } from './content-length';
import { sendBytesBody, sendFileBody, withFileBodies } from './file-body';
import { openFileStream } from '../streams/file-stream';

let root: string;
let server: Server;
let base: string;
/** Whether the app's Response had a body (false: the server sent the file itself). */
let bodies: boolean[];
/** What the app writes instead of its Response, to stand for an error page. */
let replaceBody: string | undefined;
let hosted = true;

const SIZE = 3 * 1024 * 1024 + 123;
const content = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = (i * 7) % 253;

/** Writes a route handler's Response to a Node response the way Next's sendResponse does. */
async function sendLikeNext(response: Response, res: ServerResponse): Promise<void> {
  bodies.push(response.body !== null);
  if (replaceBody !== undefined) {
    await response.body?.cancel();
    res.statusCode = 500;
    res.end(replaceBody);
    return;
  }
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (name !== 'content-length') res.appendHeader(name, value);
  });
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

function fetchRaw(url: string, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks), complete: res.complete }));
      res.on('error', () => resolve({ res, body: Buffer.concat(chunks), complete: false }));
      res.on('aborted', () => resolve({ res, body: Buffer.concat(chunks), complete: false }));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  enableLengthHeader();
  root = mkdtempSync(path.join(os.tmpdir(), 'file-body-test-'));
  const download = pathDownload({ root });
  server = createServer((req, res) => {
    restoreContentLength(req, res);
    const run = async () => {
      const name = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
      const request = new Request(`http://x${req.url}`, { headers: req.headers as Record<string, string> });
      await sendLikeNext(await download.GET(request, { params: { path: name.split('/') } }), res);
    };
    void (hosted ? withFileBodies(req, res, run) : run()).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  writeFileSync(path.join(root, 'big.bin'), content);
  bodies = [];
  replaceBody = undefined;
  hosted = true;
});

afterEach(async () => {
  await settle();
});

describe('withFileBodies: the kit server sends a file body itself', () => {
  it('sends the whole file with its Content-Length, and the app answers with no body', async () => {
    const { res, body, complete } = await fetchRaw(`${base}/big.bin`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(SIZE));
    expect(complete).toBe(true);
    expect(body.equals(content)).toBe(true);
    expect(bodies).toEqual([false]);
  });

  it('sends exactly the bytes of a range', async () => {
    const { res, body } = await fetchRaw(`${base}/big.bin`, { range: 'bytes=1000000-2100000' });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-length']).toBe('1100001');
    expect(body.equals(content.subarray(1000000, 2100001))).toBe(true);
  });

  it('leaves the body to the app under a server that does not host it (plain next start)', async () => {
    hosted = false;
    const { body } = await fetchRaw(`${base}/big.bin`);
    expect(body.equals(content)).toBe(true);
    expect(bodies).toEqual([true]);
  });

  it('closes the file and sends what the app wrote when it writes another body (an error page)', async () => {
    const before = openFds();
    replaceBody = 'something else';
    const { res, body } = await fetchRaw(`${base}/big.bin`);
    expect(res.statusCode).toBe(500);
    expect(body.toString()).toBe('something else');
    await vi.waitFor(() => expect(openFds()).toBe(before), { timeout: 5_000 });
  });

  it('breaks the connection when the file is cut short while being sent', async () => {
    const result = await new Promise<{ received: number; complete: boolean }>((resolve, reject) => {
      get(`${base}/big.bin`, { agent: false }, (res) => {
        let received = 0;
        let cut = false;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (!cut) {
            cut = true;
            res.pause();
            void truncate(path.join(root, 'big.bin'), 1024 * 1024).then(() => res.resume());
          }
        });
        res.on('end', () => resolve({ received, complete: res.complete }));
        res.on('aborted', () => resolve({ received, complete: false }));
        res.on('error', () => resolve({ received, complete: false }));
      }).on('error', reject);
    });
    expect(result.complete).toBe(false);
    expect(result.received).toBeLessThan(SIZE);
  });

  it('closes the file when the client goes away mid-body: no descriptor left open', async () => {
    const before = openFds();
    await new Promise<void>((resolve, reject) => {
      get(`${base}/big.bin`, { agent: false }, (res) => {
        res.once('data', () => {
          res.destroy();
          resolve();
        });
      }).on('error', reject);
    });
    await vi.waitFor(() => expect(openFds()).toBe(before), { timeout: 5_000 });
  });

  it('leaves no descriptor open after many whole and partial answers', async () => {
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const { body } = await fetchRaw(`${base}/big.bin`, i % 2 ? { range: `bytes=${i}-${i + 70000}` } : {});
      expect(body.length).toBe(i % 2 ? 70001 : SIZE);
    }
    await vi.waitFor(() => expect(openFds()).toBe(before), { timeout: 5_000 });
  });
});

describe('withFileBodies: a small body read at once goes out with the headers', () => {
  const small = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 13) % 251));

  beforeEach(() => {
    writeFileSync(path.join(root, 'small.bin'), small);
  });

  it('sends the whole small file with its Content-Length, and the app answers with no body', async () => {
    const { res, body, complete } = await fetchRaw(`${base}/small.bin`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('4096');
    expect(res.headers['transfer-encoding']).toBeUndefined();
    expect(complete).toBe(true);
    expect(body.equals(small)).toBe(true);
    expect(bodies).toEqual([false]);
  });

  it('sends exactly the bytes of a small range', async () => {
    const { res, body } = await fetchRaw(`${base}/small.bin`, { range: 'bytes=100-199' });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-length']).toBe('100');
    expect(res.headers['content-range']).toBe('bytes 100-199/4096');
    expect(body.equals(small.subarray(100, 200))).toBe(true);
    expect(bodies).toEqual([false]);
  });

  it('sends an empty file as an empty 200', async () => {
    writeFileSync(path.join(root, 'empty.bin'), '');
    const { res, body, complete } = await fetchRaw(`${base}/empty.bin`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('0');
    expect(complete).toBe(true);
    expect(body.length).toBe(0);
  });

  it('leaves the bytes to the app under a server that does not host it (plain next start)', async () => {
    hosted = false;
    const { body } = await fetchRaw(`${base}/small.bin`);
    expect(body.equals(small)).toBe(true);
    expect(bodies).toEqual([true]);
  });

  it('sends what the app wrote instead when it writes another body (an error page)', async () => {
    replaceBody = 'something else';
    const { res, body } = await fetchRaw(`${base}/small.bin`);
    expect(res.statusCode).toBe(500);
    expect(body.toString()).toBe('something else');
  });

  it('keeps the connection for the next request: bodies of many small answers stay apart', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 10; i++) {
        const body = await new Promise<Buffer>((resolve, reject) => {
          get(`${base}/small.bin`, { agent, headers: i % 2 ? { range: `bytes=${i}-${i + 9}` } : {} }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve(Buffer.concat(chunks)));
          }).on('error', reject);
        });
        expect(body.equals(i % 2 ? small.subarray(i, i + 10) : small)).toBe(true);
      }
    } finally {
      agent.destroy();
    }
  });
});

describe('withFileBodies with a response of its own (no socket)', () => {
  /** A response that takes every write slowly (write() says wait, drain comes later). */
  function slowResponse(headers: Record<string, string>) {
    const events = new Map<string, Array<(...args: unknown[]) => void>>();
    const emit = (event: string, ...args: unknown[]) => {
      const listeners = events.get(event) ?? [];
      events.delete(event);
      for (const listener of listeners) listener(...args);
    };
    const res = {
      statusCode: 200,
      headersSent: false,
      destroyed: false,
      writableLength: 0,
      ended: false,
      destroyedWith: undefined as Error | undefined,
      written: 0,
      getHeader: (name: string) => headers[name],
      hasHeader: (name: string) => name in headers,
      once: (event: string, listener: (...args: unknown[]) => void) => events.set(event, [...(events.get(event) ?? []), listener]),
      off: (event: string, listener: (...args: unknown[]) => void) => events.set(event, (events.get(event) ?? []).filter((l) => l !== listener)),
      on: (event: string, listener: (...args: unknown[]) => void) => events.set(event, [...(events.get(event) ?? []), listener]),
      removeListener: (event: string, listener: (...args: unknown[]) => void) => events.set(event, (events.get(event) ?? []).filter((l) => l !== listener)),
      write: (chunk: Buffer, callback: () => void) => {
        res.written += chunk.length;
        setImmediate(callback);
        return false;
      },
      end: () => {
        res.ended = true;
        return res;
      },
      destroy: (error?: Error) => {
        res.destroyed = true;
        res.destroyedWith = error;
        emit('close');
      },
      emit,
    };
    return res;
  }

  it('reports a read that fails while a write is waiting for drain as a broken connection, never an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const file = path.join(root, 'cut.bin');
      writeFileSync(file, Buffer.alloc(4 * 1024 * 1024, 1));
      const stream = await openFileStream(file);
      // Cut after the stat that decided the length: the first chunk reads whole, the one read
      // ahead while the first waits for drain finds the end of the file.
      await truncate(file, 512 * 1024);
      const res = slowResponse({ 'content-length': String(4 * 1024 * 1024) });
      withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
        sendFileBody(stream);
        res.end();
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(res.written).toBe(512 * 1024);
      res.emit('drain');
      await vi.waitFor(() => expect(res.destroyed).toBe(true));
      await settle();
      expect(res.destroyedWith?.message).toMatch(/ended .* early/);
      expect(res.ended).toBe(false);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('leaves the body to the app when the response carries a Content-Encoding (a compressor in between)', async () => {
    const stream = await openFileStream(path.join(root, 'big.bin'));
    const res = slowResponse({ 'content-length': String(SIZE), 'content-encoding': 'gzip' });
    withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
      sendFileBody(stream);
      res.end();
    });
    await settle();
    expect(res.written).toBe(0);
    expect(res.ended).toBe(true);
  });

  it('leaves the body to the app when the response announces another length', async () => {
    const stream = await openFileStream(path.join(root, 'big.bin'));
    const res = slowResponse({ 'content-length': '10' });
    withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
      sendFileBody(stream);
      res.end();
    });
    await settle();
    expect(res.written).toBe(0);
    expect(res.ended).toBe(true);
  });
});

describe('sendBytesBody with a response of its own (no socket)', () => {
  function fakeResponse(headers: Record<string, string>, statusCode = 200) {
    const res = {
      statusCode,
      headersSent: false,
      destroyed: false,
      writableLength: 0,
      endedWith: [] as unknown[],
      getHeader: (name: string) => headers[name],
      hasHeader: (name: string) => name in headers,
      once: () => res,
      end: (...args: unknown[]) => {
        res.endedWith = args;
        return res;
      },
    };
    return res;
  }
  const bytes = new Uint8Array([1, 2, 3, 4]);

  it('writes the bytes with the end of a matching 200', () => {
    const res = fakeResponse({ 'content-length': '4' });
    withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
      expect(sendBytesBody(bytes)).toBe(true);
      res.end();
    });
    expect(res.endedWith[0]).toBe(bytes);
  });

  it.each([
    ['another length', { 'content-length': '5' }, 200, 'GET'],
    ['a Content-Encoding', { 'content-length': '4', 'content-encoding': 'gzip' }, 200, 'GET'],
    ['an error status', { 'content-length': '4' }, 500, 'GET'],
    ['a HEAD request', { 'content-length': '4' }, 200, 'HEAD'],
  ])('leaves them out under %s', (_, headers, status, method) => {
    const res = fakeResponse(headers, status);
    withFileBodies({ method } as IncomingMessage, res as unknown as ServerResponse, () => {
      sendBytesBody(bytes);
      res.end();
    });
    expect(res.endedWith).toEqual([]);
  });

  it('takes one body per request: a second hand-over, or one after a file, is refused', () => {
    const res = fakeResponse({ 'content-length': '4' });
    withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
      expect(sendBytesBody(bytes)).toBe(true);
      expect(sendBytesBody(new Uint8Array([9, 9, 9, 9]))).toBe(false);
      res.end();
    });
    expect(res.endedWith[0]).toBe(bytes);
  });

  it('is false outside a request hosted by the server', () => {
    expect(sendBytesBody(bytes)).toBe(false);
  });
});

describe('sendFileBody', () => {
  it('reaches the server through another copy of the module (Next bundles its own into each route)', async () => {
    vi.resetModules();
    const bundled = (await import('./file-body')) as typeof import('./file-body');
    expect(bundled.sendFileBody).not.toBe(sendFileBody);
    // The route's copy opens the file too: both modules come from the same bundle.
    const streams = (await import('../streams/file-stream')) as typeof import('../streams/file-stream');
    const stream = await streams.openFileStream(path.join(root, 'big.bin'));
    let onClose = (): void => undefined;
    const once = (event: string, listener: () => void) => {
      if (event === 'close') onClose = listener;
    };
    const res = { headersSent: false, destroyed: false, end: () => undefined, once } as unknown as ServerResponse;
    const req = { method: 'GET' } as IncomingMessage;
    expect(withFileBodies(req, res, () => bundled.sendFileBody(stream))).toBe(true);
    // The file now belongs to the server's slot.
    expect(streams.takeFile(stream)).toBeUndefined();
    // The response closes without being ended: the server closes the file.
    onClose();
  });

  it('is false outside a request hosted by the server, and leaves the stream untouched', async () => {
    const stream = await openFileStream(path.join(root, 'big.bin'));
    expect(sendFileBody(stream)).toBe(false);
    await stream.cancel();
  });
});
