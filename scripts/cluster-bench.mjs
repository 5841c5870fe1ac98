// The cluster's bench rows (issue 13): wrk through nginx (both instances, round-robin) and against
// one instance directly, on a 4 KiB and a 1 MiB file served by the files route (streamed from S3
// through the kit) and by the storage route (the instance's media folder on local disk). Used by
// `node scripts/cluster-test.mjs --bench`, after its checks pass. scripts/bench/load.ts drives wrk
// for the main bench but is TypeScript, which plain node does not load: this calls wrk itself,
// with the same scripts/bench/wrk.lua and its one JSON result line.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const WRK_SCRIPT = path.join(here, 'bench', 'wrk.lua');
const SECONDS = 5;
/** The main bench's sizes and connection counts for them (scripts/bench/config.ts). */
const SIZES = [
  { label: '4 KiB', bytes: 4 * 1024, connections: 64 },
  { label: '1 MiB', bytes: 1024 * 1024, connections: 16 },
];

/** One wrk run; its counts from wrk.lua's `BENCH_JSON` line. */
function wrk(url, connections) {
  return new Promise((resolve, reject) => {
    const args = ['-t1', `-c${connections}`, `-d${SECONDS}s`, '--timeout', '30s', '-s', WRK_SCRIPT, url];
    const child = spawn('wrk', args, { env: { ...process.env, BENCH_METHOD: 'GET' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 60) * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = output.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) return reject(new Error(`wrk exited with ${code ?? signal}:\n${output.slice(-2000)}`));
      const r = JSON.parse(line.slice('BENCH_JSON '.length));
      const seconds = r.duration_us / 1e6;
      resolve({
        reqPerSec: r.requests / seconds,
        // wrk counts the bytes it read, headers included; MB = 10^6 bytes, as in the main bench.
        mbPerSec: r.bytes / seconds / 1e6,
        errors: r.connect + r.read + r.write + r.timeout + r.status,
      });
    });
  });
}

/** Sends GETs through nginx until both instances have answered (a restarted one may be marked down for a while). */
async function waitForBoth(nginxUrl, addresses, probe) {
  const seen = new Set();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${nginxUrl}${probe}`, { signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    const upstream = response.headers.get('x-upstream')?.split(', ').pop();
    if (response.ok && upstream) seen.add(upstream);
    if (addresses.every((a) => seen.has(a))) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`nginx did not reach both instances within 30 s (saw ${[...seen].join(', ') || 'none'})`);
}

/**
 * Seeds the files, runs every workload through nginx then against `one`, and prints the table.
 * `instances` are the two instances (each with `media`, its MEDIA_ROOT, and `address`); `upload`
 * posts bytes to the files route and returns the row.
 */
export async function runClusterBench({ nginx, instances, one, upload, log }) {
  if (spawnSync('sh', ['-c', 'command -v wrk']).status !== 0) throw new Error('--bench needs wrk (apt-get install wrk)');
  const workloads = [];
  for (const size of SIZES) {
    const bytes = randomBytes(size.bytes);
    const row = await upload(nginx.url, `cluster bench ${size.label}.bin`, bytes);
    // The same bytes in both media folders, so either instance serves the storage route alike.
    const name = `cluster-bench/${size.bytes}.bin`;
    for (const instance of instances) {
      mkdirSync(path.join(instance.media, 'cluster-bench'), { recursive: true });
      writeFileSync(path.join(instance.media, name), bytes);
    }
    workloads.push({ label: `files ${size.label} x${size.connections}`, path: `/api/files/${row.id}`, size, bytes });
    workloads.push({ label: `storage ${size.label} x${size.connections}`, path: `/api/storage/${name}`, size, bytes });
  }
  // Each URL answers the whole file from each target before it is measured.
  for (const w of workloads) {
    for (const base of [nginx.url, nginx.url, one.url]) {
      const response = await fetch(`${base}${w.path}`, { signal: AbortSignal.timeout(30_000) });
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status !== 200 || !body.equals(w.bytes)) throw new Error(`${base}${w.path} answered ${response.status} with ${body.length} bytes`);
    }
  }
  await waitForBoth(nginx.url, instances.map((i) => i.address), workloads[0].path);

  const rows = [];
  for (const w of workloads) {
    const viaNginx = await wrk(`${nginx.url}${w.path}`, w.size.connections);
    const direct = await wrk(`${one.url}${w.path}`, w.size.connections);
    log(`bench ${w.label}: nginx ${viaNginx.reqPerSec.toFixed(0)} req/s, ${one.name} ${direct.reqPerSec.toFixed(0)} req/s`);
    rows.push([w.label, 'nginx (a+b)', viaNginx, '']);
    rows.push([w.label, `${one.name} only`, direct, `${(viaNginx.reqPerSec / direct.reqPerSec).toFixed(2)}x`]);
  }
  const header = ['workload', 'target', 'req/s', 'MB/s', 'errors', 'nginx/one'];
  const cells = rows.map(([label, target, r, ratio]) => [label, target, r.reqPerSec.toFixed(0), r.mbPerSec.toFixed(1), String(r.errors), ratio]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  console.log(`\ncluster bench: wrk -t1, ${SECONDS} s per row, ${instances.length} instances of WORKERS=${process.env.WORKERS || '2'}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}; MB = 10^6 bytes (headers included)`);
  console.log(line(header));
  for (const c of cells) console.log(line(c));
  console.log('');
}
