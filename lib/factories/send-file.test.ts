import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../errors';
import { sendFile } from './send-file';

// sendFile against a real temporary directory:
//   <tmp>/media/a.txt, sub/b.txt, résumé.pdf, dir/, .env, sub/.hidden,
//     link-in -> a.txt, link-out -> ../outside/secret.txt, link-sibling -> ../media2/secret.txt
//   <tmp>/media2/secret.txt   (a sibling whose name starts with the root's name)
//   <tmp>/outside/secret.txt

const A = 'hello, world\n'; // 13 bytes
const B = 'nested file\n';
const SECRET = 'TOP-SECRET-BYTES';

let tmp: string;
let root: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'send-file-'));
  root = path.join(tmp, 'media');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await mkdir(path.join(root, 'dir'));
  await mkdir(path.join(tmp, 'media2'));
  await mkdir(path.join(tmp, 'outside'));
  await writeFile(path.join(root, 'a.txt'), A);
  await writeFile(path.join(root, 'sub', 'b.txt'), B);
  await writeFile(path.join(root, 'résumé.pdf'), '%PDF-1.4');
  await writeFile(path.join(root, '.env'), SECRET);
  await writeFile(path.join(root, 'sub', '.hidden'), SECRET);
  await writeFile(path.join(tmp, 'media2', 'secret.txt'), SECRET);
  await writeFile(path.join(tmp, 'outside', 'secret.txt'), SECRET);
  await symlink(path.join(root, 'a.txt'), path.join(root, 'link-in'));
  await symlink(path.join(tmp, 'outside', 'secret.txt'), path.join(root, 'link-out'));
  await symlink(path.join(tmp, 'media2', 'secret.txt'), path.join(root, 'link-sibling'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(tmp, { recursive: true, force: true });
});

/** Each test ends like a client that leaves: the engine then releases any body left unread. */
let client = new AbortController();
afterEach(() => {
  client.abort();
  client = new AbortController();
});

function request(init: RequestInit = {}) {
  return new Request('http://x/invoice', { signal: client.signal, ...init });
}

async function fileEtag(file: string) {
  const stats = await stat(file);
  return `"${Math.floor(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}"`;
}

