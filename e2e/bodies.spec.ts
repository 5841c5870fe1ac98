import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { freePort } from '../scripts/free-port.mjs';
import { repoRoot } from './helpers';

// Bounded bodies, clean shutdown and bad request targets, against the production server as
// `npm start` runs it (scripts/start.ts on the build the suite made), each started here on a
// port of its own with a throwaway media folder and database, so a SIGTERM ends only ours.

const MiB = 1024 * 1024;
const UPLOAD_LIMIT = MiB;

interface Demo {
  port: number;
  media: string;
  /** The tsx wrapper we spawned; it relays signals to the server and exits with it. */
  process: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  /** The server's own process (tsx's child): whose memory we measure. */
  serverPid: () => Promise<number>;
  stop: () => Promise<void>;
}

/** The demo on a port of its own, a free one: the suite's servers keep theirs. */
async function startDemo(env: Record<string, string> = {}): Promise<Demo> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bodies-e2e-'));
  const media = path.join(dir, 'media');
  const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['scripts/start.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      MEDIA_ROOT: media,
      DATABASE_URL: path.join(dir, 'demo.db'),
      MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT),
      NEXT_TELEMETRY_DISABLED: '1',
      // The suite built the app already; a source edited since must not start a build here.
      SKIP_BUILD: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = Date.now();
  while (!output.includes('Ready on')) {
    if (child.exitCode !== null || Date.now() - started > 60_000) {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`the server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    media,
    process: child,
    exited,
    output: () => output,
    serverPid: async () => {
      const children = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim().split(/\s+/);
      return Number(children[0] ?? child.pid);
    },
    stop: async () => {
      if (child.exitCode === null) {
        // SIGKILL is not relayed by tsx: end its server process first.
        const pid = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
        for (const id of pid.trim().split(/\s+/).filter(Boolean)) process.kill(Number(id), 'SIGKILL');
        child.kill('SIGKILL');
      }
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Every file under a folder, dotfiles included (saves in progress are `.<name>.<hex>.part`). */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)));
}

interface Sent {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Bytes of the request body the client managed to write before the answer came. */
  written: number;
}

/**
 * Sends a body chunk by chunk (as fast as the server reads it, chunked unless `length` is
 * given) and resolves with the answer as soon as it arrives, however much was left to send.
 */
function send(
  port: number,
  requestPath: string,
  headers: Record<string, string>,
  chunks: () => Generator<Buffer>,
  options: { length?: number } = {},
): Promise<Sent> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: requestPath,
        agent: false,
        headers: { ...headers, ...(options.length === undefined ? {} : { 'content-length': String(options.length) }) },
      },
      (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, written }));
        res.on('error', () => resolve({ status: res.statusCode!, headers: res.headers, body, written }));
      },
    );
    // The server closes the connection after refusing: writing the rest then fails.
    req.on('error', (error) => {
      if (!answered) setTimeout(() => reject(error), 1_000);
    });
    const source = chunks();
    const pump = (): void => {
      for (;;) {
        if (answered || req.destroyed) return;
        const next = source.next();
        if (next.done) {
          req.end();
          return;
        }
        written += next.value.length;
        if (!req.write(next.value)) {
          // Let the event loop turn between bursts, as a browser's does, so the answer is seen.
          req.once('drain', () => setImmediate(pump));
          return;
        }
      }
    };
    pump();
  });
}

function* repeat(chunk: Buffer, times: number): Generator<Buffer> {
  for (let i = 0; i < times; i++) yield chunk;
}

const BOUNDARY = 'bodies-e2e-boundary-4f1c';
const MULTIPART = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

function filePart(field: string, name: string, size: number): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    Buffer.alloc(size, 0x61),
    Buffer.from('\r\n'),
  ]);
}

function fieldPart(name: string, value: string): Buffer {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
}

const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);

test.describe('request bodies are bounded', () => {
  let demo: Demo;
  test.beforeAll(async () => {
    demo = await startDemo();
  });
  test.afterAll(async () => demo.stop());

  test('24 MiB of JSON to /api/signed-links gets 413 with the server memory barely moving', async () => {
    const pid = await demo.serverPid();
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    // One small refused body first, so loading the route's module is not counted below.
    await send(demo.port, '/api/signed-links', { 'content-type': 'application/json' }, () => repeat(chunk, 1), { length: 64 * 1024 });
    const before = await rssBytes(pid);
    const declared = await send(demo.port, '/api/signed-links', { 'content-type': 'application/json' }, () => repeat(chunk, 384), {
      length: 24 * MiB,
    });
    expect(declared.status).toBe(413);
    const streamed = await send(demo.port, '/api/signed-links', { 'content-type': 'application/json' }, () => repeat(chunk, 384));
    expect(streamed.status).toBe(413);
    expect(streamed.headers.connection).toBe('close');
    // The client could not send everything: the server stopped reading.
    expect(streamed.written).toBeLessThan(24 * MiB);
    expect((await rssBytes(pid)) - before).toBeLessThan(16 * MiB);
  });

  test('a small JSON body still mints a link', async () => {
    const answer = await send(demo.port, '/api/signed-links', { 'content-type': 'application/json' }, () =>
      repeat(Buffer.from(JSON.stringify({ path: 'hello.txt', expiresIn: 60 })), 1),
    );
    expect(answer.status).toBe(201);
  });

  const layouts: Array<[string, () => Generator<Buffer>]> = [
    ['a huge epilogue after the file', () => (function* () {
      yield filePart('file', 'a.bin', 1000);
      yield CLOSE;
      yield* repeat(Buffer.alloc(64 * 1024, 0x62), 1024);
    })()],
    ['a huge field that is not a file', () => (function* () {
      yield filePart('file', 'a.bin', 1000);
      yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n`);
      yield* repeat(Buffer.alloc(64 * 1024, 0x62), 1024);
    })()],
    ['many files in another field', () => (function* () {
      yield filePart('file', 'a.bin', 1000);
      for (let i = 0; i < 64; i++) yield filePart('other', `${i}.bin`, MiB);
      yield CLOSE;
    })()],
    ['a file over the limit', () => (function* () {
      yield filePart('file', 'a.bin', 0).subarray(0, -2);
      yield* repeat(Buffer.alloc(64 * 1024, 0x61), 1024);
      yield Buffer.from('\r\n');
      yield CLOSE;
    })()],
    ['many small parts', () => (function* () {
      for (let i = 0; i < 5000; i++) yield fieldPart(`f${i}`, 'x');
      yield filePart('file', 'a.bin', 1000);
      yield CLOSE;
    })()],
  ];
  for (const [layout, body] of layouts) {
    test(`an upload with ${layout} gets 413 early and keeps nothing`, async () => {
      const before = await filesUnder(demo.media);
      const answer = await send(demo.port, '/api/files', MULTIPART, body);
      expect(answer.status, answer.body).toBe(413);
      expect(answer.written).toBeLessThan(48 * MiB);
      // The save finished or failed before the answer; nothing new is left, no .part either.
      await expect.poll(async () => (await filesUnder(demo.media)).sort()).toEqual(before.sort());
    });
  }

  test('Expect: 100-continue: an upload declared over the limit is refused before its body is invited; one within it is stored', async () => {
    const refused = await raw(
      demo.port,
      `POST /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${MULTIPART['content-type']}\r\nContent-Length: ${100 * MiB}\r\nExpect: 100-continue\r\n\r\n`,
    );
    expect(refused.head).toMatch(/^HTTP\/1\.1 413 /);
    const body = Buffer.concat([filePart('file', 'invited.bin', 1000), CLOSE]);
    const stored = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: demo.port,
        method: 'POST',
        path: '/api/files',
        agent: false,
        headers: { ...MULTIPART, 'content-length': String(body.length), expect: '100-continue' },
      });
      req.on('continue', () => req.end(body));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
    });
    expect(stored).toBe(201);
  });

  test('an upload within the limit is still stored', async () => {
    const answer = await send(demo.port, '/api/files', MULTIPART, () => repeat(Buffer.concat([fieldPart('note', 'hi'), filePart('file', 'ok.bin', 4000), CLOSE]), 1));
    expect(answer.status, answer.body).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ name: 'ok.bin', size: 4000 });
  });
});

