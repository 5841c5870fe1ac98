#!/usr/bin/env node
// Makes sure a Chromium binary is available for the Playwright e2e suite.
//
// Order: $CHROMIUM_PATH (if set and executable), then /usr/bin/chromium.
// Otherwise, when running as root, installs Debian's `chromium` package with
// apt-get (non-interactively); when not root, prints one line saying how to
// get one and fails. Playwright's own browser download is never used.
//
// Usage: node scripts/ensure-chromium.mjs      (exit 0 = ready, 1 = not)
//        import { ensureChromium } from './ensure-chromium.mjs'

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Returns the path of a usable Chromium, or null. */
export function findChromium(env = process.env) {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv && isExecutable(fromEnv)) return fromEnv;
  if (isExecutable(DEFAULT_CHROMIUM)) return DEFAULT_CHROMIUM;
  return null;
}

function run(cmd, args, log) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.error) log(`${cmd}: ${r.error.message}`);
  return r.status === 0;
}

/** True when apt knows a candidate version of the chromium package. */
function aptHasCandidate() {
  const r = spawnSync('apt-cache', ['policy', 'chromium'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) return false;
  const m = /Candidate:\s*(\S+)/.exec(r.stdout);
  return Boolean(m && m[1] !== '(none)');
}

/**
 * Ensures Chromium exists. Returns { ok: true, path } or { ok: false, message }.
 * Installs Debian's chromium when running as root and none is found.
 */
export function ensureChromium({ log = (line) => console.log(line) } = {}) {
  const found = findChromium();
  if (found) {
    log(`chromium: using ${found}`);
    return { ok: true, path: found };
  }
  if (process.env.CHROMIUM_PATH) {
    log(`chromium: CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable file`);
  }

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    return {
      ok: false,
      message:
        'Chromium not found: install it with `sudo apt-get install chromium` or set CHROMIUM_PATH to a Chromium/Chrome binary.',
    };
  }

  log('chromium: not found; installing Debian package "chromium" (root, apt-get)');
  const install = ['install', '-y', '--no-install-recommends', 'chromium'];
  let updated = false;
  if (!aptHasCandidate()) {
    if (!run('apt-get', ['update'], log)) {
      return { ok: false, message: 'chromium: `apt-get update` failed' };
    }
    updated = true;
  }
  let installed = run('apt-get', install, log);
  if (!installed && !updated) {
    // Package lists may be stale (the .deb they name is gone): refresh once and retry.
    installed = run('apt-get', ['update'], log) && run('apt-get', install, log);
  }
  const after = findChromium();
  if (installed && after) {
    log(`chromium: installed ${after}`);
    return { ok: true, path: after };
  }
  return {
    ok: false,
    message: 'chromium: `apt-get install chromium` failed; install it by hand or set CHROMIUM_PATH.',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensureChromium();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
}
