/**
 * `npm run bench`: the kit against `send` and nginx, in one run, on loopback.
 *
 *   npm run bench                      full bench (a few minutes): table, target lines, JSON
 *   npm run bench -- --smoke           seconds, tiny files, every code path (run by `npm test`)
 *   options: --rounds N  --only big,medium,small,range,head,304,export,zip,slow,slow-limited,rate,precompressed,s3
 *            --chart FILE (also write the SVG chart there, e.g. docs/bench.svg; it always goes to bench-results/)
 *            --cpu-prof (V8 profile of the kit server into bench-results/profiles/)
 *            --contenders path,send,...  (only these; the constant route is kept where it is the floor)
 *            --node-flag FLAG (repeatable: passed to the kit's node, e.g. --node-flag=--trace-gc)
 *            --load wrk|autocannon  --strict (exit 1 when a target is short)  --keep (keep the temp dir)
 *
 * It builds the demo if needed (scripts/start.ts does), starts every server itself with its own
 * temporary MEDIA_ROOT and DATABASE_URL, generates the test files once (cached in
 * bench-results/files/), reads them into the page cache, runs the workloads with each contender
 * in turn for several rounds, prints medians, and stops everything it started, on failure and
 * Ctrl-C too. Results: bench-results/latest.json, .txt and .svg (+ timestamped copies), smoke.* for --smoke.
 *
 * Contenders: the kit's routes (path, storage, files), the path route on a second kit server run
 * with WORKERS=2 (path-w2: 4 KiB and 1 MiB; its server CPU covers the primary and both workers,
 * so µs/req compares the cost per request, not only the totals), and the peers a user would pick instead:
 * `send` and nginx static (own processes), and, served by the kit's own production server, Next's
 * `public/` folder (the test files are linked into public/_bench/ at run time, which `next start`
 * serves without a rebuild) and a naive route handler (app/api/bench/naive); the constant 4 KiB
 * route is the framework's floor, and the same route under a catch-all segment
 * (app/api/bench/constant/[...path]) its floor for a dynamic route like the kit's.
 */
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chartSvg } from './chart';
import { runLimitedClients, runPrecompressed, runRateAccuracy, sizedFile, startNextStart, textFile } from './bandwidth';
import { FULL, GiB, MB, SMOKE, formatSize, type BenchConfig } from './config';
import { cachedFile, placeFile, readSlice, warm } from './files';
import { fetchAnswer } from './clients';
import { chooseLoadTool, type LoadTool } from './load';
import { capture, killAllNow, stopAll, stopProcess } from './procs';
import { table, target, targetLine, type Row, type Target } from './report';
import { nginxBinary, OFFLOAD_SCRIPT, startKit, startNginxStatic, startOffload, startSend, type RunningServer } from './servers';
import { runS3Workloads } from './s3';
import { runExport, runLoadWorkload, runSlow, type Context, type Contender, type Entrant, type LoadWorkload, type TestFile } from './workloads';

const root = path.resolve(import.meta.dirname, '..', '..');
const resultsDir = path.join(root, 'bench-results');
const WORKLOADS = ['big', 'medium', 'small', 'range', 'head', '304', 'export', 'zip', 'slow', 'slow-limited', 'rate', 'precompressed', 's3'] as const;
type WorkloadId = (typeof WORKLOADS)[number];

interface Args {
  smoke: boolean;
  rounds?: number;
  only: Set<WorkloadId>;
  cpuProf: boolean;
  contenders?: Set<string>;
  nodeFlags: string[];
  load?: LoadTool;
  strict: boolean;
  keep: boolean;
  chart?: string;
}

function usage(): string {
  return 'usage: npm run bench [-- --smoke] [--rounds N] [--only a,b] [--contenders a,b] [--cpu-prof] [--node-flag F] [--load wrk|autocannon] [--strict] [--keep] [--chart FILE]';
}

