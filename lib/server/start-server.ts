import { createServer, type Server } from 'node:http';
import next from 'next';
import { enableLengthHeader, restoreContentLength } from './content-length';

export interface StartServerOptions {
  /** The Next project folder (where `.next` is). Default: the working directory. */
  dir?: string;
  hostname?: string;
  port?: number;
  /** How long running downloads may take to finish after SIGTERM/SIGINT. Default 10 s. */
  gracePeriodMs?: number;
}

/**
 * Serves a built Next app from a plain Node HTTP server, as `next start` does, and stops
 * gracefully: on SIGTERM or SIGINT it stops accepting, lets running responses finish within the
 * grace period, then closes what is left and exits.
 *
 * @example
 * // server.ts, run instead of `next start`
 * await startServer({ hostname: '127.0.0.1', port: 3000 });
 */
export async function startServer(options: StartServerOptions = {}): Promise<Server> {
  const hostname = options.hostname ?? '127.0.0.1';
  const port = options.port ?? 3000;
  const app = next({ dev: false, dir: options.dir, hostname, port });
  const handle = app.getRequestHandler();
  await app.prepare();

  enableLengthHeader();
  const server = createServer((req, res) => {
    restoreContentLength(req, res);
    handle(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end('Internal Server Error\n');
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve());
  });

  const grace = options.gracePeriodMs ?? 10_000;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: no longer accepting; waiting up to ${grace} ms for running requests`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, grace).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return server;
}
