import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHandlers } from '../factories/handlers';
import { HttpError, FileChangedError } from '../errors';
import type { ByteRange } from '../http/range';
import { resolveOptions, type DownloadOptions, type RouteParams } from './options';
import type { LoadSource } from './serve';
import type { Source, SourceMeta } from './source';

// In-process handler tests of the engine (serve + decide), with fake sources whose `open`
// records every call: metadata decides the headers, and bytes are opened last, if at all.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz'; // 26 bytes
const MTIME = new Date(Date.UTC(2024, 0, 15, 12, 0, 0, 700));
const AT = 'Mon, 15 Jan 2024 12:00:00 GMT'; // MTIME as sent in Last-Modified
const BEFORE = 'Mon, 15 Jan 2024 11:59:59 GMT';
const AFTER = 'Mon, 15 Jan 2024 12:00:01 GMT';

type Meta = Partial<Omit<Source, 'open'>>;

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

/** A source over `content`, `letters.txt`, etag `"v1"`, modified at MTIME, unless `meta` says otherwise. */
function fakeSource(content: string | Uint8Array = ALPHABET, meta: Meta = {}) {
  const bytes = typeof content === 'string' ? encoder.encode(content) : content;
  const opened: (ByteRange | undefined)[] = [];
  const source: Source = {
    name: 'letters.txt',
    size: bytes.length,
    lastModified: MTIME,
    etag: 'v1',
    ...meta,
    open(range) {
      opened.push(range);
      return streamOf(range ? bytes.slice(range.start, range.end + 1) : bytes.slice());
    },
  };
  return { source, opened };
}

const CONTEXT = { params: Promise.resolve({ path: ['letters.txt'] }) };
const URL_ = 'http://x/api/download/letters.txt';

function route(source: Source | LoadSource, options: DownloadOptions = {}) {
  const load = vi.fn<LoadSource>(typeof source === 'function' ? source : () => source);
  return { ...createHandlers(load, resolveOptions(options, 'test')), load };
}

type Route = ReturnType<typeof route>;

function get(r: Route, headers: HeadersInit = {}, url = URL_) {
  return r.GET(new Request(url, { headers }), CONTEXT);
}

function head(r: Route, headers: HeadersInit = {}, url = URL_) {
  return r.HEAD(new Request(url, { method: 'HEAD', headers }), CONTEXT);
}

async function text(response: Response): Promise<string> {
  return decoder.decode(await response.arrayBuffer());
}

function headerList(response: Response): [string, string][] {
  return [...response.headers].filter(([name]) => name !== 'date');
}

/** Reads `attachment; filename=x; filename*=UTF-8''y` into its parts. */
function disposition(value: string | null) {
  if (value === null) throw new Error('no Content-Disposition');
  const [type, ...params] = value.split(/;\s*/);
  const found: Record<string, string> = {};
  for (const param of params) {
    const equals = param.indexOf('=');
    const key = param.slice(0, equals).toLowerCase();
    let val = param.slice(equals + 1);
    if (val.startsWith('"') && val.endsWith('"')) val = val.slice(1, -1).replace(/\\(.)/g, '$1');
    found[key] = val;
  }
  return { type, filename: found.filename, filenameStar: found['filename*'] };
}

