#!/usr/bin/env node
// The repository's own commands on a fresh clone, as a new contributor runs them: `git clone` of
// this checkout's HEAD into a temporary folder, `npm ci --prefer-offline` (which builds the
// package through the root's `prepare`), then every cheap script the README names must start and
// succeed: `npm run dev` answers a request and stops (it once failed here with
// `next-downloadview: not found`, npm having linked the workspace's bin before `prepare` built
// lib/dist), `npm run build:package`, `npm run db:generate` (which must find the migrations in
// step with the schemas); with --full also `npm run typecheck` and `npm run lint` (which
// `npm test` runs on the working tree anyway). `npm start` and `npm test` are covered by the
// rest of `npm test`. Most of the time is `npm ci` compiling better-sqlite3.
//
//   node scripts/clone-test.mjs [--full] [--keep]      (commit first: the clone has HEAD only)

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const full = process.argv.includes('--full');
const work = mkdtempSync(path.join(os.tmpdir(), 'ndv-clone-'));
const clone = path.join(work, 'repo');
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', npm_config_audit: 'false', npm_config_fund: 'false' };
delete env.NODE_ENV;
// What a contributor's shell would not have: this run's own npm and stage settings.
for (const name of Object.keys(env)) if (/^npm_(lifecycle|package|command)|^INIT_CWD$/.test(name)) delete env[name];
const timings = [];

function timed(title, action) {
  const started = Date.now();
  console.log(`clone: ${title}`);
  const result = action();
  timings.push(`${title} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

function run(command, args, cwd = clone) {
  const result = spawnSync(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}) in ${cwd}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

function get(port, pathname) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`timeout on ${pathname}`)));
    req.on('error', reject);
    req.end();
  });
}

/** `npm run dev` until it answers `/` with 200, then SIGTERM to its process group. */
async function checkDev() {
  const port = await freePort();
  console.log(`clone: npm run dev -- --port ${port}`);
  const started = Date.now();
  // The last --port wins (node:util parseArgs), so the script's own 3000 is not needed free.
  const child = spawn('npm', ['run', 'dev', '--', '--port', String(port)], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm run dev exited (${child.exitCode}) before answering:\n${output}`);
      const status = await get(port, '/').catch(() => undefined);
      if (status !== undefined) {
        if (status !== 200) throw new Error(`npm run dev answered / with ${status}:\n${output}`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`npm run dev did not answer within 120 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    }
  }
  timings.push(`npm run dev (to the first 200) ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  const started = Date.now();
  timed(`git clone ${root} (HEAD)`, () => run('git', ['clone', '--quiet', '--no-hardlinks', root, clone], work));
  timed('npm ci --prefer-offline', () => run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund']));
  if (!existsSync(path.join(clone, 'lib', 'dist', 'cli', 'main.js'))) throw new Error('npm ci did not build the package (lib/dist/cli/main.js)');
  await checkDev();
  timed('npm run build:package', () => run('npm', ['run', 'build:package']));
  if (full) {
    timed('npm run typecheck', () => run('npm', ['run', 'typecheck']));
    timed('npm run lint', () => run('npm', ['run', 'lint']));
  }
  timed('npm run db:generate', () => {
    const output = run('npm', ['run', 'db:generate']);
    const status = run('git', ['status', '--porcelain', '--', 'db']);
    if (status.trim() !== '') throw new Error(`npm run db:generate changed the migrations (the schemas and migrations disagree):\n${status}\n${output}`);
  });
  console.log(`clone: ${timings.join(', ')}`);
  console.log(`clone: the README's commands work on a fresh clone (${((Date.now() - started) / 1000).toFixed(1)} s)`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`clone: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
