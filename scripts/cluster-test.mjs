#!/usr/bin/env node
// The cluster test: two instances of the demo's production build (SKIP_BUILD=1: `next build` must
// have run) on two ports, each with its own media folder, sharing one Postgres
// (scripts/postgres.mjs), one S3-compatible store behind the signature gate (scripts/s3.mjs) for
// the files table, and one DOWNLOAD_SECRET, behind a real nginx doing round-robin
// (nginx/cluster.conf.template). With plain HTTP, through nginx and against each instance:
// an upload through one is listed and served by the other with the same ETag (the row's sha256)
// and length; 304 and Range resumes cross instances; a signed link minted by one is accepted by
// the other; a delete is seen by both; an instance killed mid-download truncates the client's
// body, and a Range + If-Range retry through nginx completes it from the other, byte for byte.
//
//   node scripts/cluster-test.mjs        (one line per check; exit 1 on any failure, 77 when
//                                         skipped for want of Postgres, outside CI)
//   node scripts/cluster-test.mjs --bench (then, once every check passed, issue 13's bench rows:
//                                         wrk through nginx and against one instance, from
//                                         scripts/cluster-bench.mjs; never run by npm test)
//
// Ports: 5100-5199 on 127.0.0.1 (CLUSTER_PORTS=from-to to move them). WORKERS: processes per
// instance, passed to scripts/start.ts. Everything started here is stopped, and its temporary
// folders removed, before the script exits.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNginx } from './ensure-nginx.mjs';
import { ensurePostgres } from './ensure-postgres.mjs';
import { renderNginxConfig } from './nginx.mjs';
import { findFreePort, startPostgres } from './postgres.mjs';
import { startS3 } from '../lib/s3/s3-server.test-support.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATE = path.join(root, 'nginx', 'cluster.conf.template');
const [PORT_FROM, PORT_TO] = (process.env.CLUSTER_PORTS ?? '5100-5199').split('-').map(Number);
/** Each instance runs `--workers 2`, as issue 13's cluster does; WORKERS overrides it. */
const WORKERS = process.env.WORKERS || '2';
const BUCKET = 'cluster-files';
const CREDENTIALS = { accessKeyId: 'test-key', secretAccessKey: 'test-secret' };
/** Large enough that socket buffers between instance, nginx and client cannot hold it all. */
const LARGE_BYTES = 32 * 1024 * 1024;
/** The client's reading pace for the large download, bytes per second. */
const CLIENT_RATE = 4 * 1024 * 1024;
const BENCH = process.argv.includes('--bench');

const started = Date.now();
const cleanups = [];
const work = mkdtempSync(path.join(os.tmpdir(), 'ndv-cluster-'));
cleanups.push(() => rmSync(work, { recursive: true, force: true }));
let failures = 0;

function log(line) {
  console.log(`cluster: ${line}`);
}

