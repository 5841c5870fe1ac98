import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DownloadHandlers } from '../factories/handlers';
import { httpDownload } from '../factories/http-download';
import { storageDownload, type StorageDownloadOptions } from '../factories/storage-download';
import { createKitServer, type KitServer } from '../server/kit-server';
import { FileSystemStorage } from '../storage/file-system-storage';
import type { OpenOptions, RedirectingStorage, RedirectUrlOptions, StoredFile } from '../storage/storage';
import { enableHandoff } from './handoff';

/** Every step a request goes through, in the order it happened. */
const steps: string[] = [];

// decide() is counted where serve calls it, through the module it imports: no hook in the engine.
vi.mock('./decide', async (importOriginal) => {
  const original = await importOriginal<typeof import('./decide')>();
  return {
    ...original,
    decide: (...args: Parameters<typeof original.decide>) => {
      steps.push('decide');
      return original.decide(...args);
    },
  };
});

/**
 * A folder storage that records each step that reaches it: `load` (its stat), `locate` (where
 * the file lives), `mint` (a redirect URL), `open` (the bytes).
 */
class RecordingStorage extends FileSystemStorage implements RedirectingStorage {
  override async stat(name: string): Promise<StoredFile> {
    steps.push('load');
    return super.stat(name);
  }
  override async localPath(name: string): Promise<string> {
    steps.push('locate');
    return super.localPath(name);
  }
  override async open(name: string, options?: OpenOptions): Promise<ReadableStream<Uint8Array>> {
    steps.push('open');
    return super.open(name, options);
  }
  override async readSmall(name: string, options?: OpenOptions): Promise<Uint8Array<ArrayBuffer> | undefined> {
    steps.push('open');
    return super.readSmall(name, options);
  }
  presignedUrl(name: string, options: RedirectUrlOptions): string {
    steps.push('mint');
    return `https://store.test/${encodeURIComponent(name)}?expires=${options.expiresIn}`;
  }
}

let root: string;
let kit: KitServer | undefined;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ndv-steps-'));
  await writeFile(path.join(root, 'report.pdf'), '%PDF-1.7 '.repeat(1000));
  // As `next-downloadview start` does before it serves.
  enableHandoff();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(async () => {
  kit?.abort();
  await kit?.shutdown();
  kit = undefined;
  steps.length = 0;
});

/**
 * Serves the route under the kit's server, with a handler that does what Next's does with a
 * route handler's Response: status, each header through `setHeader`, then the body piped.
 */
async function serveRoute(options: Omit<StorageDownloadOptions, 'storage'>): Promise<string> {
  return serveHandler(storageDownload({ storage: new RecordingStorage(root), ...options, authorize }).GET);
}

function authorize(): boolean {
  steps.push('authorize');
  return true;
}

async function serveHandler(GET: DownloadHandlers['GET']): Promise<string> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request = new Request(url, { method: req.method, headers: req.headers as Record<string, string> });
    const response = await GET(request, { params: Promise.resolve({ path: url.pathname.split('/').slice(2) }) });
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
  };
  kit = createKitServer(handle, { log: () => undefined });
  await new Promise<void>((resolve) => kit!.server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(kit.server.address() as AddressInfo).port}`;
}

describe('serve, under the kit server', () => {
  it('streams a GET: authorize -> load -> decide -> open, with one decide()', async () => {
    const base = await serveRoute({});
    const response = await fetch(`${base}/files/report.pdf`);
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(9000);
    expect(steps).toEqual(['authorize', 'load', 'decide', 'open']);
  });

  it('offloads a GET: authorize -> load -> locate (delegate) -> decide, with one decide() and nothing opened', async () => {
    const base = await serveRoute({ offload: [{ backend: 'nginx', source: root, destination: '/_protected/' }] });
    const response = await fetch(`${base}/files/report.pdf`, { headers: { range: 'bytes=0-9', 'if-none-match': '"x"' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-accel-redirect')).toBe('/_protected/report.pdf');
    expect(await response.text()).toBe('');
    expect(steps).toEqual(['authorize', 'load', 'locate', 'decide']);
  });

  it('redirects a GET: authorize -> load -> locate (delegate) -> decide -> mint, with one decide() and nothing opened', async () => {
    const base = await serveRoute({ delivery: 'redirect' });
    const response = await fetch(`${base}/files/report.pdf`, { redirect: 'manual', headers: { range: 'bytes=0-9' } });
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe('https://store.test/report.pdf?expires=60');
    expect(steps).toEqual(['authorize', 'load', 'locate', 'decide', 'mint']);
  });

  it('answers a 304 before a redirect from the one decision: authorize -> load -> locate -> decide', async () => {
    const base = await serveRoute({ delivery: 'redirect' });
    const first = await fetch(`${base}/files/report.pdf`, { method: 'HEAD' });
    const etag = first.headers.get('etag')!;
    steps.length = 0;
    const response = await fetch(`${base}/files/report.pdf`, { redirect: 'manual', headers: { 'if-none-match': etag, range: 'bytes=0-9' } });
    expect(response.status).toBe(304);
    expect(steps).toEqual(['authorize', 'load', 'locate', 'decide']);
  });

  it('streams a file no offload rule covers, after asking once: authorize -> load -> locate -> decide -> open', async () => {
    const base = await serveRoute({ offload: [{ backend: 'nginx', source: path.join(root, 'elsewhere'), destination: '/_protected/' }] });
    const response = await fetch(`${base}/files/report.pdf`);
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(9000);
    expect(steps).toEqual(['authorize', 'load', 'locate', 'decide', 'open']);
  });

  describe('an httpDownload route (its source is located first, fetched only to be streamed)', () => {
    const upstream = 'http://upstream.test/files/';
    /** A fetch that records the step and answers like a file server. */
    const fetchRecorded = (async () => {
      steps.push('fetch');
      return new Response('%PDF-1.7 remote', { headers: { 'content-type': 'application/pdf', 'content-length': '15', etag: '"r1"' } });
    }) as typeof fetch;
    const route = (offload: boolean) =>
      httpDownload({
        base: upstream,
        fetch: fetchRecorded,
        authorize,
        getUrl: () => {
          steps.push('load');
          return 'report.pdf';
        },
        offload: offload ? [{ backend: 'nginx', source: upstream, destination: '/_upstream/' }] : false,
      }).GET;

    it('streams: authorize -> load -> fetch -> decide, with one decide()', async () => {
      const base = await serveHandler(route(false));
      const response = await fetch(`${base}/remote/report.pdf`);
      expect(await response.text()).toBe('%PDF-1.7 remote');
      expect(steps).toEqual(['authorize', 'load', 'fetch', 'decide']);
    });

    it('offloads: authorize -> load -> decide, with one decide() and no fetch upstream', async () => {
      const base = await serveHandler(route(true));
      const response = await fetch(`${base}/remote/report.pdf`);
      expect(response.headers.get('x-accel-redirect')).toBe('/_upstream/report.pdf');
      expect(steps).toEqual(['authorize', 'load', 'decide']);
    });
  });
});
