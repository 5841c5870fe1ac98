import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { get, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathDownload } from '../factories/path-download';
import { createKitServer, type KitServer } from '../server/kit-server';
import { enableHandoff } from './handoff';

// Under the kit's server, an unlimited file body is sent by the server itself, with Node
// streams, in a few milliseconds; a limited one must not be: here the same route with and
// without `rateLimit`, behind the real server, through a stand-in for Next that writes the
// route's Response as Next's sendResponse does.

const SIZE = 300_000;
const content = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = (i * 7) % 253;

let root: string;
let kit: KitServer;
let base: string;
/** Per request, whether Next got a body to pipe (false: the server took the open file and sent it itself). */
const piped: boolean[] = [];

/** Response headers Next 16 never copies from a route's Response (send-response.js). */
const DROPPED_BY_NEXT = ['content-length', 'content-encoding', 'transfer-encoding'];

/** Status, headers one by one through setHeader, then `response.body` piped with backpressure, as Next does. */
async function sendLikeNext(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (!DROPPED_BY_NEXT.includes(name)) res.setHeader(name, [value]);
  });
  const body = response.body;
  piped.push(body !== null);
  if (!body) return void res.end();
  for await (const chunk of body) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

beforeAll(async () => {
  enableHandoff();
  root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'rate-limit-kit-')));
  await writeFile(path.join(root, 'file.bin'), content);
  const limited = pathDownload({ root, rateLimit: 1_000_000 });
  const unlimited = pathDownload({ root });
  kit = createKitServer(
    async (req, res) => {
      const route = req.url!.startsWith('/limited/') ? limited : unlimited;
      const request = new Request(`http://x${req.url}`, { headers: req.headers as Record<string, string> });
      await sendLikeNext(await route.GET(request, { params: Promise.resolve({ path: ['file.bin'] }) }), res);
    },
    { log: () => undefined },
  );
  await new Promise<void>((resolve) => kit.server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(kit.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  kit.abort();
  await kit.shutdown();
  await rm(root, { recursive: true, force: true });
});

function download(url: string, headers: Record<string, string> = {}): Promise<{ status: number; length?: string; body: Buffer; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, length: res.headers['content-length'], body: Buffer.concat(chunks), ms: performance.now() - started }),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('rateLimit under the kit\'s server', () => {
  it('holds: 300 000 bytes at 1 MB/s take 300 ms at least, with their Content-Length', async () => {
    piped.length = 0;
    const answer = await download(`${base}/limited/file.bin`);
    expect(piped).toEqual([true]);
    expect(answer.status).toBe(200);
    expect(answer.length).toBe(String(SIZE));
    expect(answer.body.equals(content)).toBe(true);
    expect(answer.ms).toBeGreaterThanOrEqual(298);
  });

  it('holds on a range', async () => {
    const answer = await download(`${base}/limited/file.bin`, { range: 'bytes=100000-299999' });
    expect(answer.status).toBe(206);
    expect(answer.length).toBe('200000');
    expect(answer.body.equals(content.subarray(100_000))).toBe(true);
    expect(answer.ms).toBeGreaterThanOrEqual(198);
  });

  it('leaves an unlimited route to the server\'s own file path (the stand-in for Next gets no body)', async () => {
    piped.length = 0;
    const answer = await download(`${base}/unlimited/file.bin`);
    expect(piped).toEqual([false]);
    expect(answer.body.equals(content)).toBe(true);
    expect(answer.length).toBe(String(SIZE));
  });
});
