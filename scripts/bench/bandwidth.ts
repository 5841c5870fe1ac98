/**
 * The bandwidth rows: how exactly `rateLimit` holds a rate (a 10 MB download at 1 MB/s must take
 * 10 s ± 5%) under the kit's server and plain `next start`; what 20 rate-limited downloads cost
 * the server's memory over time ("slow x20": flat); and what a precompressed `.br` sibling
 * saves on a text file, in bytes and in time. The routes: app/api/bench/limited (the bench's
 * files at `?rate=`) and the demo's /api/path (precompressed siblings on).
 */
import { request as httpRequest } from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MB } from './config';
import { openFds, processTree, rssBytes, spawnTracked } from './procs';
import { median, target, type Row, type Target } from './report';
import { freePort, type RunningServer } from './servers';

/**
 * Plain `next start` on the build the kit's server serves (the same demo, the same bench routes):
 * the other body path, where Next pipes every body as a web stream.
 */
export async function startNextStart(root: string, mediaRoot: string, quiet: boolean): Promise<RunningServer> {
  const port = await freePort();
  const child = spawnTracked(process.execPath, [path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: root,
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', quiet ? 'ignore' : 'inherit'],
    env: { ...process.env, MEDIA_ROOT: mediaRoot, BENCH_ROUTES: '1', NEXT_TELEMETRY_DISABLED: '1' },
  });
  const base = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`next start exited (${child.exitCode}) before it was ready`);
    const status = await download(`${base}/api/bench/constant`, {}, 5000).then((answer) => answer.status, () => 0);
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error('next start not ready after 60 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const pid = child.pid!;
  return { name: 'next start', base, pid, pids: () => processTree(pid), child };
}

/** A file of `bytes` under `dir` (kept between runs). */
export function sizedFile(dir: string, name: string, bytes: number): string {
  const file = path.join(dir, name);
  if (!existsSync(file)) writeFileSync(file, Buffer.alloc(bytes, 0x2a));
  return file;
}

export interface Download {
  status: number;
  bytes: number;
  totalMs: number;
  contentEncoding: string | undefined;
  contentLength: number | undefined;
}

/** One download on a fresh connection, read as fast as this process can: bytes and time to the last one. */
export function download(url: string, headers: Record<string, string> = {}, timeoutMs = 120_000): Promise<Download> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let bytes = 0;
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        const length = res.headers['content-length'];
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          totalMs: performance.now() - start,
          contentEncoding: res.headers['content-encoding'],
          contentLength: length === undefined ? undefined : Number(length),
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export interface BandwidthContext {
  log(line: string): void;
  /** Something that went wrong: a failure of the smoke, a note in the full bench. */
  problem(line: string): void;
}

/**
 * `bytes` at `bytesPerSecond` from each server, `rounds` times: seconds per download, which must
 * be `bytes / bytesPerSecond` within 5%.
 */
export async function runRateAccuracy(
  ctx: BandwidthContext,
  servers: readonly RunningServer[],
  file: string,
  bytes: number,
  bytesPerSecond: number,
  rounds: number,
): Promise<{ rows: Row[]; targets: Target[] }> {
  const title = `${bytes / MB} MB at ${bytesPerSecond / MB} MB/s`;
  const expected = bytes / bytesPerSecond;
  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const server of servers) {
    ctx.log(`${title} ${server.name}: ${rounds} downloads of ${expected} s`);
    const seconds: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const answer = await download(`${server.base}/api/bench/limited/${file}?rate=${bytesPerSecond}`);
      if (answer.status !== 200 || answer.bytes !== bytes) {
        ctx.problem(`${title} ${server.name}: status ${answer.status}, ${answer.bytes} of ${bytes} bytes`);
        break;
      }
      seconds.push(answer.totalMs / 1000);
    }
    if (seconds.length === 0) continue;
    rows.push({ workload: title, contender: server.name, kit: true, unit: 's', values: seconds, median: median(seconds), note: `expected ${expected} s ± 5%` });
    // Every round within 5%: the slowest and the fastest against the expected time.
    const id = `${bytes / MB}MB-at-${bytesPerSecond / MB}MB/s/${server.name.replaceAll(' ', '-')}`;
    targets.push(target(`${id}-slowest`, Math.max(...seconds) / expected, '<=', 1.05, 'x', `the slowest round's seconds / ${expected}`));
    targets.push(target(`${id}-fastest`, Math.min(...seconds) / expected, '>=', 0.95, 'x', `the fastest round's seconds / ${expected}`));
  }
  return { rows, targets };
}

