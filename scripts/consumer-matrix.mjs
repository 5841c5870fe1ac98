#!/usr/bin/env node
// The consumer test (scripts/consumer-test.mjs) over Next x Node x TypeScript versions. Not part
// of `npm test`, which runs one cell (the fixture's Next and TypeScript on the machine's Node).
//
// Not every product is run: the cells cover each Next version, each Node version and each
// TypeScript version at least once, and the newest of all three together:
//   - the oldest Next 16 the package supports, on Node 22, with the oldest TypeScript its
//     declarations need, `skipLibCheck: false` (every .d.ts type-checked by `next build`);
//   - what create-next-app@16 installs today, on the machine's Node 20 (its plain `next start`
//     keeps Content-Length, the newest drops it: both answers are checked);
//   - the newest Next on Node 20 with the fixture's TypeScript (the cell `npm test` runs);
//   - the newest Next on Node 24 with the newest TypeScript a default app can install,
//     `skipLibCheck: false`.
// Node 22 and 24 come from the npm packages node@22 / node@24, installed once into
// var/tools/node22 and var/tools/node24; a cell puts that Node first on PATH, so npm, next,
// vitest and the servers all run on it. (The fixture has no native module to compile; one would
// need `npm_config_nodedir` pointing at that Node's headers.) The package is packed once.
//
//   node scripts/consumer-matrix.mjs [--only 1,3] [--keep-going] [--readme FILE]
//                                    (npm run test:consumer-matrix)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

export const CELLS = [
  { next: '16.0.0', node: '22', typescript: '5.7.3', libCheck: true },
  { next: '16.4.3', node: '20', typescript: undefined, libCheck: false },
  { next: undefined, node: '20', typescript: undefined, libCheck: false },
  // TypeScript 7 cannot be installed beside create-next-app's eslint-config-next (its peer range
  // is typescript >=4.8.4 <6.1.0): 6.0 is the newest a default app can have.
  { next: '16.5.0', node: '24', typescript: '6.0.3', libCheck: true },
];

/** The folder holding the cell's `node` binary: the machine's for 20, else the npm package's. */
function nodeFolder(major) {
  if (process.versions.node.split('.')[0] === major) return path.dirname(process.execPath);
  const folder = path.join(root, 'var', 'tools', `node${major}`);
  const bin = path.join(folder, 'node_modules', 'node', 'bin');
  if (!existsSync(path.join(bin, 'node'))) {
    console.log(`matrix: installing node@${major} into ${path.relative(root, folder)}`);
    mkdirSync(folder, { recursive: true });
    if (!existsSync(path.join(folder, 'package.json'))) writeFileSync(path.join(folder, 'package.json'), '{ "private": true }\n');
    const result = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', folder, `node@${major}`], {
      stdio: 'inherit',
    });
    if (result.status !== 0 || !existsSync(path.join(bin, 'node'))) throw new Error(`matrix: could not install node@${major}`);
  }
  return bin;
}

function fixtureVersion(kind, name) {
  return JSON.parse(readFileSync(path.join(root, 'fixtures', 'consumer-app', 'package.json'), 'utf8'))[kind][name];
}

const { values } = parseArgs({
  options: { only: { type: 'string' }, 'keep-going': { type: 'boolean', default: false }, readme: { type: 'string' } },
});
const chosen = values.only ? values.only.split(',').map((n) => Number(n) - 1) : CELLS.map((_, i) => i);

const work = mkdtempSync(path.join(os.tmpdir(), 'ndv-matrix-'));
const rows = [];
const started = Date.now();
try {
  console.log('matrix: packing lib/ once');
  const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: path.join(root, 'lib'), encoding: 'utf8' });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const tarball = path.join(work, JSON.parse(pack.stdout)[0].filename);

  for (const index of chosen) {
    const cell = CELLS[index];
    if (!cell) throw new Error(`matrix: no cell ${index + 1} (there are ${CELLS.length})`);
    const bin = nodeFolder(cell.node);
    const report = path.join(work, `cell-${index + 1}.json`);
    const args = [path.join(here, 'consumer-test.mjs'), '--tarball', tarball, '--json', report];
    if (cell.next) args.push('--next', cell.next);
    if (cell.typescript) args.push('--typescript', cell.typescript);
    if (cell.libCheck) args.push('--lib-check');
    if (values.readme) args.push('--readme', path.resolve(values.readme));
    const label = `Next ${cell.next ?? fixtureVersion('dependencies', 'next')} x Node ${cell.node} x TypeScript ${cell.typescript ?? fixtureVersion('devDependencies', 'typescript')}`;
    console.log(`\nmatrix: cell ${index + 1}: ${label}${cell.libCheck ? ' (skipLibCheck false)' : ''}`);
    const t0 = Date.now();
    const result = spawnSync(path.join(bin, 'node'), args, {
      stdio: 'inherit',
      env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
    });
    const seconds = (Date.now() - t0) / 1000;
    const found = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : {};
    const versions = found.versions ?? {};
    rows.push({
      cell: index + 1,
      next: versions.next ?? cell.next ?? '?',
      node: versions.node ?? `${cell.node}.x`,
      typescript: versions.typescript ?? cell.typescript ?? '?',
      libCheck: cell.libCheck,
      ok: result.status === 0,
      seconds,
      length: found.nextStartKeepsContentLength === undefined ? '?' : found.nextStartKeepsContentLength ? 'kept' : 'dropped',
      error: found.error,
    });
    if (result.status !== 0 && !values['keep-going']) break;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log('\n| cell | Next | Node | TypeScript | skipLibCheck | result | seconds | `next start` Content-Length |');
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.cell} | ${row.next} | ${row.node} | ${row.typescript} | ${row.libCheck ? 'false' : 'true'} | ${row.ok ? 'pass' : 'FAIL'} | ${row.seconds.toFixed(0)} | ${row.length} |`,
  );
}
for (const row of rows) if (!row.ok && row.error) console.log(`cell ${row.cell}: ${row.error}`);
console.log(`\nmatrix: ${rows.filter((row) => row.ok).length}/${rows.length} cells passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (rows.length < chosen.length || rows.some((row) => !row.ok)) process.exitCode = 1;
