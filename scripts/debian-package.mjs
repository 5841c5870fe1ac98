// What scripts/ensure-chromium.mjs, ensure-ffmpeg.mjs, ensure-nginx.mjs and ensure-postgres.mjs
// share: finding an executable, and installing a Debian package with apt-get when run as root.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** True when `file` exists and may be executed. */
export function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args, log) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    // RUNLEVEL=1 keeps a package's postinst from starting its service (nginx would take port 80,
    // Postgres 5432): the tests run the binaries with configurations of their own.
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' },
  });
  if (r.error) log(`${cmd}: ${r.error.message}`);
  return r.status === 0;
}

/** True when apt knows a candidate version of `pkg` (false before the first `apt-get update`). */
function aptHasCandidate(pkg) {
  const r = spawnSync('apt-cache', ['policy', pkg], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) return false;
  const m = /Candidate:\s*(\S+)/.exec(r.stdout);
  return Boolean(m && m[1] !== '(none)');
}

/**
 * Installs Debian's `pkg` when running as root, then looks again with `find`.
 * Returns { ok: true, found } or { ok: false, message } (`notRoot` when not root, `failed` when
 * the install or the second look fails).
 */
export function installDebianPackage({ pkg, find, log, notRoot, failed }) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) return { ok: false, message: notRoot };

  log(`${pkg}: not found; installing Debian package "${pkg}" (root, apt-get)`);
  const install = ['install', '-y', '--no-install-recommends', pkg];
  let updated = false;
  if (!aptHasCandidate(pkg)) {
    if (!run('apt-get', ['update'], log)) return { ok: false, message: `${pkg}: \`apt-get update\` failed` };
    updated = true;
  }
  let installed = run('apt-get', install, log);
  if (!installed && !updated) {
    // Package lists may be stale (the .deb they name is gone): refresh once and retry.
    installed = run('apt-get', ['update'], log) && run('apt-get', install, log);
  }
  const after = find();
  if (installed && after) {
    log(`${pkg}: installed ${after}`);
    return { ok: true, found: after };
  }
  return { ok: false, message: failed };
}

/**
 * The path of a usable `name` binary, or null: `env[envVar]` when it is executable, then `name`
 * on PATH, then the first executable of `candidates`.
 */
export function findExecutable(name, envVar, candidates, env = process.env) {
  if (env[envVar] && isExecutable(env[envVar])) return env[envVar];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return candidates.find(isExecutable) ?? null;
}

/**
 * Ensures the `name` binary exists (`findExecutable`), installing Debian's package of the same
 * name when running as root and none is found. Returns { ok: true, path } or { ok: false, message }.
 */
export function ensureExecutable({ name, envVar, candidates, log }) {
  const found = findExecutable(name, envVar, candidates);
  if (found) {
    log(`${name}: using ${found}`);
    return { ok: true, path: found };
  }
  if (process.env[envVar]) log(`${name}: ${envVar}=${process.env[envVar]} is not an executable file`);
  const result = installDebianPackage({
    pkg: name,
    find: () => findExecutable(name, envVar, candidates),
    log,
    notRoot: `${name} not found: install it with \`sudo apt-get install ${name}\` or set ${envVar} to an ${name} binary.`,
    failed: `${name}: \`apt-get install ${name}\` failed; install it by hand or set ${envVar}.`,
  });
  return result.ok ? { ok: true, path: result.found } : result;
}
