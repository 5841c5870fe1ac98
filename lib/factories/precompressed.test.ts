import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enableHandoff } from '../engine/handoff';
import { ConfigurationError } from '../errors';
import { FileSystemStorage } from '../storage/file-system-storage';
import { pathDownload, type PathDownloadOptions } from './path-download';
import { objectDownload } from './object-download';
import { storageDownload } from './storage-download';

// Precompressed siblings (name.br, name.gz) of real files, served by pathDownload and
// storageDownload. The kit's server is "running" (its length token is set) except where a test
// says it is not: only then can a Content-Encoding reach the client.

const TEXT = 'line of a log file, repeated to compress well\n'.repeat(200);
const BR = brotliCompressSync(TEXT);
const GZ = gzipSync(TEXT);
const TOKEN = Symbol.for('next-downloadview.handoff-token');

let tmp: string;
let root: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'precompressed-'));
  root = path.join(tmp, 'root');
  await mkdir(path.join(root, 'only-gz'), { recursive: true });
  await writeFile(path.join(root, 'log.txt'), TEXT);
  await writeFile(path.join(root, 'log.txt.br'), BR);
  await writeFile(path.join(root, 'log.txt.gz'), GZ);
  await writeFile(path.join(root, 'only-gz', 'log.txt'), TEXT);
  await writeFile(path.join(root, 'only-gz', 'log.txt.gz'), GZ);
  // Siblings are written after their original, as a build step writes them.
  const before = new Date(Date.now() - 60_000);
  for (const file of ['log.txt', 'only-gz/log.txt']) await utimes(path.join(root, file), before, before);
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let client = new AbortController();
afterEach(() => {
  client.abort();
  client = new AbortController();
});

function underKitServer() {
  beforeAll(() => enableHandoff());
  afterAll(() => {
    delete (globalThis as Record<symbol, unknown>)[TOKEN];
  });
}

function get(options: Partial<PathDownloadOptions>, file: string, headers: HeadersInit = {}, method = 'GET') {
  const segments = file.split('/');
  const request = new Request(`http://x/files/${file}`, { method, headers, signal: client.signal });
  const handlers = pathDownload({ root, precompressed: true, ...options });
  return handlers[method as 'GET' | 'HEAD'](request, { params: Promise.resolve({ path: segments }) });
}

async function bytes(response: Response) {
  return Buffer.from(await response.arrayBuffer());
}

