#!/usr/bin/env node
// `npm test`: every check, in order, stopping at the first failing stage.
//
//   1 build the package       lib/ -> lib/dist (ESM + .d.ts), which the demo imports by name
//   2 next typegen            route types under .next/types
//   3 tsc --noEmit            type-check
//   4 eslint --max-warnings 0 lint, including the package's one-way layers
//   5 typedoc                 API reference check: every public name documented
//   6 vitest run              unit/integration tests (+ JSON report)
//   7 next build              production build
//   8 bench smoke             `npm run bench -- --smoke`: every bench path, tiny files, seconds
//   9 consumer test           the packed package installed into create-next-app@16's default app,
//                             the package README's snippets as its routes, built with no runtime
//                             settings, served by `next-downloadview start` (standalone copy),
//                             `next start`, `next-downloadview dev` and the README's
//                             server.mjs on HandoffResponse (one cell of
//                             scripts/consumer-matrix.mjs)
//  10 fresh clone             `git clone` of HEAD, `npm ci`, then `npm run dev` answers and the
//                             README's cheap scripts succeed (scripts/clone-test.mjs)
//  11 cluster test            two demo instances behind a round-robin nginx, sharing Postgres,
//                             S3 and DOWNLOAD_SECRET (scripts/cluster-test.mjs)
//  12 ensure chromium         Debian's chromium (installed when run as root)
//  13 ensure nginx            Debian's nginx, for the offload e2e (installed when run as root)
//  14 ensure ffmpeg           Debian's ffmpeg, which writes the demo's sample video and audio
//                             (installed when run as root)
//  15 playwright test         browser e2e against the built demo, and through nginx (+ JSON report)
//
// Stages 11-15 are skipped with `npm test -- --skip-e2e` or SKIP_E2E=1.
// The last line printed is `N passed, N failed, N skipped`, summed from the
// vitest and Playwright JSON reports in test-results/. A test stage that fails
// without any failing test (crash, no tests found, web server not starting)
// counts as one failure there, so that line never reads "0 failed" on a red run.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureChromium } from './ensure-chromium.mjs';
import { ensureFfmpeg } from './ensure-ffmpeg.mjs';
import { ensureNginx } from './ensure-nginx.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const args = process.argv.slice(2);
const known = new Set(['--skip-e2e', '--help', '-h']);
for (const a of args) {
  if (!known.has(a)) {
    console.error(`test.mjs: unknown option ${a} (use --skip-e2e or --help)`);
    process.exit(2);
  }
}
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: npm test [-- --skip-e2e]   (or SKIP_E2E=1 npm test)');
  process.exit(0);
}
const truthy = (v) => Boolean(v) && !['0', 'false', 'no', ''].includes(String(v).toLowerCase());
const skipE2E = args.includes('--skip-e2e') || truthy(process.env.SKIP_E2E);

const resultsDir = path.join(root, 'test-results');
const vitestReport = path.join(resultsDir, 'vitest.json');
const playwrightReport = path.join(resultsDir, 'playwright.json');
mkdirSync(resultsDir, { recursive: true });

const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const childEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

const counts = { passed: 0, failed: 0, skipped: 0 };
let ranTestStage = false;

