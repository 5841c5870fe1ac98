import { stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RouteParams } from '../engine/options';
import { ConfigurationError, NotFoundError } from '../errors';
import { FileSystemStorage } from '../storage/file-system-storage';
import { type OpenOptions, type Storage } from '../storage/storage';
import { storageDownload, type StorageDownloadOptions } from './storage-download';
import { routeContext as context, temporaryTree, type TemporaryTree } from '../helpers.test-support';

// storageDownload over a FileSystemStorage on a real temporary directory:
//   <tmp>/media/a.txt, sub/b.txt, résumé.pdf, with space.txt, dir/, .env, link-out -> ../outside/secret.txt
//   <tmp>/outside/secret.txt

const A = 'hello, world\n'; // 13 bytes
const B = 'nested file\n';
const SECRET = 'TOP-SECRET-BYTES';

let tmp: string;
let root: string;
let storage: FileSystemStorage;

let tree: TemporaryTree;

beforeEach(() => {
  tree = temporaryTree('storage-download', {
    'media/sub': { dir: true },
    'media/dir': { dir: true },
    'outside': { dir: true },
    'media/a.txt': A,
    'media/sub/b.txt': B,
    'media/résumé.pdf': '%PDF-1.4',
    'media/with space.txt': 'spaced',
    'media/.env': SECRET,
    'outside/secret.txt': SECRET,
    'media/link-out': { symlink: 'outside/secret.txt', inTree: true },
  });
  tmp = tree.base;
  root = tree.at('media');
  storage = new FileSystemStorage(root);
});

afterEach(() => {
  vi.restoreAllMocks();
  tree.remove();
});

function request(segments: readonly string[], init: RequestInit = {}) {
  return new Request(`http://x/api/storage/${segments.map(encodeURIComponent).join('/')}`, init);
}

/** GET (or another method) through a fresh storageDownload, as Next would call it. */
function get(segments: string[], headers: HeadersInit = {}, options: Partial<StorageDownloadOptions> = {}) {
  return storageDownload({ storage, ...options }).GET(request(segments, { headers }), context({ path: segments }));
}

async function fileEtag(file: string) {
  const stats = await stat(file);
  return `"${Math.floor(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}"`;
}

/** Wraps a storage so that its calls are counted, and `open` can be intercepted. */
function spied(inner: Storage, beforeOpen?: (name: string, options: OpenOptions | undefined, call: number) => Promise<void>) {
  const calls = { stat: 0, open: 0 };
  const wrapped: Storage = {
    stat: (name) => {
      calls.stat++;
      return inner.stat(name);
    },
    open: async (name, options) => {
      calls.open++;
      await beforeOpen?.(name, options, calls.open);
      return inner.open(name, options);
    },
    save: (name, content, options) => inner.save(name, content, options),
    delete: (name) => inner.delete(name),
    exists: (name) => inner.exists(name),
    list: (prefix) => inner.list(prefix),
  };
  return { storage: wrapped, calls };
}