/** One line per check; a failing check is counted and the run goes on to the next. */
async function check(title, fn) {
  try {
    const detail = await fn();
    log(`ok   ${title}${detail ? ` (${detail})` : ''}`);
  } catch (error) {
    failures += 1;
    log(`FAIL ${title}: ${error instanceof Error ? error.message : error}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The next free port of the range from `after` on (the range is this script's own). */
async function port(after) {
  return findFreePort({ from: after, to: PORT_TO });
}

/** Resolves once `url` answers 2xx, or throws after `timeoutMs` or when `alive()` turns false. */
async function waitFor(url, { timeoutMs = 120_000, alive = () => true, what = url } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`${what} stopped before it answered`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Kills a process group started with `detached: true`; resolves once its leader is gone. */
function killGroup(child, signal) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    child.once('exit', () => resolve(undefined));
    try {
      process.kill(-child.pid, signal);
    } catch {
      resolve(undefined);
    }
  });
}

/** Stops a group gracefully, then for good; a straggler of the group never outlives the test. */
async function stopGroup(child) {
  const term = killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 8_000);
  await term;
  clearTimeout(timer);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The whole group is gone.
  }
}

/** How many processes a group started here has (for the log: workers show up here). */
function groupSize(child) {
  const found = spawnSync('pgrep', ['-g', String(child.pid)], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim().split('\n').length : 0;
}

/** A process in a group of its own, its output kept for the failure report. */
function startGroup(name, command, args, env) {
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (data) => {
    output = (output + data).slice(-8_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (error) => keep(`cannot start: ${error.message}\n`));
  const entry = { name, child, output: () => output };
  cleanups.push(() => stopGroup(child));
  return entry;
}

async function startInstance(name, { port: appPort, databaseUrl, s3Endpoint, secret }) {
  const media = path.join(work, `${name}-media`);
  const varDir = path.join(work, `${name}-var`);
  mkdirSync(varDir, { recursive: true });
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    SKIP_BUILD: '1',
    PORT: String(appPort),
    HOST: '127.0.0.1',
    WORKERS,
    MEDIA_ROOT: media,
    DATABASE_URL: databaseUrl,
    DOWNLOAD_SECRET: secret,
    FILES_STORAGE: `s3://${BUCKET}/files`,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    SHUTDOWN_GRACE_MS: '2000',
  };
  delete env.FILES_DELIVERY;
  const instance = startGroup(name, path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'scripts', 'start.ts')], env);
  instance.url = `http://127.0.0.1:${appPort}`;
  instance.address = `127.0.0.1:${appPort}`;
  instance.media = media;
  instance.alive = () => instance.child.exitCode === null && instance.child.signalCode === null;
  return instance;
}

async function startNginx({ proxyPort, a, b }) {
  const found = ensureNginx();
  if (!found.ok) throw new Error(found.message);
  const temp = path.join(work, 'nginx');
  mkdirSync(temp);
  for (const folder of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(temp, folder));
  let user = '';
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    // As root, nginx's workers would switch to `nobody`, who cannot write the temp folders: run
    // them as the folder's owner, as scripts/nginx.mjs does.
    const { uid, gid } = statSync(temp);
    const name = spawnSync('id', ['-nu', String(uid)], { encoding: 'utf8' }).stdout.trim() || 'root';
    const group = spawnSync('getent', ['group', String(gid)], { encoding: 'utf8' }).stdout.split(':')[0] || name;
    user = `user ${name} ${group};`;
    for (const folder of ['', 'client_body', 'proxy']) chownSync(path.join(temp, folder), uid, gid);
  }
  const config = path.join(temp, 'nginx.conf');
  writeFileSync(
    config,
    renderNginxConfig(readFileSync(TEMPLATE, 'utf8'), { TEMP_DIR: temp, USER_DIRECTIVE: user, APP_A: a, APP_B: b, PROXY_PORT: proxyPort }),
  );
  const args = ['-p', `${temp}/`, '-e', path.join(temp, 'error.log'), '-c', config];
  const test = spawnSync(found.path, ['-t', '-q', ...args], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t failed:\n${test.stderr}${test.stdout}`);
  const nginx = startGroup('nginx', found.path, args, process.env);
  nginx.url = `http://127.0.0.1:${proxyPort}`;
  nginx.alive = () => nginx.child.exitCode === null && nginx.child.signalCode === null;
  return nginx;
}

async function upload(base, name, bytes) {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'application/octet-stream' }), name);
  const response = await fetch(`${base}/api/files`, { method: 'POST', body: form, signal: AbortSignal.timeout(60_000) });
  const body = await response.text();
  expect(response.status === 201, `upload through ${base} answered ${response.status}: ${body.slice(0, 200)}`);
  return JSON.parse(body);
}

async function get(url, headers = {}) {
  const response = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(60_000) });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes };
}

/**
 * GET through node:http, read at CLIENT_RATE; calls `onProgress(received, response)` after each
 * chunk. Resolves with what came and how it ended: `complete` only when the body ended whole.
 */
