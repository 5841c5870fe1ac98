/**
 * How a workload measures: it runs its contenders in alternating order for several rounds and
 * records one value per round, plus the server's CPU time read from /proc around each run.
 */
import { createHash } from 'node:crypto';
import type { BenchConfig } from './config';
import { GiB, MB } from './config';
import { fetchAnswer, slowClients, timedDownload } from './clients';
import { runLoad, type LoadSpec, type LoadTool } from './load';
import { cpuSeconds, cpuTimes, openFds, rssBytes } from './procs';
import { median, type Row } from './report';
import type { RunningServer } from './servers';

export interface TestFile {
  role: 'big' | 'medium' | 'small';
  size: number;
  /** Path relative to the media root, e.g. "bench/big.bin". */
  name: string;
  /** Absolute path of the cached copy. */
  path: string;
  sha256: string;
  /** The whole file for small ones, its first 64 KiB for the big one. */
  head: Buffer;
}

/** A way to get a file: one server, one URL per file it can serve. */
export interface Contender {
  name: string;
  server: RunningServer;
  url(file: TestFile): string | undefined;
  /** One of the kit's own routes (highlighted in the chart). */
  kit?: boolean;
  /** The workloads it takes part in (all when absent): a peer without HEAD or validators sits HEAD and 304 out. */
  workloads?: readonly string[];
}

export type Check =
  | { kind: 'whole'; file: TestFile }
  | { kind: 'range'; file: TestFile; readSlice: (start: number, end: number) => Promise<Buffer> }
  | { kind: 'head' }
  | { kind: 'not-modified' }
  | { kind: 'status'; status: number; bytes?: number };

export interface Entrant {
  contender: Contender;
  url: string;
  headers?: Record<string, string>;
  check: Check;
}

export interface LoadWorkload {
  id: string;
  title: string;
  unit: 'MB/s' | 'req/s';
  connections: number;
  seconds: number;
  method?: 'GET' | 'HEAD';
  range?: { size: number; fileSize: number };
  entrants: Entrant[];
}

