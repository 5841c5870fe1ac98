#!/usr/bin/env node
// Makes sure an nginx binary is available for the offload e2e tests (scripts/nginx.mjs).
//
// Order: $NGINX_PATH (if set and executable), then nginx on PATH, /usr/sbin/nginx.
// Otherwise, when running as root, installs Debian's `nginx` package with apt-get
// (non-interactively; `apt-get update` only when the install fails); when not root,
// prints one line saying how to get one and fails. The package's own service is never
// started or used: scripts/nginx.mjs runs nginx with a config and paths of its own.
//
// Usage: node scripts/ensure-nginx.mjs      (exit 0 = ready, 1 = not)
//        import { ensureNginx, findNginx } from './ensure-nginx.mjs'

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Returns the path of a usable nginx, or null. */
export function findNginx(env = process.env) {
  if (env.NGINX_PATH && isExecutable(env.NGINX_PATH)) return env.NGINX_PATH;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'nginx'))) return path.join(dir, 'nginx');
  }
  return CANDIDATES.find(isExecutable) ?? null;
}

function run(cmd, args, log) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    // RUNLEVEL=1 keeps Debian's postinst from starting the packaged nginx service (it would
    // take port 80 and is not what the tests run).
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' },
  });
  if (r.error) log(`${cmd}: ${r.error.message}`);
  return r.status === 0;
}

/**
 * Ensures nginx exists. Returns { ok: true, path } or { ok: false, message }.
 * Installs Debian's nginx when running as root and none is found.
 */
export function ensureNginx({ log = (line) => console.log(line) } = {}) {
  const found = findNginx();
  if (found) {
    log(`nginx: using ${found}`);
    return { ok: true, path: found };
  }
  if (process.env.NGINX_PATH) log(`nginx: NGINX_PATH=${process.env.NGINX_PATH} is not an executable file`);

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    return {
      ok: false,
      message: 'nginx not found: install it with `sudo apt-get install nginx` or set NGINX_PATH to an nginx binary.',
    };
  }

  log('nginx: not found; installing Debian package "nginx" (root, apt-get)');
  const install = ['install', '-y', '--no-install-recommends', 'nginx'];
  // Package lists may be missing or stale (the .deb they name is gone): refresh once and retry.
  const installed = run('apt-get', install, log) || (run('apt-get', ['update'], log) && run('apt-get', install, log));
  const after = findNginx();
  if (installed && after) {
    log(`nginx: installed ${after}`);
    return { ok: true, path: after };
  }
  return { ok: false, message: 'nginx: `apt-get install nginx` failed; install it by hand or set NGINX_PATH.' };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensureNginx();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
}
