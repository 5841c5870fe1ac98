/**
 * openFileStream over a real socket: a plain Node HTTP server writes the Web stream to the
 * response with backpressure (as Next does with a route handler's body), and cancels it when the
 * client goes away. What matters here only shows on the wire: the bytes arrive intact, an
 * aborted download releases its file, and a client that stops reading stops the disk reads.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openFileStream } from './file-stream';

const MiB = 1024 * 1024;
const FILE_SIZE = 64 * MiB;

let dir: string;
let file: string;
let fileSha256: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'real-server-test-'));
  file = path.join(dir, 'big.bin');
  const content = Buffer.allocUnsafe(FILE_SIZE);
  randomFillSync(content);
  writeFileSync(file, content);
  fileSha256 = createHash('sha256').update(content).digest('hex');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What the server saw of the one download it served. */
interface Served {
  /** Bytes taken out of the file stream so far (the file position is at most one chunk ahead). */
  pulled: number;
  cancelled: boolean;
  finished: boolean;
}

let server: http.Server | undefined;

afterEach(async () => {
  if (!server) return;
  const closing = server;
  server = undefined;
  closing.closeAllConnections();
  await new Promise<void>((resolve) => closing.close(() => resolve()));
});

/** Starts a server on 127.0.0.1 that sends `file` with openFileStream; resolves with its port. */
async function startFileServer(): Promise<{ port: number; served: Served[] }> {
  const served: Served[] = [];
  const created = http.createServer((req, res) => {
    void (async () => {
      const record: Served = { pulled: 0, cancelled: false, finished: false };
      served.push(record);
      const stream = await openFileStream(file);
      const reader = stream.getReader();
      // Counts what is pulled from the file stream, and nothing more: highWaterMark 0.
      const counted = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            const { done, value } = await reader.read();
            if (done) {
              controller.close();
              return;
            }
            record.pulled += value.length;
            controller.enqueue(value);
          },
          async cancel(reason) {
            record.cancelled = true;
            await reader.cancel(reason);
          },
        },
        { highWaterMark: 0 },
      );
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': FILE_SIZE });
      const body = Readable.fromWeb(counted as unknown as NodeReadableStream<Uint8Array>);
      res.on('finish', () => {
        record.finished = true;
      });
      // The client went away before the end: stop reading the file (destroy cancels the stream).
      res.on('close', () => {
        if (!res.writableFinished) body.destroy();
      });
      body.on('error', () => res.destroy());
      body.pipe(res);
    })().catch(() => res.destroy());
  });
  server = created;
  await new Promise<void>((resolve, reject) => {
    created.once('error', reject);
    created.listen(0, '127.0.0.1', () => resolve());
  });
  return { port: (created.address() as AddressInfo).port, served };
}

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function get(port: number): Promise<{ request: http.ClientRequest; response: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/big.bin', agent: false }, (response) =>
      resolve({ request, response }),
    );
    request.on('error', reject);
  });
}

/** How many of this process's fds point at `target`. */
function openFdsFor(target: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === target) count++;
    } catch {
      // The fd readdir itself used is already closed.
    }
  }
  return count;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function hashBody(response: http.IncomingMessage): Promise<{ sha256: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    hash.update(chunk);
    length += chunk.length;
  }
  return { sha256: hash.digest('hex'), length };
}

describe('openFileStream over a real HTTP socket', () => {
  it('delivers a 64 MiB file byte for byte (sha256)', async () => {
    const { port, served } = await startFileServer();
    const { response } = await within(5000, 'response headers', get(port));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(FILE_SIZE));
    const body = await within(15_000, 'the whole body', hashBody(response));
    expect(body.length).toBe(FILE_SIZE);
    expect(body.sha256).toBe(fileSha256);
    expect(served[0]!.pulled).toBe(FILE_SIZE);
    expect(await waitFor(() => openFdsFor(file) === 0, 2000)).toBe(true);
  });

  it('releases the file soon after a client that read a few MiB destroys its socket', async () => {
    const { port, served } = await startFileServer();
    expect(openFdsFor(file)).toBe(0);
    const { request, response } = await within(5000, 'response headers', get(port));
    let received = 0;
    await within(
      10_000,
      'the first 4 MiB',
      new Promise<void>((resolve) => {
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= 4 * MiB) {
            response.removeAllListeners('data');
            request.destroy();
            resolve();
          }
        });
      }),
    );
    response.on('error', () => undefined);
    expect(openFdsFor(file)).toBe(1); // still open on the server: the transfer was far from done
    expect(await waitFor(() => openFdsFor(file) === 0, 2000)).toBe(true);
    expect(served[0]!.cancelled).toBe(true);
    expect(served[0]!.finished).toBe(false);
    expect(served[0]!.pulled).toBeLessThan(FILE_SIZE);
  });

  it('stops reading the file while the client does not read (backpressure), and resumes when it does', async () => {
    const { port, served } = await startFileServer();
    const { response } = await within(5000, 'response headers', get(port));
    // No 'data' listener yet: the response stays paused and the socket stops being read.
    response.pause();
    await sleep(500);
    const afterPause = served[0]!.pulled;
    await sleep(300);
    const later = served[0]!.pulled;

    // Kernel socket buffers and one or two chunks in flight, not the file.
    expect(afterPause).toBeGreaterThan(0);
    expect(afterPause).toBeLessThan(FILE_SIZE / 4);
    // And it has stopped: nothing more is read while the client still does not read.
    expect(later - afterPause).toBeLessThanOrEqual(1 * MiB);

    const body = await within(15_000, 'the rest of the body', hashBody(response));
    expect(body.length).toBe(FILE_SIZE);
    expect(body.sha256).toBe(fileSha256);
    expect(await waitFor(() => openFdsFor(file) === 0, 2000)).toBe(true);
  });
});
