import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { Agent, createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pathDownload } from '../factories/path-download';
import { virtualDownload } from '../factories/virtual-download';
import { enableLengthHeader, restoreContentLength } from './content-length';
import { BODY_HEADER, bytesResponse, offerBody, withFileBodies } from './file-body';
import { openFileStream } from '../streams/file-stream';

let root: string;
let server: Server;
let base: string;
/** Whether the app's Response had a body (false: the server sent the file itself). */
let bodies: boolean[];
/** What the app writes instead of its Response, to stand for an error page. */
let replaceBody: string | undefined;
let hosted = true;
/**
 * What the route does with the factory's Response: returns it; reads it whole and answers with
 * those bytes under a copy of its headers; or answers with a new Response around its body.
 */
let appMode: 'return' | 'read' | 'rewrap' = 'return';
/** How many bytes the route read from the factory's Response (appMode 'read'). */
let readLengths: number[];

const NOTES = 'The same line, again and again.\n'.repeat(100);
const GZIPPED = new Uint8Array(gzipSync(NOTES));

const SIZE = 3 * 1024 * 1024 + 123;
const content = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = (i * 7) % 253;

/** Response headers Next 16's sendResponse never copies (send-response.js, FORBIDDEN_HEADERS). */
const DROPPED_BY_NEXT = ['content-length', 'content-encoding', 'transfer-encoding'];

/**
 * Writes a route handler's Response to a Node response the way Next's sendResponse does: status,
 * then the headers one by one (through the Node response's setHeader), then `response.body`,
 * piped, or `end()` when there is none.
 */
async function sendLikeNext(response: Response, res: ServerResponse): Promise<void> {
  if (replaceBody !== undefined) {
    bodies.push(response.body !== null);
    await response.body?.cancel();
    res.statusCode = 500;
    res.end(replaceBody);
    return;
  }
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (!DROPPED_BY_NEXT.includes(name)) res.setHeader(name, [value]);
  });
  const body = response.body;
  bodies.push(body !== null);
  if (!body) {
    res.end();
    return;
  }
  for await (const chunk of body) {
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
  // A file stored gzipped, served with the coding it was stored with.
  const gzipped = virtualDownload({ file: { name: 'notes.txt', contentType: 'text/plain', encoding: 'gzip', content: GZIPPED } });
  server = createServer((req, res) => {
    restoreContentLength(req, res);
    const run = async () => {
      const name = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
      const request = new Request(`http://x${req.url}`, { headers: req.headers as Record<string, string> });
      const factory = name === 'notes.txt' ? gzipped : download;
      let response = await factory.GET(request, { params: { path: name.split('/') } });
      if (appMode === 'read') {
        const bytes = await response.arrayBuffer();
        readLengths.push(bytes.byteLength);
        response = new Response(bytes, { status: response.status, headers: response.headers });
      } else if (appMode === 'rewrap') {
        response = new Response(response.body, { status: response.status, headers: response.headers });
      }
      await sendLikeNext(response, res);
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
  appMode = 'return';
  readLengths = [];
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

describe('withFileBodies: a body is only taken when Next sends the Response it came with', () => {
  const small = Buffer.from(Array.from({ length: 29 }, (_, i) => 65 + i));

  beforeEach(() => {
    writeFileSync(path.join(root, 'small.txt'), small);
  });

  it.each([
    ['a file body', 'big.bin', () => content],
    ['a small body read at once', 'small.txt', () => small],
  ])('gives a route that reads the Response every byte of %s, and the client the same', async (_, name, expected) => {
    appMode = 'read';
    const { res, body, complete } = await fetchRaw(`${base}/${name}`);
    expect(readLengths).toEqual([expected().length]);
    expect(res.headers['content-length']).toBe(String(expected().length));
    expect(complete).toBe(true);
    expect(body.equals(expected())).toBe(true);
  });

  it.each([
    ['a file body', 'big.bin', () => content],
    ['a small body read at once', 'small.txt', () => small],
  ])('sends %s through a new Response the route built around the body', async (_, name, expected) => {
    appMode = 'rewrap';
    const before = openFds();
    const { body, complete } = await fetchRaw(`${base}/${name}`);
    expect(complete).toBe(true);
    expect(body.equals(expected())).toBe(true);
    // Next piped the new Response's body: nothing was taken from under it.
    expect(bodies).toEqual([true]);
    await vi.waitFor(() => expect(openFds()).toBe(before), { timeout: 5_000 });
  });

  it('never sends the private header that names the Response', async () => {
    const { res } = await fetchRaw(`${base}/small.txt`);
    expect(res.headers[BODY_HEADER]).toBeUndefined();
    expect(bodies).toEqual([false]);
  });
});

describe('a stored Content-Encoding under the kit server (Next 16 drops the header)', () => {
  it('reaches the wire with the stored bytes', async () => {
    const { res, body, complete } = await fetchRaw(`${base}/notes.txt`, { 'accept-encoding': 'identity' });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['content-length']).toBe(String(GZIPPED.byteLength));
    expect(res.headers['x-downloadview-encoding']).toBeUndefined();
    expect(complete).toBe(true);
    expect(gunzipSync(body).toString()).toBe(NOTES);
  });

  it('reaches the wire on a range of the stored bytes', async () => {
    const ranged = await fetchRaw(`${base}/notes.txt`, { range: 'bytes=0-9' });
    expect(ranged.res.statusCode).toBe(206);
    expect(ranged.res.headers['content-encoding']).toBe('gzip');
    expect(ranged.body.equals(Buffer.from(GZIPPED.subarray(0, 10)))).toBe(true);
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

/**
 * Inside withFileBodies: offers `body` with a Response announcing its length, then does what
 * Next does with that Response (copies the private header, reads `body`, ends). Gives what Next
 * read as the body (null: the server took it).
 */
function offerAndSend(res: { setHeader: (name: string, value: string[]) => unknown; end: () => unknown }, body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>, length: number, status = 200) {
  const headers = new Headers({ 'content-length': String(length) });
  const response = body instanceof Uint8Array ? bytesResponse(body, { status, headers }) : offerBody(new Response(body, { status, headers }), body);
  const token = response.headers.get(BODY_HEADER);
  if (token !== null) res.setHeader(BODY_HEADER, [token]);
  const read = response.body;
  res.end();
  return read;
}

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
      setHeader: (name: string, value: string | string[]) => {
        headers[name] = String(value);
        return res;
      },
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
        expect(offerAndSend(res, stream, 4 * 1024 * 1024)).toBeNull();
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
    let read: ReadableStream<Uint8Array> | null = null;
    withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
      read = offerAndSend(res, stream, SIZE);
    });
    await settle();
    expect(res.written).toBe(0);
    expect(read).toBe(stream);
    await stream.cancel();
  });

  it('leaves the body to the app when the response announces another length', async () => {
    const stream = await openFileStream(path.join(root, 'big.bin'));
    const res = slowResponse({ 'content-length': '10' });
    let read: ReadableStream<Uint8Array> | null = null;
    withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
      read = offerAndSend(res, stream, SIZE);
    });
    await settle();
    expect(res.written).toBe(0);
    expect(read).toBe(stream);
    await stream.cancel();
  });
});