function run(name, argv, extraEnv = {}) {
  const exe = bin(name);
  if (!existsSync(exe)) {
    console.error(`test.mjs: ${exe} not found; run \`npm ci\` first`);
    return Promise.resolve(127);
  }
  return new Promise((resolve) => {
    const child = spawn(exe, argv, { stdio: 'inherit', env: { ...childEnv, ...extraEnv } });
    child.on('error', (err) => {
      console.error(`test.mjs: cannot start ${name}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** A script of this repository, run with the Node running this one. */
function runNode(script, argv = []) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...argv], { stdio: 'inherit', env: childEnv });
    child.on('error', (err) => {
      console.error(`test.mjs: cannot start ${script}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** vitest's JSON reporter is Jest-shaped. */
function addVitestCounts(exitCode) {
  const r = readJson(vitestReport);
  const passed = r?.numPassedTests ?? 0;
  let failed = r?.numFailedTests ?? 0;
  const skipped = (r?.numPendingTests ?? 0) + (r?.numTodoTests ?? 0);
  if (exitCode !== 0 && failed === 0) failed = 1;
  counts.passed += passed;
  counts.failed += failed;
  counts.skipped += skipped;
  console.log(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped${r ? '' : ' (no JSON report)'}`);
}

/** Playwright's JSON reporter: stats.expected / unexpected / flaky / skipped. */
function addPlaywrightCounts(exitCode) {
  const r = readJson(playwrightReport);
  const s = r?.stats ?? {};
  const passed = (s.expected ?? 0) + (s.flaky ?? 0);
  let failed = s.unexpected ?? 0;
  const skipped = s.skipped ?? 0;
  if (exitCode !== 0 && failed === 0) failed = 1;
  counts.passed += passed;
  counts.failed += failed;
  counts.skipped += skipped;
  const flaky = s.flaky ? ` (${s.flaky} flaky)` : '';
  console.log(`playwright: ${passed} passed${flaky}, ${failed} failed, ${skipped} skipped${r ? '' : ' (no JSON report)'}`);
}

const stages = [
  { title: 'build the package', run: () => runNode('lib/build.mjs') },
  { title: 'next typegen', run: () => run('next', ['typegen']) },
  { title: 'tsc --noEmit', run: () => run('tsc', ['--noEmit']) },
  { title: 'eslint --max-warnings 0 .', run: () => run('eslint', ['--max-warnings', '0', '.']) },
  { title: 'typedoc (every public name documented)', run: () => run('typedoc', ['--emit', 'none']) },
  {
    title: 'vitest run',
    test: true,
    run: async () => {
      rmSync(vitestReport, { force: true });
      const code = await run('vitest', [
        'run',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${vitestReport}`,
      ]);
      addVitestCounts(code);
      return code;
    },
  },
  { title: 'next build', run: () => run('next', ['build']) },
  {
    // Counted as one test, so a red smoke never leaves the summary at "0 failed".
    title: 'bench smoke',
    test: true,
    run: async () => {
      const code = await run('tsx', ['scripts/bench/run.ts', '--smoke']);
      counts[code === 0 ? 'passed' : 'failed'] += 1;
      return code;
    },
  },
  {
    // Counted as one test, like the bench smoke.
    title: 'consumer test',
    test: true,
    run: async () => {
      const code = await runNode('scripts/consumer-test.mjs');
      counts[code === 0 ? 'passed' : 'failed'] += 1;
      return code;
    },
  },
  {
    // Counted as one test, like the consumer test. Needs HEAD committed: the clone has nothing else.
    title: 'fresh clone (npm ci, npm run dev, the README\'s scripts)',
    test: true,
    run: async () => {
      const code = await runNode('scripts/clone-test.mjs');
      counts[code === 0 ? 'passed' : 'failed'] += 1;
      return code;
    },
  },
  {
    // Two instances behind a real nginx, sharing Postgres and S3; counted as one test. It needs
    // nginx, so it goes with the e2e stages (--skip-e2e skips it).
    title: 'cluster test',
    e2e: true,
    test: true,
    run: async () => {
      // The script makes sure nginx is there (ensure-nginx.mjs), as the offload e2e does.
      const code = await runNode('scripts/cluster-test.mjs');
      // 77: no Postgres to be had here (outside CI); the script said why on one line.
      counts[code === 0 ? 'passed' : code === 77 ? 'skipped' : 'failed'] += 1;
      return code === 77 ? 0 : code;
    },
  },
  {
    title: 'ensure chromium',
    e2e: true,
    run: async () => {
      const r = ensureChromium();
      if (!r.ok) console.error(r.message);
      return r.ok ? 0 : 1;
    },
  },
  {
    title: 'ensure nginx',
    e2e: true,
    run: async () => {
      const r = ensureNginx();
      if (!r.ok) console.error(r.message);
      return r.ok ? 0 : 1;
    },
  },
  {
    // Before Playwright starts the demo, whose start writes the sample video the media spec plays.
    title: 'ensure ffmpeg',
    e2e: true,
    run: async () => {
      const r = ensureFfmpeg();
      if (!r.ok) console.error(r.message);
      return r.ok ? 0 : 1;
    },
  },
  {
    title: 'playwright test',
    e2e: true,
    test: true,
    run: async () => {
      rmSync(playwrightReport, { force: true });
      const code = await run('playwright', ['test', '--reporter=list,json'], {
        PLAYWRIGHT_JSON_OUTPUT_FILE: playwrightReport,
      });
      addPlaywrightCounts(code);
      return code;
    },
  },
];

function summaryLine() {
  return `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}

const active = stages.filter((s) => !(skipE2E && s.e2e));
const started = Date.now();
for (const [i, stage] of active.entries()) {
  console.log(`\n==> [${i + 1}/${active.length}] ${stage.title}`);
  const t0 = Date.now();
  if (stage.test) ranTestStage = true;
  const code = await stage.run();
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (code !== 0) {
    console.error(`\n==> FAILED: ${stage.title} (exit ${code}, ${secs} s)`);
    if (ranTestStage) console.log(`\n${summaryLine()}`);
    process.exit(typeof code === 'number' && code > 0 && code < 256 ? code : 1);
  }
  console.log(`==> ok: ${stage.title} (${secs} s)`);
}

const total = ((Date.now() - started) / 1000).toFixed(1);
if (skipE2E) console.log('\n(e2e skipped: --skip-e2e / SKIP_E2E)');
console.log(`\n==> all stages passed in ${total} s`);
console.log(`\n${summaryLine()}`);
