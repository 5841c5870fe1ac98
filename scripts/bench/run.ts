/**
 * `npm run bench`: the kit against `send` and nginx, in one run, on loopback.
 *
 *   npm run bench                      full bench (a few minutes): table, target lines, JSON
 *   npm run bench -- --smoke           seconds, tiny files, every code path (run by `npm test`)
 *   npm run bench -- --help            the options (scripts/bench/args.ts)
 *
 * It builds the demo with the bench's own peer routes if needed (scripts/start.ts with
 * BENCH_ROUTES=1, into .next-bench; see next.config.ts), starts every server itself with its own
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
 * (app/api/bench/constant/[...path]) its floor for a dynamic route like the kit's. Those three
 * are routes of the bench's build only (route.bench.ts).
 *
 * The run goes in phases, one function each below: arguments, test files, servers, rows of the
 * demo's database, contenders, workloads (one file each in workloads/, listed in
 * workloads/index.ts), report.
 */
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseBenchArgs, usage, type BenchArgs } from './args';
import type { Bench, Workload } from './bench';
import { chartSvg } from './chart';
import { fetchAnswer } from './clients';
import { FULL, GiB, SMOKE, formatSize, type BenchConfig } from './config';
import { cachedFile, placeFile, readSlice, warm } from './files';
import { chooseLoadTool } from './load';
import type { Context, Contender, TestFile } from './measure';
import { capture, killAllNow, stopAll, stopProcess } from './procs';
import { table, targetLine, type Row, type Target } from './report';
import { nginxBinary, OFFLOAD_SCRIPT, startKit, startNginxStatic, startOffload, startSend, type RunningServer } from './servers';
import { WORKLOADS } from './workloads/index';

const root = path.resolve(import.meta.dirname, '..', '..');
const resultsDir = path.join(root, 'bench-results');
const cacheDir = path.join(resultsDir, 'files');
/** The bench's build (next.config.ts with BENCH_ROUTES=1), which the kit servers serve. */
const buildIdFile = path.join(root, '.next-bench', 'BUILD_ID');
const WORKLOAD_IDS = WORKLOADS.map((w) => w.id);

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

/** Phase: the run's settings, its log and the lists of what went wrong or was left out. */
function setUp(args: BenchArgs) {
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
  return { config, ctx, started, problems, skipped, loadTool: load.version, loadBefore };
}

/**
 * Phase: test files, cached once, hard-linked into this run's media folder, read into the page
 * cache; the same files in Next's public/ folder, served by the kit's server as static files.
 */
async function prepareFiles(ctx: Context) {
  const { config, log } = ctx;
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
  publicDir = path.join(root, 'public', '_bench', path.basename(tempDir));
  for (const file of files) placeFile(file.path, path.join(publicDir, `${file.role}.bin`));
  return { tempDir, mediaRoot, files: { big, medium, small }, publicPath: `/_bench/${path.basename(tempDir)}` };
}

interface Servers {
  kit: RunningServer;
  kitW2?: RunningServer;
  send: RunningServer;
  nginx?: RunningServer;
  offload?: RunningServer;
  nginxPath?: string;
}

/** Phase: every server, on 127.0.0.1, each in a process of its own started here. */
async function startServers(args: BenchArgs, ctx: Context, tempDir: string, mediaRoot: string, small: TestFile): Promise<Servers> {
  const { log } = ctx;
  const quiet = ctx.config.mode === 'smoke';
  const wanted = (name: string) => !args.contenders || args.contenders.has(name);
  const kit = await startKit({
    root,
    mediaRoot,
    databaseUrl: path.join(tempDir, 'kit.db'),
    cpuProfDir: args.cpuProf ? path.join(resultsDir, 'profiles') : undefined,
    nodeFlags: args.nodeFlags,
    quiet,
  });
  log(`kit (scripts/start.ts) on ${kit.base}, pid ${kit.pid}`);
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
  const offload = wanted('offload') ? await startOffloadIfThere(ctx, tempDir, mediaRoot, small) : (ctx.skip('offload: not among --contenders'), undefined);
  return { kit, kitW2, send, nginx, offload, nginxPath };
}

