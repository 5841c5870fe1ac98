import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureNginx } from '../../scripts/ensure-nginx.mjs';
import { freePort } from '../../scripts/free-port.mjs';
import { enableHandoff } from '../engine/handoff';
import { createKitServer, type KitServer } from '../server/kit-server';
import { httpDownload } from './http-download';

// httpDownload offloaded to a real nginx (django-downloadview's "proxied URL" row): the app
// checks the request and answers X-Accel-Redirect with an internal location that proxies the
// upstream, so nginx fetches the file and the app never does.

const REPORT = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31) % 251));
const FILES: Record<string, Buffer> = { 'report.pdf': REPORT, 'year 2026/résumé.pdf': Buffer.from('%PDF-1.7 résumé') };

/** Requests the upstream saw: who sent them (nginx marks its own), and their Range. */
let seen: { from: 'nginx' | 'app'; url: string; range: string | undefined }[] = [];

let upstream: Server;
let upstreamOrigin: string;
let kit: KitServer;
let nginx: ChildProcess;
let nginxOrigin: string;
let temp: string;

/** A file server with strong validators and single ranges, like an object store or CDN. */
function serveUpstream(req: IncomingMessage, res: ServerResponse): void {
  seen.push({ from: req.headers['x-via'] === 'nginx' ? 'nginx' : 'app', url: req.url ?? '', range: req.headers.range });
  const name = decodeURIComponent(new URL(req.url ?? '/', 'http://upstream').pathname.replace(/^\/files\//, ''));
  const body = FILES[name];
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  const headers = {
    'content-type': 'application/x-from-upstream',
    etag: '"up-1"',
    'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT',
    'accept-ranges': 'bytes',
  };
  if (req.headers['if-none-match'] === '"up-1"') {
    res.writeHead(304, headers).end();
    return;
  }
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), body.length - 1);
    res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
    res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The app under the kit's server, as `next-downloadview start` runs it; the handler does what
 * Next's does with a route handler's Response (status, headers through `setHeader`, body piped).
 * `/covered/...` offloads the files under the rule's prefix, `/elsewhere/...` reads a prefix no
 * rule covers.
 */
function app(): KitServer {
  const rule = { backend: 'nginx' as const, source: `${upstreamOrigin}/files/`, destination: '/_upstream/' };
  const covered = httpDownload({ base: `${upstreamOrigin}/files/`, offload: [rule] });
  const elsewhere = httpDownload({ base: `${upstreamOrigin}/files/year%202026/`, offload: [{ ...rule, source: `${upstreamOrigin}/other/` }] });
  return createKitServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    const [, route, ...rest] = url.pathname.split('/');
    const handlers = route === 'covered' ? covered : elsewhere;
    const request = new Request(url, { method: req.method, headers: req.headers as Record<string, string> });
    const handler = req.method === 'HEAD' ? handlers.HEAD : handlers.GET;
    const response = await handler(request, { params: Promise.resolve({ path: rest.map(decodeURIComponent) }) });
    res.statusCode = response.status;
    response.headers.forEach((value, name) => {
      if (name !== 'content-length') res.setHeader(name, [value]);
    });
    if (!response.body) {
      res.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      Readable.fromWeb(response.body as never).pipe(res).on('finish', resolve).on('error', reject);
    });
  }, { log: () => undefined });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function waitForNginx(origin: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      await (await fetch(`${origin}/_ready`)).arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nginx did not start: ${await readFile(path.join(temp, 'error.log'), 'utf8').catch(() => '')}`);
}

beforeAll(async () => {
  // Found, or installed (Debian's package, as root) as the offload e2e tests do; never skipped.
  const found = ensureNginx({ log: () => undefined }) as { ok: boolean; path?: string; message?: string };
  if (!found.ok || !found.path) throw new Error(`this test needs nginx: ${found.message}`);
  upstream = createServer(serveUpstream);
  upstreamOrigin = await listen(upstream);
  enableHandoff();
  kit = app();
  const appOrigin = await listen(kit.server);
  temp = await mkdtemp(path.join(os.tmpdir(), 'ndv-http-offload-'));
  const port = await freePort();
  nginxOrigin = `http://127.0.0.1:${port}`;
  await writeFile(
    path.join(temp, 'nginx.conf'),
    `daemon off;
master_process on;
worker_processes 1;
pid "${temp}/nginx.pid";
error_log "${temp}/error.log" warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path "${temp}/client_body";
  proxy_temp_path "${temp}/proxy";
  fastcgi_temp_path "${temp}/fastcgi";
  uwsgi_temp_path "${temp}/uwsgi";
  scgi_temp_path "${temp}/scgi";
  server {
    listen 127.0.0.1:${port};
    location = /_ready { return 204; }
    location /_upstream/ {
      internal;
      proxy_pass ${upstreamOrigin}/files/;
      # Marks nginx's requests, so the test can tell them from the app's.
      proxy_set_header X-Via nginx;
      # The app's Content-Type, not the upstream's (nginx keeps the app's Content-Disposition,
      # Cache-Control and Set-Cookie, and takes length and validators from the upstream).
      proxy_hide_header Content-Type;
      add_header X-Content-Type-Options nosniff;
      proxy_max_temp_file_size 0;
    }
    location / {
      proxy_pass ${appOrigin};
    }
  }
}
`,
  );
  nginx = spawn(found.path, ['-p', `${temp}/`, '-c', path.join(temp, 'nginx.conf')], { stdio: 'ignore' });
  await waitForNginx(nginxOrigin, nginx);
});

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx.once('exit', resolve));
    nginx.kill('SIGTERM');
    await exited;
  }
  kit?.abort();
  await kit?.shutdown();
  await new Promise((resolve) => upstream?.close(resolve));
  if (temp) await rm(temp, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
});

