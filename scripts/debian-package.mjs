// What scripts/ensure-chromium.mjs, ensure-nginx.mjs and ensure-postgres.mjs share: finding an
// executable, and installing a Debian package with apt-get when run as root.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

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
