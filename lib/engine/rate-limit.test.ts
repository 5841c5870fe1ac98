import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../errors';
import { httpDownload } from '../factories/http-download';
import { objectDownload } from '../factories/object-download';
import { pathDownload } from '../factories/path-download';
import { sendFile } from '../factories/send-file';
import { sourceDownload } from '../factories/source-download';
import { storageDownload } from '../factories/storage-download';
import { virtualDownload } from '../factories/virtual-download';
import { FileSystemStorage } from '../storage/file-system-storage';
import { MemoryStorage } from '../testing/memory-storage';
import { enableHandoff, handoffTargets, type HandoffTarget } from './handoff';
import type { RedirectingStorage, RedirectUrlOptions } from '../storage/storage';
import { resolveRateLimit, type RateLimitOption } from './rate-limit';

// `rateLimit` through the real factories, in-process. What the pacing looks like in time is the
// throttle's own test (with a fake clock); here: which bodies are limited, with which rate, and
// what each delivery mode does with it. A limited body comes in pieces of a twentieth of the
// rate, where an unlimited one comes as the source's chunks (or in one piece from memory).

const SIZE = 200_000;
const content = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = (i * 13) % 256;

let tmp: string;
let upstream: Server;
let upstreamBase: string;

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'rate-limit-')));
  await writeFile(path.join(tmp, 'big.bin'), content);
  await writeFile(path.join(tmp, 'small.txt'), 'a small text file\n'.repeat(100));
  upstream = createServer((_req, res) => {
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', SIZE);
    res.end(content);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamBase = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => upstream.close(resolve));
  await rm(tmp, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const ctx = (params: Record<string, string | string[]>) => ({ params: Promise.resolve(params) });
const at = (name: string, headers: HeadersInit = {}, method = 'GET') => new Request(`http://app/files/${name}`, { headers, method });

/** The body's pieces as a reader gets them, and the time it took. */
async function pieces(response: Response): Promise<{ sizes: number[]; body: Buffer; ms: number }> {
  const started = performance.now();
  const sizes: number[] = [];
  const chunks: Uint8Array[] = [];
  const reader = response.body!.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    sizes.push(read.value.byteLength);
    chunks.push(read.value);
  }
  return { sizes, body: Buffer.concat(chunks), ms: performance.now() - started };
}

/** 1 MB/s: pieces of 50 000 bytes; the 200 000-byte file lasts 200 ms. */
const FAST = 1_000_000;
const PIECE = FAST / 20;

describe('resolveRateLimit', () => {
  it.each<[string, RateLimitOption, unknown]>([
    ['bytes per second', 1_000_000, { bytesPerSecond: 1_000_000 }],
    ['a fraction of a byte per second more', 1500.5, { bytesPerSecond: 1500.5 }],
    ['an object', { bytesPerSecond: 2000 }, { bytesPerSecond: 2000 }],
    ['an object with an allowance', { bytesPerSecond: 2000, after: 10_000 }, { bytesPerSecond: 2000, after: 10_000 }],
    ['an allowance of 0 (none)', { bytesPerSecond: 2000, after: 0 }, { bytesPerSecond: 2000 }],
  ])('takes %s', (_label, option, resolved) => {
    expect(resolveRateLimit(option, 'f')).toEqual(resolved);
  });

  it.each<[string, unknown, RegExp]>([
    ['0', 0, /bytesPerSecond must be a finite number > 0/],
    ['a negative rate', -5, /bytesPerSecond must be a finite number > 0/],
    ['NaN', Number.NaN, /bytesPerSecond must be a finite number > 0/],
    ['Infinity', Number.POSITIVE_INFINITY, /bytesPerSecond must be a finite number > 0/],
    ['a string', '1MB', /rateLimit must be a number, an object or a function/],
    ['null', null, /rateLimit must be a number, an object or a function/],
    ['a list', [1000], /rateLimit must be a number, an object or a function/],
    ['an object without a rate', { after: 10 }, /bytesPerSecond must be a finite number > 0/],
    ['a misspelt field', { bytesPerSecond: 10, limitRateAfter: 5 }, /unknown field "limitRateAfter"/],
    ['a negative allowance', { bytesPerSecond: 10, after: -1 }, /after must be a whole number of bytes >= 0/],
    ['a fractional allowance', { bytesPerSecond: 10, after: 1.5 }, /after must be a whole number of bytes >= 0/],
  ])('refuses %s when the route loads', (_label, option, message) => {
    expect(() => resolveRateLimit(option as RateLimitOption, 'pathDownload')).toThrow(ConfigurationError);
    expect(() => resolveRateLimit(option as RateLimitOption, 'pathDownload')).toThrow(message);
  });

  it('is checked by every factory when its module loads', () => {
    const storage = new MemoryStorage({ 'a.txt': 'a' });
    const rateLimit = -1;
    const factories: Array<[string, () => unknown]> = [
      ['pathDownload', () => pathDownload({ root: tmp, rateLimit })],
      ['storageDownload', () => storageDownload({ storage, rateLimit })],
      ['objectDownload', () => objectDownload({ storage, getObject: () => ({ file: 'a.txt' }), fields: { file: 'file' }, rateLimit })],
      ['httpDownload', () => httpDownload({ base: upstreamBase, rateLimit })],
      ['virtualDownload', () => virtualDownload({ file: { content: 'x' }, rateLimit })],
      ['sourceDownload', () => sourceDownload({ source: () => undefined, rateLimit })],
      ['sendFile', () => sendFile(at('x'), 'a.txt', { root: tmp, rateLimit })],
    ];
    for (const [name, make] of factories) expect(make, name).toThrow(`${name}: rateLimit: bytesPerSecond must be a finite number > 0`);
  });
});

describe('a route with rateLimit', () => {
  it('sends a file in pieces of a twentieth of the rate, every byte, no sooner than the rate allows', async () => {
    const response = await pathDownload({ root: tmp, rateLimit: FAST }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(SIZE));
    const { sizes, body, ms } = await pieces(response);
    expect(body.equals(content)).toBe(true);
    expect(Math.max(...sizes)).toBe(PIECE);
    // 200 000 bytes at 1 MB/s: 200 ms at least (timers may fire up to a millisecond early).
    expect(ms).toBeGreaterThanOrEqual(198);
  });

  it('leaves the body of a route without one as it was: the file in its chunks', async () => {
    const response = await pathDownload({ root: tmp }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    const { sizes } = await pieces(response);
    expect(sizes).toEqual([SIZE]);
  });

  it('hands the kit\'s server no open file to send on its own: the body is a plain stream', async () => {
    enableHandoff();
    const offered: string[] = [];
    const server: HandoffTarget = {
      free: true,
      nameOffer: () => String(offered.push('offer')),
      accepts: () => false,
      take: () => undefined,
    };
    const limited = await handoffTargets().run(server, () => pathDownload({ root: tmp, rateLimit: FAST }).GET(at('big.bin'), ctx({ path: ['big.bin'] })));
    expect(offered).toEqual([]);
    await limited.body!.cancel();
    // The same route without a limit offers the server its file.
    const unlimited = await handoffTargets().run(server, () => pathDownload({ root: tmp, chunkSize: 65_536 }).GET(at('big.bin'), ctx({ path: ['big.bin'] })));
    expect(offered).toEqual(['offer']);
    await unlimited.body!.cancel();
  });

  it('limits a small file that would be sent from memory', async () => {
    const response = await pathDownload({ root: tmp, rateLimit: 20_000 }).GET(at('small.txt'), ctx({ path: ['small.txt'] }));
    const { sizes, body } = await pieces(response);
    expect(body.toString()).toBe('a small text file\n'.repeat(100));
    expect(Math.max(...sizes)).toBe(1000);
  });

  it('limits a range (206)', async () => {
    const response = await pathDownload({ root: tmp, rateLimit: FAST }).GET(at('big.bin', { range: 'bytes=1000-100999' }), ctx({ path: ['big.bin'] }));
    expect(response.status).toBe(206);
    const { sizes, body } = await pieces(response);
    expect(body.equals(content.subarray(1000, 101_000))).toBe(true);
    expect(Math.max(...sizes)).toBe(PIECE);
  });

  it('limits a multipart answer, part heads and all', async () => {
    const response = await pathDownload({ root: tmp, rateLimit: FAST }).GET(at('big.bin', { range: 'bytes=0-49999, 100000-199999' }), ctx({ path: ['big.bin'] }));
    expect(response.status).toBe(206);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/byteranges/);
    const { sizes, body } = await pieces(response);
    expect(body.byteLength).toBe(Number(response.headers.get('content-length')));
    expect(body.includes(content.subarray(100_000, 200_000))).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(PIECE);
  });

  it('limits generated content', async () => {
    const rows = function* () {
      for (let i = 0; i < 1000; i++) yield `${'row'.padEnd(99, '.')}\n`;
    };
    const response = await virtualDownload({ file: { name: 'export.csv', content: rows }, rateLimit: FAST }).GET(at('export.csv'), ctx({}));
    const { body, ms } = await pieces(response);
    expect(body.byteLength).toBe(100_000);
    // Rows of 100 bytes, each sent when it is due: 100 000 bytes at 1 MB/s take 100 ms at least.
    expect(ms).toBeGreaterThanOrEqual(98);
  });

  it('limits a file from a storage and a proxied upstream', async () => {
    const storage = new FileSystemStorage(tmp);
    const stored = await storageDownload({ storage, rateLimit: FAST }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    const proxied = await httpDownload({ base: upstreamBase, rateLimit: FAST }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    for (const response of [stored, proxied]) {
      const { sizes, body } = await pieces(response);
      expect(body.equals(content)).toBe(true);
      expect(Math.max(...sizes)).toBe(PIECE);
    }
  });

  it('sends the first `after` bytes as they come, then the rest in pieces', async () => {
    const response = await pathDownload({ root: tmp, chunkSize: 50_000, rateLimit: { bytesPerSecond: FAST, after: 120_000 } }).GET(
      at('big.bin'),
      ctx({ path: ['big.bin'] }),
    );
    const { sizes, body } = await pieces(response);
    expect(body.equals(content)).toBe(true);
    expect(sizes.slice(0, 3)).toEqual([50_000, 50_000, 20_000]);
    expect(sizes.slice(3).every((size) => size <= PIECE)).toBe(true);
  });

  it('sends a body that fits in the allowance as it would without a limit', async () => {
    const response = await pathDownload({ root: tmp, rateLimit: { bytesPerSecond: 10, after: SIZE } }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    const { sizes } = await pieces(response);
    expect(sizes).toEqual([SIZE]);
  });

  it('releases the file when the client goes away while the body waits', async () => {
    let cancelled = false;
    const response = await sourceDownload({
      source: () => ({
        name: 'slow.bin',
        size: 1000,
        open: () =>
          new ReadableStream<Uint8Array>({
            pull: (controller) => controller.enqueue(new Uint8Array(1000)),
            cancel: () => {
              cancelled = true;
            },
          }),
      }),
      rateLimit: 1,
    }).GET(at('slow.bin'), ctx({}));
    const reader = response.body!.getReader();
    await reader.read();
    const waiting = reader.read();
    await reader.cancel();
    expect(cancelled).toBe(true);
    expect((await waiting).done).toBe(true);
  });
});

describe('rateLimit as a function', () => {
  it('is called once per download with the request and the file, and its answer is the rate', async () => {
    const choose = vi.fn((request: Request, source: { name?: string; size?: number }) => {
      expect(source).toMatchObject({ name: 'big.bin', size: SIZE });
      return request.headers.get('x-plan') === 'free' ? FAST : undefined;
    });
    const route = pathDownload({ root: tmp, rateLimit: choose });
    const free = await pieces(await route.GET(at('big.bin', { 'x-plan': 'free' }), ctx({ path: ['big.bin'] })));
    const paid = await pieces(await route.GET(at('big.bin', { 'x-plan': 'paid' }), ctx({ path: ['big.bin'] })));
    expect(Math.max(...free.sizes)).toBe(PIECE);
    expect(paid.sizes).toEqual([SIZE]);
    expect(choose).toHaveBeenCalledTimes(2);
  });

  it('may answer asynchronously, with an allowance', async () => {
    const route = pathDownload({ root: tmp, chunkSize: 100_000, rateLimit: async () => ({ bytesPerSecond: FAST, after: 100_000 }) });
    const { sizes } = await pieces(await route.GET(at('big.bin'), ctx({ path: ['big.bin'] })));
    expect(sizes[0]).toBe(100_000);
    expect(Math.max(...sizes.slice(1))).toBe(PIECE);
  });

  it('is not called for an answer without a body: HEAD, 304, 416', async () => {
    const choose = vi.fn(() => FAST);
    const route = pathDownload({ root: tmp, rateLimit: choose });
    const head = await route.HEAD(at('big.bin', {}, 'HEAD'), ctx({ path: ['big.bin'] }));
    const etag = head.headers.get('etag')!;
    expect((await route.GET(at('big.bin', { 'if-none-match': etag }), ctx({ path: ['big.bin'] }))).status).toBe(304);
    expect((await route.GET(at('big.bin', { range: 'bytes=999999-' }), ctx({ path: ['big.bin'] }))).status).toBe(416);
    expect(choose).not.toHaveBeenCalled();
  });

  it('answers 500 Server misconfigured for a wrong answer, and logs it once', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const route = pathDownload({ root: tmp, rateLimit: () => -3 });
    for (let i = 0; i < 2; i++) {
      const response = await route.GET(at('big.bin'), ctx({ path: ['big.bin'] }));
      expect(response.status).toBe(500);
      expect((await response.text()).trim()).toBe('Server misconfigured: pathDownload: the limit rateLimit returned: bytesPerSecond must be a finite number > 0 (give bytes per second > 0, { bytesPerSecond, after }, or `undefined` for no limit)');
    }
    expect(log).toHaveBeenCalledTimes(1);
  });
});

describe('rateLimit and delegated delivery', () => {
  const nginx = (limitRate?: number) => ({
    backend: 'nginx' as const,
    source: tmp,
    destination: '/_protected/',
    options: limitRate === undefined ? {} : { limitRate },
  });

  it('passes the rate to nginx as X-Accel-Limit-Rate, whole bytes per second', async () => {
    const response = await pathDownload({ root: tmp, offload: [nginx()], rateLimit: 1500.4 }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    expect(response.headers.get('x-accel-redirect')).toBe('/_protected/big.bin');
    expect(response.headers.get('x-accel-limit-rate')).toBe('1500');
  });

  it('keeps the lower of the route\'s rate and the rule\'s limitRate; a rule\'s 0 (no limit) gives way', async () => {
    const lower = await pathDownload({ root: tmp, offload: [nginx(800)], rateLimit: 1500 }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    const higher = await pathDownload({ root: tmp, offload: [nginx(8000)], rateLimit: 1500 }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    const none = await pathDownload({ root: tmp, offload: [nginx(0)], rateLimit: 1500 }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    expect([lower, higher, none].map((response) => response.headers.get('x-accel-limit-rate'))).toEqual(['800', '1500', '1500']);
  });

  it('sends no X-Accel-Limit-Rate when the function says no limit', async () => {
    const response = await pathDownload({ root: tmp, offload: [nginx()], rateLimit: () => undefined }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    expect(response.headers.get('x-accel-redirect')).toBe('/_protected/big.bin');
    expect(response.headers.has('x-accel-limit-rate')).toBe(false);
  });

  it('streams a limited file itself rather than hand it to Apache, which cannot limit it; asks the function once', async () => {
    const choose = vi.fn(() => FAST);
    const route = pathDownload({ root: tmp, offload: [{ backend: 'apache', source: tmp }], rateLimit: choose });
    const response = await route.GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    expect(response.headers.has('x-sendfile')).toBe(false);
    const { sizes, body } = await pieces(response);
    expect(body.equals(content)).toBe(true);
    expect(Math.max(...sizes)).toBe(PIECE);
    expect(choose).toHaveBeenCalledTimes(1);
    const unlimited = await pathDownload({ root: tmp, offload: [{ backend: 'apache', source: tmp }], rateLimit: () => undefined }).GET(at('big.bin'), ctx({ path: ['big.bin'] }));
    expect(unlimited.headers.get('x-sendfile')).toBe(path.join(tmp, 'big.bin'));
  });

  it('streams a limited file itself rather than redirect to the store, which cannot limit it', async () => {
    const minted: RedirectUrlOptions[] = [];
    const storage: RedirectingStorage = Object.assign(new MemoryStorage({ 'notes.txt': 'x'.repeat(100_000) }), {
      presignedUrl: (name: string, options: RedirectUrlOptions) => {
        minted.push(options);
        return `https://store.example/${name}`;
      },
    });
    const choose = vi.fn((request: Request) => (request.headers.get('x-plan') === 'free' ? FAST : undefined));
    const route = storageDownload({ storage, delivery: 'redirect', rateLimit: choose });
    const free = await route.GET(at('notes.txt', { 'x-plan': 'free' }), ctx({ path: ['notes.txt'] }));
    expect(free.status).toBe(200);
    expect(Math.max(...(await pieces(free)).sizes)).toBe(PIECE);
    const paid = await route.GET(at('notes.txt', { 'x-plan': 'paid' }), ctx({ path: ['notes.txt'] }));
    expect(paid.status).toBe(307);
    expect(minted).toHaveLength(1);
    expect(choose).toHaveBeenCalledTimes(2);
  });
});