/** Splits a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1) into its parts. */
function multipartParts(response: Response, body: Uint8Array) {
  const contentType = response.headers.get('content-type') ?? '';
  const boundary = /^multipart\/byteranges;\s*boundary=("?)([^";]+)\1$/i.exec(contentType)?.[2];
  if (!boundary) throw new Error(`not multipart/byteranges: ${contentType}`);
  // latin1 keeps one character per byte, so slicing by string index slices bytes.
  const raw = Buffer.from(body).toString('latin1');
  const pieces = raw.split(`--${boundary}`);
  const preamble = pieces.shift();
  const epilogue = pieces.pop();
  expect(preamble === '' || preamble === '\r\n').toBe(true);
  expect(epilogue?.startsWith('--')).toBe(true);
  return pieces.map((piece) => {
    expect(piece.startsWith('\r\n')).toBe(true);
    // The CRLF before the next delimiter belongs to the delimiter.
    expect(piece.endsWith('\r\n')).toBe(true);
    const inner = piece.slice(2, -2);
    const split = inner.indexOf('\r\n\r\n');
    const headers = new Headers();
    for (const line of inner.slice(0, split).split('\r\n')) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return { headers, body: inner.slice(split + 4) };
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('serve', () => {
  describe('Content-Type', () => {
    const rows: [string, DownloadOptions, Meta, string][] = [
      ['takes the explicit option over the source and the name', { contentType: 'application/pdf' }, { contentType: 'text/csv', name: 'a.txt' }, 'application/pdf'],
      ['takes the source type over the name', {}, { contentType: 'image/png', name: 'a.txt' }, 'image/png'],
      ['guesses from the name when the source has no type', {}, { name: 'report.pdf' }, 'application/pdf'],
      ['guesses from the filename option rather than the source name', { filename: 'report.pdf' }, { name: 'a.txt' }, 'application/pdf'],
      ['falls back to application/octet-stream for an unknown extension', {}, { name: 'blob.zzqqxx' }, 'application/octet-stream'],
      ['falls back to application/octet-stream without a name', {}, { name: undefined }, 'application/octet-stream'],
      ['adds charset=utf-8 to a guessed text type', {}, { name: 'a.txt' }, 'text/plain; charset=utf-8'],
      ['adds charset=utf-8 to text/csv', {}, { name: 'data.csv' }, 'text/csv; charset=utf-8'],
      ['adds the charset to an explicit text type', { contentType: 'text/html' }, { name: 'a.bin' }, 'text/html; charset=utf-8'],
      ['uses the source charset for a text type', {}, { name: 'a.txt', charset: 'iso-8859-1' }, 'text/plain; charset=iso-8859-1'],
      ['lets the charset option override the source charset', { charset: 'utf-16' }, { name: 'a.txt', charset: 'iso-8859-1' }, 'text/plain; charset=utf-16'],
      ['never puts a charset on image/png', { charset: 'utf-8' }, { contentType: 'image/png' }, 'image/png'],
      ['never puts a charset on application/pdf', {}, { name: 'report.pdf', charset: 'utf-8' }, 'application/pdf'],
      ['never puts a charset on application/octet-stream', {}, { name: 'blob.zzqqxx', charset: 'utf-8' }, 'application/octet-stream'],
      ['computes a per-request contentType from the request and the source', { contentType: (request, source) => (new URL(request.url).searchParams.has('pdf') ? 'application/pdf' : `text/x-${source.name}`) }, { name: 'ab' }, 'text/x-ab; charset=utf-8'],
    ];
    it.each(rows)('%s', async (_label, options, meta, expected) => {
      const response = await get(route(fakeSource(ALPHABET, meta).source, options));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(expected);
    });

    it('passes the request to a per-request contentType', async () => {
      const contentType = vi.fn((request: Request) => (new URL(request.url).searchParams.has('pdf') ? 'application/pdf' : 'text/plain'));
      const r = route(fakeSource().source, { contentType });
      const response = await get(r, {}, `${URL_}?pdf`);
      expect(response.headers.get('content-type')).toBe('application/pdf');
      expect(contentType).toHaveBeenCalledWith(expect.any(Request), expect.objectContaining({ name: 'letters.txt', size: 26 }));
    });
  });

  describe('Content-Disposition', () => {
    it('is attachment with the filename by default', async () => {
      const response = await get(route(fakeSource().source));
      expect(disposition(response.headers.get('content-disposition'))).toEqual({ type: 'attachment', filename: 'letters.txt', filenameStar: undefined });
    });

    it('is inline with the filename when attachment is false', async () => {
      const response = await get(route(fakeSource().source, { attachment: false }));
      expect(disposition(response.headers.get('content-disposition'))).toEqual({ type: 'inline', filename: 'letters.txt', filenameStar: undefined });
    });

    it('uses the filename option over the source name', async () => {
      const response = await get(route(fakeSource().source, { filename: 'report.csv' }));
      expect(disposition(response.headers.get('content-disposition')).filename).toBe('report.csv');
    });

    it('reduces a name to its basename', async () => {
      const response = await get(route(fakeSource(ALPHABET, { name: 'a/b/../c\\secret\\report.csv' }).source));
      expect(disposition(response.headers.get('content-disposition')).filename).toBe('report.csv');
    });

    it('is a bare attachment without any name', async () => {
      const response = await get(route(fakeSource(ALPHABET, { name: undefined }).source));
      expect(response.headers.get('content-disposition')).toBe('attachment');
    });

    it('gives an ASCII fallback and filename* for a non-ASCII name (RFC 6266 §4.3, RFC 8187)', async () => {
      const response = await get(route(fakeSource(ALPHABET, { name: 'résumé.pdf' }).source));
      const parsed = disposition(response.headers.get('content-disposition'));
      expect(parsed.type).toBe('attachment');
      expect(parsed.filenameStar).toBe("UTF-8''r%C3%A9sum%C3%A9.pdf");
      expect(parsed.filename).toMatch(/^[\x20-\x7e]+\.pdf$/);
      expect(parsed.filename).not.toContain('"');
    });

    it('never lets the fallback of a wholly non-ASCII stem collapse to just the extension', async () => {
      const response = await get(route(fakeSource(ALPHABET, { name: '中文.txt' }).source));
      const parsed = disposition(response.headers.get('content-disposition'));
      expect(parsed.filenameStar).toBe("UTF-8''%E4%B8%AD%E6%96%87.txt");
      expect(parsed.filename).toMatch(/^[A-Za-z0-9_-]+\.txt$/);
      expect(parsed.filename).toMatch(/[A-Za-z0-9]/);
    });

    it('keeps CR and LF in a name out of the header', async () => {
      const response = await get(route(fakeSource(ALPHABET, { name: 'evil\r\nSet-Cookie: a=b.txt' }).source));
      expect(response.status).toBe(200);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(response.headers.get('content-disposition')).not.toMatch(/[\r\n]/);
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename/);
    });

    it('computes attachment and filename per request from the request and the source', async () => {
      const attachment = vi.fn((request: Request) => !new URL(request.url).searchParams.has('view'));
      const filename = vi.fn((_request: Request, source: SourceMeta) => `copy-of-${source.name}`);
      const r = route(fakeSource().source, { attachment, filename });
      const viewed = await get(r, {}, `${URL_}?view`);
      const saved = await get(r);
      expect(disposition(viewed.headers.get('content-disposition'))).toMatchObject({ type: 'inline', filename: 'copy-of-letters.txt' });
      expect(disposition(saved.headers.get('content-disposition'))).toMatchObject({ type: 'attachment', filename: 'copy-of-letters.txt' });
      expect(attachment).toHaveBeenCalledWith(expect.any(Request), expect.objectContaining({ name: 'letters.txt' }));
    });
  });

  describe('Content-Length', () => {
    it('equals the number of bytes sent', async () => {
      const response = await get(route(fakeSource('héllo', { name: 'h.txt' }).source));
      expect(response.headers.get('content-length')).toBe('6');
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(encoder.encode('héllo'));
    });

    it('is absent when the size is unknown, with Accept-Ranges: none', async () => {
      const response = await get(route(fakeSource(ALPHABET, { size: undefined }).source));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.headers.get('accept-ranges')).toBe('none');
      expect(await text(response)).toBe(ALPHABET);
    });

    it('is the real size even when the extra headers try to set it', async () => {
      const response = await get(route(fakeSource().source, { headers: { 'content-length': '999', 'content-range': 'bytes 0-0/1' } }));
      expect(response.headers.get('content-length')).toBe('26');
      expect(response.headers.get('content-range')).toBeNull();
      expect(await text(response)).toBe(ALPHABET);
    });
  });

  describe('validators', () => {
    const etags: [string, Meta['etag'], string | null][] = [
      ['sends a bare source etag as a strong entity-tag', 'v1', '"v1"'],
      ['keeps an already quoted source etag as it is', '"abc-123"', '"abc-123"'],
      ['sends { tag } as strong', { tag: 'v1' }, '"v1"'],
      ['sends { tag, weak: true } as weak', { tag: 'v1', weak: true }, 'W/"v1"'],
      ['sends no ETag when the source has none', undefined, null],
    ];
    it.each(etags)('%s', async (_label, etag, expected) => {
      const response = await get(route(fakeSource(ALPHABET, { etag }).source));
      expect(response.headers.get('etag')).toBe(expected);
    });

    it('turns a source etag that cannot be sent as is into a strong, header-safe tag', async () => {
      const response = await get(route(fakeSource(ALPHABET, { etag: 'has "quotes" and\r\nnewline' }).source));
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toMatch(/^"[\x21\x23-\x7e]+"$/);
    });

    it('sends Last-Modified as an IMF-fixdate of the modification time', async () => {
      const response = await get(route(fakeSource().source));
      expect(response.headers.get('last-modified')).toBe(AT);
    });

    it('sends no Last-Modified without a date, or with an invalid one', async () => {
      expect((await get(route(fakeSource(ALPHABET, { lastModified: undefined }).source))).headers.get('last-modified')).toBeNull();
      const invalid = await get(route(fakeSource(ALPHABET, { lastModified: new Date(Number.NaN) }).source));
      expect(invalid.status).toBe(200);
      expect(invalid.headers.get('last-modified')).toBeNull();
    });
  });

  describe('caching and other headers', () => {
    it('sends Cache-Control: private, no-cache, no-transform by default', async () => {
      expect((await get(route(fakeSource().source))).headers.get('cache-control')).toBe('private, no-cache, no-transform');
    });

    it('appends no-transform to a custom Cache-Control', async () => {
      const response = await get(route(fakeSource().source, { cacheControl: 'public, max-age=60' }));
      expect(response.headers.get('cache-control')).toBe('public, max-age=60, no-transform');
    });

    it('keeps a custom Cache-Control that already has no-transform', async () => {
      const response = await get(route(fakeSource().source, { cacheControl: 'no-transform, max-age=5' }));
      expect(response.headers.get('cache-control')).toBe('no-transform, max-age=5');
    });

    it('sends Accept-Ranges: bytes for a source of known size', async () => {
      expect((await get(route(fakeSource().source))).headers.get('accept-ranges')).toBe('bytes');
    });

    it('sends Accept-Ranges: none for a source that says it cannot serve ranges', async () => {
      expect((await get(route(fakeSource(ALPHABET, { ranges: false }).source))).headers.get('accept-ranges')).toBe('none');
    });

    it('sends X-Content-Type-Options: nosniff', async () => {
      expect((await get(route(fakeSource().source))).headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('sends the Content-Encoding the source declares, with the type of the content', async () => {
      const response = await get(route(fakeSource(ALPHABET, { name: 'data.csv.gz', encoding: 'gzip', contentType: 'text/csv' }).source));
      expect(response.headers.get('content-encoding')).toBe('gzip');
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    });

    it('never guesses a Content-Encoding from the name', async () => {
      const response = await get(route(fakeSource(ALPHABET, { name: 'data.csv.gz' }).source));
      expect(response.headers.get('content-encoding')).toBeNull();
    });

    it('adds the extra headers option to a 200', async () => {
      const response = await get(route(fakeSource().source, { headers: { 'x-robots-tag': 'noindex', 'content-security-policy': "default-src 'none'" } }));
      expect(response.headers.get('x-robots-tag')).toBe('noindex');
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'");
    });

    it('computes the extra headers per request', async () => {
      const r = route(fakeSource().source, { headers: (request, source) => ({ 'x-served': `${new URL(request.url).pathname}|${source.name}` }) });
      expect((await get(r)).headers.get('x-served')).toBe('/api/download/letters.txt|letters.txt');
    });

    const statuses: [string, HeadersInit, number][] = [
      ['a 206', { range: 'bytes=0-1' }, 206],
      ['a 304', { 'if-none-match': '"v1"' }, 304],
      ['a 412', { 'if-match': '"v2"' }, 412],
      ['a 416', { range: 'bytes=100-200' }, 416],
    ];
    // The option's own contract: "Extra headers on every response of the route (200, 206, 304, 416)".
    it.each(statuses)('adds the extra headers option to %s', async (_label, headers, status) => {
      const response = await get(route(fakeSource().source, { headers: { 'x-robots-tag': 'noindex' } }), headers);
      expect(response.status).toBe(status);
      expect(response.headers.get('x-robots-tag')).toBe('noindex');
    });
  });

  describe('with If-Match or If-Unmodified-Since', () => {
    const rows: [string, Record<string, string>, number][] = [
      ['answers 412 when If-Match names another etag', { 'if-match': '"v2"' }, 412],
      ['answers 412 when If-Match names the etag weakly (strong comparison, RFC 9110 §13.1.1)', { 'if-match': 'W/"v1"' }, 412],
      ['answers 200 when If-Match lists the etag', { 'if-match': '"v0", "v1"' }, 200],
      ['answers 200 when If-Match is *', { 'if-match': '*' }, 200],
      ['answers 412 when If-Unmodified-Since is before the modification time', { 'if-unmodified-since': BEFORE }, 412],
      ['answers 200 when If-Unmodified-Since is the modification time', { 'if-unmodified-since': AT }, 200],
      ['ignores If-Unmodified-Since when If-Match passes', { 'if-match': '"v1"', 'if-unmodified-since': BEFORE }, 200],
      ['ignores an If-Unmodified-Since that is not an HTTP-date', { 'if-unmodified-since': '2024-01-01' }, 200],
    ];
    it.each(rows)('%s', async (_label, headers, status) => {
      const { source, opened } = fakeSource();
      const response = await get(route(source), headers);
      expect(response.status).toBe(status);
      if (status === 412) {
        expect(await text(response)).toBe('');
        expect(opened).toEqual([]);
      } else {
        expect(await text(response)).toBe(ALPHABET);
      }
    });

    it('answers 412 for If-Match when the source has no etag', async () => {
      const response = await get(route(fakeSource(ALPHABET, { etag: undefined }).source), { 'if-match': '"v1"' });
      expect(response.status).toBe(412);
    });

    it('answers 412 before 304 when If-Match fails and If-None-Match matches (RFC 9110 §13.2.2)', async () => {
      const response = await get(route(fakeSource().source), { 'if-match': '"v2"', 'if-none-match': '"v1"' });
      expect(response.status).toBe(412);
    });

    it('answers 412 before a Range is considered', async () => {
      const { source, opened } = fakeSource();
      const response = await get(route(source), { 'if-match': '"v2"', range: 'bytes=0-1' });
      expect(response.status).toBe(412);
      expect(response.headers.get('content-range')).toBeNull();
      expect(opened).toEqual([]);
    });
  });

  describe('with If-None-Match', () => {
    const matches: [string, string, Meta['etag']][] = [
      ['the same etag', '"v1"', 'v1'],
      ['one etag of a list', '"a", "v1", "b"', 'v1'],
      ['the etag weakly (W/ in the request)', 'W/"v1"', 'v1'],
      ['the etag weakly (weak etag on the source)', '"v1"', { tag: 'v1', weak: true }],
      ['*', '*', 'v1'],
    ];
    it.each(matches)('answers 304 with the validators and no body when it matches %s', async (_label, ifNoneMatch, etag) => {
      const { source, opened } = fakeSource(ALPHABET, { etag });
      const response = await get(route(source), { 'if-none-match': ifNoneMatch });
      expect(response.status).toBe(304);
      expect(response.headers.get('etag')).toBe(typeof etag === 'string' ? '"v1"' : 'W/"v1"');
      expect(response.headers.get('last-modified')).toBe(AT);
      expect(response.headers.get('cache-control')).toBe('private, no-cache, no-transform');
      expect(response.headers.get('content-type')).toBeNull();
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.headers.get('content-disposition')).toBeNull();
      expect(response.headers.get('content-range')).toBeNull();
      expect(await text(response)).toBe('');
      expect(opened).toEqual([]);
    });

    it('answers 200 when no etag of the list matches', async () => {
      const response = await get(route(fakeSource().source), { 'if-none-match': '"v0", W/"v2"' });
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(ALPHABET);
    });

    it('answers 304 to HEAD too', async () => {
      const { source, opened } = fakeSource();
      const response = await head(route(source), { 'if-none-match': '"v1"' });
      expect(response.status).toBe(304);
      expect(opened).toEqual([]);
    });

    it('answers 304 rather than 206 when a Range comes with a matching If-None-Match', async () => {
      const response = await get(route(fakeSource().source), { 'if-none-match': '"v1"', range: 'bytes=0-1' });
      expect(response.status).toBe(304);
      expect(response.headers.get('content-range')).toBeNull();
    });
  });

  describe('with If-Modified-Since', () => {
    const rows: [string, Record<string, string>, number][] = [
      ['answers 304 when the date is the modification time', { 'if-modified-since': AT }, 304],
      ['answers 304 when the date is after the modification time', { 'if-modified-since': AFTER }, 304],
      ['answers 200 when the date is before the modification time', { 'if-modified-since': BEFORE }, 200],
      ['ignores a date that is not an HTTP-date', { 'if-modified-since': 'yesterday' }, 200],
      ['is ignored when If-None-Match is present and does not match (RFC 9110 §13.1.3)', { 'if-none-match': '"v2"', 'if-modified-since': AFTER }, 200],
      ['is ignored when If-None-Match is present and matches', { 'if-none-match': '"v1"', 'if-modified-since': BEFORE }, 304],
    ];
    it.each(rows)('%s', async (_label, headers, status) => {
      const response = await get(route(fakeSource().source), headers);
      expect(response.status).toBe(status);
      expect(await text(response)).toBe(status === 200 ? ALPHABET : '');
    });

    it('is ignored when the source has no modification date and no hook (RFC 9110 §13.1.3)', async () => {
      const response = await get(route(fakeSource(ALPHABET, { lastModified: undefined }).source), { 'if-modified-since': AFTER });
      expect(response.status).toBe(200);
    });

    it('asks the modifiedSince hook even when the source has no modification date (django-downloadview\'s was_modified_since)', async () => {
      const modifiedSince = vi.fn(() => false);
      const response = await get(route(fakeSource(ALPHABET, { lastModified: undefined }).source, { modifiedSince }), { 'if-modified-since': AFTER });
      expect(response.status).toBe(304);
      expect(await text(response)).toBe('');
      expect(modifiedSince).toHaveBeenCalledTimes(1);
    });

    it('lets the modifiedSince hook answer 200 for a date after the modification time', async () => {
      const modifiedSince = vi.fn(() => true);
      const response = await get(route(fakeSource().source, { modifiedSince }), { 'if-modified-since': AFTER });
      expect(response.status).toBe(200);
      expect(modifiedSince).toHaveBeenCalledWith(expect.objectContaining({ name: 'letters.txt', size: 26 }), new Date(Date.UTC(2024, 0, 15, 12, 0, 1)));
    });

    it('lets the modifiedSince hook answer 304 for a date before the modification time', async () => {
      const response = await get(route(fakeSource().source, { modifiedSince: () => false }), { 'if-modified-since': BEFORE });
      expect(response.status).toBe(304);
    });
  });

  describe('with a Range header', () => {
    const single: [string, string, string, string][] = [
      ['answers the first bytes', 'bytes=0-4', 'bytes 0-4/26', 'abcde'],
      ['answers a middle range', 'bytes=10-12', 'bytes 10-12/26', 'klm'],
      ['answers the last byte', 'bytes=25-25', 'bytes 25-25/26', 'z'],
      ['answers a suffix range', 'bytes=-3', 'bytes 23-25/26', 'xyz'],
      ['answers the whole file for a suffix longer than the file', 'bytes=-100', 'bytes 0-25/26', ALPHABET],
      ['answers an open-ended range', 'bytes=20-', 'bytes 20-25/26', 'uvwxyz'],
      ['clamps an end past the size', 'bytes=20-1000', 'bytes 20-25/26', 'uvwxyz'],
      ['merges adjacent ranges into one', 'bytes=0-1,2-3', 'bytes 0-3/26', 'abcd'],
      ['merges overlapping ranges that stay within the size', 'bytes=0-9,5-14', 'bytes 0-14/26', 'abcdefghijklmno'],
      ['accepts the unit in any case', 'Bytes=1-2', 'bytes 1-2/26', 'bc'],
    ];
    it.each(single)('%s with 206 and Content-Range', async (_label, range, contentRange, body) => {
      const { source, opened } = fakeSource();
      const response = await get(route(source), { range });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(contentRange);
      expect(response.headers.get('content-length')).toBe(String(body.length));
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('etag')).toBe('"v1"');
      expect(await text(response)).toBe(body);
      const [, start, end] = /bytes (\d+)-(\d+)/.exec(contentRange)!;
      expect(opened).toEqual([{ start: Number(start), end: Number(end) }]);
    });

    const multiple: [string, string, [string, string][]][] = [
      ['answers two ranges', 'bytes=0-1,5-6', [['bytes 0-1/26', 'ab'], ['bytes 5-6/26', 'fg']]],
      ['answers ranges in the order asked', 'bytes=20-21,0-1', [['bytes 20-21/26', 'uv'], ['bytes 0-1/26', 'ab']]],
      ['answers a suffix among others', 'bytes=0-0,-2', [['bytes 0-0/26', 'a'], ['bytes 24-25/26', 'yz']]],
    ];
    it.each(multiple)('%s as 206 multipart/byteranges (RFC 9110 §14.6)', async (_label, range, expected) => {
      const { source } = fakeSource();
      const response = await get(route(source), { range });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBeNull();
      const body = new Uint8Array(await response.arrayBuffer());
      expect(response.headers.get('content-length')).toBe(String(body.length));
      const parts = multipartParts(response, body);
      expect(parts.map((part) => [part.headers.get('content-range'), part.body])).toEqual(expected);
      for (const part of parts) expect(part.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    });

    it('answers multipart/byteranges with binary bytes intact', async () => {
      const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
      const response = await get(route(fakeSource(bytes, { name: 'blob.bin' }).source), { range: 'bytes=0-2,253-255' });
      expect(response.status).toBe(206);
      const body = new Uint8Array(await response.arrayBuffer());
      const parts = multipartParts(response, body);
      expect(parts.map((part) => Buffer.from(part.body, 'latin1'))).toEqual([Buffer.from([0, 1, 2]), Buffer.from([253, 254, 255])]);
      expect(parts[0]!.headers.get('content-type')).toBe('application/octet-stream');
    });

    const whole: [string, string, DownloadOptions][] = [
      ['ignores more ranges than maxRanges', 'bytes=0-0,2-2,4-4', { maxRanges: 2 }],
      ['ignores overlapping ranges that ask for more than the size', 'bytes=0-20,5-25', {}],
      ['ignores the same range repeated past the size', 'bytes=0-9,0-9,0-9', {}],
      ['ignores a malformed header', 'bytes=abc', {}],
      ['ignores another unit', 'items=0-1', {}],
      ['ignores a range whose end is before its start', 'bytes=5-1', {}],
      ['ignores a header without =', 'bytes', {}],
    ];
    it.each(whole)('%s and answers 200 with the whole body', async (_label, range, options) => {
      const { source, opened } = fakeSource();
      const response = await get(route(source, options), { range });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-range')).toBeNull();
      expect(response.headers.get('content-length')).toBe('26');
      expect(await text(response)).toBe(ALPHABET);
      expect(opened).toEqual([undefined]);
    });

    it('allows 16 ranges by default and ignores a 17th', async () => {
      const content = 'x'.repeat(64);
      const specs = (count: number) => `bytes=${Array.from({ length: count }, (_, index) => `${index * 2}-${index * 2}`).join(',')}`;
      expect((await get(route(fakeSource(content).source), { range: specs(16) })).status).toBe(206);
      expect((await get(route(fakeSource(content).source), { range: specs(17) })).status).toBe(200);
    });

    const unsatisfiable: [string, string][] = [
      ['a range that starts at the size', 'bytes=26-'],
      ['a range that starts past the end', 'bytes=30-40'],
      ['every range past the end', 'bytes=30-31,40-41'],
    ];
    it.each(unsatisfiable)('answers 416 with bytes */size for %s', async (_label, range) => {
      const { source, opened } = fakeSource();
      const response = await get(route(source), { range });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */26');
      expect(response.headers.get('content-type')).toBeNull();
      expect(await text(response)).toBe('');
      expect(opened).toEqual([]);
    });

    it('answers 200 with the whole body on a source of unknown size', async () => {
      const { source, opened } = fakeSource(ALPHABET, { size: undefined });
      const response = await get(route(source), { range: 'bytes=0-1' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-range')).toBeNull();
      expect(await text(response)).toBe(ALPHABET);
      expect(opened).toEqual([undefined]);
    });

    it('answers 200 with the whole body on a source that serves no ranges', async () => {
      const { source, opened } = fakeSource(ALPHABET, { ranges: false });
      const response = await get(route(source), { range: 'bytes=0-1' });
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(ALPHABET);
      expect(opened).toEqual([undefined]);
    });

    it('answers HEAD with the 200 headers and no body (Range is for GET only, RFC 9110 §14.2)', async () => {
      const { source, opened } = fakeSource();
      const response = await head(route(source), { range: 'bytes=0-1' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('26');
      expect(response.headers.get('content-range')).toBeNull();
      expect(await text(response)).toBe('');
      expect(opened).toEqual([]);
    });
  });

  describe('with If-Range', () => {
    const rows: [string, string, Meta['etag'], 200 | 206][] = [
      ['honours the Range for the current strong etag', '"v1"', 'v1', 206],
      ['ignores the Range for a weak form of the etag', 'W/"v1"', 'v1', 200],
      ['ignores the Range for another etag', '"v2"', 'v1', 200],
      ['ignores the Range when the current etag is weak, even if identical', 'W/"v1"', { tag: 'v1', weak: true }, 200],
      ['ignores the Range when the current etag is weak and the request strong', '"v1"', { tag: 'v1', weak: true }, 200],
      ['honours the Range for exactly the Last-Modified date', AT, 'v1', 206],
      ['ignores the Range for a later date', AFTER, 'v1', 200],
      ['ignores the Range for an earlier date', BEFORE, 'v1', 200],
      ['ignores the Range for a value that is neither', 'yesterday', 'v1', 200],
    ];
    it.each(rows)('%s (RFC 9110 §13.1.5)', async (_label, ifRange, etag, status) => {
      const response = await get(route(fakeSource(ALPHABET, { etag }).source), { range: 'bytes=0-1', 'if-range': ifRange });
      expect(response.status).toBe(status);
      if (status === 206) {
        expect(response.headers.get('content-range')).toBe('bytes 0-1/26');
        expect(await text(response)).toBe('ab');
      } else {
        expect(response.headers.get('content-range')).toBeNull();
        expect(response.headers.get('content-length')).toBe('26');
        expect(await text(response)).toBe(ALPHABET);
      }
    });

    it('ignores the Range for a date when the source has no Last-Modified', async () => {
      const response = await get(route(fakeSource(ALPHABET, { lastModified: undefined }).source), { range: 'bytes=0-1', 'if-range': AT });
      expect(response.status).toBe(200);
    });

    it('answers the whole body rather than 416 when If-Range does not match', async () => {
      const response = await get(route(fakeSource().source), { range: 'bytes=100-200', 'if-range': '"v2"' });
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(ALPHABET);
    });
  });

  describe('with HEAD', () => {
    const requests: [string, Record<string, string>, DownloadOptions][] = [
      ['a plain request', {}, {}],
      ['custom options', {}, { attachment: false, filename: 'résumé.txt', cacheControl: 'public', headers: { 'x-extra': '1' } }],
      ['a matching If-None-Match (304)', { 'if-none-match': '"v1"' }, {}],
      ['a failing If-Match (412)', { 'if-match': '"v2"' }, {}],
      ['an If-Modified-Since before the modification time', { 'if-modified-since': BEFORE }, {}],
    ];
    it.each(requests)('answers the same status and headers as GET for %s, and opens nothing', async (_label, headers, options) => {
      const { source, opened } = fakeSource();
      const r = route(source, options);
      const viaGet = await get(r, headers);
      opened.length = 0;
      const viaHead = await head(r, headers);
      expect(viaHead.status).toBe(viaGet.status);
      expect(headerList(viaHead)).toEqual(headerList(viaGet));
      expect(await text(viaHead)).toBe('');
      expect(opened).toEqual([]);
    });
  });

  describe('with a method other than GET or HEAD', () => {
    it.each(['POST', 'PUT', 'PATCH', 'DELETE'] as const)('answers %s with 405 and Allow: GET, HEAD, loading nothing', async (method) => {
      const { source, opened } = fakeSource();
      const r = route(source);
      const response = await r[method](new Request(URL_, { method, body: method === 'DELETE' ? undefined : 'x' }), CONTEXT);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      expect(r.load).not.toHaveBeenCalled();
      expect(opened).toEqual([]);
    });
  });

  describe('with an authorize hook', () => {
    it('answers 403 when it returns false, before loading or opening anything', async () => {
      const { source, opened } = fakeSource();
      const r = route(source, { authorize: () => false });
      const response = await get(r);
      expect(response.status).toBe(403);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.load).not.toHaveBeenCalled();
      expect(opened).toEqual([]);
    });

    it('answers with the Response it returns', async () => {
      const denial = new Response('log in first', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
      const { source, opened } = fakeSource();
      const r = route(source, { authorize: async () => denial });
      const response = await get(r);
      expect(response).toBe(denial);
      expect(r.load).not.toHaveBeenCalled();
      expect(opened).toEqual([]);
    });

    it('answers the status of an HttpError it throws', async () => {
      const { source, opened } = fakeSource();
      const r = route(source, {
        authorize: () => {
          throw new HttpError(401, 'Unauthorized');
        },
      });
      const response = await get(r);
      expect(response.status).toBe(401);
      expect(r.load).not.toHaveBeenCalled();
      expect(opened).toEqual([]);
    });

    it('goes on when it returns true or nothing, and receives the request and the params', async () => {
      const authorize = vi.fn<NonNullable<DownloadOptions['authorize']>>(() => undefined);
      const response = await get(route(fakeSource().source, { authorize }));
      expect(response.status).toBe(200);
      expect(authorize).toHaveBeenCalledWith(expect.any(Request), { path: ['letters.txt'] });
      expect((await get(route(fakeSource().source, { authorize: () => true }))).status).toBe(200);
    });

    it('is asked for HEAD too', async () => {
      const r = route(fakeSource().source, { authorize: () => false });
      expect((await head(r)).status).toBe(403);
      expect(r.load).not.toHaveBeenCalled();
    });
  });

  describe('when the source is missing', () => {
    const missing = () => {
      throw new HttpError(404, 'Not Found');
    };

    it('answers a plain-text 404', async () => {
      const response = await get(route(missing));
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('answers with the notFound hook, given the request and the params', async () => {
      const notFound = vi.fn((_request: Request, params: RouteParams) => new Response(`no ${String(params.path)}`, { status: 404, headers: { 'x-hook': 'yes' } }));
      const response = await get(route(missing, { notFound }));
      expect(response.status).toBe(404);
      expect(response.headers.get('x-hook')).toBe('yes');
      expect(await text(response)).toBe('no letters.txt');
      expect(notFound).toHaveBeenCalledWith(expect.any(Request), { path: ['letters.txt'] });
    });

    it('answers with the notFound hook when open finds the file gone', async () => {
      const { source } = fakeSource();
      source.open = () => {
        throw new HttpError(404, 'Not Found');
      };
      const response = await get(route(source, { notFound: () => new Response('gone', { status: 404 }) }));
      expect(await text(response)).toBe('gone');
    });

    it('does not use the notFound hook for other errors', async () => {
      const notFound = vi.fn(() => new Response('hook', { status: 404 }));
      const response = await get(route(() => { throw new HttpError(400, 'Invalid path'); }, { notFound }));
      expect(response.status).toBe(400);
      expect(notFound).not.toHaveBeenCalled();
    });

    it('answers a plain 500 rather than rejecting when the notFound hook throws', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const r = route(missing, {
        notFound: () => {
          throw new Error('template missing at /srv/app/404.html');
        },
      });
      const response = await get(r).catch((error: unknown) => error);
      expect(response).toBeInstanceOf(Response);
      expect((response as Response).status).toBe(500);
      expect(await text(response as Response)).not.toContain('/srv/app');
      expect(log).toHaveBeenCalled();
    });
  });

  describe('when something fails before the headers', () => {
    it('answers an HttpError with its status, as short plain text with nosniff', async () => {
      const response = await get(route(() => { throw new HttpError(400, 'Invalid path'); }));
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await text(response)).toContain('Invalid path');
    });

    it('answers an unknown error with a plain 500 that leaks nothing, and logs it', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const response = await get(route(() => { throw new Error('secret at /srv/private/db.sqlite'); }));
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const body = await text(response);
      expect(body.trim()).toBe('Internal Server Error');
      expect(body).not.toContain('secret');
      expect(body).not.toContain('at ');
      expect(log).toHaveBeenCalled();
    });

    it('answers 500 when open rejects with an unknown error', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const { source } = fakeSource();
      source.open = async () => {
        throw new Error('EIO: disk on fire');
      };
      const response = await get(route(source));
      expect(response.status).toBe(500);
      expect(await text(response)).not.toContain('disk');
      expect(log).toHaveBeenCalled();
    });
  });

  describe('when the file changes between its metadata and its opening', () => {
    it('loads it once more and answers with the new metadata and bytes', async () => {
      let loads = 0;
      const openCalls: number[] = [];
      const load = () => {
        const generation = ++loads;
        const { source } = fakeSource(generation === 1 ? ALPHABET : 'new content', { etag: `v${generation}` });
        const open = source.open.bind(source);
        source.open = (range) => {
          openCalls.push(generation);
          if (generation === 1) throw new FileChangedError('/x/letters.txt');
          return open(range);
        };
        return source;
      };
      const r = route(load);
      const response = await get(r);
      expect(r.load).toHaveBeenCalledTimes(2);
      expect(openCalls).toEqual([1, 2]);
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toBe('"v2"');
      expect(response.headers.get('content-length')).toBe('11');
      expect(await text(response)).toBe('new content');
    });

    it('answers 500 when it changes again', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const { source } = fakeSource();
      source.open = async () => {
        throw new FileChangedError('/x/letters.txt');
      };
      const r = route(source);
      const response = await get(r);
      expect(response.status).toBe(500);
      expect(r.load).toHaveBeenCalledTimes(2);
      expect(log).toHaveBeenCalled();
    });
  });

  describe('when the body fails after the headers', () => {
    it('makes reading the body reject, so the client sees the truncation', async () => {
      const { source } = fakeSource();
      source.open = () =>
        new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(encoder.encode('abc'));
            controller.error(new Error('disk gone'));
          },
        });
      const response = await get(route(source));
      expect(response.status).toBe(200);
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('makes reading the body reject when the source sends fewer bytes than its size', async () => {
      const { source } = fakeSource();
      source.open = () => streamOf(encoder.encode('abc'));
      const response = await get(route(source));
      expect(response.headers.get('content-length')).toBe('26');
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('makes reading the body reject when the source sends more bytes than its size', async () => {
      const { source } = fakeSource();
      source.open = () => streamOf(encoder.encode(ALPHABET), encoder.encode('!'));
      const response = await get(route(source));
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('makes reading a range reject when the source sends fewer bytes than the range', async () => {
      const { source } = fakeSource();
      source.open = () => streamOf(encoder.encode('a'));
      const response = await get(route(source), { range: 'bytes=0-4' });
      expect(response.status).toBe(206);
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('makes reading a multipart body reject when a later part fails to open', async () => {
      const { source } = fakeSource();
      const open = source.open.bind(source);
      let calls = 0;
      source.open = (range) => {
        if (++calls > 1) throw new Error('gone');
        return open(range);
      };
      const response = await get(route(source), { range: 'bytes=0-1,5-6' });
      expect(response.status).toBe(206);
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('makes reading a multipart body reject when one part is short and another long by as much', async () => {
      // Each part announces its length in its own Content-Range (RFC 9110 §14.6); a source that
      // is not `exact` must be counted per part, not only in total.
      const { source } = fakeSource();
      source.open = (range) => {
        const { start, end } = range!;
        return streamOf(encoder.encode(start === 0 ? ALPHABET.slice(0, 3) : ALPHABET.slice(start + 1, end + 1)));
      };
      const response = await get(route(source), { range: 'bytes=0-1,5-6' });
      expect(response.status).toBe(206);
      await expect(response.arrayBuffer()).rejects.toThrow();
    });
  });

  describe('when the client goes away', () => {
    function cancellableSource(meta: Meta = {}) {
      const { source, opened } = fakeSource(ALPHABET, meta);
      const cancelled: (ByteRange | undefined)[] = [];
      source.open = (range) => {
        opened.push(range);
        // Never ends by itself: only a cancel stops it, like a large file.
        return new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(encoder.encode('a'));
          },
          cancel() {
            cancelled.push(range);
          },
        });
      };
      return { source, opened, cancelled };
    }

    const rows: [string, Meta, Record<string, string>, (ByteRange | undefined)[]][] = [
      ['a whole body', {}, {}, [undefined]],
      ['a whole body from an exact source', { exact: true }, {}, [undefined]],
      ['a whole body of unknown size', { size: undefined }, {}, [undefined]],
      ['a single range', {}, { range: 'bytes=2-20' }, [{ start: 2, end: 20 }]],
    ];
    it.each(rows)('cancels the source stream of %s when the body is cancelled', async (_label, meta, headers, expected) => {
      const { source, cancelled } = cancellableSource(meta);
      const response = await get(route(source), headers);
      const reader = response.body!.getReader();
      await reader.read();
      await reader.cancel();
      await new Promise((resolve) => setImmediate(resolve));
      expect(cancelled).toEqual(expected);
    });

    it('cancels the part being read of a multipart body', async () => {
      const { source, cancelled } = cancellableSource();
      const response = await get(route(source), { range: 'bytes=0-9,15-20' });
      const reader = response.body!.getReader();
      await reader.read();
      await reader.read();
      await reader.cancel();
      await new Promise((resolve) => setImmediate(resolve));
      expect(cancelled).toEqual([{ start: 0, end: 9 }]);
    });

    // The server drops a body unread when its client left before the piping began; the
    // request's signal is then all that says the body will never be read.
    it.each([
      ['a whole body', {}, [undefined]],
      ['a single range', { range: 'bytes=2-20' }, [{ start: 2, end: 20 }]],
      ['a multipart body', { range: 'bytes=0-9,15-20' }, [{ start: 0, end: 9 }]],
    ] as [string, Record<string, string>, (ByteRange | undefined)[]][])(
      'releases %s never read when the request is aborted',
      async (_label, headers, expected) => {
        const { source, cancelled } = cancellableSource();
        const client = new AbortController();
        const response = await route(source).GET(new Request(URL_, { headers, signal: client.signal }), CONTEXT);
        expect(response.status).toBe(headers.range ? 206 : 200);
        expect(cancelled).toEqual([]);
        client.abort();
        await new Promise((resolve) => setImmediate(resolve));
        expect(cancelled).toEqual(expected);
      },
    );

    it('releases the body at once when the request was aborted before the answer', async () => {
      const { source, cancelled } = cancellableSource();
      const client = new AbortController();
      const r = route(async () => {
        client.abort();
        return source;
      });
      const response = await r.GET(new Request(URL_, { signal: client.signal }), CONTEXT);
      expect(response.status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
      expect(cancelled).toEqual([undefined]);
    });

    it('leaves a body being read to its reader when the request is aborted', async () => {
      const { source, cancelled } = cancellableSource();
      const client = new AbortController();
      const response = await route(source).GET(new Request(URL_, { signal: client.signal }), CONTEXT);
      const reader = response.body!.getReader();
      await reader.read();
      client.abort();
      await new Promise((resolve) => setImmediate(resolve));
      // Whoever pipes the body (Next) cancels it on disconnect; a locked stream is theirs.
      expect(cancelled).toEqual([]);
      expect((await reader.read()).done).toBe(false);
      await reader.cancel();
    });

    it('cancels the first part of a multipart body cancelled before any byte was read', async () => {
      // The first part is opened before the headers go out (serve.ts), so it is open already.
      const { source, opened, cancelled } = cancellableSource();
      const response = await get(route(source), { range: 'bytes=0-9,15-20' });
      expect(opened).toEqual([{ start: 0, end: 9 }]);
      await response.body!.cancel();
      await new Promise((resolve) => setImmediate(resolve));
      expect(cancelled).toEqual([{ start: 0, end: 9 }]);
    });
  });
});
