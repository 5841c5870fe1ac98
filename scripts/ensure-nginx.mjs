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

import { pathToFileURL } from 'node:url';
import { ensureExecutable, findExecutable } from './debian-package.mjs';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

/** Returns the path of a usable nginx, or null. */
export function findNginx(env = process.env) {
  return findExecutable('nginx', 'NGINX_PATH', CANDIDATES, env);
}

/**
 * Ensures nginx exists. Returns { ok: true, path } or { ok: false, message }.
 * Installs Debian's nginx when running as root and none is found.
 */
export function ensureNginx({ log = (line) => console.log(line) } = {}) {
  return ensureExecutable({ name: 'nginx', envVar: 'NGINX_PATH', candidates: CANDIDATES, log });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensureNginx();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
}
