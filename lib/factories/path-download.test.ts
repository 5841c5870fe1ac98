import { rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../errors';
import { pathDownload, type PathDownloadOptions } from './path-download';
import { responseText as text, pathContext as context, temporaryTree, type TemporaryTree } from '../helpers.test-support';

// pathDownload against a real temporary directory:
//   <tmp>/root/a.txt, sub/b.txt, dir/, .env, .git/config, sub/.hidden, résumé.pdf,
//   link-in -> a.txt, link-out -> ../outside/secret.txt, link-dir-out -> ../outside,
//   link-to-dotfile -> .env
//   <tmp>/outside/secret.txt

const A = 'hello, world\n'; // 13 bytes
const B = 'nested file\n';
const SECRET = 'TOP-SECRET-BYTES';

let tmp: string;
let root: string;

let tree: TemporaryTree;

beforeEach(() => {
  tree = temporaryTree('path-download', {
    'root/sub': { dir: true },
    'root/dir': { dir: true },
    'root/.git': { dir: true },
    'outside': { dir: true },
    'root/a.txt': A,
    'root/sub/b.txt': B,
    'root/sub/.hidden': SECRET,
    'root/.env': SECRET,
    'root/.git/config': SECRET,
    'root/résumé.pdf': '%PDF-1.4',
    'outside/secret.txt': SECRET,
    'root/link-in': { symlink: 'root/a.txt', inTree: true },
    'root/link-out': { symlink: 'outside/secret.txt', inTree: true },
    'root/link-dir-out': { symlink: 'outside', inTree: true },
    'root/link-to-dotfile': { symlink: 'root/.env', inTree: true },
  });
  tmp = tree.base;
  root = tree.at('root');
});

afterEach(() => {
  vi.restoreAllMocks();
  tree.remove();
});

/** Each test ends like a client that leaves: the engine then releases any body left unread. */
let client = new AbortController();
afterEach(() => {
  client.abort();
  client = new AbortController();
});

function get(options: PathDownloadOptions, segments: string[], headers: HeadersInit = {}) {
  const request = new Request(`http://x/api/path/${segments.join('/')}`, { headers, signal: client.signal });
  return pathDownload(options).GET(request, context(segments));
}

async function fileEtag(file: string) {
  const stats = await stat(file);
  return `"${Math.floor(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}"`;
}

describe('pathDownload', () => {
  describe('serving a file under the root', () => {
    it('answers 200 with the bytes and every header', async () => {
      const file = path.join(root, 'a.txt');
      const response = await get({ root }, ['a.txt']);
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(A);
      expect(response.headers.get('content-length')).toBe('13');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="?a\.txt"?$/);
      expect(response.headers.get('etag')).toBe(await fileEtag(file));
      expect(response.headers.get('last-modified')).toBe((await stat(file)).mtime.toUTCString());
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      expect(response.headers.get('cache-control')).toBe('private, no-cache, no-transform');
    });

    it('serves a file in a subdirectory', async () => {
      const response = await get({ root }, ['sub', 'b.txt']);
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(B);
    });

    it('serves through a symlink that stays inside the root', async () => {
      const response = await get({ root }, ['link-in']);
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(A);
    });

    it('serves from a root that is itself a symlink', async () => {
      const linkedRoot = path.join(tmp, 'linked-root');
      await symlink(root, linkedRoot);
      const response = await get({ root: linkedRoot }, ['a.txt']);
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(A);
    });

    it('serves an empty file with Content-Length: 0', async () => {
      await writeFile(path.join(root, 'empty.txt'), '');
      const response = await get({ root }, ['empty.txt']);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('0');
      expect(await text(response)).toBe('');
    });

    it('reads a file larger than the chunk size in full', async () => {
      const big = Buffer.alloc(100_000, 'x');
      big.write('END', big.length - 3);
      await writeFile(path.join(root, 'big.bin'), big);
      const response = await get({ root, chunkSize: 4096 }, ['big.bin']);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(big);
    });

    it('gives a non-ASCII name an ASCII fallback and filename*', async () => {
      const response = await get({ root }, ['résumé.pdf']);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/pdf');
      expect(response.headers.get('content-disposition')).toContain("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
    });

    it('changes the ETag when the file changes', async () => {
      const first = (await get({ root }, ['a.txt'])).headers.get('etag');
      await writeFile(path.join(root, 'a.txt'), 'changed!');
      await utimes(path.join(root, 'a.txt'), new Date(), new Date(Date.now() + 5000));
      const second = (await get({ root }, ['a.txt'])).headers.get('etag');
      expect(second).not.toBe(first);
      expect(second).toBe(await fileEtag(path.join(root, 'a.txt')));
    });

    it('answers 304 to its own ETag and Last-Modified', async () => {
      const first = await get({ root }, ['a.txt']);
      const etag = first.headers.get('etag')!;
      const lastModified = first.headers.get('last-modified')!;
      expect((await get({ root }, ['a.txt'], { 'if-none-match': etag })).status).toBe(304);
      expect((await get({ root }, ['a.txt'], { 'if-modified-since': lastModified })).status).toBe(304);
      expect((await get({ root }, ['a.txt'], { 'if-match': '"other"' })).status).toBe(412);
    });

    it('answers a Range with the exact bytes, across small chunks', async () => {
      const response = await get({ root, chunkSize: 2 }, ['a.txt'], { range: 'bytes=7-11' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe('bytes 7-11/13');
      expect(await text(response)).toBe('world');
    });

    it('answers a Range with If-Range of its own ETag', async () => {
      const etag = (await get({ root }, ['a.txt'])).headers.get('etag')!;
      const response = await get({ root }, ['a.txt'], { range: 'bytes=0-4', 'if-range': etag });
      expect(response.status).toBe(206);
      expect(await text(response)).toBe('hello');
    });

    it('answers several ranges as multipart/byteranges', async () => {
      const response = await get({ root }, ['a.txt'], { range: 'bytes=0-4,7-11' });
      expect(response.status).toBe(206);
      const body = await text(response);
      expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
      expect(body).toMatch(/Content-Range: bytes 0-4\/13\r\n\r\nhello\r\n/);
      expect(body).toMatch(/Content-Range: bytes 7-11\/13\r\n\r\nworld\r\n/);
    });

    it('answers 416 for a range past the end', async () => {
      const response = await get({ root }, ['a.txt'], { range: 'bytes=13-' });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */13');
    });

    it('answers HEAD with the headers of GET and no body', async () => {
      const handlers = pathDownload({ root });
      const viaGet = await handlers.GET(new Request('http://x/a.txt'), context(['a.txt']));
      await viaGet.arrayBuffer();
      const viaHead = await handlers.HEAD(new Request('http://x/a.txt', { method: 'HEAD' }), context(['a.txt']));
      expect([...viaHead.headers]).toEqual([...viaGet.headers]);
      expect(await text(viaHead)).toBe('');
    });

    it('reads the requested path from another route parameter', async () => {
      const response = await pathDownload({ root, param: 'file' }).GET(new Request('http://x/'), { params: Promise.resolve({ file: ['sub', 'b.txt'] }) });
      expect(await text(response)).toBe(B);
    });

    it('reads the requested path from a path function', async () => {
      const response = await pathDownload({ root, path: (request) => new URL(request.url).searchParams.get('f') ?? undefined }).GET(new Request('http://x/?f=sub/b.txt'));
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(B);
    });

    it('checks what a path function returns like a requested path', async () => {
      const response = await pathDownload({ root, path: () => '../outside/secret.txt' }).GET(new Request('http://x/'));
      expect(response.status).toBe(400);
      expect(await text(response)).not.toContain(SECRET);
    });

    it('serves dotfiles when dotfiles is true', async () => {
      const response = await get({ root, dotfiles: true }, ['.env']);
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(SECRET);
    });
  });

  describe('with a fixed path', () => {
    it('serves an absolute path without a root or a route parameter', async () => {
      const response = await pathDownload({ path: path.join(root, 'a.txt') }).GET(new Request('http://x/download'));
      expect(response.status).toBe(200);
      expect(await text(response)).toBe(A);
      expect(response.headers.get('content-disposition')).toMatch(/filename="?a\.txt"?/);
    });

    it('serves a path relative to the root, whatever the route parameters say', async () => {
      const response = await pathDownload({ root, path: 'sub/b.txt' }).GET(new Request('http://x/'), context(['a.txt']));
      expect(await text(response)).toBe(B);
    });

    it('answers 404 when the file has gone since the route was created', async () => {
      const handlers = pathDownload({ path: path.join(root, 'a.txt') });
      await rm(path.join(root, 'a.txt'));
      expect((await handlers.GET(new Request('http://x/'))).status).toBe(404);
    });
  });

  describe('with a requested path that leaves the root or is hidden', () => {
    // Segments as Next passes them: already percent-decoded, so `a%2f..` arrives as `a/..`.
    const rows: [string, string[], number][] = [
      ['refuses .. segments', ['..', 'outside', 'secret.txt'], 400],
      ['refuses .. after a real directory', ['sub', '..', '..', 'outside', 'secret.txt'], 400],
      ['refuses a decoded %2f inside a segment', ['sub/../../outside/secret.txt'], 400],
      ['refuses a decoded %2f that looks harmless', ['sub/b.txt'], 400],
      ['refuses a decoded %5c (backslash)', ['sub\\..\\..\\outside\\secret.txt'], 400],
      ['refuses an absolute path in a segment', ['/etc/passwd'], 400],
      ['refuses a NUL byte', ['a.txt\0.png'], 400],
      ['refuses a control character', ['a.txt\n'], 400],
      ['refuses a . segment', ['.', 'a.txt'], 400],
      ['refuses an empty segment', ['sub', '', 'b.txt'], 400],
      ['hides a dotfile', ['.env'], 404],
      ['hides a file in a dot directory', ['.git', 'config'], 404],
      ['hides a dotfile in a subdirectory', ['sub', '.hidden'], 404],
      ['answers 404 for a symlink that leads outside the root', ['link-out'], 404],
      ['answers 404 through a symlinked directory that leads outside the root', ['link-dir-out', 'secret.txt'], 404],
      ['answers 404 for a symlink that leads to a dotfile', ['link-to-dotfile'], 404],
      ['answers 404 for a directory', ['dir'], 404],
      ['answers 404 for the root itself', [], 404],
      ['answers 404 for a missing file', ['missing.txt'], 404],
      ['answers 404 below a file (ENOTDIR)', ['a.txt', 'x'], 404],
      ['answers 404 for a name too long (ENAMETOOLONG)', ['x'.repeat(300)], 404],
    ];
    it.each(rows)('%s', async (_label, segments, status) => {
      const response = await get({ root }, segments);
      expect(response.status).toBe(status);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await text(response)).not.toContain(SECRET);
    });

    it('never opens anything for HEAD of a traversal either', async () => {
      const response = await pathDownload({ root }).HEAD(new Request('http://x/', { method: 'HEAD' }), context(['..', 'outside', 'secret.txt']));
      expect(response.status).toBe(400);
      expect(response.headers.get('content-length')).not.toBe(String(SECRET.length));
    });

    it('uses the notFound hook for a missing file', async () => {
      const response = await get({ root, notFound: () => new Response('custom missing', { status: 404 }) }, ['missing.txt']);
      expect(response.status).toBe(404);
      expect(await text(response)).toBe('custom missing');
    });
  });

  describe('with a configuration that cannot work', () => {
    const rows: [string, PathDownloadOptions][] = [
      ['neither root nor fixed path', {}],
      ['a path function without a root', { path: () => 'a.txt' }],
      ['an empty root', { root: '' }],
      ['maxRanges of 0', { root: '/tmp', maxRanges: 0 }],
      ['a fractional maxRanges', { root: '/tmp', maxRanges: 2.5 }],
      ['chunkSize of 0', { root: '/tmp', chunkSize: 0 }],
      ['a negative chunkSize', { root: '/tmp', chunkSize: -1 }],
      ['a fractional chunkSize', { root: '/tmp', chunkSize: 1.5 }],
      ['an authorize that is not a function', { root: '/tmp', authorize: 'yes' as unknown as PathDownloadOptions['authorize'] }],
    ];
    it.each(rows)('throws a ConfigurationError at creation for %s', (_label, options) => {
      expect(() => pathDownload(options)).toThrow(ConfigurationError);
      expect(() => pathDownload(options)).toThrow(/^pathDownload: /);
    });
  });
});
