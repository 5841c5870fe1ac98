#!/usr/bin/env node
// A local S3-compatible server for the tests, the e2e demo and the bench: fauxqs, which needs
// Node >= 22, run under the `node` binary of the npm package node@22. Both are installed on
// demand into a tool folder of their own (never as the project's dependencies: a `node`
// package in the root node_modules/.bin would shadow the system's node for every script).
//
//   node scripts/s3.mjs install                      installs them (once; seconds)
//   node scripts/s3.mjs start [--port 4790] [--bucket name ...]
//                                                    runs the server in the foreground
// From code: `const server = await startS3({ port, buckets }); ... await server.stop()`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TOOL_FOLDER = process.env.S3_TOOL_FOLDER ?? path.join(ROOT, 'var', 'tools', 's3');
const NODE22 = path.join(TOOL_FOLDER, 'node_modules', '.bin', 'node');
const FAUXQS = path.join(TOOL_FOLDER, 'node_modules', 'fauxqs', 'package.json');
/** Versions that were tried here; fauxqs 2 answers Range, If-Match and If-None-Match. */
const PACKAGES = ['fauxqs@2', 'node@22'];

/** Installs fauxqs and Node 22 into the tool folder unless they are there. */
export function installS3Server() {
  if (existsSync(NODE22) && existsSync(FAUXQS)) return;
  mkdirSync(TOOL_FOLDER, { recursive: true });
  const manifest = path.join(TOOL_FOLDER, 'package.json');
  if (!existsSync(manifest)) writeFileSync(manifest, '{ "private": true }\n');
  console.error(`s3: installing ${PACKAGES.join(' ')} into ${path.relative(ROOT, TOOL_FOLDER)}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', TOOL_FOLDER, ...PACKAGES], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || !existsSync(NODE22)) throw new Error('s3: could not install fauxqs and node@22');
}

/** The program Node 22 runs: starts fauxqs, creates the buckets, says "ready" on stdout. */
const PROGRAM = `
const { startFauxqs } = await import('fauxqs');
const [port, host, ...buckets] = process.argv.slice(1);
const server = await startFauxqs({ port: Number(port), host, logger: false });
for (const bucket of buckets) server.createBucket(bucket);
process.stdout.write('ready\\n');
const stop = async () => { await server.stop(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/**
 * Starts fauxqs on 127.0.0.1:port with the given buckets; resolves once it answers. `stop()`
 * ends it. Any credentials are accepted (fauxqs does not check signatures).
 */
export async function startS3({ port = 4790, buckets = ['downloads'], host = '127.0.0.1', timeoutMs = 30_000 } = {}) {
  installS3Server();
  const child = spawn(NODE22, ['--no-warnings', '--input-type=module', '-e', PROGRAM, String(port), host, ...buckets], {
    cwd: TOOL_FOLDER,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3: fauxqs did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3: fauxqs exited (${code}) before it was ready`));
    });
    child.stdout.on('data', (data) => {
      if (String(data).includes('ready')) {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    endpoint: `http://${host}:${port}`,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(undefined);
        child.once('exit', () => resolve(undefined));
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

function option(args, name, fallback) {
  const values = [];
  for (let i = 0; i < args.length; i++) if (args[i] === name && args[i + 1] !== undefined) values.push(args[++i]);
  return values.length ? values : fallback;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'install') {
    installS3Server();
  } else if (command === 'start') {
    const port = Number(option(args, '--port', [process.env.S3_PORT ?? '4790'])[0]);
    const buckets = option(args, '--bucket', ['downloads']);
    const server = await startS3({ port, buckets });
    console.error(`s3: fauxqs on ${server.endpoint}, buckets ${buckets.join(', ')}`);
    const stop = () => server.stop().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    server.child.once('exit', (code) => process.exit(code ?? 1));
  } else {
    console.error('usage: node scripts/s3.mjs install | start [--port 4790] [--bucket name ...]');
    process.exit(2);
  }
}
