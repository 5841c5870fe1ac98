#!/usr/bin/env node
// Makes sure the archive readers that check the package's ZIP archives are installed (lib/zip's
// validator tests): Info-ZIP's unzip, libarchive's bsdtar, 7-Zip and Python's zipfile.
//
// Each tool is looked up on PATH; a missing one is installed, when running as root, from its
// Debian package with apt-get (non-interactively, `apt-get update` first when apt knows no version
// of it: see debian-package.mjs). Idempotent: a tool that is there is used as it is. Python is
// not installed here: it comes with the machine, and the test says so if it is missing.
//
// Usage: node scripts/ensure-archivers.mjs     (exit 0 = every tool ready, 1 = not)
//        import { ensureArchivers } from './ensure-archivers.mjs'

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { installDebianPackage, isExecutable } from './debian-package.mjs';

/** Each reader: the commands that provide it (first found wins), and the Debian package that has one. */
export const ARCHIVERS = [
  { tool: 'unzip', commands: ['unzip'], pkg: 'unzip' },
  { tool: 'bsdtar', commands: ['bsdtar'], pkg: 'libarchive-tools' },
  { tool: '7-Zip', commands: ['7zz', '7z', '7za'], pkg: '7zip' },
  { tool: 'python3', commands: ['python3'], pkg: undefined },
];

/** The path of the first of `commands` on PATH (or in /usr/bin), or null. */
export function findCommand(commands, env = process.env) {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin'];
  for (const command of commands) {
    for (const dir of dirs) if (isExecutable(path.join(dir, command))) return path.join(dir, command);
  }
  return null;
}

/**
 * Ensures every archive reader exists. Returns { ok: true, paths: { unzip, bsdtar, '7-Zip', python3 } }
 * or { ok: false, message } naming what is missing and how to get it.
 */
export function ensureArchivers({ log = (line) => console.log(line) } = {}) {
  const paths = {};
  const missing = [];
  for (const { tool, commands, pkg } of ARCHIVERS) {
    let found = findCommand(commands);
    if (!found && pkg) {
      const result = installDebianPackage({
        pkg,
        find: () => findCommand(commands),
        log,
        notRoot: `${tool} not found: install it with \`sudo apt-get install ${pkg}\``,
        failed: `${tool}: \`apt-get install ${pkg}\` failed; install it by hand`,
      });
      if (result.ok) found = result.found;
      else missing.push(result.message);
    } else if (!found) {
      missing.push(`${tool} not found: install Python 3`);
    }
    if (found) paths[tool] = found;
  }
  return missing.length ? { ok: false, message: missing.join('\n') } : { ok: true, paths };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensureArchivers();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
  for (const [tool, found] of Object.entries(result.paths)) console.log(`${tool}: ${found}`);
}