export interface LimitedClientsResult {
  rows: Row[];
  targets: Target[];
}

/**
 * `clients` downloads of one file (longer than `seconds` at the rate, under `dir`) at once, each
 * limited by the route to `bytesPerSecond` and read as fast as the client can, for `seconds`:
 * the server's RSS is sampled throughout. Memory is flat when what it holds per download is
 * bounded: it grows in the first second (one chunk of the file per download) and not after.
 * Also the rate each client got, and the descriptors left once they are gone.
 */
export async function runLimitedClients(
  ctx: BandwidthContext,
  server: RunningServer,
  dir: string,
  clients: number,
  bytesPerSecond: number,
  seconds: number,
): Promise<LimitedClientsResult> {
  const size = bytesPerSecond * (seconds + 10);
  const file = `limited-${size}.bin`;
  sizedFile(dir, file, size);
  const title = `slow x${clients} (rateLimit ${bytesPerSecond / MB} MB/s)`;
  ctx.log(`${title} ${server.name}: ${clients} downloads limited by the route, ${seconds} s`);
  const url = `${server.base}/api/bench/limited/${file}?rate=${bytesPerSecond}`;
  const fdsBefore = openFds(server.pid);
  const rssBefore = rssBytes(server.pid);
  const samples: Array<{ at: number; rss: number }> = [];
  const started = performance.now();
  const sampler = setInterval(() => samples.push({ at: (performance.now() - started) / 1000, rss: rssBytes(server.pid) }), 100);
  const received = new Array<number>(clients).fill(0);
  const failures: string[] = [];
  const requests: Array<ReturnType<typeof httpRequest>> = [];
  let stopping = false;
  const done = Promise.all(
    Array.from(
      { length: clients },
      (_, index) =>
        new Promise<void>((resolve) => {
          const req = httpRequest(url, { agent: false }, (res) => {
            if (res.statusCode !== 200) failures.push(`client ${index}: status ${res.statusCode}`);
            res.on('data', (chunk: Buffer) => (received[index]! += chunk.length));
            res.on('end', () => {
              if (!stopping) failures.push(`client ${index}: body ended after ${received[index]} bytes`);
              resolve();
            });
            res.on('close', () => resolve());
            res.on('error', () => resolve());
          });
          req.on('error', (error) => {
            if (!stopping) failures.push(`client ${index}: ${error.message}`);
            resolve();
          });
          req.end();
          requests.push(req);
        }),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - started) / 1000;
  stopping = true;
  clearInterval(sampler);
  for (const req of requests) req.destroy();
  await done;
  let fdsAfter = openFds(server.pid);
  for (let waited = 0; fdsAfter > fdsBefore && waited < 5000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    fdsAfter = openFds(server.pid);
  }
  if (failures.length > 0) ctx.problem(`${title}: ${failures.slice(0, 3).join('; ')}`);

  const peak = Math.max(rssBefore, ...samples.map((sample) => sample.rss));
  const growth = (peak - rssBefore) / MB;
  // Growth after the first second (every download holds its chunk by then): from the highest
  // sample of the first half to the highest of the second.
  const half = seconds / 2;
  const early = Math.max(0, ...samples.filter((sample) => sample.at >= 1 && sample.at < half).map((sample) => sample.rss));
  const late = Math.max(0, ...samples.filter((sample) => sample.at >= half).map((sample) => sample.rss));
  const lateGrowth = early > 0 && late > 0 ? (late - early) / MB : NaN;
  const rates = received.map((bytes) => bytes / elapsed / MB);
  const mean = rates.reduce((a, b) => a + b, 0) / clients;
  const rows: Row[] = [
    { workload: title, contender: `${server.name} rss+`, kit: true, unit: 'MB', values: [growth], median: growth, note: `peak VmRSS - before; fds ${fdsBefore}->${fdsAfter}` },
    { workload: title, contender: `${server.name} rss+ later`, kit: true, unit: 'MB', values: [lateGrowth], median: lateGrowth, note: `peak of the second half - peak of the first (from 1 s)` },
    {
      workload: title,
      contender: `${server.name} per client`,
      kit: true,
      unit: 'MB/s',
      values: rates,
      median: median(rates),
      note: `mean ${mean.toFixed(3)}, min ${Math.min(...rates).toFixed(3)}, max ${Math.max(...rates).toFixed(3)}`,
    },
  ];
  const id = `slow-x${clients}-limited`;
  const targets = [
    target(`${id}-rss-growth/${server.name}`, growth, '<=', 40, 'MB', 'peak VmRSS during - VmRSS before'),
    target(`${id}-rss-later/${server.name}`, lateGrowth, '<=', 5, 'MB', 'peak VmRSS of the second half - of the first (from 1 s)'),
    target(`${id}-fds/${server.name}`, fdsAfter - fdsBefore, '<=', 0, 'fds', 'open fds after the clients left - before'),
    target(`${id}-mean-rate/${server.name}`, mean / (bytesPerSecond / MB), '<=', 1.05, 'x', 'the clients\' mean rate / the limit'),
    target(`${id}-mean-rate-low/${server.name}`, mean / (bytesPerSecond / MB), '>=', 0.95, 'x', 'the clients\' mean rate / the limit'),
  ];
  return { rows, targets };
}

/**
 * A text file of `bytes` (log lines, compressible as real logs are) under `dir`, with its `.br`
 * and `.gz` siblings written by scripts/precompress.mjs; kept between runs.
 */
export async function textFile(dir: string, name: string, bytes: number): Promise<string> {
  const file = path.join(dir, name);
  if (!existsSync(file) || !existsSync(`${file}.br`)) {
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < bytes; i++) {
      const line = `2026-12-08T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.${String((i * 7919) % 1000).padStart(3, '0')}Z GET /api/path/docs/report-${(i * 31) % 997}.pdf 200 ${(i * 104_729) % 9_999_991} bytes ${(i * 13) % 250} ms user=${(i * 17) % 5000}\n`;
      lines.push(line);
      size += line.length;
    }
    writeFileSync(file, lines.join('').slice(0, bytes));
    const { precompress } = (await import('../precompress.mjs')) as { precompress: (root: string, options: { files: string[] }) => Promise<unknown> };
    await precompress(dir, { files: [name] });
  }
  return file;
}

