#!/usr/bin/env node
// Makes sure a PostgreSQL server's binaries (initdb, pg_ctl) are available, for the tests and
// the demo on Postgres (scripts/postgres.mjs runs a throwaway cluster with them).
//
// Order: $PG_BIN (a folder holding initdb and pg_ctl), then the newest
// /usr/lib/postgresql/<version>/bin (Debian's layout), then initdb on the PATH. Otherwise,
// when running as root, installs Debian's `postgresql` package with apt-get (non-interactively;
// `apt-get update` first when apt knows no version of it, or once when the install fails); when
// not root, prints one line saying how to get one and fails. The package's own service is never
// started or used.
//
// Usage: node scripts/ensure-postgres.mjs      (exit 0 = ready, 1 = not)
//        import { ensurePostgres, findPostgres } from './ensure-postgres.mjs'

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { installDebianPackage, isExecutable } from './debian-package.mjs';

const DEBIAN_ROOT = '/usr/lib/postgresql';

function hasServer(dir) {
  return isExecutable(path.join(dir, 'initdb')) && isExecutable(path.join(dir, 'pg_ctl'));
}

/**
 * Returns the folder holding initdb and pg_ctl, or null.
 * @param {Record<string, string | undefined>} [env]
 * @returns {string | null}
 */
export function findPostgres(env = process.env) {
  if (env.PG_BIN && hasServer(env.PG_BIN)) return env.PG_BIN;
  let versions = [];
  try {
    versions = readdirSync(DEBIAN_ROOT).filter((name) => /^[0-9]+$/.test(name));
  } catch {
    // No Debian package installed.
  }
  for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = path.join(DEBIAN_ROOT, version, 'bin');
    if (hasServer(dir)) return dir;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && hasServer(dir)) return dir;
  }
  return null;
}

/**
 * Ensures PostgreSQL's server binaries exist. Returns { ok: true, bin } or { ok: false, message }.
 * Installs Debian's postgresql when running as root and none is found.
 */
export function ensurePostgres({ log = (line) => console.log(line) } = {}) {
  const found = findPostgres();
  if (found) return { ok: true, bin: found };
  if (process.env.PG_BIN) log(`postgres: PG_BIN=${process.env.PG_BIN} holds no initdb and pg_ctl`);

  const result = installDebianPackage({
    pkg: 'postgresql',
    find: () => findPostgres(),
    log,
    notRoot: 'PostgreSQL not found: install it with `sudo apt-get install postgresql` or set PG_BIN to the folder of its initdb and pg_ctl.',
    failed: 'postgres: `apt-get install postgresql` failed; install it by hand or set PG_BIN.',
  });
  return result.ok ? { ok: true, bin: result.found } : result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensurePostgres();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
  console.log(`postgres: using ${result.bin}`);
}
