import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RouteParams } from '../engine/options';
import { ConfigurationError } from '../errors';
import { httpDownload, type HttpDownloadOptions } from './http-download';

// httpDownload against a REAL upstream: a Node http server on 127.0.0.1 that misbehaves on
// purpose, path by path. A second server, "elsewhere", stands for any host the proxy must never
// reach; both record every request they get.
//
//   /exports/data.bin          1000 bytes; ETag, Last-Modified, Range, If-Range, If-Match, If-None-Match
//   /exports/r%C3%A9sum%C3%A9%20x.pdf
//   /exports/missing, gone, broken, forbidden       404, 410, 500, 403
//   /exports/chunked.txt       no Content-Length
//   /exports/gzip.txt          Content-Encoding: gzip, whatever was asked
//   /exports/slow              headers after 5 s
//   /exports/stall             10 of 100 bytes, then nothing
//   /exports/cut               10 of 100 bytes, then the socket closes
//   /exports/paced             3 chunks, 50 ms apart
//   /exports/trickle           one chunk, the rest when the test says so
//   /exports/big.bin           256 MiB, at the reader's pace
//   /exports/no-head           405 to HEAD, 256 MiB to GET
//   /exports/to-*              redirects: within /exports, above it, elsewhere, in a loop
//   /exports/dir/              named by its Content-Disposition only
//   /private/secret            outside the base: must never be fetched

const DATA = Buffer.from(Array.from({ length: 1000 }, (_, index) => index % 251));
const ETAG = '"v1"';
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';
const TEXT = 'hello, gzip\n'.repeat(200);
const BIG = 256 * 1024 * 1024;

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

interface Upstream {
  origin: string;
  port: number;
  seen: Seen[];
  server: http.Server;
}

let upstream: Upstream;
let elsewhere: Upstream;
/** Per `METHOD /path`, once its response is over: sent to the end, or cut off when the client went away. */
let outcome: Map<string, 'finished' | 'closed early'>;
let releaseTrickle: () => void;

async function startServer(handler: http.RequestListener): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = http.createServer((request, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    const key = `${request.method} ${(request.url ?? '').split('?')[0]}`;
    response.on('close', () => outcome.set(key, response.writableFinished ? 'finished' : 'closed early'));
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, port, seen, server };
}

