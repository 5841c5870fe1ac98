import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enableHandoff } from '../engine/handoff';
import { FileSystemStorage } from '../storage/file-system-storage';
import { objectDownload } from './object-download';
import { pathDownload } from './path-download';
import { storageDownload } from './storage-download';
import { virtualDownload } from './virtual-download';

// Repr-Digest and Content-Digest (RFC 9530) from sources that know their hash: content in
// memory, FileSystemStorage with etag: 'sha256', a row's SHA-256 checksum; and none from a
// source that does not (a plain file, whose hash the kit has not read).

const TEXT = 'integrity matters\n'.repeat(100);
const SHA256 = createHash('sha256').update(TEXT).digest('base64');
const SHA256_HEX = createHash('sha256').update(TEXT).digest('hex');
const SHA512_HEX = createHash('sha512').update(TEXT).digest('hex');
const SHA512 = createHash('sha512').update(TEXT).digest('base64');
const REPR = `sha-256=:${SHA256}:`;

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digests-'));
  await writeFile(path.join(tmp, 'notes.txt'), TEXT);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const context = { params: Promise.resolve({ path: ['notes.txt'] }) };
const request = (headers: HeadersInit = {}, method = 'GET') => new Request('http://x/notes.txt', { method, headers });
const virtual = () => virtualDownload({ file: { name: 'notes.txt', content: TEXT } });

describe('Repr-Digest', () => {
  it('goes with a whole 200, with the same Content-Digest', async () => {
    const response = await virtual().GET(request(), context);
    expect(response.status).toBe(200);
    expect(response.headers.get('repr-digest')).toBe(REPR);
    expect(response.headers.get('content-digest')).toBe(REPR);
    expect(await response.text()).toBe(TEXT);
  });

  it('describes the whole representation on a 206, which has no Content-Digest of the part', async () => {
    const response = await virtual().GET(request({ range: 'bytes=0-9' }), context);
    expect(response.status).toBe(206);
    expect(response.headers.get('repr-digest')).toBe(REPR);
    expect(response.headers.get('content-digest')).toBeNull();
    const multipart = await virtual().GET(request({ range: 'bytes=0-1, 5-6' }), context);
    expect(multipart.status).toBe(206);
    expect(multipart.headers.get('repr-digest')).toBe(REPR);
  });

  it('goes with HEAD (the fields of its GET) and 304', async () => {
    const head = await virtual().HEAD(request({}, 'HEAD'), context);
    expect(head.headers.get('repr-digest')).toBe(REPR);
    expect(head.headers.get('content-digest')).toBe(REPR);
    const etag = head.headers.get('etag')!;
    const fresh = await virtual().GET(request({ 'if-none-match': etag }), context);
    expect(fresh.status).toBe(304);
    expect(fresh.headers.get('repr-digest')).toBe(REPR);
  });

  it('follows Want-Repr-Digest, and sends none when only unknown algorithms are wanted', async () => {
    const cases: [string, string | null][] = [
      ['sha-256=1', REPR],
      ['sha-512=10, sha-256=1', REPR],
      ['sha-512=3', null],
      ['md5=9, unixsum=2', null],
      ['sha-256=0', null],
    ];
    for (const [want, expected] of cases) {
      const response = await virtual().GET(request({ 'want-repr-digest': want }), context);
      expect(response.headers.get('repr-digest'), want).toBe(expected);
    }
    const content = await virtual().GET(request({ 'want-content-digest': 'sha-512=1' }), context);
    expect(content.headers.get('content-digest')).toBeNull();
    expect(content.headers.get('repr-digest')).toBe(REPR);
  });

  it('comes from FileSystemStorage with etag: sha256, and never from a file the kit has not hashed', async () => {
    const hashed = storageDownload({ storage: new FileSystemStorage(tmp, { etag: 'sha256' }) });
    expect((await hashed.GET(request(), context)).headers.get('repr-digest')).toBe(REPR);
    const plainStorage = storageDownload({ storage: new FileSystemStorage(tmp) });
    expect((await plainStorage.GET(request(), context)).headers.get('repr-digest')).toBeNull();
    const plainPath = pathDownload({ root: tmp });
    const response = await plainPath.GET(request(), context);
    expect(response.headers.get('repr-digest')).toBeNull();
    expect(response.headers.get('content-digest')).toBeNull();
  });

  it('comes from a row\'s checksum of 64 (SHA-256) or 128 (SHA-512) hex digits, and not from any other', async () => {
    const storage = new FileSystemStorage(tmp);
    const download = (checksum: string) => objectDownload({ storage, getObject: () => ({ file: 'notes.txt', checksum }), fields: { file: 'file', checksum: 'checksum' } });
    expect((await download(SHA256_HEX).GET(request(), context)).headers.get('repr-digest')).toBe(REPR);
    expect((await download(SHA512_HEX).GET(request(), context)).headers.get('repr-digest')).toBe(`sha-512=:${SHA512}:`);
    expect((await download('v1').GET(request(), context)).headers.get('repr-digest')).toBeNull();
    expect((await download(createHash('md5').update(TEXT).digest('hex')).GET(request(), context)).headers.get('repr-digest')).toBeNull();
  });

  describe('of a precompressed variant', () => {
    const TOKEN = Symbol.for('next-downloadview.handoff-token');
    beforeAll(() => enableHandoff());
    afterAll(() => {
      delete (globalThis as Record<symbol, unknown>)[TOKEN];
    });

    it('is the variant\'s own hash, never the original\'s', async () => {
      const br = brotliCompressSync(TEXT);
      await writeFile(path.join(tmp, 'notes.txt.br'), br);
      const { GET } = storageDownload({ storage: new FileSystemStorage(tmp, { etag: 'sha256' }), precompressed: { stale: 'serve' } });
      const response = await GET(request({ 'accept-encoding': 'br' }), context);
      expect(response.headers.get('content-encoding')).toBe('br');
      expect(response.headers.get('repr-digest')).toBe(`sha-256=:${createHash('sha256').update(br).digest('base64')}:`);
      const { GET: plainGet } = pathDownload({ root: tmp, precompressed: { stale: 'serve' } });
      const plain = await plainGet(request({ 'accept-encoding': 'br' }), context);
      expect(plain.headers.get('content-encoding')).toBe('br');
      expect(plain.headers.get('repr-digest')).toBeNull();
    });
  });
});