/** One raw request on its own connection: the status line and headers of the answer. */
function raw(port: number, text: string): Promise<{ status: number; head: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      socket.destroy();
      const head = data.split('\r\n\r\n')[0]!;
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head });
    };
    socket.setTimeout(10_000, done);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n\r\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(text);
  });
}

test.describe('bad request targets never get 500', () => {
  let demo: Demo;
  test.beforeAll(async () => {
    demo = await startDemo();
  });
  test.afterAll(async () => demo.stop());

  // [method, target, expected status]; every dynamic route of the demo gets the bad escapes.
  const cases: Array<[string, string, number]> = [];
  for (const route of ['/api/storage/', '/api/path/', '/api/files/', '/api/signed/', '/api/remote/', '/api/accel/']) {
    for (const bad of ['%', '%zz', '%4', '%C0%AF', '%E4%B8', '%FF', '%ED%A0%80']) cases.push(['GET', `${route}${bad}`, 400]);
  }
  cases.push(
    ['HEAD', '/api/storage/%zz', 400],
    ['GET', '/%', 400],
    ['TRACE', '/', 501],
    ['TRACE', '/api/storage/docs/guide.md', 501],
    ['PROPFIND', '/', 501],
    ['M-SEARCH', '*', 501],
    ['CONNECT', '127.0.0.1:443', 501],
    ['TRACK', '/', 400],
    ['get', '/', 400],
    ['GET', '*', 400],
    ['OPTIONS', '*', 200],
    ['GET', 'other-host:80', 400],
    ['GET', '/api/exports/hello-world.txt#frag', 400],
    ['GET', 'http://other-host/api/exports/hello-world.txt', 200],
    ['GET', 'http://other-host/api/storage/%zz', 400],
    ['GET', '/api/exports/hello-world.txt', 200],
    ['GET', '/api/exports/hello-world.txt?x=%zz', 200],
  );
  for (const [method, target, status] of cases) {
    test(`${method} ${target} -> ${status}`, async () => {
      const answer = await raw(demo.port, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${demo.port}\r\nConnection: close\r\n\r\n`);
      expect(answer.status, answer.head).toBe(status);
      if (target === '*' && method === 'OPTIONS') expect(answer.head).toMatch(/\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS/i);
    });
  }

  test('an absolute-form target is never redirected to the host it names', async () => {
    for (const target of ['http://other-host/', 'http://other-host', 'http://other-host/api/exports/hello-world.txt/', 'https://other-host/x/']) {
      const answer = await raw(demo.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${demo.port}\r\nConnection: close\r\n\r\n`);
      expect(answer.status, target).toBeGreaterThan(0);
      expect(answer.status, target).toBeLessThan(500);
      expect(answer.head, target).not.toMatch(/\r\nlocation: [a-z]+:\/\/other-host/i);
    }
  });
});