async function stopServer(server: http.Server) {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

function serveData(request: http.IncomingMessage, response: http.ServerResponse) {
  const validators = { etag: ETAG, 'last-modified': LAST_MODIFIED };
  const ifMatch = request.headers['if-match'];
  if (ifMatch !== undefined && ifMatch !== ETAG) return response.writeHead(412, validators).end();
  if (request.headers['if-none-match'] === ETAG) return response.writeHead(304, validators).end();
  const headers = { ...validators, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  const ifRange = request.headers['if-range'];
  if (range && (ifRange === undefined || ifRange === ETAG)) {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : DATA.length - 1, DATA.length - 1);
    if (start >= DATA.length) {
      return response.writeHead(416, { 'content-range': `bytes */${DATA.length}` }).end();
    }
    response.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${DATA.length}`, 'content-length': end - start + 1 });
    return response.end(DATA.subarray(start, end + 1));
  }
  response.writeHead(200, { ...headers, 'content-length': DATA.length });
  response.end(DATA);
}

/** Written as fast as the reader takes it: with nobody reading, it never finishes. */
function serveBig(response: http.ServerResponse) {
  response.writeHead(200, { 'content-length': BIG, 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(64 * 1024, 7);
  let sent = 0;
  const write = () => {
    while (sent < BIG && !response.destroyed) {
      sent += chunk.length;
      if (sent >= BIG) return response.end(chunk);
      if (!response.write(chunk)) return response.once('drain', write);
    }
  };
  write();
}

function upstreamHandler(request: http.IncomingMessage, response: http.ServerResponse) {
  const path = (request.url ?? '').split('?')[0];
  const elsewhereUrl = `${elsewhere.origin}/exports/data.bin`;
  switch (path) {
    case '/exports/data.bin':
      return serveData(request, response);
    case '/exports/r%C3%A9sum%C3%A9%20x.pdf':
      return response.writeHead(200, { 'content-type': 'application/pdf', 'content-length': 5 }).end('%PDF-');
    case '/exports/missing':
      return response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
    case '/exports/gone':
      return response.writeHead(410).end('gone');
    case '/exports/broken':
      return response.writeHead(500, { 'content-type': 'text/plain' }).end('stack trace: secret');
    case '/exports/forbidden':
      return response.writeHead(403).end('no');
    case '/exports/chunked.txt': {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      response.write('one,');
      response.write('two,');
      return response.end('three');
    }
    case '/exports/gzip.txt': {
      const body = gzipSync(TEXT);
      response.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-encoding': 'gzip',
        'content-length': body.length,
        etag: '"gz1"',
        'accept-ranges': 'bytes',
      });
      return response.end(body);
    }
    case '/exports/slow': {
      const timer = setTimeout(() => response.writeHead(200).end('late'), 5_000);
      return response.on('close', () => clearTimeout(timer));
    }
    case '/exports/stall':
      response.writeHead(200, { 'content-length': 100 });
      return response.write(Buffer.alloc(10, 1));
    case '/exports/cut':
      response.writeHead(200, { 'content-length': 100 });
      return response.write(Buffer.alloc(10, 1), () => request.socket.destroy());
    case '/exports/paced': {
      response.writeHead(200, { 'content-length': 30 });
      response.write('a'.repeat(10));
      const timers = [
        setTimeout(() => response.write('b'.repeat(10)), 50),
        setTimeout(() => response.end('c'.repeat(10)), 100),
      ];
      return response.on('close', () => timers.forEach(clearTimeout));
    }
    case '/exports/trickle':
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('first;');
      releaseTrickle = () => response.end('second');
      return;
    case '/exports/big.bin':
      return serveBig(response);
    case '/exports/no-head':
      if (request.method === 'HEAD') return response.writeHead(405, { allow: 'GET' }).end();
      return serveBig(response);
    case '/exports/to-data':
      return response.writeHead(302, { location: 'data.bin' }).end();
    case '/exports/to-private':
      return response.writeHead(302, { location: '/private/secret' }).end();
    case '/exports/to-elsewhere':
      return response.writeHead(302, { location: elsewhereUrl }).end();
    case '/exports/loop':
      return response.writeHead(307, { location: '/exports/loop' }).end();
    case '/exports/to-encoded-slash':
      return response.writeHead(302, { location: '/exports/..%2fprivate%2fsecret' }).end();
    case '/exports/to-encoded-dots':
      return response.writeHead(302, { location: '/exports/%2e%2e/private/secret' }).end();
    case '/exports/to-double-encoded-dots':
      return response.writeHead(302, { location: '/exports/%252e%252e/private/secret' }).end();
    case '/exports/to-backslash':
      return response.writeHead(302, { location: '/exports/..\\private\\secret' }).end();
    case '/exports/to-encoded-backslash':
      return response.writeHead(302, { location: '/exports/..%5cprivate%5csecret' }).end();
    case '/exports/to-empty-segment':
      return response.writeHead(302, { location: '/exports//private/secret' }).end();
    case '/exports/to-odd-name':
      return response.writeHead(302, { location: '/exports/100%25%20sure%2Bdone.bin' }).end();
    case '/exports/100%25%20sure%2Bdone.bin':
      return response.writeHead(200, { 'content-length': 3 }).end('odd');
    case '/exports/short-206':
      response.writeHead(206, { 'content-range': 'bytes 0-99/1000', 'content-length': 50 });
      return response.end(Buffer.alloc(50, 2));
    case '/exports/long-206':
      response.writeHead(206, { 'content-range': 'bytes 0-9/1000', 'content-length': 20 });
      return response.end(Buffer.alloc(20, 2));
    case '/exports/past-end-206':
      response.writeHead(206, { 'content-range': 'bytes 0-1999/1000', 'content-length': 2000 });
      return response.end(Buffer.alloc(2000, 2));
    case '/exports/chunked-short-206':
      response.writeHead(206, { 'content-range': 'bytes 0-99/1000' });
      response.write(Buffer.alloc(25, 2));
      return response.end(Buffer.alloc(25, 2));
    case '/exports/chunked-206':
      response.writeHead(206, { 'content-range': 'bytes 0-9/1000' });
      response.write(DATA.subarray(0, 5));
      return response.end(DATA.subarray(5, 10));
    case '/exports/short-200':
      response.writeHead(200, { 'content-length': 100 });
      return response.end(Buffer.alloc(50, 3), () => request.socket.destroy());
    case '/exports/dir/':
      return response
        .writeHead(200, { 'content-disposition': 'attachment; filename="listing.csv"', 'content-length': 3 })
        .end('a,b');
    case '/private/secret':
      return response.writeHead(200).end('SECRET');
    default:
      return response.writeHead(404).end();
  }
}

beforeAll(async () => {
  elsewhere = await startServer((_request, response) => response.writeHead(200).end('elsewhere'));
  upstream = await startServer(upstreamHandler);
});

afterAll(async () => {
  await stopServer(upstream.server);
  await stopServer(elsewhere.server);
});

beforeEach(() => {
  upstream.seen.length = 0;
  elsewhere.seen.length = 0;
  outcome = new Map();
  releaseTrickle = () => undefined;
});

afterEach(() => {
  releaseTrickle();
  vi.restoreAllMocks();
});

function base() {
  return `${upstream.origin}/exports/`;
}

function call(
  options: HttpDownloadOptions,
  params: RouteParams,
  init: { method?: string; headers?: HeadersInit; signal?: AbortSignal } = {},
) {
  const handlers = httpDownload(options);
  const handler = init.method === 'HEAD' ? handlers.HEAD : handlers.GET;
  return handler(new Request('http://app.local/api/remote/x', init), { params: Promise.resolve(params) });
}

function get(path: string[], headers: HeadersInit = {}, options: Partial<HttpDownloadOptions> = {}) {
  return call({ base: base(), ...options }, { path }, { headers });
}

function head(path: string[], headers: HeadersInit = {}, options: Partial<HttpDownloadOptions> = {}) {
  return call({ base: base(), ...options }, { path }, { method: 'HEAD', headers });
}

async function bytes(response: Response) {
  return Buffer.from(await response.arrayBuffer());
}

/** Mutes the log line a 5xx writes, and returns the spy. */
function quiet() {
  return vi.spyOn(console, 'error').mockImplementation(() => undefined);
}

async function until(condition: () => boolean, what: string, ms = 3_000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('httpDownload', () => {
  describe('proxying a file under the base', () => {
    it('answers 200 with the upstream bytes, its validators and type, and our own headers', async () => {
      const response = await get(['data.bin']);
      expect(response.status).toBe(200);
      expect((await bytes(response)).equals(DATA)).toBe(true);
      expect(Object.fromEntries(response.headers)).toEqual({
        'accept-ranges': 'bytes',
        'cache-control': 'private, no-cache, no-transform',
        'content-disposition': 'attachment; filename=data.bin',
        'content-length': '1000',
        'content-type': 'application/octet-stream',
        etag: ETAG,
        'last-modified': LAST_MODIFIED,
        'x-content-type-options': 'nosniff',
      });
    });

    it('asks the upstream once, for that path under the base, with Accept-Encoding: identity', async () => {
      await (await get(['data.bin'])).arrayBuffer();
      expect(upstream.seen).toHaveLength(1);
      expect(upstream.seen[0]).toMatchObject({ method: 'GET', url: '/exports/data.bin' });
      expect(upstream.seen[0]!.headers['accept-encoding']).toBe('identity');
    });

    it('encodes each segment into the URL and decodes the name once: résumé x.pdf, never r%C3%A9sum%C3%A9', async () => {
      const response = await get(['résumé x.pdf']);
      expect(response.status).toBe(200);
      expect(upstream.seen[0]!.url).toBe('/exports/r%C3%A9sum%C3%A9%20x.pdf');
      expect(response.headers.get('content-disposition')).toBe(
        `attachment; filename="resume x.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20x.pdf`,
      );
      expect(response.headers.get('content-type')).toBe('application/pdf');
    });

    it('keeps @, ?, # and % inside a segment as part of the path on the configured host', async () => {
      const response = await get(['sub', `user@127.0.0.1:${elsewhere.port}`, 'a?b#c%d']);
      expect(response.status).toBe(404);
      expect(upstream.seen.map((seen) => seen.url)).toEqual([
        `/exports/sub/user%40127.0.0.1%3A${elsewhere.port}/a%3Fb%23c%25d`,
      ]);
      expect(elsewhere.seen).toHaveLength(0);
    });

    it('prefers the filename option to the URL', async () => {
      const response = await get(['data.bin'], {}, { filename: 'export.bin' });
      expect(response.headers.get('content-disposition')).toBe('attachment; filename=export.bin');
    });

    it('names a file whose URL ends in a slash after the upstream Content-Disposition', async () => {
      const response = await call({ url: `${upstream.origin}/exports/dir/` }, {});
      expect(response.headers.get('content-disposition')).toBe('attachment; filename=listing.csv');
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    });

    it('fetches a fixed url whatever the route params say', async () => {
      const response = await call({ url: `${upstream.origin}/exports/data.bin` }, { path: ['..', 'private', 'secret'] });
      expect(response.status).toBe(200);
      expect(upstream.seen.map((seen) => seen.url)).toEqual(['/exports/data.bin']);
    });

    it('streams: the first bytes reach the client before the upstream has sent the rest', async () => {
      const response = await get(['trickle']);
      const reader = response.body!.getReader();
      const first = await Promise.race([reader.read(), sleep(3_000).then(() => 'buffered' as const)]);
      expect(first).not.toBe('buffered');
      expect(new TextDecoder().decode((first as ReadableStreamReadResult<Uint8Array>).value)).toBe('first;');
      releaseTrickle();
      let rest = '';
      for (let next = await reader.read(); !next.done; next = await reader.read()) rest += new TextDecoder().decode(next.value);
      expect(rest).toBe('second');
    });
  });

  describe('with Range and conditional headers', () => {
    it('relays a 206 with the upstream Content-Range and exactly those bytes', async () => {
      const response = await get(['data.bin'], { range: 'bytes=100-199' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe('bytes 100-199/1000');
      expect(response.headers.get('content-length')).toBe('100');
      expect((await bytes(response)).equals(DATA.subarray(100, 200))).toBe(true);
      expect(upstream.seen[0]!.headers.range).toBe('bytes=100-199');
    });

    it('relays a 304 without a body when If-None-Match matches upstream', async () => {
      const response = await get(['data.bin'], { 'if-none-match': ETAG });
      expect(response.status).toBe(304);
      expect(response.headers.get('etag')).toBe(ETAG);
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.body).toBeNull();
      expect(upstream.seen[0]!.headers['if-none-match']).toBe(ETAG);
    });

    it('relays a 412 when If-Match does not match upstream', async () => {
      const response = await get(['data.bin'], { 'if-match': '"v0"' });
      expect(response.status).toBe(412);
      expect(response.body).toBeNull();
      expect(upstream.seen[0]!.headers['if-match']).toBe('"v0"');
    });

    it('relays a 416 with the upstream Content-Range', async () => {
      const response = await get(['data.bin'], { range: 'bytes=5000-' });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */1000');
      expect(response.headers.get('content-disposition')).toBeNull();
    });

    it('forwards If-Range: a stale one gets the whole file', async () => {
      const response = await get(['data.bin'], { range: 'bytes=0-9', 'if-range': '"v0"' });
      expect(response.status).toBe(200);
      expect((await bytes(response)).length).toBe(1000);
      expect(upstream.seen[0]!.headers['if-range']).toBe('"v0"');
    });

    it('forwards If-Modified-Since and If-Unmodified-Since verbatim', async () => {
      await (
        await get(['data.bin'], { 'if-modified-since': LAST_MODIFIED, 'if-unmodified-since': 'Thu, 01 Jan 2099 00:00:00 GMT' })
      ).arrayBuffer();
      expect(upstream.seen[0]!.headers['if-modified-since']).toBe(LAST_MODIFIED);
      expect(upstream.seen[0]!.headers['if-unmodified-since']).toBe('Thu, 01 Jan 2099 00:00:00 GMT');
    });

    it('sends a multi-range request without its Range, and answers 200 with the whole file', async () => {
      const response = await get(['data.bin'], { range: 'bytes=0-1,5-6' });
      expect(response.status).toBe(200);
      expect((await bytes(response)).equals(DATA)).toBe(true);
      expect(upstream.seen[0]!.headers.range).toBeUndefined();
    });
  });

  describe('HEAD', () => {
    it('sends HEAD upstream and answers with the headers GET gets, without a body', async () => {
      const getResponse = await get(['data.bin']);
      await getResponse.arrayBuffer();
      const headResponse = await head(['data.bin']);
      expect(headResponse.status).toBe(200);
      expect(headResponse.body).toBeNull();
      expect(Object.fromEntries(headResponse.headers)).toEqual(Object.fromEntries(getResponse.headers));
      expect(upstream.seen.map((seen) => seen.method)).toEqual(['GET', 'HEAD']);
    });

    it('ignores Range, as GET alone has ranges', async () => {
      const response = await head(['data.bin'], { range: 'bytes=0-9' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('1000');
      expect(upstream.seen[0]!.headers.range).toBeUndefined();
    });

    it('asks with GET when the upstream refuses HEAD, and stops that body', async () => {
      const response = await head(['no-head']);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(BIG));
      expect(upstream.seen.map((seen) => seen.method)).toEqual(['HEAD', 'GET']);
      await until(() => outcome.has('GET /exports/no-head'), 'the upstream response is over');
      expect(outcome.get('GET /exports/no-head')).toBe('closed early');
    });
  });

  describe('when the upstream fails', () => {
    it.each([
      ['missing', 404],
      ['gone', 404],
      ['broken', 502],
      ['forbidden', 502],
    ])('answers an upstream %s with %i, and none of its body', async (name, status) => {
      quiet();
      const response = await get([name]);
      expect(response.status).toBe(status);
      const body = await response.text();
      expect(body).not.toMatch(/secret|<h1>|gone|no\n/);
    });

    it('answers 502 when the upstream refuses the connection', async () => {
      const log = quiet();
      const closed = await startServer(() => undefined);
      await stopServer(closed.server);
      const response = await call({ base: `${closed.origin}/exports/` }, { path: ['data.bin'] });
      expect(response.status).toBe(502);
      expect(await response.text()).toBe('Bad Gateway\n');
      expect(String(log.mock.calls[0]?.[0])).toContain('ECONNREFUSED');
    });

    it('answers 504 when the upstream sends no headers within timeoutMs', async () => {
      quiet();
      const started = Date.now();
      const response = await get(['slow'], {}, { timeoutMs: 300 });
      expect(response.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('stops waiting for the upstream when the client goes away', async () => {
      const client = new AbortController();
      const pending = call({ base: base() }, { path: ['slow'] }, { signal: client.signal });
      await until(() => upstream.seen.length === 1, 'the upstream is asked');
      client.abort();
      expect((await pending).status).toBe(499);
      await until(() => outcome.has('GET /exports/slow'), 'the upstream response is over');
      expect(outcome.get('GET /exports/slow')).toBe('closed early');
    });

    it('errors the body when the upstream stalls mid-body for timeoutMs', async () => {
      const response = await get(['stall'], {}, { timeoutMs: 300 });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('100');
      const read = response.arrayBuffer().then(
        () => 'complete',
        () => 'errored',
      );
      expect(await Promise.race([read, sleep(3_000).then(() => 'still waiting')])).toBe('errored');
    });

    it('does not count a slow client against the timeout', async () => {
      const response = await get(['paced'], {}, { timeoutMs: 300 });
      const reader = response.body!.getReader();
      let received = (await reader.read()).value?.length ?? 0;
      await sleep(800);
      const rest = async () => {
        for (let next = await reader.read(); !next.done; next = await reader.read()) received += next.value.length;
      };
      await Promise.race([rest(), sleep(3_000).then(() => Promise.reject(new Error('the body hangs')))]);
      expect(received).toBe(30);
    });

    it('errors the body when the upstream closes the connection early', async () => {
      const response = await get(['cut']);
      expect(response.status).toBe(200);
      await expect(response.arrayBuffer()).rejects.toThrow();
    });
  });

  describe('chunked and compressed upstreams', () => {
    it('streams a chunked upstream without a Content-Length', async () => {
      const response = await get(['chunked.txt']);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.headers.get('accept-ranges')).toBe('none');
      expect(await response.text()).toBe('one,two,three');
    });

    it('sends a gzip body that fetch decoded as it is: no Content-Encoding, no Content-Length, a weak ETag', async () => {
      const response = await get(['gzip.txt']);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(TEXT);
      expect(response.headers.get('content-encoding')).toBeNull();
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.headers.get('etag')).toBe('W/"gz1"');
      expect(response.headers.get('accept-ranges')).toBe('none');
      expect(upstream.seen[0]!.headers['accept-encoding']).toBe('identity');
    });

    it('answers HEAD on that gzip upstream with the same headers as GET', async () => {
      const getResponse = await get(['gzip.txt']);
      await getResponse.arrayBuffer();
      const headResponse = await head(['gzip.txt']);
      expect(Object.fromEntries(headResponse.headers)).toEqual(Object.fromEntries(getResponse.headers));
    });
  });

  describe('redirects', () => {
    it('follows a redirect within the base, naming the file after the final URL', async () => {
      const response = await get(['to-data']);
      expect(response.status).toBe(200);
      expect((await bytes(response)).equals(DATA)).toBe(true);
      expect(response.headers.get('content-disposition')).toBe('attachment; filename=data.bin');
      expect(upstream.seen.map((seen) => seen.url)).toEqual(['/exports/to-data', '/exports/data.bin']);
    });

    it('answers 502 to a redirect to another origin, which receives no request', async () => {
      quiet();
      const response = await get(['to-elsewhere']);
      expect(response.status).toBe(502);
      expect(elsewhere.seen).toHaveLength(0);
    });

    it('follows a redirect to another origin listed in allowedOrigins', async () => {
      const response = await get(['to-elsewhere'], {}, { allowedOrigins: [elsewhere.origin] });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('elsewhere');
      expect(elsewhere.seen).toHaveLength(1);
    });

    it('answers 502 to a redirect above the base path, never fetching it', async () => {
      quiet();
      const response = await get(['to-private']);
      expect(response.status).toBe(502);
      expect(upstream.seen.map((seen) => seen.url)).toEqual(['/exports/to-private']);
    });

    it('answers 502 after maxRedirects hops', async () => {
      quiet();
      const response = await get(['loop'], {}, { maxRedirects: 3 });
      expect(response.status).toBe(502);
      expect(upstream.seen).toHaveLength(4);
    });

    // A redirect target is confined like a request path: every decoding of each segment under
    // the base is checked, since the upstream may decode once more than the URL parser does.
    it.each([
      ['an encoded slash: /exports/..%2fprivate%2fsecret', 'to-encoded-slash'],
      ['encoded dots: /exports/%2e%2e/private/secret', 'to-encoded-dots'],
      ['double-encoded dots: /exports/%252e%252e/private/secret', 'to-double-encoded-dots'],
      ['backslashes: /exports/..\\private\\secret', 'to-backslash'],
      ['encoded backslashes: /exports/..%5cprivate%5csecret', 'to-encoded-backslash'],
      ['an empty segment: /exports//private/secret', 'to-empty-segment'],
    ])('answers 502 to a redirect with %s, never fetching it', async (_label, from) => {
      quiet();
      const response = await get([from]);
      expect(response.status).toBe(502);
      expect(upstream.seen.map((seen) => seen.url)).toEqual([`/exports/${from}`]);
    });

    it('follows a redirect to a name with %, space and + encoded in it', async () => {
      const response = await get(['to-odd-name']);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('odd');
      expect(response.headers.get('content-disposition')).toContain("filename*=UTF-8''100%25%20sure%2Bdone.bin");
    });
  });

  describe('an upstream body that disagrees with its own framing', () => {
    it('answers 502 to a 206 whose Content-Length is shorter than its Content-Range', async () => {
      quiet();
      const response = await get(['short-206'], { range: 'bytes=0-99' });
      expect(response.status).toBe(502);
    });

    it('answers 502 to a 206 whose Content-Length is longer than its Content-Range', async () => {
      quiet();
      const response = await get(['long-206'], { range: 'bytes=0-9' });
      expect(response.status).toBe(502);
    });

    it('answers 502 to a 206 whose Content-Range ends past its complete length', async () => {
      quiet();
      const response = await get(['past-end-206'], { range: 'bytes=0-1999' });
      expect(response.status).toBe(502);
    });

    it('breaks the body of a chunked 206 that ends before its Content-Range does', async () => {
      const response = await get(['chunked-short-206'], { range: 'bytes=0-99' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-length')).toBe('100');
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('relays a chunked 206 that carries exactly its Content-Range, with that length', async () => {
      const response = await get(['chunked-206'], { range: 'bytes=0-9' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe('bytes 0-9/1000');
      expect(response.headers.get('content-length')).toBe('10');
      expect((await bytes(response)).equals(DATA.subarray(0, 10))).toBe(true);
    });

    it('breaks the body of a 200 that ends before its Content-Length', async () => {
      const response = await get(['short-200']);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('100');
      await expect(response.arrayBuffer()).rejects.toThrow();
    });
  });

  describe('a path taken from the request (SSRF)', () => {
    const hostilePaths: [string, () => RouteParams['path']][] = [
      ['a dot-dot segment', () => ['..', 'private', 'secret']],
      ['a dot-dot deeper down', () => ['a', '..', '..', 'private', 'secret']],
      ['a dot segment', () => ['.', 'data.bin']],
      ['a double-encoded dot-dot', () => ['%2e%2e', 'private', 'secret']],
      ['a triple-encoded dot-dot', () => ['%252e%252E', 'private', 'secret']],
      ['an encoded slash inside a segment', () => ['..%2fprivate%2fsecret']],
      ['a slash inside a segment (%2F decoded by the framework)', () => ['../private/secret']],
      ['a backslash', () => ['..\\private\\secret']],
      ['an encoded backslash', () => ['%5c%5c127.0.0.1', 'x']],
      ['an empty segment (//host)', () => ['', `127.0.0.1:${elsewhere.port}`, 'exports', 'data.bin']],
      ['a scheme and host', () => ['http:', '', `127.0.0.1:${elsewhere.port}`, 'data.bin']],
      ['a whole URL as one segment', () => [`http://127.0.0.1:${elsewhere.port}/data.bin`]],
      ['an encoded //host', () => [`%2f%2f127.0.0.1:${elsewhere.port}`, 'data.bin']],
      ['a NUL byte', () => ['data.bin\u0000.txt']],
      ['an encoded newline', () => ['data.bin%0d%0aHost: evil']],
      ['a string param with a slash', () => '../private/secret'],
    ];

    it.each(hostilePaths)('answers 400 to %s, before any request upstream', async (_, path) => {
      const response = await call({ base: base() }, { path: path() });
      expect(response.status).toBe(400);
      expect(upstream.seen).toHaveLength(0);
      expect(elsewhere.seen).toHaveLength(0);
    });

    const hostileUrls: [string, () => string | URL | string[]][] = [
      ['another origin', () => `${elsewhere.origin}/exports/data.bin`],
      ['another origin as a URL', () => new URL(`${elsewhere.origin}/exports/data.bin`)],
      ['the same host under another name', () => `http://localhost:${upstream.port}/exports/data.bin`],
      ['a protocol-relative URL', () => `//127.0.0.1:${elsewhere.port}/data.bin`],
      ['a backslashed host', () => `\\\\127.0.0.1:${elsewhere.port}\\data.bin`],
      ['userinfo that hides the host', () => `http://127.0.0.1:${upstream.port}@127.0.0.1:${elsewhere.port}/x`],
      ['credentials', () => `http://user:pw@127.0.0.1:${upstream.port}/exports/data.bin`],
      ['a path above the base', () => `${upstream.origin}/private/secret`],
      ['a dot-dot the URL parser resolves', () => `${upstream.origin}/exports/../private/secret`],
      ['an encoded dot-dot the URL parser resolves', () => `${upstream.origin}/exports/%2e%2e/private/secret`],
      ['an encoded slash the URL parser keeps', () => `${upstream.origin}/exports/..%2fprivate%2fsecret`],
      ['a double-encoded dot-dot', () => `${upstream.origin}/exports/%252e%252e/private/secret`],
      ['an encoded backslash', () => `${upstream.origin}/exports/..%5Cprivate%5Csecret`],
      ['an encoded NUL', () => `${upstream.origin}/exports/data.bin%00.txt`],
      ['an empty segment under the base', () => `${upstream.origin}/exports//private/secret`],
      ['an encoded slash in a URL object', () => new URL(`${upstream.origin}/exports/..%2Fprivate%2Fsecret`)],
      ['a relative path that climbs', () => '../private/secret'],
      ['relative segments that climb', () => ['..', 'private', 'secret']],
      ['a file: URL', () => 'file:///etc/passwd'],
      ['a javascript: URL', () => 'javascript:alert(1)'],
    ];

    it.each(hostileUrls)('answers 400 when getUrl returns %s, before any request', async (_, url) => {
      const response = await call({ base: base(), getUrl: () => url() }, {});
      expect(response.status).toBe(400);
      expect(upstream.seen).toHaveLength(0);
      expect(elsewhere.seen).toHaveLength(0);
    });

    it('fetches names that only look like dot segments', async () => {
      const response = await get(['..data', 'a..b', '.well-known', '...']);
      expect(response.status).toBe(404);
      expect(upstream.seen.map((seen) => seen.url)).toEqual(['/exports/..data/a..b/.well-known/...']);
    });

    it('answers 404 without a path, and 500 (a route set up wrong) without the param, asking nothing upstream', async () => {
      expect((await call({ base: base() }, { path: [] })).status).toBe(404);
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      expect((await call({ base: base() }, {})).status).toBe(500);
      log.mockRestore();
      expect(upstream.seen).toHaveLength(0);
    });
  });

  describe('with getUrl', () => {
    it('fetches an absolute URL on an allowed origin', async () => {
      const response = await call(
        { allowedOrigins: [upstream.origin], getUrl: (_request, params) => `${upstream.origin}/exports/${String(params.id)}` },
        { id: 'data.bin' },
      );
      expect(response.status).toBe(200);
      expect(upstream.seen.map((seen) => seen.url)).toEqual(['/exports/data.bin']);
    });

    it('puts a relative path under the base', async () => {
      const response = await call({ base: base(), getUrl: async () => 'sub dir/data.bin' }, {});
      expect(response.status).toBe(404);
      expect(upstream.seen.map((seen) => seen.url)).toEqual(['/exports/sub%20dir/data.bin']);
    });

    it('answers 404 when getUrl finds nothing', async () => {
      const response = await call({ base: base(), getUrl: () => undefined }, {});
      expect(response.status).toBe(404);
      expect(upstream.seen).toHaveLength(0);
    });
  });

  describe('the upstream body', () => {
    it('is closed when the response fails before the engine opens it', async () => {
      quiet();
      const response = await get(['big.bin'], {}, {
        filename: () => {
          throw new Error('filename callback failed');
        },
      });
      expect(response.status).toBe(500);
      await until(() => outcome.has('GET /exports/big.bin'), 'the upstream response is over');
      expect(outcome.get('GET /exports/big.bin')).toBe('closed early');
    });

    it('is closed when the client stops reading', async () => {
      const response = await get(['big.bin']);
      const reader = response.body!.getReader();
      await reader.read();
      await reader.cancel();
      await until(() => outcome.has('GET /exports/big.bin'), 'the upstream response is over');
      expect(outcome.get('GET /exports/big.bin')).toBe('closed early');
    });
  });

  describe('configuration', () => {
    it.each([
      ['nothing to fetch', {}],
      ['url and base', { url: 'https://a.example/x', base: 'https://a.example/' }],
      ['url and getUrl', { url: 'https://a.example/x', getUrl: () => undefined }],
      ['a url that is not http(s)', { url: 'ftp://a.example/x' }],
      ['a url with credentials', { url: 'https://u:p@a.example/x' }],
      ['a relative base', { base: '/exports/' }],
      ['a base with a query', { base: 'https://a.example/x?y=1' }],
      ['getUrl without a base or allowedOrigins', { getUrl: () => undefined }],
      ['getUrl that is not a function', { base: 'https://a.example/', getUrl: 'x' }],
      ['an allowed origin with a path', { base: 'https://a.example/', allowedOrigins: ['https://b.example/x'] }],
      ['a zero timeout', { base: 'https://a.example/', timeoutMs: 0 }],
      ['a negative maxRedirects', { base: 'https://a.example/', maxRedirects: -1 }],
      ['maxRanges 0', { base: 'https://a.example/', maxRanges: 0 }],
    ] as [string, HttpDownloadOptions][])('refuses %s when the route module loads', (_, options) => {
      expect(() => httpDownload(options)).toThrow(ConfigurationError);
    });
  });
});
