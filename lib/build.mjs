#!/usr/bin/env node
// Builds the package into dist/: ESM JavaScript and .d.ts from tsc, then every relative import
// given its full file name (`./engine/serve.js`), which Node's ESM loader and `moduleResolution:
// node16` need and bundlers accept. `npm pack` runs it (prepack), so a tarball is never stale.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: here, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

rmSync(dist, { recursive: true, force: true });
run('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json']);
run('npx', ['--no-install', 'tsc-alias', '-p', 'tsconfig.build.json', '--resolve-full-paths']);
const cli = path.join(dist, 'cli', 'main.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