describe('storageDownload', () => {
  describe('serving a stored file', () => {
    it('answers 200 with the bytes and every header', async () => {
      const file = path.join(root, 'a.txt');
      const response = await get(['a.txt']);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(A);
      expect(response.headers.get('content-length')).toBe('13');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="?a\.txt"?$/);
      expect(response.headers.get('etag')).toBe(await fileEtag(file));
      expect(response.headers.get('last-modified')).toBe((await stat(file)).mtime.toUTCString());
      expect(response.headers.get('accept-ranges')).toBe('bytes');
    });

    it('serves a nested file and names it after its last segment', async () => {
      const response = await get(['sub', 'b.txt']);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(B);
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="?b\.txt"?$/);
    });

    it('serves non-ASCII names with the UTF-8 filename* form', async () => {
      const response = await get(['résumé.pdf']);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('%PDF-1.4');
      expect(response.headers.get('content-type')).toBe('application/pdf');
      expect(response.headers.get('content-disposition')).toContain("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
    });

    it('serves names with spaces', async () => {
      const response = await get(['with space.txt']);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('spaced');
      expect(response.headers.get('content-disposition')).toContain('with space.txt');
    });

    it('uses the storage content type when it has one', async () => {
      const typed: Storage = { ...spied(storage).storage, stat: async (name) => ({ ...(await storage.stat(name)), contentType: 'text/csv' }) };
      const response = await get(['a.txt'], {}, { storage: typed });
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    });

    it('takes the name from another route parameter with param', async () => {
      const { GET } = storageDownload({ storage, param: 'file' });
      const response = await GET(request(['sub', 'b.txt']), context({ file: ['sub', 'b.txt'] }));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(B);
    });
  });

  describe('HEAD', () => {
    it('answers the headers of GET without opening the file', async () => {
      const { storage: counted, calls } = spied(storage);
      const { HEAD } = storageDownload({ storage: counted });
      const response = await HEAD(request(['a.txt'], { method: 'HEAD' }), context({ path: ['a.txt'] }));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('13');
      expect(response.headers.get('etag')).toBe(await fileEtag(path.join(root, 'a.txt')));
      expect(await response.text()).toBe('');
      expect(calls.stat).toBe(1);
      expect(calls.open).toBe(0);
    });

    it('answers 404 for a missing file', async () => {
      const { HEAD } = storageDownload({ storage });
      const response = await HEAD(request(['missing.txt'], { method: 'HEAD' }), context({ path: ['missing.txt'] }));
      expect(response.status).toBe(404);
    });
  });

  describe('a file that is not there', () => {
    it.each([
      ['a missing file', ['missing.txt']],
      ['a file in a missing folder', ['nope', 'missing.txt']],
      ['a directory', ['dir']],
      ['a name through a file', ['a.txt', 'x']],
      ['a symlink out of the root', ['link-out']],
      ['a dotfile', ['.env']],
    ])('answers 404 for %s, never 500', async (_label, segments) => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const response = await get(segments);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain(SECRET);
      expect(error).not.toHaveBeenCalled();
    });

    it('answers 404 when the storage root itself is missing', async () => {
      const response = await get(['a.txt'], {}, { storage: new FileSystemStorage(path.join(tmp, 'nowhere')) });
      expect(response.status).toBe(404);
    });

    it('answers 500, naming the mistake, for a route without the parameter (never a silent 404)', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const response = await storageDownload({ storage }).GET(request([]), context({}));
      expect(response.status).toBe(500);
      expect(await response.text()).toContain('the route has no [...path] segment');
      log.mockRestore();
    });

    it('answers 404 when the file is deleted between its stat and its open', async () => {
      const { storage: racing } = spied(storage, async (name) => {
        await unlink(path.join(root, name));
      });
      const response = await get(['a.txt'], {}, { storage: racing });
      expect(response.status).toBe(404);
    });

    it('answers 404 for whatever NotFoundError a custom storage throws', async () => {
      const custom: Storage = { ...spied(storage).storage, stat: (name) => Promise.reject(new NotFoundError(name)) };
      expect((await get(['a.txt'], {}, { storage: custom })).status).toBe(404);
    });

    it('calls notFound for a missing file', async () => {
      const response = await get(['missing.txt'], {}, { notFound: () => new Response('custom', { status: 404 }) });
      expect(response.status).toBe(404);
      expect(await response.text()).toBe('custom');
    });

    it('answers 404 for a symlink out of the root when the storage allows dotfiles', async () => {
      const response = await get(['link-out'], {}, { storage: new FileSystemStorage(root, { dotfiles: true }) });
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain(SECRET);
    });

    it('serves dotfiles when the storage allows them', async () => {
      const response = await get(['.env'], {}, { storage: new FileSystemStorage(root, { dotfiles: true }) });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(SECRET);
    });
  });

  describe('a name that is refused', () => {
    it.each([
      ['a decoded %2f inside a segment', ['a/b']],
      ['a decoded ..%2f climb', ['../outside/secret.txt']],
      ['..', ['..', 'outside', 'secret.txt']],
      ['.. after a folder', ['sub', '..', '..', 'outside', 'secret.txt']],
      ['.', ['.', 'a.txt']],
      ['an empty segment', ['sub', '', 'b.txt']],
      ['a backslash', ['sub\\b.txt']],
      ['NUL', ['a\u0000.txt']],
      ['a control character', ['a\r\n.txt']],
    ])('answers 400 for %s', async (_label, segments) => {
      const { storage: counted, calls } = spied(storage);
      const response = await get(segments, {}, { storage: counted });
      expect(response.status).toBe(400);
      expect(calls.open).toBe(0);
    });

    it('answers 400 for a refused name given as a string by the route', async () => {
      const { GET } = storageDownload({ storage, param: 'name' });
      const response = await GET(request(['x']), context({ name: '../outside/secret.txt' }));
      expect(response.status).toBe(400);
    });
  });

  describe('with a Range header', () => {
    it('answers 206 with exactly the bytes asked for', async () => {
      const response = await get(['a.txt'], { range: 'bytes=7-11' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe('bytes 7-11/13');
      expect(response.headers.get('content-length')).toBe('5');
      expect(await response.text()).toBe('world');
    });

    it('answers 206 for a suffix range', async () => {
      const response = await get(['a.txt'], { range: 'bytes=-6' });
      expect(response.status).toBe(206);
      expect(await response.text()).toBe('world\n');
    });

    it('passes the range and the stat etag to the storage', async () => {
      const opened: Array<OpenOptions | undefined> = [];
      const { storage: recording } = spied(storage, async (_name, options) => {
        opened.push(options);
      });
      await (await get(['a.txt'], { range: 'bytes=0-4' }, { storage: recording })).text();
      expect(opened).toEqual([{ range: { start: 0, end: 4 }, ifMatch: await fileEtag(path.join(root, 'a.txt')) }]);
    });

    it('answers 416 with bytes */size for a range past the end', async () => {
      const response = await get(['a.txt'], { range: 'bytes=100-200' });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */13');
    });

    it('answers 200 with the whole file when If-Range names another version', async () => {
      const response = await get(['a.txt'], { range: 'bytes=0-4', 'if-range': '"stale"' });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(A);
    });
  });

  describe('with conditional headers', () => {
    it('answers 304 to If-None-Match with the current ETag, without opening the file', async () => {
      const { storage: counted, calls } = spied(storage);
      const etag = await fileEtag(path.join(root, 'a.txt'));
      const response = await get(['a.txt'], { 'if-none-match': etag }, { storage: counted });
      expect(response.status).toBe(304);
      expect(response.headers.get('etag')).toBe(etag);
      expect(await response.text()).toBe('');
      expect(calls.open).toBe(0);
    });

    it('answers 200 to If-None-Match with an old ETag', async () => {
      const response = await get(['a.txt'], { 'if-none-match': '"old"' });
      expect(response.status).toBe(200);
    });

    it('answers 412 to If-Match with another ETag', async () => {
      const response = await get(['a.txt'], { 'if-match': '"other"' });
      expect(response.status).toBe(412);
    });
  });

  describe('when the file is replaced between its stat and its open', () => {
    it('looks it up again and sends the new file with headers that describe it', async () => {
      const file = path.join(root, 'a.txt');
      const replacement = 'a longer replacement text\n';
      const { storage: racing, calls } = spied(storage, async (_name, _options, call) => {
        if (call === 1) await writeFile(file, replacement);
      });
      const response = await get(['a.txt'], {}, { storage: racing });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(replacement);
      expect(response.headers.get('content-length')).toBe(String(replacement.length));
      expect(response.headers.get('etag')).toBe(await fileEtag(file));
      expect(calls.stat).toBe(2);
      expect(calls.open).toBe(2);
    });

    it('serves a Range of the new file, not of the old one', async () => {
      const file = path.join(root, 'a.txt');
      const { storage: racing } = spied(storage, async (_name, _options, call) => {
        if (call === 1) await storage.save('a.txt', 'HELLO, there, WORLD\n', { overwrite: true });
      });
      const response = await get(['a.txt'], { range: 'bytes=0-4' }, { storage: racing });
      expect(response.status).toBe(206);
      expect(await response.text()).toBe('HELLO');
      expect(response.headers.get('content-range')).toBe(`bytes 0-4/${(await stat(file)).size}`);
    });
  });

  describe('when a storage sends other bytes than its stat announced', () => {
    it('breaks the body of a file that comes out shorter than its size, rather than ending it cleanly', async () => {
      const short: Storage = {
        ...spied(storage).storage,
        open: async () =>
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('hel'));
              controller.close();
            },
          }),
      };
      const response = await get(['a.txt'], {}, { storage: short });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('13');
      // Counted by the engine, a 3-byte body under Content-Length: 13 is a stream error.
      const received = await response.arrayBuffer().then(
        (body) => `ended cleanly after ${body.byteLength} bytes`,
        () => 'stream error',
      );
      expect(received).toBe('stream error');
    });
  });

  describe('with a fixed path', () => {
    it('serves that file whatever the route parameters say', async () => {
      const { GET } = storageDownload({ storage, path: 'sub/b.txt' });
      const response = await GET(request(['a.txt']), context({ path: ['a.txt'] }));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(B);
      expect(response.headers.get('content-disposition')).toMatch(/filename="?b\.txt"?$/);
    });

    it('serves it on a route without parameters', async () => {
      const { GET } = storageDownload({ storage, path: 'a.txt' });
      expect(await (await GET(new Request('http://x/report'))).text()).toBe(A);
    });

    it('answers 404 when that file is missing', async () => {
      const { GET } = storageDownload({ storage, path: 'missing.txt' });
      expect((await GET(new Request('http://x/report'))).status).toBe(404);
    });
  });

  describe('with a path function', () => {
    it('serves the name it returns as a string', async () => {
      const which = vi.fn((_request: Request, params: RouteParams) => `sub/${String(params.file)}`);
      const { GET } = storageDownload({ storage, path: which });
      const response = await GET(request(['x']), context({ file: 'b.txt' }));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(B);
      expect(which).toHaveBeenCalledTimes(1);
      expect(which.mock.calls[0]?.[0]).toBeInstanceOf(Request);
    });

    it('serves the name it returns as segments', async () => {
      const { GET } = storageDownload({ storage, path: async () => ['sub', 'b.txt'] });
      expect(await (await GET(request(['x']), context({}))).text()).toBe(B);
    });

    it('reads the request', async () => {
      const { GET } = storageDownload({ storage, path: (req) => new URL(req.url).searchParams.get('name') ?? undefined });
      const response = await GET(new Request('http://x/download?name=r%C3%A9sum%C3%A9.pdf'), context({}));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('%PDF-1.4');
    });

    it('answers 404 when it returns nothing', async () => {
      const { GET } = storageDownload({ storage, path: () => undefined });
      expect((await GET(request(['x']), context({}))).status).toBe(404);
    });

    it('answers 400 when it returns a segment with a / in it', async () => {
      const { GET } = storageDownload({ storage, path: () => ['sub/b.txt'] });
      expect((await GET(request(['x']), context({}))).status).toBe(400);
    });

    it('answers 400 when it returns a climbing string', async () => {
      const { GET } = storageDownload({ storage, path: () => '../outside/secret.txt' });
      expect((await GET(request(['x']), context({}))).status).toBe(400);
    });

    it('answers the status of an HttpError it throws', async () => {
      const { GET } = storageDownload({
        storage,
        path: () => {
          throw new NotFoundError('gone');
        },
      });
      expect((await GET(request(['x']), context({}))).status).toBe(404);
    });
  });

  describe('other methods', () => {
    it('answers 405 with Allow for POST', async () => {
      const { POST } = storageDownload({ storage });
      const response = await POST(request(['a.txt'], { method: 'POST' }), context({ path: ['a.txt'] }));
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toContain('GET');
    });
  });

  describe('with a configuration that cannot work', () => {
    it('throws a ConfigurationError at creation when storage is missing', () => {
      expect(() => storageDownload({} as StorageDownloadOptions)).toThrow(ConfigurationError);
    });

    it.each([
      ['a string', '/var/media'],
      ['an empty object', {}],
      ['null', null],
      ['an object without open', { stat: async () => ({ name: 'a', size: 0 }) }],
    ])('throws a ConfigurationError at creation when storage is %s', (_label, value) => {
      expect(() => storageDownload({ storage: value as unknown as Storage })).toThrow(ConfigurationError);
    });

    it('throws a ConfigurationError at creation when path is neither a name nor a function', () => {
      expect(() => storageDownload({ storage, path: 42 as unknown as string })).toThrow(ConfigurationError);
    });

    it('throws a ConfigurationError at creation for a bad shared option', () => {
      expect(() => storageDownload({ storage, maxRanges: 0 })).toThrow(ConfigurationError);
    });
  });
});
