/**
 * HTTP clients in the bench's own process (never the server's): a probe that checks an answer,
 * a download timed to its first byte, and slow readers that hold the server's backpressure.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, up to `keep` bytes. */
  body: Buffer;
  /** Bytes received in all (or until the client stopped reading at `keep`). */
  bytes: number;
}

/**
 * One request on a fresh connection. Reads the whole body, or stops (and drops the connection)
 * once `keep` bytes have arrived.
 */
export function fetchAnswer(
  url: string,
  options: { method?: string; headers?: Record<string, string>; keep?: number; timeoutMs?: number } = {},
): Promise<Answer> {
  const keep = options.keep ?? Infinity;
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const finish = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes });
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        chunks.push(chunk);
        if (bytes >= keep) {
          res.removeAllListeners('end');
          req.destroy();
          finish();
        }
      });
      res.on('end', finish);
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`timed out: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export interface TimedDownload {
  status: number;
  bytes: number;
  /** From sending the request to the response headers. */
  headersMs: number;
  /** From sending the request to the first byte of the body. */
  firstByteMs: number;
  totalMs: number;
  mbPerSecond: number;
  contentLength: number | undefined;
}

/** Downloads the whole body as fast as this process reads, timing the first byte and the total. */
export function timedDownload(url: string, timeoutMs = 120_000): Promise<TimedDownload> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let headersAt = NaN;
    let firstAt = NaN;
    let bytes = 0;
    const req = httpRequest(url, { agent: false }, (res) => {
      headersAt = performance.now();
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstAt = performance.now();
        bytes += chunk.length;
      });
      res.on('end', () => {
        const end = performance.now();
        const length = res.headers['content-length'];
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          headersMs: headersAt - start,
          firstByteMs: firstAt - start,
          totalMs: end - start,
          mbPerSecond: bytes / 1e6 / ((end - start) / 1000),
          contentLength: length === undefined ? undefined : Number(length),
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export interface SlowClientsResult {
  clients: number;
  /** Bytes each client received. */
  received: number[];
  /** Clients that failed before the end (error or early end of the body). */
  failures: string[];
}

/**
 * `clients` readers of `url`, each held to `bytesPerSecond` by pausing its response whenever it
 * is ahead of schedule (the kernel's socket buffers fill and the server feels backpressure).
 * After `seconds` every connection is destroyed.
 */
export async function slowClients(url: string, clients: number, bytesPerSecond: number, seconds: number): Promise<SlowClientsResult> {
  const received = new Array<number>(clients).fill(0);
  const failures: string[] = [];
  const requests: Array<ReturnType<typeof httpRequest>> = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  const done = Promise.all(
    Array.from({ length: clients }, (_, index) => {
      return new Promise<void>((resolve) => {
        const req = httpRequest(url, { agent: false }, (res) => {
          const start = performance.now();
          if (res.statusCode !== 200) failures.push(`client ${index}: status ${res.statusCode}`);
          res.on('data', (chunk: Buffer) => {
            received[index]! += chunk.length;
            const aheadMs = (received[index]! / bytesPerSecond) * 1000 - (performance.now() - start);
            if (aheadMs > 1 && !stopping) {
              res.pause();
              const timer = setTimeout(() => {
                timers.delete(timer);
                res.resume();
              }, aheadMs);
              timers.add(timer);
            }
          });
          res.on('end', () => {
            if (!stopping) failures.push(`client ${index}: body ended after ${received[index]} bytes`);
            resolve();
          });
          res.on('close', () => resolve());
          res.on('error', () => resolve());
        });
        req.on('error', (error) => {
          if (!stopping) failures.push(`client ${index}: ${error.message}`);
          resolve();
        });
        req.end();
        requests.push(req);
      });
    }),
  );

  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stopping = true;
  for (const timer of timers) clearTimeout(timer);
  for (const req of requests) req.destroy();
  await done;
  return { clients, received, failures };
}
