import type { Server } from 'node:http';
import next from 'next';
import { enableLengthHeader } from './content-length';
import { createKitServer } from './kit-server';

export interface StartServerOptions {
  /** The Next project folder (where `.next` is). Default: the working directory. */
  dir?: string;
  hostname?: string;
  port?: number;
  /** How long running requests may take to finish after SIGTERM/SIGINT. Default 10 s. */
  gracePeriodMs?: number;
  /** After the grace period, how long cut-off requests get to clean up. Default 5 s. */
  cleanupMs?: number;
}

/**
 * Serves a built Next app from a plain Node HTTP server, as `next start` does, with the exact
 * `Content-Length` on downloads, bad request targets and unsupported methods answered with a 4xx
 * or 501 before Next sees them, and a graceful stop: on SIGTERM or SIGINT it stops accepting,
 * closes idle connections, answers with `Connection: close`, lets running requests finish within
 * the grace period, then cuts the rest and waits (bounded) for their cleanup, and exits as soon
 * as the last one is done. A second signal ends the grace period at once.
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
  const kit = createKitServer((req, res) => handle(req, res), { gracePeriodMs: options.gracePeriodMs, cleanupMs: options.cleanupMs });
  const { server } = kit;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve());
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // Once shutdown has begun, another signal cuts the grace period short.
      console.log(`${signal} again: closing running requests now`);
      kit.abort();
      return;
    }
    stopping = true;
    console.log(`${signal} received`);
    void kit.shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}
