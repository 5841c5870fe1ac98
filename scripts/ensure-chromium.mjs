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

import { pathToFileURL } from 'node:url';
import { installDebianPackage, isExecutable } from './debian-package.mjs';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Returns the path of a usable Chromium, or null. */
export function findChromium(env = process.env) {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv && isExecutable(fromEnv)) return fromEnv;
  if (isExecutable(DEFAULT_CHROMIUM)) return DEFAULT_CHROMIUM;
  return null;
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

  const result = installDebianPackage({
    pkg: 'chromium',
    find: () => findChromium(),
    log,
    notRoot: 'Chromium not found: install it with `sudo apt-get install chromium` or set CHROMIUM_PATH to a Chromium/Chrome binary.',
    failed: 'chromium: `apt-get install chromium` failed; install it by hand or set CHROMIUM_PATH.',
  });
  return result.ok ? { ok: true, path: result.found } : result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensureChromium();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
}
