#!/usr/bin/env node
// Makes sure an nginx binary is available for the offload e2e tests (scripts/nginx.mjs).
//
// Order: $NGINX_PATH (if set and executable), then nginx on PATH, /usr/sbin/nginx.
// Otherwise, when running as root, installs Debian's `nginx` package with apt-get
// (non-interactively; `apt-get update` first when apt knows no version of it, or once when the
// install fails); when not root, prints one line saying how to get one and fails. The package's
// own service is never started or used: scripts/nginx.mjs runs nginx with a config and paths of
// its own.
//
// Usage: node scripts/ensure-nginx.mjs      (exit 0 = ready, 1 = not)
//        import { ensureNginx, findNginx } from './ensure-nginx.mjs'

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { installDebianPackage, isExecutable } from './debian-package.mjs';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

/** Returns the path of a usable nginx, or null. */
export function findNginx(env = process.env) {
  if (env.NGINX_PATH && isExecutable(env.NGINX_PATH)) return env.NGINX_PATH;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'nginx'))) return path.join(dir, 'nginx');
  }
  return CANDIDATES.find(isExecutable) ?? null;
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

  const result = installDebianPackage({
    pkg: 'nginx',
    find: () => findNginx(),
    log,
    notRoot: 'nginx not found: install it with `sudo apt-get install nginx` or set NGINX_PATH to an nginx binary.',
    failed: 'nginx: `apt-get install nginx` failed; install it by hand or set NGINX_PATH.',
  });
  return result.ok ? { ok: true, path: result.found } : result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensureNginx();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
}
