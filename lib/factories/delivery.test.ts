import { describe, expect, it } from 'vitest';
import { ConfigurationError, NotFoundError } from '../errors';
import { type Storage, type StoredFile } from '../storage/storage';
import { parseContentDisposition } from '../testing/parse-content-disposition';
import type { RedirectUrlOptions, RedirectingStorage } from './delivery';
import { objectDownload } from './object-download';
import { sendFile } from './send-file';
import { storageDownload } from './storage-download';

/** Files in memory, with a URL that says which headers it was minted with. */
class MemoryStorage implements RedirectingStorage {
  readonly files = new Map<string, string>();
  readonly calls: string[] = [];
  readonly minted: { name: string; options: RedirectUrlOptions }[] = [];

  constructor(files: Record<string, string> = {}) {
    for (const [name, content] of Object.entries(files)) this.files.set(name, content);
  }

  async stat(name: string): Promise<StoredFile> {
    this.calls.push(`stat ${name}`);
    const content = this.files.get(name);
    if (content === undefined) throw new NotFoundError(name);
    return { name, size: Buffer.byteLength(content), etag: `"v-${content.length}"`, lastModified: new Date('2026-01-01T00:00:00Z') };
  }

  async open(name: string): Promise<ReadableStream<Uint8Array>> {
    this.calls.push(`open ${name}`);
    return new Response(this.files.get(name)).body!;
  }

  async save(): Promise<StoredFile> {
    throw new Error('not used');
  }

  async delete(): Promise<boolean> {
    return false;
  }

  async exists(name: string): Promise<boolean> {
    return this.files.has(name);
  }

  async *list(): AsyncIterable<StoredFile> {}

  url(name: string): string {
    return `https://store.example/bucket/${encodeURIComponent(name)}`;
  }

  presignedUrl(name: string, options: RedirectUrlOptions): string {
    this.minted.push({ name, options });
    const url = new URL(this.url(name));
    url.searchParams.set('expires', String(options.expiresIn));
    if (options.contentDisposition) url.searchParams.set('response-content-disposition', options.contentDisposition);
    if (options.contentType) url.searchParams.set('response-content-type', options.contentType);
    if (options.cacheControl) url.searchParams.set('response-cache-control', options.cacheControl);
    return url.href;
  }
}

const files = { 'reports/résumé 2026.pdf': '%PDF-1.7 body', 'page.html': '<script>alert(1)</script>', 'notes.txt': 'hello' };
const ctx = (path: string) => ({ params: { path: path.split('/') } });