function parseArgs(argv: string[]): Args {
  const args: Args = { smoke: false, only: new Set(WORKLOADS), cpuProf: false, nodeFlags: [], strict: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    // --name=value as well as --name value.
    const eq = /^(--[a-z-]+)=(.*)$/s.exec(arg);
    if (eq) {
      arg = eq[1]!;
      argv.splice(i + 1, 0, eq[2]!);
    }
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${usage()}`);
      return v;
    };
    if (arg === '--smoke') args.smoke = true;
    else if (arg === '--rounds') args.rounds = Math.max(1, Number.parseInt(value(), 10) || 1);
    else if (arg === '--only') {
      const ids = value().split(',');
      for (const id of ids) if (!(WORKLOADS as readonly string[]).includes(id)) throw new Error(`unknown workload ${id}; one of ${WORKLOADS.join(',')}`);
      args.only = new Set(ids as WorkloadId[]);
    } else if (arg === '--cpu-prof') args.cpuProf = true;
    else if (arg === '--contenders') args.contenders = new Set(value().split(','));
    else if (arg === '--node-flag') args.nodeFlags.push(value());
    else if (arg === '--load') {
      const tool = value();
      if (tool !== 'wrk' && tool !== 'autocannon') throw new Error(`--load wrk or --load autocannon, not ${tool}`);
      args.load = tool;
    } else if (arg === '--strict') args.strict = true;
    else if (arg === '--keep') args.keep = true;
    else if (arg === '--chart') args.chart = value();
    else if (arg === '--help' || arg === '-h') {
      console.log(usage());
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n${usage()}`);
  }
  return args;
}

/** Byte length of numbers.txt for ?count=N: `1\n2\n...N\n` (as app/_lib/numbers.ts computes it). */
function numbersSize(count: number): number {
  let size = 0;
  for (let digits = 1, low = 1; low <= count; digits++, low *= 10) size += (Math.min(count, low * 10 - 1) - low + 1) * (digits + 1);
  return size;
}

/** The smallest count whose export is at least `bytes` long. */
function countFor(bytes: number): number {
  let [low, high] = [1, 100_000_000];
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (numbersSize(mid) >= bytes) high = mid;
    else low = mid + 1;
  }
  return low;
}