/** nginx offloading to the kit (scripts/nginx.mjs), kept only when it serves the small file whole. */
async function startOffloadIfThere(ctx: Context, tempDir: string, mediaRoot: string, small: TestFile): Promise<RunningServer | undefined> {
  if (!existsSync(path.join(root, OFFLOAD_SCRIPT))) {
    ctx.skip(`offload: ${OFFLOAD_SCRIPT} does not exist`);
    return undefined;
  }
  const quiet = ctx.config.mode === 'smoke';
  try {
    const offload = (await startOffload({ root, mediaRoot, databaseUrl: path.join(tempDir, 'offload.db'), probePath: `/api/accel/${small.name}`, quiet }))!;
    const answer = await fetchAnswer(`${offload.base}/api/accel/${small.name}`);
    if (answer.status !== 200 || answer.bytes !== small.size) {
      ctx.skip(`offload: GET /api/accel/${small.name} through nginx answered ${answer.status} with ${answer.bytes} bytes`);
      await stopProcess(offload.child);
      return undefined;
    }
    ctx.log(`nginx offload (${OFFLOAD_SCRIPT}) on ${offload.base}, pid ${offload.pid}`);
    return offload;
  } catch (error) {
    const lines = (error as Error).message.split('\n');
    ctx.skip(`offload: ${OFFLOAD_SCRIPT} did not start: ${[lines[0], ...lines.slice(-6)].join('\n    ')}`);
    return undefined;
  }
}

/** Phase: rows of `files` for /api/files/{id}, uploaded through the demo's own API. */
async function uploadFileRows(kit: RunningServer, files: readonly TestFile[]): Promise<Map<TestFile, number>> {
  const ids = new Map<TestFile, number>();
  for (const file of files) {
    const form = new FormData();
    form.append('file', new Blob([await readFile(file.path)]), `${file.role}.bin`);
    const response = await fetch(`${kit.base}/api/files`, { method: 'POST', body: form });
    if (response.status !== 201) throw new Error(`upload of ${file.name} to /api/files answered ${response.status}: ${await response.text()}`);
    ids.set(file, ((await response.json()) as { id: number }).id);
  }
  return ids;
}

/** Phase: every way to get a file, in the order of the table. */
function contendersOf(servers: Servers, ids: Map<TestFile, number>, publicPath: string, only?: Set<string>): Contender[] {
  const { kit, kitW2, send, nginx, offload } = servers;
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
  if (kitW2) contenders.splice(1, 0, { name: 'path-w2', kit: true, server: kitW2, workloads: ['medium', 'small'], url: (f) => `${kitW2.base}/api/path/${f.name}` });
  if (nginx) contenders.push({ name: 'nginx', server: nginx, url: (f) => `${nginx.base}/${f.name}` });
  if (offload) contenders.push({ name: 'offload', kit: true, server: offload, url: (f) => `${offload.base}/api/accel/${f.name}` });
  // The constant routes stay where they are the floor (workloads add them themselves).
  return only ? contenders.filter((c) => only.has(c.name)) : contenders;
}

/**
 * Phase: the selected workloads: every `prepare` first, then the `runFirst` ones, then the
 * rest; rows and targets come back in the order of the list.
 */
async function runWorkloads(bench: Bench, selected: readonly Workload[]): Promise<{ rows: Row[]; targets: Target[] }> {
  for (const workload of selected) await workload.prepare?.(bench);
  const results = new Map<Workload, { rows: Row[]; targets?: Target[] }>();
  const order = [...selected.filter((w) => w.runFirst), ...selected.filter((w) => !w.runFirst)];
  for (const workload of order) results.set(workload, await workload.run(bench));
  const ordered = selected.map((w) => results.get(w)!);
  return { rows: ordered.flatMap((r) => r.rows), targets: ordered.flatMap((r) => r.targets ?? []) };
}

interface Outcome {
  args: BenchArgs;
  log: (line: string) => void;
  config: BenchConfig;
  started: number;
  loadTool: string;
  loadBefore: number;
  loadAfter: number;
  nginxPath?: string;
  files: TestFile[];
  rows: Row[];
  targets: Target[];
  skipped: string[];
  problems: string[];
}