describe('sendFile(request, file, options)', () => {
  describe('without a root', () => {
    it('answers 200 with the bytes and every header of the file', async () => {
      const file = path.join(root, 'a.txt');
      const response = await sendFile(request(), file);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(A);
      expect(response.headers.get('content-length')).toBe('13');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="?a\.txt"?$/);
      expect(response.headers.get('etag')).toBe(await fileEtag(file));
      expect(response.headers.get('last-modified')).toBe((await stat(file)).mtime.toUTCString());
      expect(response.headers.get('accept-ranges')).toBe('bytes');
    });

    it('names the download after the basename, in the UTF-8 form when it is not ASCII', async () => {
      const response = await sendFile(request(), path.join(root, 'résumé.pdf'));
      expect(response.headers.get('content-type')).toBe('application/pdf');
      expect(response.headers.get('content-disposition')).toContain("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
    });

    it('uses the filename, contentType, attachment and headers options', async () => {
      const response = await sendFile(request(), path.join(root, 'a.txt'), {
        filename: 'invoice-42.txt',
        contentType: 'text/markdown',
        attachment: false,
        headers: { 'x-invoice': '42' },
      });
      expect(response.headers.get('content-disposition')).toMatch(/^inline; filename="?invoice-42\.txt"?$/);
      expect(response.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(response.headers.get('x-invoice')).toBe('42');
    });

    it('resolves a relative file against the working directory', async () => {
      const relative = path.relative(process.cwd(), path.join(root, 'sub', 'b.txt'));
      expect(await (await sendFile(request(), relative)).text()).toBe(B);
    });

    it('serves a file the caller chose, even a dotfile (the path is trusted)', async () => {
      expect(await (await sendFile(request(), path.join(root, '.env'))).text()).toBe(SECRET);
    });

    it.each([
      ['a missing file', 'missing.txt'],
      ['a file in a missing folder', 'nope/missing.txt'],
      ['a directory', 'dir'],
      ['a name through a file', 'a.txt/x'],
    ])('answers 404 for %s, never 500', async (_label, name) => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const response = await sendFile(request(), path.join(root, name));
      expect(response.status).toBe(404);
      expect(error).not.toHaveBeenCalled();
    });

    it('answers 405 with Allow to a method other than GET and HEAD', async () => {
      const response = await sendFile(request({ method: 'POST' }), path.join(root, 'a.txt'));
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    });
  });

  describe('HEAD', () => {
    it('answers the headers of GET with no body', async () => {
      const file = path.join(root, 'a.txt');
      const head = await sendFile(request({ method: 'HEAD' }), file);
      const get = await sendFile(request(), file);
      expect(head.status).toBe(200);
      expect(head.body).toBeNull();
      expect(Object.fromEntries(head.headers)).toEqual(Object.fromEntries(get.headers));
      await get.arrayBuffer();
    });
  });

  describe('conditional and range requests', () => {
    it('answers 304 to If-None-Match with the etag of the file', async () => {
      const file = path.join(root, 'a.txt');
      const response = await sendFile(request({ headers: { 'if-none-match': await fileEtag(file) } }), file);
      expect(response.status).toBe(304);
      expect(await response.text()).toBe('');
    });

    it('answers 206 with the bytes of a Range', async () => {
      const response = await sendFile(request({ headers: { range: 'bytes=7-11' } }), path.join(root, 'a.txt'));
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe('bytes 7-11/13');
      expect(await response.text()).toBe('world');
    });

    it('answers 416 for a range past the end', async () => {
      const response = await sendFile(request({ headers: { range: 'bytes=100-' } }), path.join(root, 'a.txt'));
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */13');
    });
  });

  describe('with a root', () => {
    it('serves a name relative to the root', async () => {
      const response = await sendFile(request(), 'sub/b.txt', { root });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(B);
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="?b\.txt"?$/);
    });

    it('serves an absolute path that lies under the root', async () => {
      expect(await (await sendFile(request(), path.join(root, 'a.txt'), { root })).text()).toBe(A);
    });

    it('serves a climb that comes back inside the root', async () => {
      expect(await (await sendFile(request(), 'sub/../a.txt', { root })).text()).toBe(A);
    });

    it('follows a symlink that stays inside the root', async () => {
      expect(await (await sendFile(request(), 'link-in', { root })).text()).toBe(A);
    });

    it.each([
      ['a climb out of the root', '../outside/secret.txt'],
      ['a deeper climb out', 'sub/../../outside/secret.txt'],
      ['an absolute path outside the root', () => path.join(tmp, 'outside', 'secret.txt')],
      ['a sibling folder whose name starts with the root name', '../media2/secret.txt'],
      ['a symlink out of the root', 'link-out'],
      ['a symlink into the sibling folder', 'link-sibling'],
      ['the root itself', '.'],
      ['a dotfile', '.env'],
      ['a dotfile in a sub folder', 'sub/.hidden'],
    ])('answers 404 for %s and sends nothing of it', async (_label, name) => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const file = typeof name === 'function' ? name() : name;
      const response = await sendFile(request(), file, { root });
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain(SECRET);
      expect(error).not.toHaveBeenCalled();
    });

    it('serves dotfiles under the root with dotfiles: true', async () => {
      expect(await (await sendFile(request(), '.env', { root, dotfiles: true })).text()).toBe(SECRET);
    });

    it('answers 404 when the root does not exist', async () => {
      expect((await sendFile(request(), 'a.txt', { root: path.join(tmp, 'nowhere') })).status).toBe(404);
    });

    it('confines a root reached through a symlink', async () => {
      await symlink(root, path.join(tmp, 'media-link'));
      const linked = path.join(tmp, 'media-link');
      expect(await (await sendFile(request(), 'a.txt', { root: linked })).text()).toBe(A);
      expect((await sendFile(request(), 'link-out', { root: linked })).status).toBe(404);
    });

    // The point of `root` is to confine a name the route took from the request; such a name can
    // hold any character, and a bad one is the client's error, not a server failure.
    it('answers 400 or 404, not 500, for a name with a NUL byte', async () => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const response = await sendFile(request(), 'a.txt\u0000.png', { root });
      expect([400, 404]).toContain(response.status);
      expect(error).not.toHaveBeenCalled();
    });
  });

  describe('hooks', () => {
    it('passes the params option to authorize and notFound', async () => {
      const authorize = vi.fn(() => true);
      const notFound = vi.fn(() => new Response('no invoice', { status: 404 }));
      const params = { id: '42' };
      const response = await sendFile(request(), path.join(root, 'missing.pdf'), { params, authorize, notFound });
      expect(await response.text()).toBe('no invoice');
      expect(authorize).toHaveBeenCalledWith(expect.any(Request), params);
      expect(notFound).toHaveBeenCalledWith(expect.any(Request), params);
    });

    it('answers 403 when authorize says no, without touching the file', async () => {
      const response = await sendFile(request(), path.join(root, '.env'), { authorize: () => false });
      expect(response.status).toBe(403);
      expect(await response.text()).not.toContain(SECRET);
    });
  });

  it('throws ConfigurationError for options that cannot work', () => {
    expect(() => sendFile(request(), path.join(root, 'a.txt'), { maxRanges: -1 })).toThrow(ConfigurationError);
  });
});