describe('pathDownload with precompressed', () => {
  describe('under plain next start (Content-Encoding would be dropped)', () => {
    it('sends the file itself, whatever the client accepts', async () => {
      const response = await get({}, 'log.txt', { 'accept-encoding': 'br, gzip' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-encoding')).toBeNull();
      expect(response.headers.get('vary') ?? '').not.toMatch(/accept-encoding/i);
      expect((await bytes(response)).toString()).toBe(TEXT);
    });
  });

  describe('under the kit server', () => {
    underKitServer();

    it('sends the Brotli sibling to a client that takes br, as the original file', async () => {
      const response = await get({}, 'log.txt', { 'accept-encoding': 'gzip, deflate, br' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-encoding')).toBe('br');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('content-disposition')).toBe('attachment; filename=log.txt');
      expect(response.headers.get('content-length')).toBe(String(BR.length));
      expect(response.headers.get('vary')).toMatch(/accept-encoding/i);
      expect(brotliDecompressSync(await bytes(response)).toString()).toBe(TEXT);
    });

    it('sends the gzip sibling when br is refused or not listed', async () => {
      for (const field of ['gzip', 'br;q=0, *', 'gzip;q=0.9, br;q=0.5', 'x-gzip']) {
        const response = await get({}, 'log.txt', { 'accept-encoding': field });
        expect(response.headers.get('content-encoding'), field).toBe('gzip');
        expect(response.headers.get('content-length')).toBe(String(GZ.length));
        expect(gunzipSync(await bytes(response)).toString()).toBe(TEXT);
      }
    });

    it('sends the file itself, with Vary, when no coding is taken', async () => {
      for (const field of [undefined, '', 'identity', 'deflate', 'br;q=0, gzip;q=0', 'identity;q=1, br;q=0.5']) {
        const response = await get({}, 'log.txt', field === undefined ? {} : { 'accept-encoding': field });
        expect(response.headers.get('content-encoding'), field).toBeNull();
        expect(response.headers.get('vary')).toMatch(/accept-encoding/i);
        expect((await bytes(response)).toString()).toBe(TEXT);
      }
    });

    it('gives each representation its own ETag', async () => {
      const tags = new Set<string | null>();
      for (const field of ['br', 'gzip', 'identity']) {
        const response = await get({}, 'log.txt', { 'accept-encoding': field }, 'HEAD');
        tags.add(response.headers.get('etag'));
      }
      expect(tags.size).toBe(3);
      expect([...tags].every((tag) => tag !== null && /^"[^"]+"$/.test(tag))).toBe(true);
    });

    it('falls back to the next coding when a sibling is missing', async () => {
      const response = await get({}, 'only-gz/log.txt', { 'accept-encoding': 'br, gzip' });
      expect(response.headers.get('content-encoding')).toBe('gzip');
      expect(gunzipSync(await bytes(response)).toString()).toBe(TEXT);
    });

    it('sends only the codings the route lists', async () => {
      const response = await get({ precompressed: ['gzip'] }, 'log.txt', { 'accept-encoding': 'br, gzip' });
      expect(response.headers.get('content-encoding')).toBe('gzip');
    });

    it('ignores a sibling older than its original, unless told to serve it', async () => {
      const old = new Date(Date.now() - 120_000);
      await utimes(path.join(root, 'log.txt.br'), old, old);
      const ignored = await get({}, 'log.txt', { 'accept-encoding': 'br, gzip' });
      expect(ignored.headers.get('content-encoding')).toBe('gzip');
      await ignored.arrayBuffer();
      const served = await get({ precompressed: { stale: 'serve' } }, 'log.txt', { 'accept-encoding': 'br, gzip' });
      expect(served.headers.get('content-encoding')).toBe('br');
    });

    it('answers a Range with the encoded bytes, and Vary', async () => {
      const response = await get({}, 'log.txt', { 'accept-encoding': 'br', range: 'bytes=0-9' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(`bytes 0-9/${BR.length}`);
      expect(response.headers.get('content-encoding')).toBe('br');
      expect(response.headers.get('vary')).toMatch(/accept-encoding/i);
      expect(await bytes(response)).toEqual(BR.subarray(0, 10));
    });

    it('answers 416 against the encoded length, with Vary', async () => {
      const response = await get({}, 'log.txt', { 'accept-encoding': 'br', range: `bytes=${BR.length}-` });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe(`bytes */${BR.length}`);
      expect(response.headers.get('vary')).toMatch(/accept-encoding/i);
    });

    it('resumes (If-Range) only with the variant\'s own ETag', async () => {
      const head = await get({}, 'log.txt', { 'accept-encoding': 'br' }, 'HEAD');
      const brTag = head.headers.get('etag')!;
      const plain = await get({}, 'log.txt', { 'accept-encoding': 'identity' }, 'HEAD');
      const plainTag = plain.headers.get('etag')!;

      const resumed = await get({}, 'log.txt', { 'accept-encoding': 'br', range: 'bytes=10-', 'if-range': brTag });
      expect(resumed.status).toBe(206);
      expect(await bytes(resumed)).toEqual(BR.subarray(10));
      // A piece of the Brotli bytes must never be spliced onto a plain start.
      const mixed = await get({}, 'log.txt', { 'accept-encoding': 'br', range: 'bytes=10-', 'if-range': plainTag });
      expect(mixed.status).toBe(200);
      expect(brotliDecompressSync(await bytes(mixed)).toString()).toBe(TEXT);
    });

    it('answers 304 for the variant\'s ETag, with Vary, and 200 for another representation\'s', async () => {
      const head = await get({}, 'log.txt', { 'accept-encoding': 'br' }, 'HEAD');
      const brTag = head.headers.get('etag')!;
      const fresh = await get({}, 'log.txt', { 'accept-encoding': 'br', 'if-none-match': brTag });
      expect(fresh.status).toBe(304);
      expect(fresh.headers.get('vary')).toMatch(/accept-encoding/i);
      expect(fresh.headers.get('etag')).toBe(brTag);
      const other = await get({}, 'log.txt', { 'accept-encoding': 'gzip', 'if-none-match': brTag });
      expect(other.status).toBe(200);
      expect(other.headers.get('content-encoding')).toBe('gzip');
    });

    it('answers HEAD with the variant\'s length', async () => {
      const response = await get({}, 'log.txt', { 'accept-encoding': 'br' }, 'HEAD');
      expect(response.headers.get('content-length')).toBe(String(BR.length));
      expect(response.headers.get('content-encoding')).toBe('br');
    });

    it('serves a request for name.gz as that file, with no coding', async () => {
      const response = await get({}, 'log.txt.gz', { 'accept-encoding': 'br, gzip' });
      expect(response.headers.get('content-encoding')).toBeNull();
      expect(response.headers.get('content-type')).toBe('application/gzip');
      expect(response.headers.get('content-disposition')).toBe('attachment; filename=log.txt.gz');
      expect(await bytes(response)).toEqual(GZ);
    });

    it('offloads the variant\'s path, with its headers', async () => {
      const response = await get(
        { offload: [{ backend: 'nginx', source: root, destination: '/_protected/' }] },
        'log.txt',
        { 'accept-encoding': 'br' },
      );
      expect(response.headers.get('x-accel-redirect')).toBe('/_protected/log.txt.br');
      expect(response.headers.get('content-encoding')).toBe('br');
      expect(response.headers.get('vary')).toMatch(/accept-encoding/i);
    });
  });

  it('refuses a wrong option when the route loads', () => {
    for (const precompressed of [['deflate'], [], ['br', 'br'], { stale: 'maybe' }, 'yes']) {
      expect(() => pathDownload({ root, precompressed } as unknown as PathDownloadOptions)).toThrow(ConfigurationError);
    }
  });
});

describe('storageDownload with precompressed', () => {
  underKitServer();

  function fetchFrom(storage: FileSystemStorage, name: string, headers: HeadersInit) {
    const { GET } = storageDownload({ storage, precompressed: true });
    return GET(new Request(`http://x/${name}`, { headers, signal: client.signal }), { params: Promise.resolve({ path: name.split('/') }) });
  }

  it('sends a stored sibling with its own length and tag, and the original otherwise', async () => {
    const storage = new FileSystemStorage(root);
    const br = await fetchFrom(storage, 'log.txt', { 'accept-encoding': 'br' });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(br.headers.get('content-length')).toBe(String(BR.length));
    expect(brotliDecompressSync(await bytes(br)).toString()).toBe(TEXT);
    const plain = await fetchFrom(storage, 'log.txt', {});
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(plain.headers.get('etag')).not.toBe(br.headers.get('etag'));
    expect((await bytes(plain)).toString()).toBe(TEXT);
  });
});

describe('objectDownload with precompressed', () => {
  underKitServer();

  const SHA256 = createHash('sha256').update(TEXT).digest('hex');
  interface Row {
    storagePath: string;
    name: string;
    contentType: string;
    sha256: string;
    updatedAt: Date;
    encoding?: string;
  }
  // The row was edited (renamed) after the siblings were written: its date is the newest of all.
  const row = (storagePath: string, extra: Partial<Row> = {}): Row => ({
    storagePath,
    name: 'Server log.txt',
    contentType: 'text/plain',
    sha256: SHA256,
    updatedAt: new Date(Date.now() + 3_600_000),
    ...extra,
  });

  function fetchRow(found: Row, headers: HeadersInit, method = 'GET') {
    const handlers = objectDownload<Row>({
      storage: new FileSystemStorage(root),
      getObject: () => found,
      fields: { file: 'storagePath', basename: 'name', contentType: 'contentType', checksum: 'sha256', lastModified: 'updatedAt', encoding: 'encoding' },
      precompressed: true,
    });
    return handlers[method as 'GET' | 'HEAD'](new Request('http://x/files/1', { method, headers, signal: client.signal }), { params: Promise.resolve({ id: '1' }) });
  }

  it("sends the row's file as its Brotli sibling under the row's name and type, with the sibling's own length and tag", async () => {
    const br = await fetchRow(row('log.txt'), { 'accept-encoding': 'gzip, br' });
    expect(br.status).toBe(200);
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(br.headers.get('content-disposition')).toMatch(/^attachment; filename="Server log\.txt"/);
    expect(br.headers.get('content-length')).toBe(String(BR.length));
    expect(br.headers.get('vary')).toMatch(/accept-encoding/i);
    // The row's checksum is the file's, not the sibling's: neither its ETag nor its digest goes with it.
    expect(br.headers.get('etag')).not.toBe(`"${SHA256}"`);
    expect(br.headers.get('etag')).toMatch(/-br"$/);
    expect(br.headers.get('repr-digest')).toBeNull();
    expect(brotliDecompressSync(await bytes(br)).toString()).toBe(TEXT);
  });

  it("sends the file itself with the row's ETag and digest, and Vary, to a client that takes no coding", async () => {
    const plain = await fetchRow(row('log.txt'), {});
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('etag')).toBe(`"${SHA256}"`);
    expect(plain.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(SHA256, 'hex').toString('base64')}:`);
    expect(plain.headers.get('vary')).toMatch(/accept-encoding/i);
    expect((await bytes(plain)).toString()).toBe(TEXT);
  });

  it("answers a Range and If-Range on the sibling's bytes", async () => {
    const first = await fetchRow(row('log.txt'), { 'accept-encoding': 'gzip' });
    const etag = first.headers.get('etag')!;
    await first.body?.cancel();
    const part = await fetchRow(row('log.txt'), { 'accept-encoding': 'gzip', range: 'bytes=10-19', 'if-range': etag });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${GZ.length}`);
    expect((await bytes(part)).equals(GZ.subarray(10, 20))).toBe(true);
    const cached = await fetchRow(row('log.txt'), { 'accept-encoding': 'gzip', 'if-none-match': etag });
    expect(cached.status).toBe(304);
  });

  it("ignores a sibling older than the stored file, whatever the row's date", async () => {
    const later = new Date(Date.now() + 60_000);
    await utimes(path.join(root, 'only-gz', 'log.txt'), later, later);
    const response = await fetchRow(row('only-gz/log.txt', { updatedAt: new Date(0) }), { 'accept-encoding': 'gzip' });
    expect(response.headers.get('content-encoding')).toBeNull();
    expect((await bytes(response)).toString()).toBe(TEXT);
  });

  it('sends a row whose encoding field names a coding as it is', async () => {
    const response = await fetchRow(row('log.txt.gz', { encoding: 'gzip', sha256: createHash('sha256').update(GZ).digest('hex') }), { 'accept-encoding': 'br, gzip' });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect((await bytes(response)).equals(GZ)).toBe(true);
  });

  it('refuses a wrong option when the route loads', () => {
    expect(() => objectDownload({ storage: new FileSystemStorage(root), getObject: () => undefined, precompressed: ['zstd'] } as never)).toThrow(ConfigurationError);
  });
});
