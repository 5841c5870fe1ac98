/**
 * The servers under test, each started by the bench on loopback in a process of its own:
 * the kit (the demo's production server, scripts/start.ts), `send` in plain Node, nginx static,
 * and nginx offloading in front of the kit (scripts/nginx.mjs, when it exists).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fetchAnswer } from './clients';
import { capture, processTree, spawnTracked } from './procs';

export interface RunningServer {
  name: string;
  /** http://127.0.0.1:PORT */
  base: string;
  /** The process that serves (RSS and fds are read from it). */
  pid: number;
  /** It and its descendants, for CPU time. */
  pids(): number[];
  child: ChildProcess;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function forwardOutput(child: ChildProcess, prefix: string, quiet: boolean): string[] {
  const tail: string[] = [];
  const onData = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (!quiet) stream.write(`${prefix} ${line}\n`);
    }
  };
  child.stdout?.on('data', onData(process.stdout));
  child.stderr?.on('data', onData(process.stderr));
  return tail;
}

/** Polls `url` until it answers with a status `ready` accepts; fails if the process exits first. */
async function waitUntilReady(name: string, child: ChildProcess, url: string, timeoutMs: number, tail: string[], ready = (status: number) => status < 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `${code ?? signal}`));
  for (;;) {
    if (exited !== undefined) throw new Error(`${name} exited (${exited}) before it was ready:\n${tail.join('\n')}`);
    try {
      const answer = await fetchAnswer(url, { method: 'HEAD', timeoutMs: 5000 });
      if (ready(answer.status)) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs / 1000} s:\n${tail.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function server(name: string, child: ChildProcess, port: number): RunningServer {
  const pid = child.pid!;
  return { name, base: `http://127.0.0.1:${port}`, pid, pids: () => processTree(pid), child };
}

export interface KitOptions {
  root: string;
  mediaRoot: string;
  databaseUrl: string;
  /** Write a V8 CPU profile of the server into this folder when it stops. */
  cpuProfDir?: string;
  /** More flags for the server's node (experiments: --trace-gc, --max-semi-space-size=...). */
  nodeFlags?: string[];
  quiet: boolean;
  /** More environment for the server (the S3 rows: FILES_STORAGE and the AWS variables). */
  env?: Record<string, string>;
  /** Its name in logs and rows; default `kit`. */
  name?: string;
}

/**
 * The demo's production server, through scripts/start.ts (which builds first when the build is
 * stale, migrates and seeds), run by node itself with tsx as a loader so that the pid measured
 * is the process that serves.
 */
export async function startKit(options: KitOptions): Promise<RunningServer> {
  const port = await freePort();
  const flags = ['--import', 'tsx'];
  if (options.cpuProfDir) {
    mkdirSync(options.cpuProfDir, { recursive: true });
    flags.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir);
  }
  flags.push(...(options.nodeFlags ?? []));
  const child = spawnTracked(process.execPath, [...flags, path.join(options.root, 'scripts', 'start.ts')], {
    cwd: options.root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MEDIA_ROOT: options.mediaRoot,
      DATABASE_URL: options.databaseUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      NEXT_TELEMETRY_DISABLED: '1',
      // The bench's build, with its own peer routes (app/api/bench/**/route.bench.ts; next.config.ts).
      BENCH_ROUTES: '1',
      ...options.env,
    },
  });
  const name = options.name ?? 'kit';
  const tail = forwardOutput(child, `[${name}]`, options.quiet);
  const running = server(name, child, port);
  // A build can take minutes on this box.
  await waitUntilReady(`${name} server`, child, `${running.base}/api/bench/constant`, 15 * 60_000, tail, (status) => status === 200);
  return running;
}

/**
 * An S3-compatible server (fauxqs under Node 22, scripts/s3.mjs) on `port`, with the bucket
 * `bench`. No signature gate: the rows measure the store, not a test proxy.
 */
export async function startS3Store(root: string, port: number, quiet: boolean): Promise<RunningServer> {
  const child = spawnTracked(process.execPath, [path.join(root, 'scripts', 's3.mjs'), 'start', '--port', String(port), '--bucket', 'bench'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = forwardOutput(child, '[s3]', quiet);
  const running = server('s3', child, port);
  // Any answer means it listens (an unsigned GET of the root is a 4xx or a listing).
  await waitUntilReady('S3 server', child, `${running.base}/bench?list-type=2`, 180_000, tail);
  return running;
}

/** `send` in a plain Node http server, serving `mediaRoot`. */
export async function startSend(mediaRoot: string, quiet: boolean): Promise<RunningServer> {
  const port = await freePort();
  const child = spawnTracked(process.execPath, [path.join(import.meta.dirname, 'send-server.mjs')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ROOT: mediaRoot, HOST: '127.0.0.1', PORT: String(port) },
  });
  const tail = forwardOutput(child, '[send]', quiet);
  const running = server('send', child, port);
  await waitUntilReady('send server', child, `${running.base}/`, 30_000, tail);
  return running;
}

export function nginxBinary(): string | undefined {
  return capture('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx']);
}

/**
 * nginx serving `mediaRoot` as static files with sendfile: one worker (the Node servers are one
 * process each), no access log, keep-alive without a request limit. Everything it writes stays
 * under `dir`.
 */
export async function startNginxStatic(binary: string, mediaRoot: string, dir: string, quiet: boolean): Promise<RunningServer> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const temp = (name: string) => `${name}_temp_path ${path.join(dir, name)};`;
  const config = `
${isRoot ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  sendfile on;
  # off: tcp_nopush stalls small Range answers ~40 ms each (see nginx/nginx.conf.template)
  tcp_nopush off;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 65s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${mediaRoot};
    location / { }
  }
}
`;
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, config);
  const child = spawnTracked(binary, ['-p', dir, '-c', file, '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = forwardOutput(child, '[nginx]', quiet);
  const running = server('nginx', child, port);
  await waitUntilReady('nginx', child, `${running.base}/`, 30_000, tail);
  return running;
}

export const OFFLOAD_SCRIPT = path.join('scripts', 'nginx.mjs');

export interface OffloadOptions {
  root: string;
  mediaRoot: string;
  databaseUrl: string;
  /** A path (under /api/accel/) that must answer 200 once the proxy is up. */
  probePath: string;
  quiet: boolean;
}

/**
 * nginx X-Accel offload in front of the kit: scripts/nginx.mjs starts the production
 * server behind nginx on PROXY_PORT. Undefined when the script does not exist yet.
 */
export async function startOffload(options: OffloadOptions): Promise<RunningServer | undefined> {
  const script = path.join(options.root, OFFLOAD_SCRIPT);
  if (!existsSync(script)) return undefined;
  const [proxyPort, appPort] = [await freePort(), await freePort()];
  const child = spawnTracked(process.execPath, [script], {
    cwd: options.root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PROXY_PORT: String(proxyPort),
      PORT: String(appPort),
      HOST: '127.0.0.1',
      MEDIA_ROOT: options.mediaRoot,
      DATABASE_URL: options.databaseUrl,
      NEXT_TELEMETRY_DISABLED: '1',
      // The kit behind nginx serves the bench's build, as the kit contenders do.
      BENCH_ROUTES: '1',
    },
  });
  const tail = forwardOutput(child, '[offload]', options.quiet);
  const running = server('offload', child, proxyPort);
  await waitUntilReady('nginx offload (scripts/nginx.mjs)', child, `${running.base}${options.probePath}`, 15 * 60_000, tail);
  return running;
}
