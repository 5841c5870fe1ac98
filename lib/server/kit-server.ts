import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HandoffResponse } from './handoff-response';
import { checkRequestFraming, checkRequestTarget, SERVED_METHODS } from './request-target';

/** Answers one request; settles once the response and all of its cleanup are done. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

export interface KitServerOptions {
  /** How long running requests may take to finish once shutdown starts. Default 10 s. */
  gracePeriodMs?: number;
  /**
   * After the grace period the remaining connections are cut; how long the requests then get to
   * clean up (a save removing its temporary file) before shutdown gives up on them. Default 5 s.
   */
  cleanupMs?: number;
  /**
   * A connection closed on an unread request body (a 413) keeps reading and dropping what the
   * client still sends for at most this long, so the client can read the answer (RFC 9112 §9.6).
   * Default 2 s.
   */
  lingerMs?: number;
  /** Where shutdown progress is reported. Default `console.log`. */
  log?: (line: string) => void;
}

export interface KitServer {
  server: Server;
  /**
   * Stops gracefully: no new connections, `Connection: close` on every response from now on,
   * idle kept-alive connections closed at once, running requests allowed to finish within the
   * grace period, then cut, and their cleanup awaited (bounded). Resolves as soon as the last
   * request has settled. Calling it again returns the same promise.
   */
  shutdown(): Promise<void>;
  /** Ends the grace period now (a second SIGINT): cuts the connections, still awaits cleanup. */
  abort(): void;
}

const ALLOW = SERVED_METHODS.join(', ');