/**
 * A text file with and without its `.br` sibling: the bytes on the wire and the time, on
 * loopback (the demo's /api/path) and at 1 MB/s (the limited route), where the bytes are the
 * time. Needs the kit's server: plain `next start` drops Content-Encoding, so it sends the file.
 */
export async function runPrecompressed(
  ctx: BandwidthContext,
  server: RunningServer,
  name: string,
  size: number,
  rounds: number,
): Promise<{ rows: Row[]; targets: Target[] }> {
  const title = `${name} ${(size / MB).toFixed(1)} MB, .br or not`;
  ctx.log(`${title}: ${rounds} rounds on loopback, one download each at 1 MB/s`);
  const variants = [
    { label: 'identity', headers: { 'accept-encoding': 'identity' }, coding: undefined },
    { label: 'br', headers: { 'accept-encoding': 'br, gzip' }, coding: 'br' },
  ];
  const rows: Row[] = [];
  const measured = new Map<string, { bytes: number; ms: number[]; limitedMs?: number }>();
  for (const variant of variants) {
    const ms: number[] = [];
    let bytes = 0;
    for (let round = 0; round < rounds; round++) {
      const answer = await download(`${server.base}/api/path/bench/${name}`, variant.headers);
      if (answer.status !== 200 || answer.contentEncoding !== variant.coding) {
        ctx.problem(`${title} ${variant.label}: status ${answer.status}, Content-Encoding ${answer.contentEncoding ?? 'none'}`);
        break;
      }
      bytes = answer.bytes;
      ms.push(answer.totalMs);
    }
    if (ms.length === 0) continue;
    const limited = await download(`${server.base}/api/bench/limited/${name}?rate=${MB}`, variant.headers);
    measured.set(variant.label, { bytes, ms, limitedMs: limited.status === 200 ? limited.totalMs : undefined });
    rows.push({ workload: title, contender: `${variant.label} bytes`, kit: true, unit: 'MB', values: [bytes / MB], median: bytes / MB });
    rows.push({ workload: title, contender: `${variant.label} loopback`, kit: true, unit: 'ms', values: ms, median: median(ms) });
    if (limited.status === 200) rows.push({ workload: title, contender: `${variant.label} at 1 MB/s`, kit: true, unit: 's', values: [limited.totalMs / 1000], median: limited.totalMs / 1000 });
  }
  const identity = measured.get('identity');
  const br = measured.get('br');
  const targets: Target[] = [];
  if (identity && br) {
    targets.push(target('precompressed-br-bytes', identity.bytes / br.bytes, '>=', 2, 'x', 'bytes of the file / bytes of its .br on the wire'));
  }
  return { rows, targets };
}
