/**
 * Load from a second process on loopback: wrk when it is installed (installed with apt-get when
 * running as root, as scripts/ensure-chromium.mjs does for Chromium), autocannon otherwise.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { capture, spawnTracked } from './procs';

export type LoadTool = 'wrk' | 'autocannon';

export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Random ranges of `size` bytes within a file of `fileSize` bytes. */
  range?: { size: number; fileSize: number };
}

export interface LoadResult {
  requests: number;
  bytes: number;
  seconds: number;
  /** Connect, read, write errors and timeouts. */
  socketErrors: number;
  /** Responses with a 4xx or 5xx status. */
  statusErrors: number;
  p50Ms: number;
  p99Ms: number;
}

const here = import.meta.dirname;

function aptHasCandidate(pkg: string): boolean {
  const policy = capture('apt-cache', ['policy', pkg]);
  const match = policy ? /Candidate:\s*(\S+)/.exec(policy) : null;
  return Boolean(match && match[1] !== '(none)');
}

function aptInstall(pkg: string, log: (line: string) => void): boolean {
  const run = (args: string[]) => {
    log(`$ apt-get ${args.join(' ')}`);
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return result.status === 0;
  };
  const install = ['install', '-y', '--no-install-recommends', pkg];
  if (!aptHasCandidate(pkg) && !run(['update'])) return false;
  return run(install) || (run(['update']) && run(install));
}

function wrkVersion(): string | undefined {
  if (capture('sh', ['-c', 'command -v wrk']) === undefined) return undefined;
  // `wrk --version` prints "wrk debian/4.1.0 [epoll] ..." and its usage, and exits 1.
  const output = capture('sh', ['-c', 'wrk --version 2>&1; true']) ?? '';
  return /^wrk \S+/.exec(output)?.[0] ?? 'wrk';
}

/** wrk if it is (or can be made) available, else autocannon. `prefer` forces one. */
export function chooseLoadTool(prefer: LoadTool | undefined, log: (line: string) => void): { tool: LoadTool; version: string } {
  if (prefer !== 'autocannon') {
    let version = wrkVersion();
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (version === undefined && isRoot) {
      log('wrk: not found; installing Debian package "wrk" (root, apt-get)');
      if (aptInstall('wrk', log)) version = wrkVersion();
    }
    if (version) return { tool: 'wrk', version };
    if (prefer === 'wrk') throw new Error('wrk was asked for but is not installed (apt-get install wrk)');
    log('wrk: not available; using autocannon (slower: it is Node, on the same two cores)');
  }
  return { tool: 'autocannon', version: 'autocannon' };
}

function parse(output: string, label: string): LoadResult {
  const line = output.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`${label}: no result line in its output:\n${output.slice(-2000)}`);
  const r = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
  const n = (key: string) => r[key] ?? 0;
  return {
    requests: n('requests'),
    bytes: n('bytes'),
    seconds: n('duration_us') / 1e6,
    socketErrors: n('connect') + n('read') + n('write') + n('timeout'),
    statusErrors: n('status'),
    p50Ms: n('p50_us') / 1000,
    p99Ms: n('p99_us') / 1000,
  };
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv, label: string, limitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    // 'close', not 'exit': at 'exit' the child's stdout may still hold its last line unread.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${label} exited with ${code ?? signal}:\n${output.slice(-2000)}`));
    });
  });
}

/**
 * Runs one bounded load and returns what the generator counted. HEAD goes to head-load.mjs
 * whatever the tool: wrk and autocannon wait for a body after a HEAD answer with a length.
 */
export async function runLoad(tool: LoadTool, spec: LoadSpec): Promise<LoadResult> {
  const limitMs = (spec.seconds + 60) * 1000;
  if (spec.method === 'HEAD') {
    const output = await runChild(process.execPath, [path.join(here, 'head-load.mjs'), JSON.stringify(spec)], process.env, 'head-load', limitMs);
    return parse(output, 'head-load');
  }
  if (tool === 'wrk') {
    const args = ['-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '30s', '-s', path.join(here, 'wrk.lua')];
    for (const [name, value] of Object.entries(spec.headers ?? {})) args.push('-H', `${name}: ${value}`);
    args.push(spec.url);
    const env: NodeJS.ProcessEnv = { ...process.env, BENCH_METHOD: spec.method ?? 'GET' };
    if (spec.range) Object.assign(env, { BENCH_RANGE_SIZE: String(spec.range.size), BENCH_FILE_SIZE: String(spec.range.fileSize) });
    return parse(await runChild('wrk', args, env, 'wrk', limitMs), 'wrk');
  }
  const worker = path.join(here, 'autocannon-worker.mjs');
  const output = await runChild(process.execPath, [worker, JSON.stringify(spec)], process.env, 'autocannon', limitMs);
  return parse(output, 'autocannon');
}