function slowDownload(url, onProgress) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let received = 0;
    let settled = false;
    const t0 = Date.now();
    const request = httpRequest(url, { agent: false }, (response) => {
      const finish = (how) => {
        if (settled) return;
        settled = true;
        resolve({ response, bytes: Buffer.concat(chunks), how, complete: response.complete });
      };
      response.on('data', (chunk) => {
        chunks.push(chunk);
        received += chunk.length;
        onProgress(received, response);
        const ahead = received / CLIENT_RATE - (Date.now() - t0) / 1000;
        if (ahead > 0) {
          response.pause();
          setTimeout(() => response.resume(), ahead * 1000);
        }
      });
      response.on('end', () => finish('end'));
      response.on('aborted', () => finish('aborted'));
      response.on('error', (error) => finish(`error ${error.code ?? error.message}`));
      response.on('close', () => finish('close'));
    });
    request.on('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    request.setTimeout(60_000, () => request.destroy(new Error('download timed out')));
    request.end();
  });
}

/** The exit code that says "skipped" to scripts/test.mjs (automake's convention). */
export const SKIPPED = 77;

async function main() {
  // Without Postgres the cluster cannot share a database: one line says why and the test is
  // skipped, as the database tests are; under CI that is a failure.
  const postgres = ensurePostgres({ log: (line) => log(line) });
  if (!postgres.ok) {
    log(`skipped: no Postgres (${postgres.message})`);
    if (process.env.CI) throw new Error('Postgres is required under CI');
    return SKIPPED;
  }
  let next = PORT_FROM;
  const proxyPort = await port(next);
  const portA = await port(proxyPort + 1);
  const portB = await port(portA + 1);
  const s3Port = await port(portB + 1);
  // The gate listens on s3Port, fauxqs on s3Port + 1.
  next = s3Port + 2;

  const pg = await startPostgres({ port: await port(next) });
  cleanups.push(() => pg.stop());
  const s3 = await startS3({ port: s3Port, buckets: [BUCKET], gate: true, credentials: CREDENTIALS });
  cleanups.push(() => s3.stop());
  log(`Postgres on ${pg.port}, S3 (gated) on ${s3Port}; ${WORKERS} worker(s) per instance`);

  const shared = { databaseUrl: pg.url, s3Endpoint: s3.endpoint, secret: randomBytes(48).toString('base64') };
  const a = await startInstance('a', { ...shared, port: portA });
  const b = await startInstance('b', { ...shared, port: portB });
  const nginx = await startNginx({ proxyPort, a: a.address, b: b.address });
  try {
    await Promise.all([
      waitFor(`${a.url}/api/files`, { alive: a.alive, what: 'instance a' }),
      waitFor(`${b.url}/api/files`, { alive: b.alive, what: 'instance b' }),
    ]);
    await waitFor(`${nginx.url}/api/files`, { alive: nginx.alive, what: 'nginx', timeoutMs: 30_000 });
  } catch (error) {
    for (const p of [a, b, nginx]) if (p.output()) console.error(`--- ${p.name} output ---\n${p.output()}`);
    throw error;
  }
  log(`nginx on ${proxyPort} -> a ${a.address}, b ${b.address} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  log(`processes per instance (tsx, server${WORKERS === '1' ? '' : ', workers'}): a ${groupSize(a.child)}, b ${groupSize(b.child)}`);

  const small = randomBytes(300 * 1024 + 7);
  let row;
  let etag;
  await check('an upload through a is listed by b and by nginx', async () => {
    row = await upload(a.url, 'cluster small.bin', small);
    expect(row.sha256 === sha256(small), `the row's sha256 ${row.sha256} is not the upload's`);
    for (const base of [b.url, nginx.url, nginx.url]) {
      const listed = await get(`${base}/api/files`);
      expect(listed.status === 200, `GET ${base}/api/files answered ${listed.status}`);
      const ids = JSON.parse(listed.bytes.toString('utf8')).map((r) => r.id);
      expect(ids.includes(row.id), `${base} does not list file ${row.id}`);
    }
    return `id ${row.id}`;
  });

  await check('b, a and nginx serve it with one ETag (the row checksum) and its Content-Length', async () => {
    const seen = [];
    for (const base of [b.url, a.url, nginx.url, nginx.url]) {
      const r = await get(`${base}/api/files/${row.id}`);
      expect(r.status === 200, `${base} answered ${r.status}`);
      expect(r.headers.get('content-length') === String(small.length), `${base} sent Content-Length ${r.headers.get('content-length')}`);
      expect(sha256(r.bytes) === row.sha256, `${base} sent other bytes`);
      seen.push(r.headers.get('etag'));
    }
    etag = seen[0];
    expect(etag === `"${row.sha256}"`, `the ETag ${etag} is not the row's checksum "${row.sha256}"`);
    expect(seen.every((e) => e === etag), `the ETags differ: ${seen.join(' ')}`);
    return etag.slice(0, 12) + '..."';
  });

  await check('If-None-Match with that ETag gets 304 from a, b and nginx', async () => {
    for (const base of [a.url, b.url, nginx.url, nginx.url]) {
      const r = await get(`${base}/api/files/${row.id}`, { 'if-none-match': etag });
      expect(r.status === 304 && r.bytes.length === 0, `${base} answered ${r.status} with ${r.bytes.length} bytes`);
    }
  });

  await check('a resume (Range + If-Range) started on a continues on b and through nginx', async () => {
    const offset = 100_000;
    for (const base of [b.url, nginx.url, nginx.url]) {
      const r = await get(`${base}/api/files/${row.id}`, { range: `bytes=${offset}-`, 'if-range': etag });
      expect(r.status === 206, `${base} answered ${r.status}`);
      expect(r.headers.get('content-range') === `bytes ${offset}-${small.length - 1}/${small.length}`, `${base} sent Content-Range ${r.headers.get('content-range')}`);
      expect(Buffer.concat([small.subarray(0, offset), r.bytes]).equals(small), `${base} sent other bytes`);
    }
    // If-Range with a validator the file no longer has: the whole file, not a part (RFC 9110 §13.1.5).
    const stale = await get(`${b.url}/api/files/${row.id}`, { range: `bytes=${offset}-`, 'if-range': `"${'0'.repeat(64)}"` });
    expect(stale.status === 200 && stale.bytes.length === small.length, `a stale If-Range got ${stale.status} with ${stale.bytes.length} bytes`);
  });

  await check('a signed link minted by a is accepted by b (and a forged one is not)', async () => {
    const minted = await fetch(`${a.url}/api/signed-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'docs/guide.md', expiresIn: 120 }),
    });
    const body = await minted.json();
    expect(minted.status === 201 && typeof body.url === 'string', `minting answered ${minted.status}: ${JSON.stringify(body)}`);
    const link = new URL(body.url, b.url);
    const onB = await get(`${b.url}${link.pathname}${link.search}`);
    expect(onB.status === 200, `b answered ${onB.status} to a's link`);
    expect(onB.bytes.toString('utf8').startsWith('# Guide'), 'b sent other bytes for the signed file');
    const viaNginx = await get(`${nginx.url}${link.pathname}${link.search}`);
    expect(viaNginx.status === 200, `nginx answered ${viaNginx.status} to a's link`);
    // One signature character changed: the check that accepted the link is a real one.
    const forged = new URL(link);
    const name = [...forged.searchParams.keys()].find((k) => /sig/i.test(k));
    expect(name, `no signature parameter in ${body.url}`);
    const sig = forged.searchParams.get(name);
    forged.searchParams.set(name, (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    const refused = await get(`${b.url}${forged.pathname}${forged.search}`);
    expect(refused.status === 403, `b answered ${refused.status} to a forged signature`);
  });

  await check('a delete through a is seen by b, a and nginx (404)', async () => {
    const removed = await fetch(`${a.url}/api/files/${row.id}`, { method: 'DELETE' });
    expect(removed.status === 204, `DELETE answered ${removed.status}`);
    for (const base of [b.url, a.url, nginx.url]) {
      const r = await get(`${base}/api/files/${row.id}`);
      expect(r.status === 404, `${base} answered ${r.status} after the delete`);
    }
    const listed = JSON.parse((await get(`${b.url}/api/files`)).bytes.toString('utf8'));
    expect(!listed.some((r) => r.id === row.id), 'b still lists the deleted file');
  });

  const large = randomBytes(LARGE_BYTES);
  let big;
  let cut;
  await check(`killing the instance that streams a ${LARGE_BYTES >> 20} MiB download truncates it`, async () => {
    big = await upload(nginx.url, 'cluster large.bin', large);
    expect(big.sha256 === sha256(large), 'the large row has another sha256');
    let killed;
    const result = await slowDownload(`${nginx.url}/api/files/${big.id}`, (received, response) => {
      if (killed || received < 1024 * 1024) return;
      const upstream = response.headers['x-upstream'];
      const victim = [a, b].find((p) => p.address === upstream);
      killed = victim ?? null;
      if (victim) void killGroup(victim.child, 'SIGKILL');
    });
    expect(result.response.statusCode === 200, `the download answered ${result.response.statusCode}`);
    expect(killed, `nginx named no known instance (X-Upstream ${result.response.headers['x-upstream']})`);
    expect(result.response.headers['content-length'] === String(LARGE_BYTES), `Content-Length ${result.response.headers['content-length']}`);
    expect(!result.complete && result.bytes.length < LARGE_BYTES, `the client saw a whole body (${result.bytes.length} bytes, ${result.how})`);
    expect(large.subarray(0, result.bytes.length).equals(result.bytes), 'the bytes before the cut are wrong');
    cut = { bytes: result.bytes, etag: result.response.headers.etag, killed };
    return `${killed.name} killed; ${result.bytes.length} of ${LARGE_BYTES} bytes, ${result.how}`;
  });

  await check('a Range + If-Range retry through nginx completes it from the other instance', async () => {
    expect(cut, 'no truncated download to resume');
    const survivor = cut.killed === a ? b : a;
    const r = await get(`${nginx.url}/api/files/${big.id}`, { range: `bytes=${cut.bytes.length}-`, 'if-range': cut.etag });
    expect(r.status === 206, `the retry answered ${r.status}`);
    expect(r.headers.get('x-upstream')?.split(', ').pop() === survivor.address, `the retry came from ${r.headers.get('x-upstream')}, not ${survivor.address}`);
    expect(r.headers.get('content-range') === `bytes ${cut.bytes.length}-${LARGE_BYTES - 1}/${LARGE_BYTES}`, `Content-Range ${r.headers.get('content-range')}`);
    const whole = Buffer.concat([cut.bytes, r.bytes]);
    expect(sha256(whole) === big.sha256, 'the resumed file has another sha256');
    return `${r.bytes.length} bytes from ${survivor.name}, sha256 matches`;
  });

  if (BENCH) {
    if (failures > 0) return log('bench: not run, a check failed');
    // The kill check left one instance dead: it is started again on its port (same media folder,
    // same database and store) so that nginx balances over two again.
    const instances = [];
    for (const old of [a, b]) {
      if (old.alive()) {
        instances.push(old);
        continue;
      }
      const again = await startInstance(old.name, { ...shared, port: Number(old.address.split(':').pop()) });
      await waitFor(`${again.url}/api/files`, { alive: again.alive, what: `instance ${old.name} (restarted)` });
      log(`bench: ${old.name} restarted`);
      instances.push(again);
    }
    const { runClusterBench } = await import('./cluster-bench.mjs');
    await runClusterBench({ nginx, instances, one: instances[0], upload, log });
  }
}

/** Runs every cleanup once, newest first. */
let cleaning;
function cleanUp() {
  cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error(`cluster: cleanup: ${error instanceof Error ? error.message : error}`);
      }
    }
  })();
  return cleaning;
}

// The instances and nginx run in process groups of their own, which a Ctrl-C or a test runner's
// SIGTERM does not reach: stop them before going.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    void cleanUp().then(() => process.exit(1));
  });
}

let skipped = false;
try {
  skipped = (await main()) === SKIPPED;
} catch (error) {
  failures += 1;
  console.error(`cluster: ${error instanceof Error ? error.stack ?? error.message : error}`);
} finally {
  await cleanUp();
  log(`${failures > 0 ? `${failures} failed` : skipped ? 'skipped' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
process.exit(failures > 0 ? 1 : skipped ? SKIPPED : 0);