describe('httpDownload offloaded to nginx (a URL-prefix rule and an internal location that proxies it)', () => {
  it('sends the upstream file through nginx: the app decides the headers, nginx alone contacts the upstream', async () => {
    const response = await fetch(`${nginxOrigin}/covered/report.pdf`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(REPORT)).toBe(true);
    // The app's Content-Disposition and Cache-Control; its Content-Type (the location hides the
    // upstream's); the upstream's length and validators, set by nginx.
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=report.pdf');
    expect(response.headers.get('cache-control')).toBe('private, no-cache, no-transform');
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-length')).toBe(String(REPORT.length));
    expect(response.headers.get('etag')).toBe('"up-1"');
    expect(response.headers.get('x-accel-redirect')).toBeNull();
    expect(seen).toEqual([{ from: 'nginx', url: '/files/report.pdf', range: undefined }]);
  });

  it('leaves Range to nginx and the upstream: 206 with the upstream Content-Range', async () => {
    const response = await fetch(`${nginxOrigin}/covered/report.pdf`, { headers: { range: 'bytes=10-19' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 10-19/${REPORT.length}`);
    expect(Buffer.from(await response.arrayBuffer()).equals(REPORT.subarray(10, 20))).toBe(true);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=report.pdf');
    expect(seen).toEqual([{ from: 'nginx', url: '/files/report.pdf', range: 'bytes=10-19' }]);
  });

  it('leaves conditional requests to them too: the upstream 304 reaches the client', async () => {
    const response = await fetch(`${nginxOrigin}/covered/report.pdf`, { headers: { 'if-none-match': '"up-1"' } });
    expect(response.status).toBe(304);
    expect(seen.map((request) => request.from)).toEqual(['nginx']);
  });

  it('answers HEAD through nginx with the file length and no body', async () => {
    const response = await fetch(`${nginxOrigin}/covered/report.pdf`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(REPORT.length));
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=report.pdf');
    expect(seen.map((request) => request.from)).toEqual(['nginx']);
  });

  it('passes a name with a space and non-ASCII letters to the upstream encoded as the URL has it', async () => {
    const response = await fetch(`${nginxOrigin}/covered/year%202026/r%C3%A9sum%C3%A9.pdf`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('%PDF-1.7 résumé');
    expect(response.headers.get('content-disposition')).toBe("attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
    expect(seen).toEqual([{ from: 'nginx', url: '/files/year%202026/r%C3%A9sum%C3%A9.pdf', range: undefined }]);
  });

  it('keeps the internal location out of reach of clients (404, the upstream is not asked)', async () => {
    const response = await fetch(`${nginxOrigin}/_upstream/report.pdf`);
    expect(response.status).toBe(404);
    expect(seen).toEqual([]);
  });

  it('streams a URL no rule covers through the app, which fetches it once', async () => {
    const response = await fetch(`${nginxOrigin}/elsewhere/r%C3%A9sum%C3%A9.pdf`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('%PDF-1.7 résumé');
    expect(response.headers.get('content-type')).toBe('application/x-from-upstream');
    expect(seen).toEqual([{ from: 'app', url: '/files/year%202026/r%C3%A9sum%C3%A9.pdf', range: undefined }]);
  });
});