describe('offerBody with bytes, with a response of its own (no socket)', () => {
  function fakeResponse(headers: Record<string, string>, statusCode = 200) {
    const res = {
      statusCode,
      headersSent: false,
      destroyed: false,
      writableLength: 0,
      endedWith: [] as unknown[],
      getHeader: (name: string) => headers[name],
      hasHeader: (name: string) => name in headers,
      setHeader: (name: string, value: string | string[]) => {
        headers[name] = String(value);
        return res;
      },
      write: () => true,
      once: () => res,
      end: (...args: unknown[]) => {
        res.endedWith = args;
        return res;
      },
    };
    return res;
  }
  const bytes = new Uint8Array([1, 2, 3, 4]);

  it('writes the bytes with the end of a matching 200, and Next reads no body', () => {
    const res = fakeResponse({ 'content-length': '4' });
    withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
      expect(offerAndSend(res, bytes, 4)).toBeNull();
    });
    expect(res.endedWith[0]).toBe(bytes);
  });

  it.each([
    ['another length', { 'content-length': '5' }, 200, 'GET'],
    ['a Content-Encoding', { 'content-length': '4', 'content-encoding': 'gzip' }, 200, 'GET'],
    ['an error status', { 'content-length': '4' }, 500, 'GET'],
    ['a HEAD request', { 'content-length': '4' }, 200, 'HEAD'],
  ])('leaves them to the Response under %s', (_, headers, status, method) => {
    const res = fakeResponse(headers, status);
    withFileBodies({ method } as IncomingMessage, res as unknown as ServerResponse, () => {
      expect(offerAndSend(res, bytes, 4, status)).not.toBeNull();
    });
    expect(res.endedWith).toEqual([]);
  });

  it('takes one body per request: the Response whose header Next wrote, not another one offered before', async () => {
    const res = fakeResponse({ 'content-length': '4' });
    const other = new Uint8Array([9, 9, 9, 9]);
    let first: Response | undefined;
    withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
      first = bytesResponse(other, { status: 200, headers: new Headers({ 'content-length': '4' }) });
      expect(offerAndSend(res, bytes, 4)).toBeNull();
    });
    expect(res.endedWith[0]).toBe(bytes);
    // The first Response was never sent: its body is still its own.
    expect(new Uint8Array(await first!.arrayBuffer())).toEqual(other);
  });

  it('makes a plain Response outside a request hosted by the server', async () => {
    const response = bytesResponse(bytes, { status: 200, headers: new Headers() });
    expect(response.headers.has(BODY_HEADER)).toBe(false);
    expect(Object.getOwnPropertyNames(response)).not.toContain('body');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
  });

  it.each([
    ['arrayBuffer()', async (response: Response) => new Uint8Array(await response.arrayBuffer())],
    ['text()', async (response: Response) => new TextEncoder().encode(await response.text())],
    ['blob()', async (response: Response) => new Uint8Array(await (await response.blob()).arrayBuffer())],
    ['bytes()', async (response: Response) => new Uint8Array(await (response as Response & { bytes(): Promise<Uint8Array> }).bytes())],
    ['body', async (response: Response) => new Uint8Array(await new Response(response.body).arrayBuffer())],
    ['clone()', async (response: Response) => new Uint8Array(await response.clone().arrayBuffer())],
  ])('gives every byte to app code that reads it with %s under the server, and is then not taken again', async (_, readAll) => {
    const res = fakeResponse({ 'content-length': '4' });
    const text = new Uint8Array([104, 105, 33, 10]);
    let response: Response | undefined;
    await withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, async () => {
      response = bytesResponse(text, { status: 200, headers: new Headers({ 'content-length': '4' }) });
      expect(await readAll(response)).toEqual(text);
      // A clone reads a copy: the Response itself is untouched, and can still be sent by the server.
      const copied = _ === 'clone()';
      expect(response.bodyUsed).toBe(!copied);
      // Next sending it now finds its body used: nothing is taken, and the server writes nothing itself.
      (res as unknown as ServerResponse).setHeader(BODY_HEADER, [response.headers.get(BODY_HEADER)!]);
      expect(response.body === null).toBe(copied);
      res.end();
    });
    expect(res.endedWith).toEqual(_ === 'clone()' ? [text] : []);
  });
});