describe('storageDownload with delivery: redirect', () => {
  it('answers a GET with 307 to a URL that carries the Content-Disposition, type and Cache-Control streaming would send', async () => {
    const storage = new MemoryStorage(files);
    const streamed = await storageDownload({ storage }).GET(new Request('http://app/f/x'), ctx('reports/résumé 2026.pdf'));
    storage.calls.length = 0;
    const response = await storageDownload({ storage, delivery: 'redirect' }).GET(new Request('http://app/f/x'), ctx('reports/résumé 2026.pdf'));
    expect(response.status).toBe(307);
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(response.headers.get('content-disposition')).toBeNull();
    expect(await response.text()).toBe('');
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://store.example/bucket/reports%2Fr%C3%A9sum%C3%A9%202026.pdf');
    const disposition = location.searchParams.get('response-content-disposition')!;
    expect(disposition).toBe(streamed.headers.get('content-disposition'));
    expect(parseContentDisposition(disposition)).toMatchObject({ type: 'attachment', filename: 'résumé 2026.pdf' });
    expect(location.searchParams.get('response-content-type')).toBe(streamed.headers.get('content-type'));
    expect(location.searchParams.get('response-cache-control')).toBe('private, no-cache, no-transform');
    expect(location.searchParams.get('expires')).toBe('60');
    // One stat, no open: the store sends the bytes.
    expect(storage.calls).toEqual(['stat reports/résumé 2026.pdf']);
  });

  it('redirects a Range request too: the store answers the range', async () => {
    const storage = new MemoryStorage(files);
    const response = await storageDownload({ storage, delivery: 'redirect' }).GET(
      new Request('http://app/f/x', { headers: { range: 'bytes=0-3' } }),
      ctx('notes.txt'),
    );
    expect(response.status).toBe(307);
    expect(new URL(response.headers.get('location')!).searchParams.get('response-content-type')).toBe('text/plain; charset=utf-8');
    expect(storage.calls.filter((call) => call.startsWith('open'))).toEqual([]);
  });

  it('answers HEAD itself, with the file headers and no redirect (a presigned GET is not valid for HEAD)', async () => {
    const storage = new MemoryStorage(files);
    const response = await storageDownload({ storage, delivery: 'redirect' }).HEAD(new Request('http://app/f/x', { method: 'HEAD' }), ctx('notes.txt'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('5');
    expect(response.headers.get('location')).toBeNull();
    expect(storage.minted).toEqual([]);
  });

  it('answers 304 from the validators it has instead of redirecting', async () => {
    const storage = new MemoryStorage(files);
    const response = await storageDownload({ storage, delivery: 'redirect' }).GET(
      new Request('http://app/f/x', { headers: { 'if-none-match': '"v-5"' } }),
      ctx('notes.txt'),
    );
    expect(response.status).toBe(304);
    expect(storage.minted).toEqual([]);
  });

  it('is 404 for a missing file, through the notFound hook, and mints nothing', async () => {
    const storage = new MemoryStorage(files);
    const plain = await storageDownload({ storage, delivery: 'redirect' }).GET(new Request('http://app/f/x'), ctx('nope.txt'));
    expect(plain.status).toBe(404);
    const hooked = await storageDownload({ storage, delivery: 'redirect', notFound: () => new Response('gone', { status: 410 }) }).GET(
      new Request('http://app/f/x'),
      ctx('nope.txt'),
    );
    expect(hooked.status).toBe(410);
    expect(storage.minted).toEqual([]);
  });

  it('runs authorize first: refused is 403 and the storage is never asked', async () => {
    const storage = new MemoryStorage(files);
    const response = await storageDownload({ storage, delivery: 'redirect', authorize: () => false }).GET(new Request('http://app/f/x'), ctx('notes.txt'));
    expect(response.status).toBe(403);
    expect(storage.calls).toEqual([]);
  });

  it('forces active content to an attachment on the redirect, as when streamed', async () => {
    const storage = new MemoryStorage(files);
    const response = await storageDownload({ storage, delivery: 'redirect', attachment: false }).GET(new Request('http://app/f/x'), ctx('page.html'));
    expect(response.status).toBe(307);
    const disposition = new URL(response.headers.get('location')!).searchParams.get('response-content-disposition');
    expect(parseContentDisposition(disposition!).type).toBe('attachment');
  });

  it('streams active content shown inline under the sandbox policy: a URL cannot carry its CSP', async () => {
    const storage = new MemoryStorage(files);
    const response = await storageDownload({ storage, delivery: 'redirect', attachment: false, activeContent: 'sandbox' }).GET(
      new Request('http://app/f/x'),
      ctx('page.html'),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toMatch(/sandbox/);
    expect(await response.text()).toBe(files['page.html']);
  });

  it('keeps streaming from a storage that cannot mint such a URL', async () => {
    const memory = new MemoryStorage(files);
    const storage: Storage = { stat: (n) => memory.stat(n), open: (n) => memory.open(n), save: () => memory.save(), delete: () => memory.delete(), exists: (n) => memory.exists(n), list: () => memory.list(), url: (n) => memory.url(n) };
    const response = await storageDownload({ storage, delivery: 'redirect' }).GET(new Request('http://app/f/x'), ctx('notes.txt'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello');
  });

  it('lets offload rules win over the redirect', async () => {
    const storage = new MemoryStorage(files);
    const response = await storageDownload({
      storage,
      delivery: 'redirect',
      offload: [{ backend: 'nginx', source: 'https://store.example/bucket/', destination: '/_store/' }],
    }).GET(new Request('http://app/f/x'), ctx('notes.txt'));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-accel-redirect')).toMatch(/^\/_store\//);
    expect(storage.minted).toEqual([]);
  });

  it('puts the route headers (a cookie) on the redirect, but not representation headers', async () => {
    const storage = new MemoryStorage(files);
    const response = await storageDownload({ storage, delivery: 'redirect', headers: { 'set-cookie': 'seen=1', 'x-trace': 'abc' } }).GET(
      new Request('http://app/f/x'),
      ctx('notes.txt'),
    );
    expect(response.status).toBe(307);
    expect(response.headers.get('set-cookie')).toBe('seen=1');
    expect(response.headers.get('x-trace')).toBe('abc');
    expect(response.headers.get('content-type')).toBeNull();
  });

  it('uses redirectExpiresIn, and refuses a lifetime a presigned URL cannot have', async () => {
    const storage = new MemoryStorage(files);
    await storageDownload({ storage, delivery: 'redirect', redirectExpiresIn: 15 }).GET(new Request('http://app/f/x'), ctx('notes.txt'));
    expect(storage.minted[0]?.options.expiresIn).toBe(15);
    expect(() => storageDownload({ storage, delivery: 'redirect', redirectExpiresIn: 0 })).toThrow(ConfigurationError);
    expect(() => storageDownload({ storage, delivery: 'redirect', redirectExpiresIn: 604_801 })).toThrow(ConfigurationError);
    expect(() => storageDownload({ storage, delivery: 'teleport' as 'redirect' })).toThrow(ConfigurationError);
  });
});

describe('objectDownload with delivery: redirect', () => {
  it('redirects under the row name and its checksum decides 304', async () => {
    const storage = new MemoryStorage(files);
    const row = { id: '1', file: 'notes.txt', name: 'Überblick.txt', sha256: 'abc123' };
    const handlers = objectDownload({ storage, delivery: 'redirect', getObject: () => row, fields: { basename: 'name', checksum: 'sha256' } });
    const response = await handlers.GET(new Request('http://app/d/1'), { params: { id: '1' } });
    expect(response.status).toBe(307);
    expect(storage.minted[0]?.name).toBe('notes.txt');
    expect(parseContentDisposition(storage.minted[0]!.options.contentDisposition!).filename).toBe('Überblick.txt');
    const revalidated = await handlers.GET(new Request('http://app/d/1', { headers: { 'if-none-match': '"abc123"' } }), { params: { id: '1' } });
    expect(revalidated.status).toBe(304);
  });
});

describe('sendFile with a storage', () => {
  it('serves the storage name, streamed or by redirect', async () => {
    const storage = new MemoryStorage(files);
    const streamed = await sendFile(new Request('http://app/x'), 'notes.txt', { storage });
    expect(await streamed.text()).toBe('hello');
    const redirected = await sendFile(new Request('http://app/x'), 'notes.txt', { storage, delivery: 'redirect', filename: 'n.txt' });
    expect(redirected.status).toBe(307);
    expect(parseContentDisposition(storage.minted[0]!.options.contentDisposition!).filename).toBe('n.txt');
    const missing = await sendFile(new Request('http://app/x'), 'missing.txt', { storage, delivery: 'redirect' });
    expect(missing.status).toBe(404);
  });
});
