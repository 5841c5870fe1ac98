import { execFile } from 'node:child_process';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createKitServer, type KitServer, type RequestHandler } from './kit-server';

let kit: KitServer | undefined;
const lines: string[] = [];

afterEach(async () => {
  if (kit) {
    kit.abort();
    await kit.shutdown();
  }
  kit = undefined;
  lines.length = 0;
});

/** Resolves once the app's handler has been called for the first request of the test. */
let arrived: Promise<void> = Promise.resolve();

async function listen(handler: RequestHandler, options: { gracePeriodMs?: number; cleanupMs?: number; lingerMs?: number } = {}): Promise<number> {
  let markArrived = (): void => undefined;
  arrived = new Promise<void>((resolve) => (markArrived = resolve));
  const watched: RequestHandler = (req, res) => {
    markArrived();
    return handler(req, res);
  };
  kit = createKitServer(watched, { log: (line) => lines.push(line), ...options });
  await new Promise<void>((resolve) => kit!.server.listen(0, '127.0.0.1', resolve));
  return (kit.server.address() as AddressInfo).port;
}

/** A handler that answers 200 "ok" and records the targets it saw. */
function recording(seen: string[]): RequestHandler {
  return async (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.end('ok');
  };
}

interface RawAnswer {
  status: number;
  head: string;
  /** The server closed the connection (end or reset) within the wait. */
  closed: boolean;
}

/**
 * Sends raw bytes on a new connection; resolves with the first answer's head, and whether the
 * server closed the connection within `waitMs` after it.
 */
function raw(port: number, text: string | Buffer, waitMs = 500): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const head = data.split('\r\n\r\n')[0]!;
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, closed });
    };
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n\r\n') && !timer) timer = setTimeout(finish, waitMs);
    });
    socket.on('error', () => (closed = true));
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(text);
  });
}