describe('offerBody with a file', () => {
  it('reaches the server through another copy of the module (Next bundles its own into each route)', async () => {
    vi.resetModules();
    const bundled = (await import('./file-body')) as typeof import('./file-body');
    expect(bundled.offerBody).not.toBe(offerBody);
    // The route's copy opens the file too: both modules come from the same bundle.
    const streams = (await import('../streams/file-stream')) as typeof import('../streams/file-stream');
    const stream = await streams.openFileStream(path.join(root, 'big.bin'));
    let onClose = (): void => undefined;
    const once = (event: string, listener: () => void) => {
      if (event === 'close') onClose = listener;
    };
    const headers: Record<string, string> = { 'content-length': String(SIZE) };
    const res = {
      statusCode: 200,
      headersSent: false,
      destroyed: false,
      writableLength: 0,
      getHeader: (name: string) => headers[name],
      hasHeader: (name: string) => name in headers,
      setHeader: () => res,
      write: () => true,
      end: () => undefined,
      once,
    };
    const req = { method: 'GET' } as IncomingMessage;
    const read = withFileBodies(req, res as unknown as ServerResponse, () => {
      const offered = bundled.offerBody(new Response(stream, { headers: { 'content-length': String(SIZE) } }), stream);
      (res as unknown as ServerResponse).setHeader(BODY_HEADER, [offered.headers.get(BODY_HEADER)!]);
      return offered.body;
    });
    expect(read).toBeNull();
    // The file now belongs to the server's slot.
    expect(streams.takeFile(stream)).toBeUndefined();
    // The response closes without being ended: the server closes the file.
    onClose();
  });

  it('leaves the Response and its stream untouched outside a request hosted by the server', async () => {
    const stream = await openFileStream(path.join(root, 'big.bin'));
    const response = new Response(stream);
    expect(offerBody(response, stream)).toBe(response);
    expect(response.body).toBe(stream);
    await stream.cancel();
  });
});

describe('offerBody under a stored Content-Encoding, with a response of its own (no socket)', () => {
  it('is taken when the response carries the coding the Response was stored with, and left otherwise', () => {
    const bytes = new Uint8Array([31, 139, 8, 0]);
    for (const [onWire, taken] of [['gzip', true], [undefined, false], ['br', false]] as const) {
      const headers: Record<string, string> = { 'content-length': '4', ...(onWire ? { 'content-encoding': onWire } : {}) };
      let ended: unknown[] = [];
      const res = {
        statusCode: 200,
        headersSent: false,
        destroyed: false,
        writableLength: 0,
        getHeader: (name: string) => headers[name],
        hasHeader: (name: string) => name in headers,
        setHeader: () => res,
        write: () => true,
        once: () => res,
        end: (...args: unknown[]) => {
          ended = args;
          return res;
        },
      };
      let read: ReadableStream<Uint8Array> | null = null;
      withFileBodies({ method: 'GET' } as IncomingMessage, res as unknown as ServerResponse, () => {
        const response = bytesResponse(bytes, { status: 200, headers: new Headers({ 'content-length': '4', 'content-encoding': 'gzip' }) });
        (res as unknown as ServerResponse).setHeader(BODY_HEADER, [response.headers.get(BODY_HEADER)!]);
        read = response.body;
        res.end();
      });
      expect({ onWire, taken: read === null }).toEqual({ onWire, taken });
      expect(ended[0] === bytes).toBe(taken);
    }
  });
});