let tempDir: string | undefined;
let publicDir: string | undefined;
let keepTemp = false;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    if (publicDir) {
      rmSync(publicDir, { recursive: true, force: true });
      // public/_bench itself goes too once no run uses it (it is not empty while another runs).
      try {
        rmdirSync(path.dirname(publicDir));
      } catch {
        // Not empty, or gone.
      }
    }
    if (tempDir && !keepTemp) rmSync(tempDir, { recursive: true, force: true });
  })();
  return cleaning;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const base: BenchConfig = args.smoke ? SMOKE : FULL;
  const config: BenchConfig = { ...base, rounds: args.rounds ?? base.rounds, enforceTargets: args.strict };
  keepTemp = args.keep;
  const started = Date.now();
  const log = (line: string) => console.log(`bench [${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
  const problems: string[] = [];
  const skipped: string[] = [];
  const ctx: Context = {
    config,
    tool: 'wrk',
    log,
    problem: (line) => {
      problems.push(line);
      console.log(`problem ${line}`);
    },
    skip: (line) => {
      skipped.push(line);
      console.log(`skip ${line}`);
    },
  };

  const load = chooseLoadTool(args.load, log);
  ctx.tool = load.tool;
  const loadBefore = os.loadavg()[0]!;
  log(`${config.mode} run; load from ${load.version}; ${config.rounds} round(s); ${os.cpus().length} CPUs; load average ${loadBefore.toFixed(2)}`);
  if (config.mode === 'full' && loadBefore > 1) log(`the machine is busy (load average ${loadBefore.toFixed(2)}): other processes share the CPUs, absolute numbers will be low; ratios hold better`);

  // Test files: cached once, hard-linked into this run's media folder, read into the page cache.
  const cacheDir = path.join(resultsDir, 'files');
  mkdirSync(resultsDir, { recursive: true });
  tempDir = mkdtempSync(path.join(resultsDir, 'run-'));
  const mediaRoot = path.join(tempDir, 'media');
  const files: TestFile[] = [];
  for (const role of ['big', 'medium', 'small'] as const) {
    const size = config.sizes[role];
    if (size >= GiB) log(`test file of ${formatSize(size)}: ${existsSync(path.join(cacheDir, `bench-v1-${size}.bin`)) ? 'cached' : 'writing it once'}`);
    const cached = await cachedFile(cacheDir, size);
    const name = `bench/${role}.bin`;
    placeFile(cached, path.join(mediaRoot, name));
    const sha256 = await warm(cached);
    files.push({ role, size, name, path: cached, sha256, head: await readSlice(cached, 0, Math.min(size, 64 * 1024) - 1) });
  }
  const [big, medium, small] = files as [TestFile, TestFile, TestFile];
  // The same files in Next's public/ folder, served by the kit's server as static files.
  publicDir = path.join(root, 'public', '_bench', path.basename(tempDir));
  for (const file of files) placeFile(file.path, path.join(publicDir, `${file.role}.bin`));
  const publicPath = `/_bench/${path.basename(tempDir)}`;

  // Servers, all on 127.0.0.1, all started here.
  const quiet = config.mode === 'smoke';
  const kit = await startKit({
    root,
    mediaRoot,
    databaseUrl: path.join(tempDir, 'kit.db'),
    cpuProfDir: args.cpuProf ? path.join(resultsDir, 'profiles') : undefined,
    nodeFlags: args.nodeFlags,
    quiet,
  });
  log(`kit (scripts/start.ts) on ${kit.base}, pid ${kit.pid}`);
  const buildId = path.join(root, '.next', 'BUILD_ID');
  const buildStamp = () => (existsSync(buildId) ? statSync(buildId).mtimeMs : 0);
  const builtAt = buildStamp();
  const wanted = (name: string) => !args.contenders || args.contenders.has(name);
  // The same demo with two worker processes on one port (node:cluster), for the per-core cost.
  let kitW2: RunningServer | undefined;
  if (wanted('path-w2')) {
    kitW2 = await startKit({ root, mediaRoot, databaseUrl: path.join(tempDir, 'kit-w2.db'), nodeFlags: args.nodeFlags, quiet, name: 'kit-w2', env: { WORKERS: '2' } });
    log(`kit with WORKERS=2 on ${kitW2.base}, primary pid ${kitW2.pid}`);
  }
  const send = await startSend(mediaRoot, quiet);
  log(`send on ${send.base}, pid ${send.pid}`);
  let nginx: RunningServer | undefined;
  const nginxPath = nginxBinary();
  if (!wanted('nginx')) ctx.skip('nginx: not among --contenders');
  else if (nginxPath) {
    nginx = await startNginxStatic(nginxPath, mediaRoot, path.join(tempDir, 'nginx'), quiet);
    log(`nginx static on ${nginx.base}, pid ${nginx.pid}`);
  } else ctx.skip('nginx: not installed (apt-get install nginx), no ceiling');
  let offload: RunningServer | undefined;
  if (!wanted('offload')) {
    ctx.skip('offload: not among --contenders');
  } else if (!existsSync(path.join(root, OFFLOAD_SCRIPT))) {
    ctx.skip(`offload: ${OFFLOAD_SCRIPT} does not exist yet (issue 5)`);
  } else {
    try {
      offload = await startOffload({ root, mediaRoot, databaseUrl: path.join(tempDir, 'offload.db'), probePath: `/api/accel/${small.name}`, quiet });
      const answer = await fetchAnswer(`${offload!.base}/api/accel/${small.name}`);
      if (answer.status !== 200 || answer.bytes !== small.size) {
        ctx.skip(`offload: GET /api/accel/${small.name} through nginx answered ${answer.status} with ${answer.bytes} bytes (route not there yet?)`);
        await stopProcess(offload!.child);
        offload = undefined;
      } else log(`nginx offload (${OFFLOAD_SCRIPT}) on ${offload!.base}, pid ${offload!.pid}`);
    } catch (error) {
      const lines = (error as Error).message.split('\n');
      ctx.skip(`offload: ${OFFLOAD_SCRIPT} did not start: ${[lines[0], ...lines.slice(-6)].join('\n    ')}`);
      offload = undefined;
    }
  }

  // Rows of `files` for /api/files/{id}: uploads through the demo's own API.
  const ids = new Map<TestFile, number>();
  for (const file of [medium, small]) {
    const form = new FormData();
    form.append('file', new Blob([await readFile(file.path)]), `${file.role}.bin`);
    const response = await fetch(`${kit.base}/api/files`, { method: 'POST', body: form });
    if (response.status !== 201) throw new Error(`upload of ${file.name} to /api/files answered ${response.status}: ${await response.text()}`);
    ids.set(file, ((await response.json()) as { id: number }).id);
  }
  // files.zip holds every row: a few larger uploads make it long enough to measure a rate.
  if (args.only.has('zip')) {
    const { count, size } = config.zipFiles;
    const bytes = await readFile(await cachedFile(cacheDir, size));
    for (let i = 0; i < count; i++) {
      const form = new FormData();
      form.append('file', new Blob([bytes]), `zip-${i + 1}.bin`);
      const response = await fetch(`${kit.base}/api/files`, { method: 'POST', body: form });
      if (response.status !== 201) throw new Error(`upload of zip-${i + 1}.bin to /api/files answered ${response.status}: ${await response.text()}`);
    }
  }

  const contenders: Contender[] = [
    { name: 'path', kit: true, server: kit, url: (f) => `${kit.base}/api/path/${f.name}` },
    { name: 'storage', kit: true, server: kit, url: (f) => `${kit.base}/api/storage/${f.name}` },
    { name: 'files', kit: true, server: kit, url: (f) => (ids.has(f) ? `${kit.base}/api/files/${ids.get(f)}` : undefined) },
    // Next's own static files: Content-Length, a weak ETag, Range; no App Router pipeline per request.
    { name: 'public', server: kit, workloads: ['medium', 'small', 'range', 'head', '304'], url: (f) => `${kit.base}${publicPath}/${f.role}.bin` },
    // A hand-written route with no features: no HEAD of its own (Next's runs GET), no validators, no ranges.
    { name: 'naive', server: kit, workloads: ['medium', 'small'], url: (f) => `${kit.base}/api/bench/naive/${f.role}.bin` },
    { name: 'send', server: send, url: (f) => `${send.base}/${f.name}` },
  ];
  if (kitW2) contenders.splice(1, 0, { name: 'path-w2', kit: true, server: kitW2, workloads: ['medium', 'small'], url: (f) => `${kitW2!.base}/api/path/${f.name}` });
  if (nginx) contenders.push({ name: 'nginx', server: nginx, url: (f) => `${nginx!.base}/${f.name}` });
  if (offload) contenders.push({ name: 'offload', kit: true, server: offload, url: (f) => `${offload!.base}/api/accel/${f.name}` });
  if (args.contenders) {
    const keep = args.contenders;
    contenders.splice(0, contenders.length, ...contenders.filter((c) => keep.has(c.name)));
  }
  const constant = `${kit.base}/api/bench/constant`;
  // The same answer from a catch-all route, the kind every kit route is: Next's floor for it.
  const constantDynamic = `${kit.base}/api/bench/constant/bench/small.bin`;
  const floor = (name: string, status = 200, bytes?: number, url = constant): Entrant => ({
    contender: { name, server: kit, url: () => url },
    url,
    check: { kind: 'status', status, bytes },
  });
  const floors = (name: string, status = 200, bytes?: number): Entrant[] => [
    floor(name, status, bytes),
    floor(`${name} [...path]`, status, bytes, constantDynamic),
  ];
  const entrants = (id: WorkloadId, file: TestFile, make: (c: Contender, url: string) => Entrant | undefined) =>
    contenders.flatMap((c) => {
      if (c.workloads && !c.workloads.includes(id)) return [];
      const url = c.url(file);
      const entrant = url === undefined ? undefined : make(c, url);
      return entrant ? [entrant] : [];
    });
  const slice = (start: number, end: number) => readSlice(big.path, start, end);
  const s = config.seconds;
  const label = (file: TestFile, what: string) => `${formatSize(file.size)} ${what}`;

  const rows: Row[] = [];
  const targets: Target[] = [];
  /** One `>=` target per kit route: its median over the `against` contender's, in the same workload. */
  const ratioTargets = (rs: Row[], names: string[], against: string, goal: number, prefix: string) => {
    const reference = rs.find((r) => r.contender === against);
    if (!reference) return;
    for (const name of names) {
      const row = rs.find((r) => r.contender === name);
      if (!row) continue;
      targets.push(target(`${prefix}/${name}`, row.median / reference.median, '>=', goal, 'x', `median ${row.workload} ${name} / ${against}`));
    }
  };
  const kitRoutes = ['path', 'storage', 'files'];

  const loadWorkloads: Array<[WorkloadId, () => Promise<void>]> = [
    [
      'big',
      async () => {
        await warm(big.path);
        const w: LoadWorkload = {
          id: 'big', title: label(big, 'x1'), unit: 'MB/s', connections: 1, seconds: s.big,
          entrants: entrants('big', big, (c, url) => ({ contender: c, url, check: { kind: 'whole', file: big } })),
        };
        const rs = await runLoadWorkload(ctx, w);
        rows.push(...rs);
        ratioTargets(rs, kitRoutes, 'send', 1.5, `${formatSize(big.size)}-x1-vs-send`);
      },
    ],
    [
      'medium',
      async () => {
        const w: LoadWorkload = {
          id: 'medium', title: label(medium, 'x16'), unit: 'req/s', connections: 16, seconds: s.medium,
          entrants: entrants('medium', medium, (c, url) => ({ contender: c, url, check: { kind: 'whole', file: medium } })),
        };
        const rs = await runLoadWorkload(ctx, w);
        rows.push(...rs);
        ratioTargets(rs, kitRoutes, 'send', 0.8, `${formatSize(medium.size)}-x16-vs-send`);
        ratioTargets(rs, kitRoutes, 'public', 1.0, `${formatSize(medium.size)}-x16-vs-public`);
      },
    ],
    [
      'small',
      async () => {
        const w: LoadWorkload = {
          id: 'small', title: label(small, 'x64'), unit: 'req/s', connections: 64, seconds: s.small,
          entrants: [...floors('constant', 200, 4096), ...entrants('small', small, (c, url) => ({ contender: c, url, check: { kind: 'whole', file: small } }))],
        };
        const rs = await runLoadWorkload(ctx, w);
        rows.push(...rs);
        ratioTargets(rs, kitRoutes, 'constant', 0.9, `${formatSize(small.size)}-x64-vs-constant`);
        ratioTargets(rs, kitRoutes, 'constant [...path]', 0.9, `${formatSize(small.size)}-x64-vs-constant-[...path]`);
        ratioTargets(rs, kitRoutes, 'naive', 1.2, `${formatSize(small.size)}-x64-vs-naive`);
      },
    ],
    [
      'range',
      async () => {
        const w: LoadWorkload = {
          id: 'range', title: `${formatSize(config.rangeSize)} ranges of ${formatSize(big.size)} x16`, unit: 'req/s', connections: 16, seconds: s.range,
          range: { size: config.rangeSize, fileSize: big.size },
          // The constant route ignores the Range header: its request rate is the floor here too.
          entrants: [...floors('constant', 200, 4096), ...entrants('range', big, (c, url) => ({ contender: c, url, check: { kind: 'range', file: big, readSlice: slice } }))],
        };
        const rs = await runLoadWorkload(ctx, w);
        rows.push(...rs);
        ratioTargets(rs, kitRoutes, 'constant', 0.9, `range-${formatSize(config.rangeSize)}-x16-vs-constant`);
        ratioTargets(rs, kitRoutes, 'constant [...path]', 0.9, `range-${formatSize(config.rangeSize)}-x16-vs-constant-[...path]`);
      },
    ],
    [
      'head',
      async () => {
        const w: LoadWorkload = {
          id: 'head', title: 'HEAD x64', unit: 'req/s', connections: 64, seconds: s.head, method: 'HEAD',
          entrants: [...floors('constant HEAD'), ...entrants('head', small, (c, url) => ({ contender: c, url, check: { kind: 'head' } }))],
        };
        const rs = await runLoadWorkload(ctx, w);
        rows.push(...rs);
        ratioTargets(rs, kitRoutes, 'constant HEAD', 0.95, 'HEAD-x64-vs-constant');
        ratioTargets(rs, kitRoutes, 'constant HEAD [...path]', 0.95, 'HEAD-x64-vs-constant-[...path]');
      },
    ],
    [
      '304',
      async () => {
        // Each server's own validator for the file, from a HEAD.
        const withEtags: Entrant[] = floors('constant GET', 200, 4096);
        for (const e of entrants('304', small, (c, url) => ({ contender: c, url, check: { kind: 'not-modified' } }))) {
          const etag = (await fetchAnswer(e.url, { method: 'HEAD' }).catch(() => undefined))?.headers.etag;
          if (typeof etag === 'string') withEtags.push({ ...e, headers: { 'if-none-match': etag } });
          else ctx.problem(`304 x64 ${e.contender.name}: no ETag on HEAD ${e.url}`);
        }
        const w: LoadWorkload = { id: '304', title: '304 x64', unit: 'req/s', connections: 64, seconds: s.notModified, entrants: withEtags };
        const rs = await runLoadWorkload(ctx, w);
        rows.push(...rs);
        ratioTargets(rs, kitRoutes, 'constant GET', 0.95, '304-x64-vs-constant');
        ratioTargets(rs, kitRoutes, 'constant GET [...path]', 0.95, '304-x64-vs-constant-[...path]');
      },
    ],
  ];

  // Slow clients first, on a server that has not streamed anything big yet: its RSS growth is
  // then the honest worst case, not memory already grown by the workloads before it.
  const slowRows: Row[] = [];
  const slowTargets: Target[] = [];
  if (args.only.has('slow')) {
    const title = `slow x${config.slow.clients} on ${formatSize(big.size)}`;
    await warm(big.path);
    const kitSlow = await runSlow(ctx, title, 'path', kit, `${kit.base}/api/path/${big.name}`);
    const sendSlow = await runSlow(ctx, title, 'send', send, `${send.base}/${big.name}`);
    slowRows.push(kitSlow.row, sendSlow.row);
    slowTargets.push(target(`slow-x${config.slow.clients}-rss-growth/path`, kitSlow.rssGrowthMB, '<=', 40, 'MB', 'peak VmRSS during - VmRSS before'));
    slowTargets.push(target(`slow-x${config.slow.clients}-fds/path`, kitSlow.fdsAfter - kitSlow.fdsBefore, '<=', 0, 'fds', 'open fds after the clients left - before'));
  }
  // The same number of downloads, limited by the route (rateLimit) instead of by the clients.
  if (args.only.has('slow-limited')) {
    const result = await runLimitedClients(ctx, kit, path.join(mediaRoot, 'bench'), config.slow.clients, MB, Math.max(3, config.slow.seconds));
    slowRows.push(...result.rows);
    slowTargets.push(...result.targets);
  }

  for (const [id, run] of loadWorkloads) if (args.only.has(id)) await run();

  if (args.only.has('export')) {
    const count = countFor(config.exportBytes);
    const size = numbersSize(count);
    const result = await runExport(ctx, `numbers.txt ${(size / 1e6).toFixed(1)} MB`, kit, `${kit.base}/api/exports/numbers.txt?count=${count}`, size);
    if (result) {
      rows.push(...result.rows);
      targets.push(target('numbers.txt-first-byte', result.firstByteMs, '<=', 10, 'ms', 'median time to the first body byte'));
      targets.push(target('numbers.txt-throughput', result.mbPerSecond, '>=', 600, 'MB/s', 'median MB/s of the whole download'));
    }
  }

  if (args.only.has('zip')) {
    if (!existsSync(path.join(root, 'app', 'api', 'exports', 'files.zip', 'route.ts'))) {
      ctx.skip('zip: app/api/exports/files.zip does not exist yet (issue 4)');
    } else {
      const url = `${kit.base}/api/exports/files.zip`;
      const probe = await fetchAnswer(url, { method: 'HEAD' }).catch(() => undefined);
      if (!probe || probe.status === 404) ctx.skip(`zip: ${url} answered ${probe?.status ?? 'nothing'} (not in this build?)`);
      else {
        const zipBytes = Number(probe.headers['content-length']);
        const result = await runExport(ctx, `files.zip ${(zipBytes / 1e6).toFixed(1)} MB`, kit, url, undefined);
        if (result) {
          rows.push(...result.rows);
          targets.push(target('files.zip-throughput', result.mbPerSecond, '>=', 300, 'MB/s', 'median MB/s of the whole download'));
        }
      }
    }
  }

  // rateLimit's accuracy under both servers: 10 MB at 1 MB/s must take 10 s ± 5%.
  if (args.only.has('rate')) {
    const bytes = config.mode === 'smoke' ? MB : 10 * MB;
    sizedFile(path.join(mediaRoot, 'bench'), 'rate.bin', bytes);
    const nextStart = await startNextStart(root, mediaRoot, quiet);
    log(`next start on ${nextStart.base}, pid ${nextStart.pid}`);
    try {
      const result = await runRateAccuracy(ctx, [kit, nextStart], 'rate.bin', bytes, MB, config.rounds);
      rows.push(...result.rows);
      targets.push(...result.targets);
    } finally {
      await stopProcess(nextStart.child);
    }
  }

  // A text file with and without its .br sibling (written once by scripts/precompress.mjs, cached).
  if (args.only.has('precompressed')) {
    const size = config.mode === 'smoke' ? 200_000 : 8 * MB;
    const name = `log-${size}.txt`;
    const cached = await textFile(cacheDir, name, size);
    for (const suffix of ['', '.br', '.gz']) placeFile(`${cached}${suffix}`, path.join(mediaRoot, 'bench', `${name}${suffix}`));
    const result = await runPrecompressed(ctx, kit, name, size, config.rounds);
    rows.push(...result.rows);
    targets.push(...result.targets);
  }

  // Last: a second kit server and the S3 server start only now, and leave the others' numbers alone.
  if (args.only.has('s3')) rows.push(...(await runS3Workloads(ctx, { root, tempDir, cacheDir, medium, quiet })));

  rows.push(...slowRows);
  targets.push(...slowTargets);

  if (buildStamp() !== builtAt) {
    ctx.problem('the build in .next changed during the run (another `next build`): the kit served from a build being rewritten; its numbers are not reliable');
  }
  const loadAfter = os.loadavg()[0]!;
  await cleanup();

  const seconds = (Date.now() - started) / 1000;
  const text = [
    '',
    `${config.mode === 'smoke' ? 'SMOKE (tiny files, one short round: numbers mean nothing)' : 'bench'}: ${new Date().toISOString()}, ${seconds.toFixed(0)} s, ${load.version} (HEAD: head-load.mjs), medians of ${config.rounds} round(s), load average ${loadBefore.toFixed(1)} before / ${loadAfter.toFixed(1)} after`,
    `files: big ${formatSize(big.size)}, medium ${formatSize(medium.size)}, small ${formatSize(small.size)}; MB = 10^6 bytes; vs floor = vs the constant 4 KiB Next route (/api/bench/constant); "[...path]": the same route under a catch-all segment, as the kit's routes are`,
    '',
    table(rows),
    '',
    ...skipped.map((line) => `skip ${line}`),
    ...problems.map((line) => `problem ${line}`),
    ...targets.map((t) => targetLine(t, config.mode === 'full')),
  ].join('\n');
  console.log(text);

  const gitCommit = capture('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = Boolean(capture('git', ['-C', root, 'status', '--porcelain']));
  const json = {
    mode: config.mode,
    finishedAt: new Date().toISOString(),
    seconds,
    git: gitCommit ? `${gitCommit}${dirty ? '-dirty' : ''}` : undefined,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      loadGenerator: load.version,
      nginx: nginxPath ? capture(nginxPath, ['-v']) : undefined,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
    },
    config,
    files: files.map(({ role, size, name, sha256 }) => ({ role, size, name, sha256 })),
    rows,
    targets,
    skipped,
    problems,
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outputs = config.mode === 'smoke' ? ['smoke'] : [`bench-${stamp}`, 'latest'];
  const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  const svg = chartSvg(rows, targets, {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${config.mode === 'smoke' ? ' (smoke: numbers mean nothing)' : ''}`,
    machine: `${os.cpus().length} x ${cpu}, Node ${process.version}, ${load.version}`,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''} (medians of ${config.rounds} round${config.rounds === 1 ? '' : 's'})`,
  });
  for (const name of outputs) {
    writeFileSync(path.join(resultsDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(path.join(resultsDir, `${name}.txt`), `${text.trimStart()}\n`);
    writeFileSync(path.join(resultsDir, `${name}.svg`), svg);
  }
  if (args.chart) {
    mkdirSync(path.dirname(path.resolve(args.chart)), { recursive: true });
    writeFileSync(path.resolve(args.chart), svg);
  }
  log(`wrote ${outputs.map((name) => `bench-results/${name}.{json,txt,svg}`).join(', ')}${args.chart ? ` and ${args.chart}` : ''}`);

  if (config.mode === 'smoke' && problems.length > 0) {
    console.error(`bench smoke: ${problems.length} problem(s), see the lines above`);
    return 1;
  }
  if (config.enforceTargets && targets.some((t) => !t.ok)) return 1;
  return 0;
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping the servers`);
    void cleanup().finally(() => process.exit(code));
  });
}
process.on('exit', killAllNow);

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanup();
    process.exit(1);
  });
