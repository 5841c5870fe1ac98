#!/usr/bin/env node
// A throwaway PostgreSQL cluster for the tests and for trying the demo on Postgres: initdb in a
// temporary folder owned by the `postgres` user (initdb refuses to run as root), started with
// pg_ctl on 127.0.0.1 only, stopped and removed afterwards. Binaries come from
// ensure-postgres.mjs (Debian's package, installed when run as root and missing).
//
// Usage: node scripts/postgres.mjs [--port N]
//          prints `DATABASE_URL=postgres://...` and runs until SIGINT/SIGTERM, then stops and
//          removes the cluster. Default port: POSTGRES_PORT, else the first free one in 4800-4899.
//        import { startPostgres } from './postgres.mjs'

import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensurePostgres } from './ensure-postgres.mjs';

export const DEFAULT_PORTS = { from: 4800, to: 4899 };

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Resolves true when nothing listens on 127.0.0.1:port. */
function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function findFreePort({ from, to } = DEFAULT_PORTS) {
  for (let port = from; port <= to; port++) {
    if (await portIsFree(port)) return port;
  }
  throw new Error(`postgres: no free port in ${from}-${to}`);
}

/** Runs a server binary as the `postgres` user when we are root, as ourselves otherwise. */
function runAsOwner(file, args) {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`postgres: cannot run ${file}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`postgres: ${path.basename(file)} failed (${r.status}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
}

function ownerIds() {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('postgres: running as root, but there is no `postgres` user to run the server as');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/**
 * Starts a fresh cluster and returns { url, port, dir, stop }. `url` reaches the `postgres`
 * database as the `postgres` superuser over TCP on 127.0.0.1 (trust authentication: loopback only).
 * @param {{ port?: number, log?: (line: string) => void }} [options]
 * @returns {Promise<{ url: string, port: number, dir: string, stop: () => void }>}
 */
export async function startPostgres({ port, log = () => {} } = {}) {
  const found = ensurePostgres({ log });
  if (!found.ok) throw new Error(found.message);
  const bin = found.bin;
  const fixed = port ?? (process.env.POSTGRES_PORT ? Number(process.env.POSTGRES_PORT) : undefined);
  if (fixed !== undefined && (!Number.isInteger(fixed) || fixed < 1 || fixed > 65535)) throw new Error(`postgres: bad port ${fixed}`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'next-downloadview-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  if (isRoot()) {
    const { uid, gid } = ownerIds();
    chownSync(dir, uid, gid);
  }
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    // --no-sync and the settings below trade crash safety for speed: the cluster is thrown away.
    runAsOwner(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    // A port seen free can be taken before the server binds it (test runs starting at once):
    // without a fixed port, the next free one is tried, a few times.
    for (let attempt = 1, from = DEFAULT_PORTS.from; ; attempt++) {
      port = fixed ?? (await findFreePort({ from, to: DEFAULT_PORTS.to }));
      const settings = ['-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
      try {
        runAsOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-o', settings.join(' '), '-l', logFile, '-w', '-t', '60', 'start']);
        break;
      } catch (error) {
        let serverLog = '';
        try {
          serverLog = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
        } catch {
          // No log written.
        }
        if (fixed === undefined && attempt < 5) {
          log(`postgres: could not start on port ${port}, trying another (${serverLog})`);
          from = port + 1;
          continue;
        }
        throw new Error(`${error.message.split('\n')[0]}${serverLog ? `: ${serverLog}` : ''}`, { cause: error });
      }
    }
  } catch (error) {
    remove();
    throw error;
  }
  log(`postgres: started on 127.0.0.1:${port} (${data})`);

  // A run killed outright (SIGKILL, a CI timeout) never calls stop(): a small detached shell waits
  // for this process to go, then stops the cluster and removes its folder, so none is left behind.
  const pgCtl = `${isRoot() ? 'runuser -u postgres -- ' : ''}"$1/pg_ctl" -D "$2" -m immediate stop`;
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${pgCtl} >/dev/null 2>&1; rm -rf "$3"`, 'postgres-watchdog', bin, data, dir],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      watchdog.kill();
    } catch {
      // Already gone.
    }
    try {
      runAsOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    } finally {
      remove();
    }
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, stop };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args[at + 1]) : undefined;
  try {
    const pg = await startPostgres({ port, log: (line) => console.error(line) });
    console.log(`DATABASE_URL=${pg.url}`);
    const done = () => {
      pg.stop();
      process.exit(0);
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    setInterval(() => {}, 1 << 30);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
