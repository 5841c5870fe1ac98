import { mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors';
import type { RouteParams } from './options';
import { pathDownload } from '../factories/path-download';
import { sendFile } from '../factories/send-file';
import { storageDownload, type StorageDownloadOptions } from '../factories/storage-download';
import { virtualDownload } from '../factories/virtual-download';
import { enableHandoff, LENGTH_HEADER, verifiedLength } from './handoff';
import { signed } from '../signing/signed';
import { signUrl } from '../signing/sign-url';
import { FileSystemStorage } from '../storage/file-system-storage';
import { assertOffloadResponse } from '../testing/assert-offload-response';
import { configureOffload } from '../offload/configure-offload';
import type { OffloadRule } from '../offload/rules';

// The engine's offload step, in-process, through the real factories over a temporary folder:
//   <tmp>/media/a.txt, résumé été.txt, 中文报告.txt, report 2026.csv, sub/b.txt,
//                link-in -> a.txt, link-out -> ../outside/secret.txt
//   <tmp>/media2/x.txt            (a sibling whose name starts with "media")
//   <tmp>/outside/secret.txt

const A = 'hello, world\n';
const SECRET = 'TOP-SECRET-BYTES';
const SIGNING_SECRET = 'x'.repeat(32);

let tmp: string;
let media: string;
let storage: FileSystemStorage;

beforeAll(async () => {
  // The kit's server is running in this process: the engine would pass lengths on.
  enableHandoff();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'try-offload-')));
  media = path.join(tmp, 'media');
  await mkdir(path.join(media, 'sub'), { recursive: true });
  await mkdir(path.join(tmp, 'media2'));
  await mkdir(path.join(tmp, 'outside'));
  await writeFile(path.join(media, 'a.txt'), A);
  await writeFile(path.join(media, 'résumé été.txt'), 'accents');
  await writeFile(path.join(media, '中文报告.txt'), 'zh');
  await writeFile(path.join(media, 'report 2026.csv'), 'a,b\n');
  await writeFile(path.join(media, 'sub', 'b.txt'), 'nested');
  await writeFile(path.join(tmp, 'media2', 'x.txt'), 'sibling');
  await writeFile(path.join(tmp, 'outside', 'secret.txt'), SECRET);
  await symlink(path.join(media, 'a.txt'), path.join(media, 'link-in'));
  await symlink(path.join(tmp, 'outside', 'secret.txt'), path.join(media, 'link-out'));
  storage = new FileSystemStorage(media);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

afterEach(() => {
  configureOffload(false);
});

const nginx = (options: Extract<OffloadRule, { backend: 'nginx' }>['options'] = {}): OffloadRule => ({
  backend: 'nginx',
  source: media,
  destination: '/_protected/',
  options,
});

function context(params: RouteParams) {
  return { params: Promise.resolve(params) };
}

function request(segments: readonly string[], init: RequestInit = {}, query = '') {
  return new Request(`http://x/api/accel/${segments.map(encodeURIComponent).join('/')}${query}`, init);
}

/** A GET (or HEAD) through a fresh storageDownload, as Next would call it. */
function get(segments: string[], options: Partial<StorageDownloadOptions> = {}, init: RequestInit = {}) {
  return storageDownload({ storage, offload: [nginx()], ...options }).GET(request(segments, init), context({ path: segments }));
}