/** A short plain-text answer written by the server itself, never by the app. */
function answer(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = message === '' ? '' : `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The kit's server's responses: `HandoffResponse`s that also close the connection when they start
 * while their request body is still unread (a 413, a refused target, an early error): the unread
 * rest would otherwise be parsed as the next request (RFC 9112 §9.6 lets a server close; §6.3 is
 * why it must).
 */
function kitResponse(lingerMs: number): typeof HandoffResponse {
  return class KitResponse<Request extends IncomingMessage = IncomingMessage> extends HandoffResponse<Request> {
    override writeHead(statusCode: number, message?: unknown, headers?: unknown): this {
      const req = this.req;
      if (!req.complete && hasBody(req) && !this.headersSent) {
        this.setHeader('connection', 'close');
        closeInStages(req, lingerMs);
      }
      return super.writeHead(statusCode, message as string, headers as OutgoingHttpHeaders);
    }
  };
}

/** RFC 9112 §6.3: a request has a body only if it says so (Transfer-Encoding, or a length above 0). */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * RFC 9112 §9.6: closing at once while the client is still sending makes TCP reset the
 * connection, and the reset can destroy our answer in the client's buffers before it is read
 * (the client then sees a reset instead of the 413). So the close is staged: once the response is
 * out (Node calls `destroySoon` then), the write side is closed, what the client still sends is
 * read and dropped, never kept, and the connection is closed when its body ends, when the client
 * closes, or after `lingerMs` at most.
 */
function closeInStages(req: IncomingMessage, lingerMs: number): void {
  const socket = req.socket;
  socket.destroySoon = () => {
    socket.end();
    const close = (): void => {
      socket.destroy();
    };
    const timer = setTimeout(close, lingerMs);
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', close);
    // Whoever was reading the body has stopped: drop the rest instead of leaving it buffered.
    req.removeAllListeners('readable');
    req.removeAllListeners('data');
    req.on('data', () => undefined);
    req.once('end', close);
    req.resume();
  };
}

const CLIENT_ERROR_ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * What Node answers to a request its parser refuses, with one difference: a well-formed request
 * line with a version other than 1.x (`HTTP/1.2`, `HTTP/3.0`) is a 505 (RFC 9110 §15.6.6), not
 * a 400. A malformed version (`HTTP/1.10`) stays a 400. As Node does, nothing is written on a
 * connection that already carried an answer, where a status line would land inside a body.
 */
function answerClientError(error: Error & { code?: string; reason?: string }, socket: Duplex): void {
  if (socket.writable && (socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) {
    const status =
      error.code === 'HPE_INVALID_VERSION' && error.reason === 'Invalid HTTP version'
        ? '505 HTTP Version Not Supported'
        : (CLIENT_ERROR_ANSWERS[error.code ?? ''] ?? '400 Bad Request');
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy(error);
}

/** CONNECT asks us to be a tunnel; we are not one (RFC 9110 §9.3.6). */
function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  const body = 'CONNECT is not supported\n';
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function delay(ms: number): { promise: Promise<'expired'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * RFC 9110 §10.1.1: a server may send its final answer without the body. Node would invite the
 * body (100 Continue) before the app looked at the request; here the invitation goes out only when
 * the app starts reading, so a 413 decided from Content-Length costs no upload.
 */
function inviteBodyWhenRead(req: IncomingMessage, res: ServerResponse): void {
  const invite = (event: string | symbol): void => {
    if (event !== 'data' && event !== 'readable') return;
    req.off('newListener', invite);
    if (!res.headersSent) res.writeContinue();
  };
  req.on('newListener', invite);
}

/** What shutdown works on: the server, its running requests and its open responses. */
interface RunningServer {
  server: Server;
  inFlight: Set<Promise<unknown>>;
  open: Set<ServerResponse>;
}

/** Resolves once no request is running, including those that start while waiting. */
async function allSettled(inFlight: Set<Promise<unknown>>): Promise<void> {
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
}

/**
 * The steps of `KitServer.shutdown`: stop accepting, let running requests finish within the grace
 * period (or until `aborted`), then cut the connections and await their cleanup, bounded.
 */
async function stop(
  { server, inFlight, open }: RunningServer,
  { grace, cleanup, log }: { grace: number; cleanup: number; log: (line: string) => void },
  aborted: Promise<'aborted'>,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // close() stops accepting and closes idle connections; the busy ones learn it from here on.
  server.closeIdleConnections();
  for (const res of open) if (!res.headersSent) res.setHeader('connection', 'close');
  log(`Shutting down: no longer accepting; waiting up to ${grace} ms for ${inFlight.size} running requests`);

  const timer = delay(grace);
  const outcome = await Promise.race([Promise.all([closed, allSettled(inFlight)]).then(() => 'done' as const), timer.promise, aborted]);
  timer.cancel();
  if (outcome === 'done') return;

  log(`Grace period over: closing ${open.size} connections and waiting up to ${cleanup} ms for their requests to clean up`);
  server.closeAllConnections();
  const cleanupTimer = delay(cleanup);
  const cleaned = await Promise.race([allSettled(inFlight).then(() => 'done' as const), cleanupTimer.promise]);
  cleanupTimer.cancel();
  if (cleaned !== 'done') log(`${inFlight.size} requests did not finish cleaning up`);
}

/**
 * A Node HTTP server around a request handler (Next's, in `startServer`) whose responses take the
 * engine's hand-off (`HandoffResponse`: the exact `Content-Length` back on downloads, files sent
 * by the server itself), answers bad request targets and unsupported methods
 * itself (4xx or 501, never the app's 500), and shuts down without losing work.
 *
 * @example
 * const { server, shutdown } = createKitServer((req, res) => handle(req, res));
 * server.listen(3000, '127.0.0.1');
 * process.once('SIGTERM', () => void shutdown().then(() => process.exit(0)));
 */
export function createKitServer(handle: RequestHandler, options: KitServerOptions = {}): KitServer {
  const grace = options.gracePeriodMs ?? 10_000;
  const cleanup = options.cleanupMs ?? 5_000;
  const linger = options.lingerMs ?? 2_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const inFlight = new Set<Promise<unknown>>();
  const open = new Set<ServerResponse>();
  let stopping: Promise<void> | undefined;
  let abortNow: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => (abortNow = () => resolve('aborted')));

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (stopping) res.setHeader('connection', 'close');
    const framing = checkRequestFraming(req.httpVersion, req.rawHeaders);
    // A request framed wrongly says nothing reliable about what follows it on the connection.
    if (framing.kind === 'refuse') return answer(req, res, framing.status, framing.message, { connection: 'close' });
    const check = checkRequestTarget(req.method ?? '', req.url ?? '');
    if (check.kind === 'refuse') return answer(req, res, check.status, check.message);
    // RFC 9110 §9.3.7: OPTIONS * asks what the server supports as a whole.
    if (check.kind === 'server-options') return answer(req, res, 200, '', { allow: ALLOW });
    req.url = check.target;

    open.add(res);
    res.once('close', () => {
      open.delete(res);
      // A response that was already under way when shutdown began leaves an idle connection.
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
    // A body the engine hands over is sent by the response itself (see HandoffResponse).
    const work = (res as HandoffResponse).run(() => handle(req, res))
      .catch((error: unknown) => {
        console.error(error);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end('Internal Server Error\n');
        } else {
          res.destroy();
        }
      })
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
    // A handler still pending `cleanupMs` after its connection closed is waiting on a socket that
    // is gone (Next can wait forever on a response Node tore down after a malformed pipelined
    // request): it is let go, so that neither shutdown nor memory waits on it.
    res.once('close', () => {
      if (!inFlight.has(work)) return;
      const timer = setTimeout(() => inFlight.delete(work), cleanup);
      timer.unref();
      void work.finally(() => clearTimeout(timer));
    });
  };
  const server = createServer({ ServerResponse: kitResponse(linger) }, onRequest);
  server.on('checkContinue', (req, res) => {
    inviteBodyWhenRead(req, res);
    onRequest(req, res);
  });
  server.on('connect', refuseConnect);
  server.on('clientError', answerClientError);

  return {
    server,
    shutdown: () => (stopping ??= stop({ server, inFlight, open }, { grace, cleanup, log }, aborted)),
    abort: () => abortNow?.(),
  };
}