test.describe('shutdown loses nothing', () => {
  test.setTimeout(90_000);

  test('SIGTERM during a slow upload leaves no .part file and the process exits promptly', async () => {
    const demo = await startDemo({ SHUTDOWN_GRACE_MS: '1500' });
    try {
      const uploads = path.join(demo.media, 'uploads');
      const before = await filesUnder(uploads);
      // Headers and a first slice of the file, then a trickle that never ends.
      const req = httpRequest({ host: '127.0.0.1', port: demo.port, method: 'POST', path: '/api/files', agent: false, headers: MULTIPART });
      req.on('error', () => undefined);
      req.write(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n\r\n`));
      req.write(Buffer.alloc(64 * 1024, 0x61));
      const trickle = setInterval(() => req.write(Buffer.alloc(1024, 0x61)), 100);
      try {
        await expect.poll(async () => (await filesUnder(uploads)).some((name) => name.endsWith('.part')), { timeout: 10_000 }).toBe(true);
        const signalled = Date.now();
        demo.process.kill('SIGTERM');
        const code = await demo.exited;
        const took = Date.now() - signalled;
        expect(code, demo.output()).toBe(0);
        // The grace period (1.5 s) and the save's cleanup; well under the default 10 s wait.
        expect(took).toBeLessThan(6_000);
      } finally {
        clearInterval(trickle);
        req.destroy();
      }
      expect(await filesUnder(uploads)).toEqual(before);
    } finally {
      await demo.stop();
    }
  });

  test('after SIGTERM: idle kept-alive sockets close, new connections are refused, a running upload finishes with Connection: close, and the process exits right after it', async () => {
    const demo = await startDemo({ SHUTDOWN_GRACE_MS: '20000' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // One kept-alive connection that has served a request and sits idle.
      const idle = net.connect(demo.port, '127.0.0.1');
      const idleClosed = new Promise<number>((resolve) => idle.once('close', () => resolve(Date.now())));
      idle.on('error', () => undefined);
      await new Promise<void>((resolve) => {
        idle.write(`GET /api/exports/hello-world.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        idle.once('data', () => resolve());
      });

      // An upload under way on another kept-alive connection: half of it now, half after SIGTERM.
      const body = Buffer.concat([filePart('file', 'late.bin', 200 * 1024), CLOSE]);
      const upload = httpRequest({
        host: '127.0.0.1',
        port: demo.port,
        method: 'POST',
        path: '/api/files',
        agent,
        headers: { ...MULTIPART, 'content-length': String(body.length) },
      });
      const answer = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        upload.on('error', reject);
        upload.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: text }));
        });
      });
      upload.write(body.subarray(0, 100 * 1024));
      const uploads = path.join(demo.media, 'uploads');
      await expect.poll(async () => (await filesUnder(uploads)).some((name) => name.endsWith('.part')), { timeout: 10_000 }).toBe(true);

      const signalled = Date.now();
      demo.process.kill('SIGTERM');
      expect((await idleClosed) - signalled).toBeLessThan(2_000);
      // No new connections.
      await expect
        .poll(
          () =>
            new Promise<string>((resolve) => {
              const probe = net.connect(demo.port, '127.0.0.1');
              probe.once('connect', () => {
                probe.destroy();
                resolve('accepted');
              });
              probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
            }),
        )
        .toBe('ECONNREFUSED');
      upload.end(body.subarray(100 * 1024));
      const sent = await answer;
      expect(sent.status, sent.body).toBe(201);
      expect(sent.connection).toBe('close');
      expect(await demo.exited).toBe(0);
      // As soon as the last response was done, not after the 20 s grace period.
      expect(Date.now() - signalled).toBeLessThan(8_000);
    } finally {
      agent.destroy();
      await demo.stop();
    }
  });
});