export interface Context {
  config: BenchConfig;
  tool: LoadTool;
  log: (line: string) => void;
  /** A check or run that went wrong: a failure of the smoke, a note in the full bench. */
  problem: (line: string) => void;
  skip: (line: string) => void;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Checks that an entrant answers what the workload expects; returns why not, or undefined. */
export async function check(entrant: Entrant, method: 'GET' | 'HEAD'): Promise<string | undefined> {
  const { check: c, url, headers } = entrant;
  try {
    switch (c.kind) {
      case 'whole': {
        const big = c.file.role === 'big';
        const answer = await fetchAnswer(url, { headers, keep: big ? c.file.head.length : undefined });
        if (answer.status !== 200) return `status ${answer.status}, expected 200`;
        if (big) {
          if (!answer.body.subarray(0, c.file.head.length).equals(c.file.head)) return 'first bytes differ from the file';
          const length = answer.headers['content-length'];
          if (length !== undefined && Number(length) !== c.file.size) return `Content-Length ${length}, file is ${c.file.size}`;
          return undefined;
        }
        if (answer.bytes !== c.file.size) return `${answer.bytes} bytes, file is ${c.file.size}`;
        return sha256(answer.body) === c.file.sha256 ? undefined : 'bytes differ from the file';
      }
      case 'range': {
        const start = 1000;
        const end = start + 64 * 1024 - 1;
        const answer = await fetchAnswer(url, { headers: { ...headers, range: `bytes=${start}-${end}` } });
        if (answer.status !== 206) return `status ${answer.status}, expected 206`;
        return answer.body.equals(await c.readSlice(start, end)) ? undefined : 'range bytes differ from the file';
      }
      case 'head': {
        const answer = await fetchAnswer(url, { method: 'HEAD', headers });
        return answer.status === 200 ? undefined : `HEAD status ${answer.status}, expected 200`;
      }
      case 'not-modified': {
        const answer = await fetchAnswer(url, { headers });
        return answer.status === 304 ? undefined : `status ${answer.status} to If-None-Match ${headers?.['if-none-match']}, expected 304`;
      }
      case 'status': {
        const answer = await fetchAnswer(url, { method, headers });
        if (answer.status !== c.status) return `status ${answer.status}, expected ${c.status}`;
        if (c.bytes !== undefined && method === 'GET' && answer.bytes !== c.bytes) return `${answer.bytes} bytes, expected ${c.bytes}`;
        return undefined;
      }
    }
  } catch (error) {
    return (error as Error).message;
  }
}

interface Sample {
  statusErrors: number;
  value: number;
  /** Server CPU seconds during the run, and the kernel's part of them. */
  cpu: number;
  system: number;
  bytes: number;
  requests: number;
  note?: string;
}

/**
 * Waits (up to 3 s) until the server's processes use less than 5% of a CPU: when a load stops,
 * a server may still be working off requests whose connections are gone, and that must not
 * count against the next contender.
 */
export async function settle(pids: readonly number[]): Promise<void> {
  for (let waited = 0; waited < 3000; waited += 100) {
    const before = cpuSeconds(pids);
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (cpuSeconds(pids) - before < 0.005) return;
  }
}

async function measure(ctx: Context, w: LoadWorkload, e: Entrant, seconds: number, measureCpu: boolean): Promise<Sample> {
  const connections = Math.min(w.connections, ctx.config.maxConnections);
  const spec: LoadSpec = { url: e.url, connections, seconds, method: w.method, headers: e.headers, range: w.range };
  const pids = measureCpu ? e.contender.server.pids() : [];
  if (measureCpu) await settle(pids);
  const cpu0 = cpuTimes(pids);
  const load = await runLoad(ctx.tool, spec);
  const cpu1 = cpuTimes(pids);
  const cpu = cpu1.user - cpu0.user + cpu1.system - cpu0.system;
  const system = cpu1.system - cpu0.system;
  const notes: string[] = [];
  if (load.requests === 0 && w.unit === 'req/s') notes.push('no requests completed');
  if (load.bytes === 0) notes.push('no bytes');
  if (load.statusErrors > 0) notes.push(`${load.statusErrors} 4xx/5xx`);
  if (load.socketErrors > 0) notes.push(`${load.socketErrors} socket errors`);
  const value = w.unit === 'MB/s' ? load.bytes / MB / load.seconds : load.requests / load.seconds;
  return { value, cpu, system, bytes: load.bytes, requests: load.requests, statusErrors: load.statusErrors, note: notes.join(', ') || undefined };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Checks each entrant, then measures the ones that pass: warm-up, then rounds in rotating order. */
export async function runLoadWorkload(ctx: Context, w: LoadWorkload): Promise<Row[]> {
  const { config } = ctx;
  const method = w.method ?? 'GET';
  const entrants: Entrant[] = [];
  for (const e of w.entrants) {
    const why = await check(e, method);
    if (why) ctx.problem(`${w.title} ${e.contender.name}: check failed: ${why}`);
    else entrants.push(e);
  }
  if (entrants.length === 0) return [];
  ctx.log(`${w.title}: ${entrants.map((e) => e.contender.name).join(', ')} (${config.rounds} x ${w.seconds} s each)`);

  if (config.warmupSeconds > 0) {
    for (const e of entrants) await measure(ctx, w, e, config.warmupSeconds, false);
  }
  const samples = new Map<Entrant, Sample[]>(entrants.map((e) => [e, []]));
  for (let round = 0; round < config.rounds; round++) {
    const order = rotate(entrants, round);
    if (config.parallel) {
      const results = await Promise.all(order.map((e) => measure(ctx, w, e, w.seconds, false)));
      order.forEach((e, i) => samples.get(e)!.push(results[i]!));
    } else {
      for (const e of order) samples.get(e)!.push(await measure(ctx, w, e, w.seconds, true));
    }
  }

  const rows = entrants.map((e): Row => {
    const list = samples.get(e)!;
    const notes = [...new Set(list.map((s) => s.note).filter(Boolean))];
    // Error answers are always a problem. A one-second smoke run on a busy machine may complete
    // no request at all: a note there (the checks above already got a right answer from it).
    const failed = list.some((s) => s.statusErrors > 0) || config.mode === 'full';
    if (failed) for (const note of notes) ctx.problem(`${w.title} ${e.contender.name}: ${note}`);
    let cpu: string | undefined;
    if (!config.parallel) {
      const kernel = `sys ${(median(list.map((s) => s.system / s.cpu)) * 100).toFixed(0)}%`;
      cpu =
        w.unit === 'MB/s'
          ? `${median(list.map((s) => s.cpu / (s.bytes / GiB))).toFixed(2)} s/GiB, ${kernel}`
          : `${median(list.map((s) => (s.cpu / s.requests) * 1e6)).toFixed(0)} µs/req, ${kernel}`;
    }
    return {
      workload: w.title,
      contender: e.contender.name,
      kit: e.contender.kit,
      unit: w.unit,
      values: list.map((s) => s.value),
      median: median(list.map((s) => s.value)),
      cpu,
      note: notes.join('; ') || undefined,
    };
  });
  const send = rows.find((r) => r.contender === 'send');
  const floor = rows.find((r) => r.contender.startsWith('constant'));
  for (const row of rows) {
    if (send) row.vsSend = row.median / send.median;
    if (floor) row.vsFloor = row.median / floor.median;
  }
  return rows;
}

export interface ExportResult {
  rows: Row[];
  firstByteMs: number;
  mbPerSecond: number;
}

/** A generated download fetched whole by a Node client: time to first byte and MB/s. */
export async function runExport(ctx: Context, title: string, server: RunningServer, url: string, expectBytes: number | undefined): Promise<ExportResult | undefined> {
  ctx.log(`${title}: ${ctx.config.rounds} downloads`);
  const firstByte: number[] = [];
  const rate: number[] = [];
  const cpu: number[] = [];
  let note: string | undefined;
  for (let round = 0; round < ctx.config.rounds; round++) {
    const pids = server.pids();
    await settle(pids);
    const cpu0 = cpuSeconds(pids);
    const d = await timedDownload(url);
    const used = cpuSeconds(pids) - cpu0;
    if (d.status !== 200 || (expectBytes !== undefined && d.bytes !== expectBytes)) {
      note = `status ${d.status}, ${d.bytes} bytes${expectBytes === undefined ? '' : ` of ${expectBytes}`}`;
      ctx.problem(`${title}: ${note}`);
      return undefined;
    }
    firstByte.push(d.firstByteMs);
    rate.push(d.mbPerSecond);
    cpu.push(used / (d.bytes / GiB));
  }
  const cpuText = `${median(cpu).toFixed(2)} s/GiB`;
  return {
    firstByteMs: median(firstByte),
    mbPerSecond: median(rate),
    rows: [
      { workload: title, contender: 'first byte', unit: 'ms', values: firstByte, median: median(firstByte) },
      { workload: title, contender: 'throughput', unit: 'MB/s', values: rate, median: median(rate), cpu: cpuText },
    ],
  };
}

export interface SlowResult {
  row: Row;
  rssGrowthMB: number;
  fdsBefore: number;
  fdsAfter: number;
}

/** Slow readers on the big file while the server's RSS is sampled; fds counted before and after. */
export async function runSlow(ctx: Context, title: string, contender: string, server: RunningServer, url: string): Promise<SlowResult> {
  const { clients, bytesPerSecond, seconds } = ctx.config.slow;
  ctx.log(`${title} ${contender}: ${clients} clients at ${bytesPerSecond / MB} MB/s for ${seconds} s`);
  await settle(server.pids());
  const fdsBefore = openFds(server.pid);
  const rssBefore = rssBytes(server.pid);
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(server.pid))), 100);
  let result;
  try {
    result = await slowClients(url, clients, bytesPerSecond, seconds);
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, rssBytes(server.pid));
  // The server notices the closed sockets asynchronously: give it up to 5 s to let go.
  let fdsAfter = openFds(server.pid);
  for (let waited = 0; fdsAfter > fdsBefore && waited < 5000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    fdsAfter = openFds(server.pid);
  }
  const total = result.received.reduce((a, b) => a + b, 0);
  const growth = (peak - rssBefore) / MB;
  const notes = [`fds ${fdsBefore}->${fdsAfter}`, `clients got ${formatMB(total / clients)} MB each`];
  if (result.failures.length > 0) {
    notes.push(`${result.failures.length} client failures`);
    ctx.problem(`${title} ${contender}: ${result.failures.slice(0, 3).join('; ')}`);
  }
  const slowest = Math.min(...result.received);
  if (slowest < bytesPerSecond * seconds * 0.5) ctx.problem(`${title} ${contender}: a client got only ${slowest} bytes in ${seconds} s`);
  return {
    row: { workload: title, contender, kit: contender !== 'send', unit: 'MB rss+', values: [growth], median: growth, note: notes.join(', ') },
    rssGrowthMB: growth,
    fdsBefore,
    fdsAfter,
  };
}

const formatMB = (bytes: number) => (bytes / MB).toFixed(1);