describe('storageDownload with an nginx offload rule', () => {
  it('answers 200 with X-Accel-Redirect below the internal URI, an empty body and no Content-Length', async () => {
    const response = await get(['a.txt']);
    await assertOffloadResponse(response, { redirect: '/_protected/a.txt', filename: 'a.txt', contentType: 'text/plain' });
    expect(response.headers.get('content-length')).toBeNull();
    // The kit's server turns this into `Content-Length: 0`, so nginx keeps the connection alive.
    expect(verifiedLength(response.headers.get(LENGTH_HEADER))).toBe(0);
    expect(response.headers.get('accept-ranges')).toBeNull();
    expect(await response.text()).toBe('');
  });

  it('keeps what the engine decides: Content-Type, Content-Disposition, Cache-Control, validators, nosniff', async () => {
    const response = await get(['a.txt']);
    const stats = await stat(path.join(media, 'a.txt'));
    const headers = Object.fromEntries(response.headers);
    delete headers[LENGTH_HEADER];
    expect(headers).toEqual({
      'x-accel-redirect': '/_protected/a.txt',
      'content-type': 'text/plain; charset=utf-8',
      'content-disposition': 'attachment; filename=a.txt',
      'cache-control': 'private, no-cache, no-transform',
      'last-modified': stats.mtime.toUTCString(),
      etag: `"${Math.floor(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}"`,
      'x-content-type-options': 'nosniff',
    });
  });

  it("keeps every header the route set: its Cache-Control, custom headers and cookies", async () => {
    const response = await get(['sub', 'b.txt'], {
      cacheControl: 'private, max-age=60',
      attachment: false,
      filename: 'renamed.txt',
      headers: (_request, source) => [
        ['x-tenant', 'acme'],
        ['x-file', source.name ?? ''],
        ['set-cookie', 'seen=1; Path=/'],
        ['content-length', '999'],
      ],
    });
    await assertOffloadResponse(response, { redirect: '/_protected/sub/b.txt', filename: 'renamed.txt' });
    expect(response.headers.get('cache-control')).toBe('private, max-age=60, no-transform');
    expect(response.headers.get('content-disposition')).toBe('inline; filename=renamed.txt');
    expect(response.headers.get('x-tenant')).toBe('acme');
    expect(response.headers.get('x-file')).toBe('b.txt');
    expect(response.headers.getSetCookie()).toEqual(['seen=1; Path=/']);
    expect(response.headers.get('content-length')).toBeNull();
  });

  describe('active content (HTML, SVG, XML)', () => {
    it('offloads it as an attachment, with the sandbox policy for the web server to copy', async () => {
      await writeFile(path.join(media, 'drawing.svg'), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
      const response = await get(['drawing.svg'], { attachment: false });
      expect(response.headers.get('x-accel-redirect')).toBe('/_protected/drawing.svg');
      expect(response.headers.get('content-disposition')).toMatch(/^attachment;/);
      expect(response.headers.get('content-security-policy')).toMatch(/^sandbox/);
    });

    it("streams it itself when the route shows it inline (activeContent: 'sandbox'): the policy must reach the browser", async () => {
      await writeFile(path.join(media, 'page.html'), '<script>alert(1)</script>');
      const response = await get(['page.html'], { attachment: false, activeContent: 'sandbox' });
      expect(response.headers.get('x-accel-redirect')).toBeNull();
      expect(response.headers.get('content-disposition')).toMatch(/^inline;/);
      expect(response.headers.get('content-security-policy')).toMatch(/^sandbox/);
      expect(await response.text()).toBe('<script>alert(1)</script>');
    });

    it("answers a Range for it itself with 206, and a validator with 304, as for any streamed file", async () => {
      await writeFile(path.join(media, 'page.html'), '<script>alert(1)</script>');
      const ranged = await get(['page.html'], { attachment: false, activeContent: 'sandbox' }, { headers: { range: 'bytes=0-7' } });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe('bytes 0-7/25');
      expect(await ranged.text()).toBe('<script>');
      const etag = ranged.headers.get('etag')!;
      const revalidated = await get(['page.html'], { attachment: false, activeContent: 'sandbox' }, { headers: { 'if-none-match': etag } });
      expect(revalidated.status).toBe(304);
      expect(revalidated.headers.get('x-accel-redirect')).toBeNull();
    });

    it("offloads it when the route allows it (activeContent: 'allow')", async () => {
      const response = await get(['page.html'], { attachment: false, activeContent: 'allow' });
      expect(response.headers.get('x-accel-redirect')).toBe('/_protected/page.html');
      expect(response.headers.get('content-security-policy')).toBeNull();
    });
  });

  describe('names nginx must find (it decodes the URI once)', () => {
    const cases: [string[], string, string][] = [
      [['résumé été.txt'], '/_protected/r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt', 'résumé été.txt'],
      [['中文报告.txt'], '/_protected/%E4%B8%AD%E6%96%87%E6%8A%A5%E5%91%8A.txt', '中文报告.txt'],
      [['report 2026.csv'], '/_protected/report%202026.csv', 'report 2026.csv'],
    ];
    it.each(cases)('%j -> %s', async (segments, redirect, filename) => {
      const response = await get(segments);
      // The helper compares decoded, and checks that the header itself is percent-encoded.
      await assertOffloadResponse(response, { redirect, filename });
      expect(response.headers.get('x-accel-redirect')).toBe(redirect);
    });
  });

  it('sends each X-Accel option set on the rule', async () => {
    const response = await get(['a.txt'], {
      offload: [nginx({ buffering: false, limitRate: 1048576, expires: 'off', charset: 'utf-8' })],
    });
    await assertOffloadResponse(response, {
      redirect: '/_protected/a.txt',
      buffering: 'no',
      limitRate: 1048576,
      expires: 'off',
      charset: 'utf-8',
    });
  });

  it('sends X-Accel-Expires as seconds (django-downloadview crashed on it)', async () => {
    const response = await get(['a.txt'], { offload: [nginx({ expires: 3600, buffering: true })] });
    await assertOffloadResponse(response, { redirect: '/_protected/a.txt', expires: 3600, buffering: 'yes' });
  });

  describe('leaves Range and conditional requests to the web server', () => {
    const headers: [string, (etag: string) => HeadersInit][] = [
      ['Range', () => ({ range: 'bytes=0-4' })],
      ['a multi-range', () => ({ range: 'bytes=0-1,3-4' })],
      ['an unsatisfiable Range', () => ({ range: 'bytes=500-' })],
      ['If-None-Match with the current ETag (would be 304)', (etag) => ({ 'if-none-match': etag })],
      ['If-Modified-Since in the future (would be 304)', () => ({ 'if-modified-since': 'Fri, 01 Jan 2100 00:00:00 GMT' })],
      ['If-Match with another ETag (would be 412)', () => ({ 'if-match': '"other"' })],
      ['If-Range with Range', (etag) => ({ 'if-range': etag, range: 'bytes=0-4' })],
    ];
    it.each(headers)('%s: 200 and the offload headers, never 206, 304, 412 or 416', async (_name, make) => {
      const etag = (await get(['a.txt'])).headers.get('etag')!;
      const response = await get(['a.txt'], {}, { headers: make(etag) });
      await assertOffloadResponse(response, { redirect: '/_protected/a.txt', contentType: 'text/plain' });
      expect(response.headers.get('content-range')).toBeNull();
    });
  });

  it('answers HEAD with the same headers', async () => {
    const segments = ['a.txt'];
    const route = storageDownload({ storage, offload: [nginx()] });
    const head = await route.HEAD(request(segments, { method: 'HEAD' }), context({ path: segments }));
    const getResponse = await route.GET(request(segments), context({ path: segments }));
    await assertOffloadResponse(head, { redirect: '/_protected/a.txt' });
    expect(Object.fromEntries(head.headers)).toEqual(Object.fromEntries(getResponse.headers));
  });

  it('streams a file no rule covers: /media does not cover /media2 (django-downloadview matched it)', async () => {
    const parent = new FileSystemStorage(tmp);
    const route = storageDownload({ storage: parent, offload: [nginx()] });
    const sibling = await route.GET(request(['media2', 'x.txt']), context({ path: ['media2', 'x.txt'] }));
    expect(sibling.status).toBe(200);
    expect(sibling.headers.get('x-accel-redirect')).toBeNull();
    expect(sibling.headers.get('content-length')).toBe('7');
    expect(await sibling.text()).toBe('sibling');
    const inside = await route.GET(request(['media', 'a.txt']), context({ path: ['media', 'a.txt'] }));
    await assertOffloadResponse(inside, { redirect: '/_protected/a.txt' });
  });

  it('offloads a symlink inside the storage as the file it leads to', async () => {
    const response = await get(['link-in']);
    await assertOffloadResponse(response, { redirect: '/_protected/a.txt', filename: 'link-in' });
  });

  it('answers 404 for a symlink leading out of the storage, and hands nothing over', async () => {
    const response = await get(['link-out']);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-accel-redirect')).toBeNull();
    expect(await response.text()).not.toContain(SECRET);
  });

  it('answers 404 for a missing file, 400 for a name with .., and hands nothing over', async () => {
    const missing = await get(['nope.txt']);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-accel-redirect')).toBeNull();
    const dotdot = await get(['..', 'outside', 'secret.txt']);
    expect(dotdot.status).toBe(400);
    expect(dotdot.headers.get('x-accel-redirect')).toBeNull();
  });

  it('runs authorize first: a refusal is 403 without any offload header', async () => {
    const response = await get(['a.txt'], { authorize: (req) => !new URL(req.url).searchParams.has('deny') });
    await assertOffloadResponse(response, { redirect: '/_protected/a.txt' });
    const refused = await storageDownload({ storage, offload: [nginx()], authorize: () => false }).GET(
      request(['a.txt']),
      context({ path: ['a.txt'] }),
    );
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-accel-redirect')).toBeNull();
  });

  it('checks signed URLs first: a tampered or missing signature is 403 without any offload header', async () => {
    const route = storageDownload({ storage, offload: [nginx()], authorize: signed({ secret: SIGNING_SECRET }) });
    const url = signUrl('http://x/api/accel/r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt', { secret: SIGNING_SECRET });
    const params = context({ path: ['résumé été.txt'] });
    const good = await route.GET(new Request(url), params);
    await assertOffloadResponse(good, { redirect: '/_protected/résumé été.txt' });
    for (const bad of [url.replace('expires=', 'expires=1'), url.split('?')[0]!]) {
      const refused = await route.GET(new Request(bad), params);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-accel-redirect')).toBeNull();
    }
  });

  it('offloads a storage URL through a URL-prefix rule', async () => {
    const cdn = new FileSystemStorage(media, { baseUrl: 'https://cdn.example.com/media/' });
    const response = await storageDownload({
      storage: cdn,
      offload: [{ backend: 'nginx', source: 'https://cdn.example.com/media', destination: '/_cdn/' }],
    }).GET(request(['report 2026.csv']), context({ path: ['report 2026.csv'] }));
    await assertOffloadResponse(response, { redirect: '/_cdn/report%202026.csv', filename: 'report 2026.csv' });
  });
});

describe('pathDownload with X-Sendfile rules', () => {
  function getPath(segments: string[], offload: OffloadRule[]) {
    return pathDownload({ root: media, offload }).GET(request(segments), context({ path: segments }));
  }

  it('Apache (mod_xsendfile 0.12): the canonical path, literally', async () => {
    const response = await getPath(['report 2026.csv'], [{ backend: 'apache', source: media }]);
    await assertOffloadResponse(response, { header: 'X-Sendfile', redirect: path.join(media, 'report 2026.csv') });
  });

  it("Apache: a non-ASCII path as its UTF-8 bytes", async () => {
    const response = await getPath(['中文报告.txt'], [{ backend: 'apache', source: media }]);
    const value = response.headers.get('x-sendfile')!;
    expect(Buffer.from(value, 'latin1').toString('utf8')).toBe(path.join(media, '中文报告.txt'));
    expect(response.headers.get('content-length')).toBeNull();
  });

  it('Apache with unescape and a mounted destination: the path where Apache sees it, encoded', async () => {
    const response = await getPath(
      ['résumé été.txt'],
      [{ backend: 'apache', source: media, destination: '/mnt/media', options: { unescape: true } }],
    );
    await assertOffloadResponse(response, { header: 'X-Sendfile', redirect: '/mnt/media/r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt' });
  });

  it('lighttpd: the canonical path, percent-encoded', async () => {
    const response = await getPath(['report 2026.csv'], [{ backend: 'lighttpd', source: media }]);
    const expected = `${media.split('/').map(encodeURIComponent).join('/')}/report%202026.csv`;
    await assertOffloadResponse(response, { header: 'X-Sendfile', redirect: expected, filename: 'report 2026.csv' });
  });

  it('a symlinked root: the path the symlink leads to', async () => {
    const linked = path.join(tmp, 'media-link');
    await symlink(media, linked).catch(() => undefined);
    const response = await pathDownload({ root: linked, offload: [{ backend: 'apache', source: linked }] }).GET(
      request(['a.txt']),
      context({ path: ['a.txt'] }),
    );
    await assertOffloadResponse(response, { header: 'X-Sendfile', redirect: path.join(media, 'a.txt') });
  });
});

describe('sendFile with an offload rule', () => {
  it('offloads the file it is given', async () => {
    const response = await sendFile(new Request('http://x/invoice'), path.join(media, 'sub', 'b.txt'), {
      filename: 'invoice.txt',
      offload: [nginx()],
    });
    await assertOffloadResponse(response, { redirect: '/_protected/sub/b.txt', filename: 'invoice.txt' });
  });
});

describe('configureOffload(rules)', () => {
  it('applies to every route without its own offload, read on each request', async () => {
    const route = storageDownload({ storage });
    const before = await route.GET(request(['a.txt']), context({ path: ['a.txt'] }));
    expect(await before.text()).toBe(A);
    configureOffload([nginx()]);
    const after = await route.GET(request(['a.txt']), context({ path: ['a.txt'] }));
    await assertOffloadResponse(after, { redirect: '/_protected/a.txt' });
  });

  it("is replaced by a route's own rules, and turned off by offload: false", async () => {
    configureOffload([nginx()]);
    const own = await get(['a.txt'], { offload: [{ backend: 'nginx', source: media, destination: '/_own/' }] });
    await assertOffloadResponse(own, { redirect: '/_own/a.txt' });
    const off = await get(['a.txt'], { offload: false });
    expect(off.headers.get('x-accel-redirect')).toBeNull();
    expect(await off.text()).toBe(A);
  });

  it('takes the first rule that covers the file, the narrower one first', async () => {
    configureOffload([
      { backend: 'nginx', source: path.join(media, 'sub'), destination: '/_sub/', options: { buffering: false } },
      { backend: 'nginx', source: media, destination: '/_protected/' },
    ]);
    const route = storageDownload({ storage });
    await assertOffloadResponse(await route.GET(request(['sub', 'b.txt']), context({ path: ['sub', 'b.txt'] })), {
      redirect: '/_sub/b.txt',
      buffering: 'no',
    });
    const other = await route.GET(request(['a.txt']), context({ path: ['a.txt'] }));
    await assertOffloadResponse(other, { redirect: '/_protected/a.txt' });
    expect(other.headers.get('x-accel-buffering')).toBeNull();
  });

  it('refuses rules in an order where one can never match, and keeps the previous setting', () => {
    configureOffload([nginx()]);
    expect(() =>
      configureOffload([nginx(), { backend: 'nginx', source: path.join(media, 'sub'), destination: '/_sub/' }]),
    ).toThrow(ConfigurationError);
  });

  it('never offloads virtual content', async () => {
    configureOffload([{ backend: 'nginx', source: '/', destination: '/_all/' }]);
    const response = await virtualDownload({ file: { name: 'hello.txt', content: 'hi\n' } }).GET(new Request('http://x/hello'));
    expect(response.headers.get('x-accel-redirect')).toBeNull();
    expect(await response.text()).toBe('hi\n');
  });
});

describe('a route with bad offload rules', () => {
  it('throws a ConfigurationError when the route module loads', () => {
    expect(() => storageDownload({ storage, offload: [['/media', '/_protected/'] as unknown as OffloadRule] })).toThrow(
      'storageDownload: offload rule 1 is a list; give an object',
    );
    expect(() =>
      pathDownload({ root: media, offload: [{ backend: 'nginx', source: media, destination: '/p/', options: { expires: -5 } }] }),
    ).toThrow(ConfigurationError);
  });
});
