import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACTIVE_CONTENT_POLICY } from '../engine/decide';
import type { DownloadOptions } from '../engine/options';
import type { DownloadHandlers } from './handlers';
import { FileSystemStorage } from '../storage/file-system-storage';
import { httpDownload } from './http-download';
import { objectDownload } from './object-download';
import { pathDownload } from './path-download';
import { sendFile } from './send-file';
import { storageDownload } from './storage-download';
import { virtualDownload } from './virtual-download';

// Active content (issue 10, class 1) through every factory: an SVG and an HTML file asked for
// with `?inline`, as the demo's "Open" buttons do. All of them go through the engine's decide(),
// so each must come back as an attachment under the sandbox policy by default, inline under the
// policy with `activeContent: 'sandbox'`, and untouched with `'allow'`.

const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>';
const HTML = '<!doctype html><script>fetch("/api/files/1", { method: "DELETE" })</script>';
const files = { 'logo.svg': SVG, 'page.html': HTML } as const;
type Name = keyof typeof files;

/** The demo's choice: an attachment unless the link says `?inline`. */
const unlessInline = (request: Request) => !new URL(request.url).searchParams.has('inline');

let tmp: string;
let root: string;
let upstream: http.Server;
let upstreamOrigin: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'active-content-'));
  root = path.join(tmp, 'media');
  const storage = new FileSystemStorage(root);
  for (const [name, content] of Object.entries(files)) await storage.save(name, [content]);
  // Stored under a harmless generated name, as the demo stores uploads: the type comes from the row.
  await writeFile(path.join(root, 'upload-1.bin'), SVG);
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** An upstream for httpDownload that states each file's type itself, in its own spelling. */
beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    const name = decodeURIComponent((request.url ?? '').split('?')[0]!.slice(1)) as Name;
    const body = files[name];
    if (body === undefined) return response.writeHead(404).end();
    const type = name.endsWith('.svg') ? ' Image/SVG+XML ' : 'TEXT/HTML; charset=UTF-8';
    response.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(request.method === 'HEAD' ? undefined : body);
  });
  upstreamOrigin = await listenInRange(upstream);
});

afterAll(async () => {
  await new Promise((resolve) => upstream.close(resolve));
});

/** Listens on the first free port of 4100-4199 on loopback. */
async function listenInRange(server: http.Server): Promise<string> {
  for (let port = 4100; port < 4200; port++) {
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) return `http://127.0.0.1:${port}`;
  }
  throw new Error('no free port in 4100-4199');
}

type Ask = (name: Name, options: DownloadOptions, method?: string) => Promise<Response>;

const context = (name: string) => ({ params: Promise.resolve({ path: [name], id: name }) });
const get = (handlers: DownloadHandlers, name: Name, method = 'GET') =>
  handlers[method === 'HEAD' ? 'HEAD' : 'GET'](new Request(`http://app/${name}?inline`, { method }), context(name));

const factories: [string, Ask][] = [
  ['pathDownload', (name, options, method) => get(pathDownload({ root, ...options }), name, method)],
  ['storageDownload', (name, options, method) => get(storageDownload({ storage: new FileSystemStorage(root), ...options }), name, method)],
  [
    'objectDownload (type from the row, bytes under a harmless name)',
    (name, options, method) =>
      get(
        objectDownload({
          storage: new FileSystemStorage(root),
          getObject: () => ({ file: name === 'logo.svg' ? 'upload-1.bin' : name, name, type: name.endsWith('.svg') ? 'image/svg+xml' : 'text/html' }),
          fields: { file: 'file', basename: 'name', contentType: 'type' },
          ...options,
        }),
        name,
        method,
      ),
  ],
  ['sendFile', (name, options, method) => sendFile(new Request(`http://app/${name}?inline`, { method }), path.join(root, name), options)],
  ['virtualDownload', (name, options, method) => get(virtualDownload({ file: { name, content: files[name] }, ...options }), name, method)],
  ['httpDownload (type relayed from the upstream)', (name, options, method) => get(httpDownload({ base: `${upstreamOrigin}/`, ...options }), name, method)],
];

describe.each(factories)('%s with active content asked for inline', (_factory, ask) => {
  it.each<[Name, string]>([
    ['logo.svg', 'image/svg+xml'],
    ['page.html', 'text/html'],
  ])('sends %s as an attachment under the sandbox policy by default', async (name, type) => {
    for (const method of ['GET', 'HEAD']) {
      const response = await ask(name, { attachment: unlessInline }, method);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')?.toLowerCase()).toContain(type);
      expect(response.headers.get('content-disposition')).toBe(`attachment; filename=${name}`);
      expect(response.headers.get('content-security-policy')).toBe(ACTIVE_CONTENT_POLICY);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      await response.body?.cancel();
    }
  });

  it.each<[Name]>([['logo.svg'], ['page.html']])("keeps %s inline under the sandbox policy with activeContent: 'sandbox'", async (name) => {
    const response = await ask(name, { attachment: unlessInline, activeContent: 'sandbox' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(`inline; filename=${name}`);
    expect(response.headers.get('content-security-policy')).toBe(ACTIVE_CONTENT_POLICY);
    expect(await response.text()).toBe(files[name]);
  });

  it.each<[Name]>([['logo.svg'], ['page.html']])("serves %s inline without a policy with activeContent: 'allow'", async (name) => {
    const response = await ask(name, { attachment: unlessInline, activeContent: 'allow' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(`inline; filename=${name}`);
    expect(response.headers.get('content-security-policy')).toBeNull();
    await response.body?.cancel();
  });
});

describe('an offloaded download of active content', () => {
  it('gets the same attachment and policy on the X-Accel-Redirect answer', async () => {
    const handlers = pathDownload({ root, attachment: unlessInline, offload: [{ backend: 'nginx', source: root, destination: '/_protected/' }] });
    const response = await get(handlers, 'logo.svg');
    expect(response.headers.get('x-accel-redirect')).toBe('/_protected/logo.svg');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=logo.svg');
    expect(response.headers.get('content-security-policy')).toBe(ACTIVE_CONTENT_POLICY);
  });
});
