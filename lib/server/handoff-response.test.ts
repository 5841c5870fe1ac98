import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { Agent, createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pathDownload } from '../factories/path-download';
import { virtualDownload } from '../factories/virtual-download';
import { BODY_HEADER, ENCODING_HEADER, handOffBytes, handOffFile, handoffTarget, LENGTH_HEADER, signedEncoding, signedLength } from '../engine/handoff';
import { openFile } from '../streams/file-stream';
import { HandoffResponse } from './handoff-response';

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
 * those bytes under a copy of its headers; answers with a new Response around its body; or drops
 * it unread and answers with a Response of its own.
 */
let appMode: 'return' | 'read' | 'rewrap' | 'drop' = 'return';
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
async function sendLikeNext(response: Response, res: HandoffResponse, afterHeaders?: () => void): Promise<void> {
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
  afterHeaders?.();
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
  root = mkdtempSync(path.join(os.tmpdir(), 'handoff-response-test-'));
  const download = pathDownload({ root });
  // A file stored gzipped, served with the coding it was stored with.
  const gzipped = virtualDownload({ file: { name: 'notes.txt', contentType: 'text/plain', encoding: 'gzip', content: GZIPPED } });
  server = createServer({ ServerResponse: HandoffResponse }, (req, res) => {
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
      } else if (appMode === 'drop') {
        response = new Response('answered otherwise\n', { status: 403 });
      }
      await sendLikeNext(response, res);
    };
    void (hosted ? res.run(run) : run()).catch(() => res.destroy());
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

describe('HandoffResponse: the server sends a file body itself', () => {
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

  it('breaks the connection when the file is cut short while being sent, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    onTestFinished(() => void process.off('unhandledRejection', record));
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
    await settle();
    expect(unhandled).toEqual([]);
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

describe('HandoffResponse: a body is only taken when Next sends the Response it came with', () => {
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

  it('closes a file offered with a Response the route dropped unread: released when the response closes', async () => {
    appMode = 'drop';
    const before = openFds();
    const { res, body } = await fetchRaw(`${base}/big.bin`);
    expect(res.statusCode).toBe(403);
    expect(body.toString()).toBe('answered otherwise\n');
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

describe('HandoffResponse: a small body read at once goes out with the headers', () => {
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

/** A server whose handler each test sets: the engine's hand-off functions called directly. */
describe('HandoffResponse with the engine\'s hand-off called directly', () => {
  let direct: Server;
  let directBase: string;
  let handler: (request: Request, res: HandoffResponse) => Promise<void>;
  const bytes = new Uint8Array([1, 2, 3, 4]);

  beforeAll(async () => {
    direct = createServer({ ServerResponse: HandoffResponse }, (req, res) => {
      const request = new Request(`http://x${req.url}`, { method: req.method, headers: req.headers as Record<string, string> });
      void res.run(() => handler(request, res)).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => direct.listen(0, '127.0.0.1', resolve));
    directBase = `http://127.0.0.1:${(direct.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => direct.close(resolve));
  });

  /** The headers the engine gives a body of `length` bytes: the signed length, and a signed coding if any. */
  function engineHeaders(length: number, encoding?: string): Headers {
    const headers = new Headers({ 'content-length': String(length), [LENGTH_HEADER]: signedLength(length)! });
    if (encoding) {
      headers.set('content-encoding', encoding);
      headers.set(ENCODING_HEADER, signedEncoding(encoding)!);
    }
    return headers;
  }

  it('writes bytes with the end of a matching 200, and Next reads no body', async () => {
    handler = async (request, res) => sendLikeNext(handOffBytes(request, new Uint8Array(bytes), { status: 200, headers: engineHeaders(4) }), res);
    const { res, body, complete } = await fetchRaw(`${directBase}/`);
    expect(bodies).toEqual([false]);
    expect(res.headers['content-length']).toBe('4');
    expect(complete).toBe(true);
    expect(new Uint8Array(body)).toEqual(bytes);
  });

  it.each([
    ['a Content-Encoding set by something in between (a compressor)', 200, (res: HandoffResponse) => res.setHeader('content-encoding', 'gzip')],
    ['an error status', 500, () => undefined],
  ])('leaves bytes to the Response under %s', async (_, status, before) => {
    handler = async (request, res) => {
      before(res);
      await sendLikeNext(handOffBytes(request, new Uint8Array(bytes), { status, headers: engineHeaders(4) }), res);
    };
    const { res, body } = await fetchRaw(`${directBase}/`);
    expect(res.statusCode).toBe(status);
    expect(bodies).toEqual([true]);
    expect(new Uint8Array(body)).toEqual(bytes);
  });

  it('leaves bytes to the Response when it announces another length, and the length guard breaks the connection', async () => {
    handler = async (request, res) => {
      const headers = engineHeaders(5);
      await sendLikeNext(handOffBytes(request, new Uint8Array(bytes), { status: 200, headers }), res);
    };
    // Destroyed before its headers went out: the client sees the connection break.
    const outcome = await fetchRaw(`${directBase}/`).catch((error: Error) => error);
    expect(bodies).toEqual([true]);
    expect(outcome instanceof Error ? false : outcome.complete).toBe(false);
  });

  it('offers nothing for a HEAD: only a GET runs inside the response', async () => {
    let target: unknown = 'unset';
    handler = async (_request, res) => {
      target = handoffTarget();
      res.end();
    };
    await new Promise<void>((resolve, reject) => {
      const req = get(`${directBase}/`, { method: 'HEAD', agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
    });
    expect(target).toBeUndefined();
  });

  it('takes one body per request: the Response whose header Next wrote, not another one offered before', async () => {
    const other = new Uint8Array([9, 9, 9, 9]);
    let first: Response | undefined;
    handler = async (request, res) => {
      first = handOffBytes(request, other, { status: 200, headers: engineHeaders(4) });
      await sendLikeNext(handOffBytes(request, new Uint8Array(bytes), { status: 200, headers: engineHeaders(4) }), res);
    };
    const { body } = await fetchRaw(`${directBase}/`);
    expect(new Uint8Array(body)).toEqual(bytes);
    expect(bodies).toEqual([false]);
    // The first Response was never sent: its body is still its own.
    expect(new Uint8Array(await first!.arrayBuffer())).toEqual(other);
  });

  it('makes a plain Response outside a request hosted by the server', async () => {
    const response = handOffBytes(new Request('http://x/'), new Uint8Array(bytes), { status: 200, headers: new Headers() });
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
  ])('gives every byte to app code that reads it with %s under the server, and is then not taken', async (_, readAll) => {
    const text = new Uint8Array([104, 105, 33, 10]);
    let read: Uint8Array | undefined;
    handler = async (request, res) => {
      const response = handOffBytes(request, text, { status: 200, headers: engineHeaders(4) });
      read = await readAll(response);
      expect(response.bodyUsed).toBe(true);
      // Next sending it now finds its body used: nothing is taken.
      res.setHeader(BODY_HEADER, [response.headers.get(BODY_HEADER)!]);
      bodies.push(response.body !== null);
      res.end();
    };
    const { body } = await fetchRaw(`${directBase}/`);
    expect(read).toEqual(text);
    expect(bodies).toEqual([true]);
    // The server wrote no body of its own.
    expect(body.length).toBe(0);
  });

  it('sends a file offered by another copy of the engine module (Next bundles its own into each route)', async () => {
    vi.resetModules();
    const bundled = (await import('../engine/handoff')) as typeof import('../engine/handoff');
    expect(bundled.handOffFile).not.toBe(handOffFile);
    handler = async (request, res) => {
      const target = bundled.handoffTarget()!;
      const file = await openFile(path.join(root, 'big.bin'));
      await sendLikeNext(bundled.handOffFile(request, target, file, { status: 200, headers: engineHeaders(SIZE) }), res);
    };
    const before = openFds();
    const { body, complete } = await fetchRaw(`${directBase}/`);
    expect(bodies).toEqual([false]);
    expect(complete).toBe(true);
    expect(body.equals(content)).toBe(true);
    await vi.waitFor(() => expect(openFds()).toBe(before), { timeout: 5_000 });
  });

  it('makes a read of the Response after the server took its file fail, not give an empty body', async () => {
    let late: unknown;
    handler = async (request, res) => {
      const file = await openFile(path.join(root, 'big.bin'));
      const response = handOffFile(request, handoffTarget()!, file, { status: 200, headers: engineHeaders(SIZE) });
      await sendLikeNext(response, res);
      // A clone read once the answer went out (a cache filled after the response).
      late = await response.clone().arrayBuffer().then((bytes) => bytes.byteLength, (error: Error) => error);
    };
    const { body, complete } = await fetchRaw(`${directBase}/`);
    expect(bodies).toEqual([false]);
    expect(complete).toBe(true);
    expect(body.equals(content)).toBe(true);
    await vi.waitFor(() => expect(late).toBeInstanceOf(Error));
    expect((late as Error).message).toMatch(/handed to the server/);
  });

  it.each([
    ['another length', (res: HandoffResponse) => void res, SIZE - 1],
    ['a Content-Encoding set by something in between', (res: HandoffResponse) => void res.setHeader('content-encoding', 'gzip'), SIZE],
  ])('leaves a file to the Response under %s, streamed from the open file', async (_, before, announced) => {
    handler = async (request, res) => {
      before(res);
      const file = await openFile(path.join(root, 'big.bin'), { end: announced - 1 });
      await sendLikeNext(handOffFile(request, handoffTarget()!, file, { status: 200, headers: engineHeaders(SIZE) }), res);
    };
    const { body } = await fetchRaw(`${directBase}/`);
    expect(bodies).toEqual([true]);
    expect(body.equals(content.subarray(0, announced))).toBe(true);
  });

  it('sends stored bytes under the coding they were stored with, and leaves them when the wire says another', async () => {
    const gz = new Uint8Array([31, 139, 8, 0]);
    for (const [onWire, taken] of [[undefined, true], ['br', false]] as const) {
      bodies = [];
      handler = async (request, res) => {
        // A compressor in between sets its coding once the app's headers are written.
        const compress = () => onWire && res.setHeader('content-encoding', onWire);
        await sendLikeNext(handOffBytes(request, gz, { status: 200, headers: engineHeaders(4, 'gzip') }), res, compress);
      };
      const { res } = await fetchRaw(`${directBase}/`);
      expect({ onWire, taken: bodies[0] === false }).toEqual({ onWire, taken });
      expect(res.headers['content-encoding']).toBe(onWire ?? 'gzip');
    }
  });
});