describe('createKitServer', () => {
  describe('request targets and methods', () => {
    it.each([
      ['GET /api/storage/%zz', 400],
      ['GET /api/storage/%C0%AF', 400],
      ['GET /api/storage/%E4%B8', 400],
      ['GET /%', 400],
      ['HEAD /api/storage/%', 400],
      ['GET *', 400],
      ['TRACE /', 501],
      ['PROPFIND /', 501],
      ['M-SEARCH *', 501],
    ])('answers %s with %d without calling the app', async (line, status) => {
      const seen: string[] = [];
      const port = await listen(recording(seen));
      const answer = await raw(port, `${line} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(answer.status).toBe(status);
      expect(answer.head).toMatch(/\r\ncontent-length: \d+/i);
      expect(seen).toEqual([]);
    });

    it.each([
      ['HTTP/2.0', 505],
      ['HTTP/1.2', 505],
      ['HTTP/3.0', 505],
    ])('answers a request line with %s with %d and closes, without calling the app (RFC 9110 §15.6.6)', async (version, status) => {
      const seen: string[] = [];
      const port = await listen(recording(seen));
      const answer = await raw(port, `GET /a ${version}\r\nHost: x\r\n\r\n`);
      expect(answer.status).toBe(status);
      expect(answer.head).toMatch(/\r\nconnection: close/i);
      expect(answer.closed).toBe(true);
      expect(seen).toEqual([]);
    });

    it.each([
      ['a malformed version (HTTP/1.10)', 400, 'GET /a HTTP/1.10\r\nHost: x\r\n\r\n'],
      ['headers over 16 KiB', 431, `GET /a HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`],
    ])('still answers what the parser refuses as Node does: %s is a %i', async (_, status, text) => {
      const seen: string[] = [];
      const port = await listen(recording(seen));
      const answer = await raw(port, text);
      expect(answer.status).toBe(status);
      expect(answer.closed).toBe(true);
      expect(seen).toEqual([]);
    });

    it.each([
      ['two Host headers', 'Host: a\r\nHost: b\r\n'],
      ['two Host headers with the same value', 'Host: a\r\nHost: a\r\n'],
      ['two Host headers of different case', 'Host: a\r\nhOST: b\r\n'],
    ])('answers %s with 400 and closes, without calling the app (RFC 9112 §3.2)', async (_, headers) => {
      const seen: string[] = [];
      const port = await listen(recording(seen));
      const answer = await raw(port, `GET /a HTTP/1.1\r\n${headers}\r\n`);
      expect(answer.status).toBe(400);
      expect(answer.closed).toBe(true);
      expect(seen).toEqual([]);
    });

    it('serves HTTP/1.0 and HTTP/1.1 with one Host header', async () => {
      const seen: string[] = [];
      const port = await listen(recording(seen));
      expect((await raw(port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(200);
      expect((await raw(port, 'GET /b HTTP/1.0\r\n\r\n')).head).toMatch(/^HTTP\/1\.1 200/);
      expect(seen).toEqual(['GET /a', 'GET /b']);
    });

    it('answers OPTIONS * with 200 and the methods the app can serve (RFC 9110 §9.3.7)', async () => {
      const seen: string[] = [];
      const port = await listen(recording(seen));
      const answer = await raw(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(answer.status).toBe(200);
      expect(answer.head).toMatch(/\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n/i);
      // A request without a body has nothing left unread: the connection stays open.
      expect(answer.head).not.toMatch(/\r\nconnection: close/i);
      expect(answer.closed).toBe(false);
      expect(seen).toEqual([]);
    });

    it('answers CONNECT with 501 and closes, instead of dropping the connection', async () => {
      const port = await listen(recording([]));
      const answer = await raw(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      expect(answer.status).toBe(501);
      expect(answer.closed).toBe(true);
    });

    it('hands an absolute-form target to the app as its path and query only (RFC 9112 §3.2.2)', async () => {
      const seen: string[] = [];
      const port = await listen(recording(seen));
      const answer = await raw(port, 'GET http://other-host/a/b?c=1 HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(answer.status).toBe(200);
      expect(seen).toEqual(['GET /a/b?c=1']);
    });

    it('passes well-formed targets through unchanged', async () => {
      const seen: string[] = [];
      const port = await listen(recording(seen));
      await raw(port, 'GET /api/storage/caf%C3%A9.txt?x=%zz HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(seen).toEqual(['GET /api/storage/caf%C3%A9.txt?x=%zz']);
    });

    it('turns an error thrown by the app into a plain 500', async () => {
      const port = await listen(async () => {
        throw new Error('boom');
      });
      const original = console.error;
      console.error = () => undefined;
      try {
        expect((await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(500);
      } finally {
        console.error = original;
      }
    });
  });

  describe('a response that leaves the request body unread', () => {
    it('carries Connection: close, and the connection is closed once the linger time is over', async () => {
      const port = await listen(
        async (_req, res) => {
          res.statusCode = 413;
          res.end('too large\n');
        },
        { lingerMs: 100 },
      );
      const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
      const answer = await raw(port, Buffer.concat([Buffer.from(`POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length + 1}\r\n\r\n`), body]));
      expect(answer.status).toBe(413);
      expect(answer.head).toMatch(/\r\nconnection: close\r\n/i);
      expect(answer.closed).toBe(true);
    });

    it('reaches a client that is still sending, instead of resetting the connection under it (RFC 9112 §9.6)', async () => {
      const port = await listen(async (req, res) => {
        // As a route under Next sees it: a web Request over the socket; a little is read, the
        // rest left (so the socket stops and the client's data waits in the buffers), then a 413.
        const request = new Request('http://x/x', { method: 'POST', body: req as unknown as ReadableStream, duplex: 'half' } as RequestInit);
        const reader = request.body!.getReader();
        await reader.read();
        reader.releaseLock();
        res.statusCode = 413;
        res.end('too large\n');
      });
      // Node's client in a process of its own (in this one, its reads and the server's writes
      // take turns and the race never shows), writing small chunks as fast as the server reads,
      // and letting its event loop turn between bursts as a browser's would.
      const client = `
        const http = require('node:http');
        const send = () => new Promise((resolve) => {
          let writing = true;
          const chunk = Buffer.alloc(64, 0x61);
          const req = http.request({ host: '127.0.0.1', port: ${port}, method: 'POST', path: '/x', agent: false, headers: { 'content-length': String(1024 ** 3) } });
          req.on('response', (res) => { writing = false; req.destroy(); resolve(String(res.statusCode)); });
          req.on('error', (error) => { writing = false; resolve('error ' + error.code); });
          const pump = () => { while (writing && req.write(chunk)); if (writing) req.once('drain', () => setImmediate(pump)); };
          pump();
        });
        (async () => { const outcomes = []; for (let i = 0; i < 10; i++) outcomes.push(await send()); console.log(JSON.stringify(outcomes)); })();
      `;
      const output = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['-e', client], { timeout: 20_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
      });
      expect(JSON.parse(output)).toEqual(Array(10).fill('413'));
    });

    it('keeps the connection alive when the body was read', async () => {
      const port = await listen(async (req, res) => {
        for await (const _chunk of req) void _chunk;
        res.end('ok');
      });
      const answer = await raw(port, 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
      expect(answer.status).toBe(200);
      expect(answer.head).toMatch(/\r\nconnection: keep-alive\r\n/i);
      expect(answer.closed).toBe(false);
    });
  });

  describe('Expect: 100-continue (RFC 9110 §10.1.1)', () => {
    it('answers a request refused from its headers without inviting the body', async () => {
      const port = await listen(async (_req, res) => {
        res.statusCode = 413;
        res.end('too large\n');
      });
      const answer = await raw(port, 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\nExpect: 100-continue\r\n\r\n');
      expect(answer.head).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer.head).toMatch(/\r\nconnection: close\r\n/i);
    });

    it('invites the body once the app reads it', async () => {
      const port = await listen(async (req, res) => {
        let body = '';
        for await (const chunk of req) body += String(chunk);
        res.end(`got ${body}`);
      });
      const reply = await new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let data = '';
        socket.on('data', (chunk: Buffer) => {
          data += chunk.toString('latin1');
          if (data.startsWith('HTTP/1.1 100') && !data.includes('abc') && data.endsWith('\r\n\r\n') && !data.includes('200')) socket.write('abc');
          if (data.includes('got abc')) {
            socket.destroy();
            resolve(data);
          }
        });
        socket.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
      });
      expect(reply).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    });
  });

  describe('shutdown', () => {
    it('closes an idle kept-alive connection at once and refuses new ones', async () => {
      const port = await listen(recording([]), { gracePeriodMs: 10_000 });
      const idle = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => {
        idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        idle.once('data', () => resolve());
      });
      const closed = new Promise<number>((resolve) => idle.once('close', () => resolve(Date.now())));
      const started = Date.now();
      const done = kit!.shutdown();
      expect((await closed) - started).toBeLessThan(500);
      await done;
      expect(Date.now() - started).toBeLessThan(1_000);
      const refused = await new Promise<string>((resolve) => {
        const probe = net.connect(port, '127.0.0.1');
        probe.once('connect', () => resolve('accepted'));
        probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    });

    it('lets a running request finish with Connection: close, and resolves as soon as it is done', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const port = await listen(
        async (_req, res) => {
          await released;
          res.end('done');
        },
        { gracePeriodMs: 10_000 },
      );
      const answer = new Promise<{ status: number; connection: string | undefined }>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'keep-alive' } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
        });
        req.end();
      });
      await arrived;
      const started = Date.now();
      const done = kit!.shutdown();
      setTimeout(release, 300);
      expect(await answer).toEqual({ status: 200, connection: 'close' });
      await done;
      // Right after the response, not after the 10 s grace period.
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('after the grace period cuts the connection and waits for the request to clean up', async () => {
      let cleanedUp = false;
      const port = await listen(
        (req: IncomingMessage, res: ServerResponse) =>
          new Promise<void>((resolve) => {
            // A save in progress: it learns the client is gone, then removes its temporary file.
            req.resume();
            req.once('close', () =>
              setTimeout(() => {
                cleanedUp = true;
                if (!res.headersSent) res.destroy();
                resolve();
              }, 300),
            );
          }),
        { gracePeriodMs: 200, cleanupMs: 5_000 },
      );
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'content-length': '1000000' } });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(1000, 0x61));
      await arrived;
      const started = Date.now();
      await kit!.shutdown();
      expect(cleanedUp).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(lines.join('\n')).toMatch(/Grace period over/);
    });

    it('gives up on a request that never settles once the cleanup time is over', async () => {
      const port = await listen(() => new Promise<void>(() => undefined), { gracePeriodMs: 100, cleanupMs: 300 });
      const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false });
      req.on('error', () => undefined);
      req.end();
      await arrived;
      const started = Date.now();
      await kit!.shutdown();
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(lines.join('\n')).toMatch(/1 requests did not finish cleaning up/);
    });

    it('lets go of a request that never settles once its connection has been closed for the cleanup time', async () => {
      let calls = 0;
      const port = await listen(() => {
        calls += 1;
        return new Promise<void>(() => undefined);
      }, { gracePeriodMs: 5_000, cleanupMs: 200 });
      // A client that leaves: the handler stays pending, as Next's does on a torn-down response.
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await arrived;
      socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(calls).toBe(1);
      const started = Date.now();
      await kit!.shutdown();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(lines.join('\n')).toMatch(/waiting up to 5000 ms for 0 running requests/);
    });

    it('abort() ends the grace period at once', async () => {
      const port = await listen(
        (req) =>
          new Promise<void>((resolve) => {
            req.once('close', () => resolve());
          }),
        { gracePeriodMs: 60_000 },
      );
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'content-length': '10' } });
      req.on('error', () => undefined);
      req.write('abc');
      await arrived;
      const started = Date.now();
      const done = kit!.shutdown();
      kit!.abort();
      await done;
      expect(Date.now() - started).toBeLessThan(1_000);
    });
  });
});