/** Phase: the table and target lines on stdout; JSON, text and SVG into bench-results/. */
function report(o: Outcome): void {
  const { config } = o;
  const [big, medium, small] = o.files as [TestFile, TestFile, TestFile];
  const seconds = (Date.now() - o.started) / 1000;
  const text = [
    '',
    `${config.mode === 'smoke' ? 'SMOKE (tiny files, one short round: numbers mean nothing)' : 'bench'}: ${new Date().toISOString()}, ${seconds.toFixed(0)} s, ${o.loadTool} (HEAD: head-load.mjs), medians of ${config.rounds} round(s), load average ${o.loadBefore.toFixed(1)} before / ${o.loadAfter.toFixed(1)} after`,
    `files: big ${formatSize(big.size)}, medium ${formatSize(medium.size)}, small ${formatSize(small.size)}; MB = 10^6 bytes; vs floor = vs the constant 4 KiB Next route (/api/bench/constant); "[...path]": the same route under a catch-all segment, as the kit's routes are`,
    '',
    table(o.rows),
    '',
    ...o.skipped.map((line) => `skip ${line}`),
    ...o.problems.map((line) => `problem ${line}`),
    ...o.targets.map((t) => targetLine(t, config.mode === 'full')),
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
      loadGenerator: o.loadTool,
      nginx: o.nginxPath ? capture(o.nginxPath, ['-v']) : undefined,
      loadAverageBefore: o.loadBefore,
      loadAverageAfter: o.loadAfter,
    },
    config,
    files: o.files.map(({ role, size, name, sha256 }) => ({ role, size, name, sha256 })),
    rows: o.rows,
    targets: o.targets,
    skipped: o.skipped,
    problems: o.problems,
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outputs = config.mode === 'smoke' ? ['smoke'] : [`bench-${stamp}`, 'latest'];
  const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  const svg = chartSvg(o.rows, o.targets, {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${config.mode === 'smoke' ? ' (smoke: numbers mean nothing)' : ''}`,
    machine: `${os.cpus().length} x ${cpu}, Node ${process.version}, ${o.loadTool}`,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''} (medians of ${config.rounds} round${config.rounds === 1 ? '' : 's'})`,
  });
  for (const name of outputs) {
    writeFileSync(path.join(resultsDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(path.join(resultsDir, `${name}.txt`), `${text.trimStart()}\n`);
    writeFileSync(path.join(resultsDir, `${name}.svg`), svg);
  }
  if (o.args.chart) {
    mkdirSync(path.dirname(path.resolve(o.args.chart)), { recursive: true });
    writeFileSync(path.resolve(o.args.chart), svg);
  }
  o.log(`wrote ${outputs.map((name) => `bench-results/${name}.{json,txt,svg}`).join(', ')}${o.args.chart ? ` and ${o.args.chart}` : ''}`);
}

async function main(): Promise<number> {
  const args = parseBenchArgs(process.argv.slice(2), WORKLOAD_IDS);
  if (args.help) {
    console.log(usage(WORKLOAD_IDS));
    return 0;
  }
  const { config, ctx, started, problems, skipped, loadTool, loadBefore } = setUp(args);
  const prepared = await prepareFiles(ctx);
  const { big, medium, small } = prepared.files;
  const servers = await startServers(args, ctx, prepared.tempDir, prepared.mediaRoot, small);
  const buildStamp = () => (existsSync(buildIdFile) ? statSync(buildIdFile).mtimeMs : 0);
  const builtAt = buildStamp();
  const ids = await uploadFileRows(servers.kit, [medium, small]);
  const bench: Bench = {
    ctx,
    config,
    root,
    tempDir: prepared.tempDir,
    cacheDir,
    quiet: config.mode === 'smoke',
    files: prepared.files,
    kit: servers.kit,
    send: servers.send,
    contenders: contendersOf(servers, ids, prepared.publicPath, args.contenders),
  };
  const { rows, targets } = await runWorkloads(bench, WORKLOADS.filter((w) => args.only.has(w.id)));

  if (buildStamp() !== builtAt) {
    ctx.problem('the build in .next-bench changed during the run (another build): the kit served from a build being rewritten; its numbers are not reliable');
  }
  const loadAfter = os.loadavg()[0]!;
  await cleanup();
  report({ args, log: ctx.log, config, started, loadTool, loadBefore, loadAfter, nginxPath: servers.nginxPath, files: [big, medium, small], rows, targets, skipped, problems });

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
