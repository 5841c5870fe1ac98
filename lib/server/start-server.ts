import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type createNext from 'next';
import { ConfigurationError } from '../errors';
import { createKitServer, type KitServer } from './kit-server';
import { followPrimary } from './workers';


/** Options of `startServer`. Each has the default `next start` (or the standalone `server.js`) has. */
export interface StartServerOptions {
  /**
   * The folder to serve: a Next project with a `.next` build, or an `output: 'standalone'`
   * folder (the contents of `.next/standalone`, with `.next/static` and `public` copied in as
   * for its own `server.js`), wherever it was copied. Default: the working directory.
   */
  dir?: string;
  /** Address to listen on. Default `0.0.0.0` (all IPv4 interfaces), as `next start`. */
  hostname?: string;
  /** Port to listen on; `0` picks a free one (read it from the returned server). Default 3000. */
  port?: number;
  /**
   * How long (ms) an idle keep-alive connection stays open; raise it above the idle timeout of a
   * proxy or load balancer in front (nginx's `keepalive_timeout`, an ALB's 60 s). Default: Node's.
   */
  keepAliveTimeout?: number;
  /** `true`: serve with `next dev` (compiles on demand, hot reload) instead of a build. Default `false`. */
  dev?: boolean;
  /** How long (ms) running requests may take to finish after SIGTERM/SIGINT. Default 10 000. */
  gracePeriodMs?: number;
  /** After the grace period, how long (ms) cut-off requests get to clean up. Default 5 000. */
  cleanupMs?: number;
  /** Stop gracefully on SIGTERM and SIGINT, then exit the process. Default `true`. */
  handleSignals?: boolean;
}

type NextFactory = typeof createNext;

/**
 * Serves a Next app from a plain Node HTTP server, as `next start` does, with the exact
 * `Content-Length` on every download Next 16 would send without one (200, 206, HEAD), from a
 * length the kit's engine hands over in a private, signed header that never reaches the wire;
 * bad request targets and unsupported methods answered with a 4xx or 501 before Next sees them;
 * and a graceful stop: on SIGTERM or SIGINT it stops accepting, closes idle connections, answers
 * with `Connection: close`, lets running requests finish within the grace period, then cuts the
 * rest and waits (bounded) for their cleanup, and exits as soon as the last one is done. A second
 * signal ends the grace period at once.
 *
 * It serves a project folder, or an `output: 'standalone'` folder copied anywhere: its Next
 * config is read from the build's `.next/required-server-files.json` and passed on as the
 * standalone `server.js` does, so Next's config loader (which a standalone folder cannot run)
 * is never needed. `next` is loaded from the served folder, so the build and the runtime match.
 *
 * @example
 * // server.mjs, run with `node server.mjs` instead of `next start`
 * import { startServer } from 'next-downloadview/server';
 * const server = await startServer({ port: Number(process.env.PORT) || 3000 });
 */
export async function startServer(options: StartServerOptions = {}): Promise<Server> {
  const dir = path.resolve(options.dir ?? '.');
  const dev = options.dev ?? false;
  const hostname = options.hostname ?? '0.0.0.0';
  const port = options.port ?? 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigurationError(`startServer: port must be 0..65535, got ${port}`);
  const keepAliveTimeout = options.keepAliveTimeout;
  if (keepAliveTimeout !== undefined && (!Number.isInteger(keepAliveTimeout) || keepAliveTimeout < 0)) {
    throw new ConfigurationError(`startServer: keepAliveTimeout must be whole milliseconds >= 0, got ${keepAliveTimeout}`);
  }
  // Next picks its production or development behaviour from NODE_ENV, as `next start` sets it.
  (process.env as Record<string, string | undefined>).NODE_ENV ??= dev ? 'development' : 'production';

  const standaloneConfig = dev ? undefined : readStandaloneConfig(dir);
  if (!dev && !standaloneConfig && !existsSync(path.join(dir, '.next', 'BUILD_ID'))) {
    throw new ConfigurationError(`startServer: no build in ${dir} (run \`next build\` first, or give the folder that holds .next)`);
  }
  if (standaloneConfig) {
    // What the standalone server.js does: Next then takes this config as final and never loads
    // next.config (whose loader is not part of a standalone folder).
    process.env.__NEXT_PRIVATE_STANDALONE_CONFIG = JSON.stringify(standaloneConfig);
    process.chdir(dir);
  }

  const next = await loadNext(dir);
  const app = next({ dev, dir, hostname, port, ...(standaloneConfig ? { conf: standaloneConfig } : {}) });
  const handle = app.getRequestHandler();
  await app.prepare();

  const kit = createKitServer((req, res) => handle(req, res), { gracePeriodMs: options.gracePeriodMs, cleanupMs: options.cleanupMs });
  const { server } = kit;
  if (keepAliveTimeout !== undefined) server.keepAliveTimeout = keepAliveTimeout;
  if (dev) {
    // Hot reload talks over a WebSocket upgrade, which the request handler never sees.
    const upgrade = app.getUpgradeHandler();
    server.on('upgrade', (req, socket, head) => {
      upgrade(req, socket, head).catch(() => socket.destroy());
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve());
  });

  if (options.handleSignals ?? true) stopOnSignals(kit);
  return server;
}

/**
 * The Next config a standalone folder was built with, or `undefined` for a project folder (one
 * with its own `next.config.*`, which Next loads itself, as under `next start`).
 */
function readStandaloneConfig(dir: string): Record<string, unknown> | undefined {
  const configs = ['next.config.js', 'next.config.mjs', 'next.config.cjs', 'next.config.ts', 'next.config.mts'];
  if (configs.some((name) => existsSync(path.join(dir, name)))) return undefined;
  const manifest = path.join(dir, '.next', 'required-server-files.json');
  if (!existsSync(manifest)) return undefined;
  const { config } = JSON.parse(readFileSync(manifest, 'utf8')) as { config?: Record<string, unknown> };
  if (!config || typeof config !== 'object') throw new ConfigurationError(`startServer: ${manifest} has no config`);
  return config;
}

/** `next` as the served folder resolves it, else as this package does. */
async function loadNext(dir: string): Promise<NextFactory> {
  let resolved: string;
  try {
    resolved = createRequire(path.join(dir, 'package.json')).resolve('next');
  } catch {
    resolved = createRequire(import.meta.url).resolve('next');
  }
  const loaded = (await import(pathToFileURL(resolved).href)) as { default: NextFactory | { default: NextFactory } };
  const factory = loaded.default;
  return typeof factory === 'function' ? factory : factory.default;
}

/**
 * SIGTERM/SIGINT (and, in a worker of `--workers N`, the primary's message) start the graceful
 * stop, then exit the process; a second signal, or the primary's second message, cuts the grace
 * period short.
 */
export function stopOnSignals(kit: KitServer): void {
  let stopping = false;
  let signalled = false;
  const begin = (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(why);
    void kit.shutdown().then(() => process.exit(0));
  };
  const abort = (why: string) => {
    console.log(`${why}: closing running requests now`);
    kit.abort();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // Once shutdown has begun on a signal, another signal cuts the grace period short.
    if (signalled) return abort(`${signal} again`);
    signalled = true;
    begin(`${signal} received`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A worker of `--workers N`: the primary asks by message. A terminal's Ctrl-C reaches the
  // primary and the workers alike, so the primary's message and the worker's own signal arrive
  // in either order: only a second signal, or the primary's second message, counts as "again".
  followPrimary(
    () => begin(`worker ${process.pid}: stop asked by the primary`),
    () => abort(`worker ${process.pid}: asked again by the primary`),
  );
}
