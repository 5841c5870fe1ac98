#!/usr/bin/env node
// The consumer test: the package as a user gets it. Packs lib/ (`npm pack`), installs the
// tarball into a copy of fixtures/consumer-app (a create-next-app app: next, react, react-dom,
// its default tsconfig) in a temporary folder outside this repository, builds it with
// `output: 'standalone'`, copies the standalone output to a folder of its own, serves it with
// `next-downloadview start` and checks real downloads (Content-Length, Range, 304, a non-ASCII
// name), also as the README's Dockerfile lays it out; then serves the app with plain
// `next start` and checks it still answers (chunked, without a length), and under
// `next-downloadview dev` (with a length); last, a route with `runtime = 'edge'` must fail the
// build with the kit's one-line message. npm installs from its cache when it can (--prefer-offline).
//
//   node scripts/consumer-test.mjs [--keep]     (--keep leaves the temporary folder)

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', npm_config_audit: 'false', npm_config_fund: 'false' };
delete env.NODE_ENV;

const work = mkdtempSync(path.join(os.tmpdir(), 'ndv-consumer-'));
const app = path.join(work, 'app');
const standalone = path.join(work, 'standalone');
const children = new Set();
let checks = 0;

function step(title) {
  console.log(`consumer: ${title}`);
}

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}) in ${cwd}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a server process and resolves once it answers on the port. */
async function serve(command, args, cwd, port, extraEnv = {}) {
  const child = spawn(command, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited (${child.exitCode}):\n${output}`);
    try {
      await get(port, '/');
      return { child, output: () => output };
    } catch {
      if (Date.now() > deadline) throw new Error(`${command} did not answer on ${port} within 60 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
  children.delete(child);
}

/** One HTTP exchange, with the raw headers as they came (transfer-encoding included). */
function get(port, pathname, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout on ${pathname}`)));
    req.on('error', reject);
    req.end();
  });
}

function expect(condition, what, detail) {
  if (!condition) throw new Error(`consumer check failed: ${what}${detail === undefined ? '' : `\n  got: ${JSON.stringify(detail)}`}`);
  checks++;
}

const BIG = Buffer.alloc(300_000, 0);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + 3) % 251;

async function checkKitServer(port) {
  const hello = await get(port, '/files/hello.txt');
  expect(hello.status === 200, 'GET /files/hello.txt is 200', hello.status);
  expect(hello.body.toString() === 'Hello from the consumer app.\n', 'its body is the file', hello.body.toString());
  expect(hello.headers['content-length'] === String(hello.body.length), 'it carries Content-Length', hello.headers);
  expect(hello.headers['transfer-encoding'] === undefined, 'it is not chunked', hello.headers);
  expect(/^attachment; filename="?hello\.txt"?(;|$)/.test(hello.headers['content-disposition'] ?? ''), 'it is an attachment named hello.txt', hello.headers);

  const head = await get(port, '/files/big.bin', { method: 'HEAD' });
  expect(head.status === 200 && head.headers['content-length'] === String(BIG.length), 'HEAD has the length', head.headers);

  const range = await get(port, '/files/big.bin', { headers: { range: 'bytes=1000-1999' } });
  expect(range.status === 206, 'a Range request is 206', range.status);
  expect(range.headers['content-range'] === `bytes 1000-1999/${BIG.length}`, 'with its Content-Range', range.headers);
  expect(range.headers['content-length'] === '1000', 'and the part length', range.headers);
  expect(range.body.equals(BIG.subarray(1000, 2000)), 'and exactly those bytes');

  const etag = hello.headers.etag;
  expect(typeof etag === 'string' && etag.startsWith('"'), 'a strong ETag', hello.headers);
  const fresh = await get(port, '/files/hello.txt', { headers: { 'if-none-match': etag } });
  expect(fresh.status === 304 && fresh.body.length === 0, 'If-None-Match is 304 without a body', fresh.status);

  const resume = await get(port, '/files/r%C3%A9sum%C3%A9.txt');
  expect(resume.status === 200, 'a non-ASCII name is served', resume.status);
  expect(
    /^attachment; filename="?[^";]*"?; filename\*=UTF-8''r%C3%A9sum%C3%A9\.txt$/.test(resume.headers['content-disposition'] ?? ''),
    'with an RFC 6266 / RFC 8187 Content-Disposition',
    resume.headers['content-disposition'],
  );
  expect(resume.headers['content-length'] === String(resume.body.length), 'and its length', resume.headers);

  const stored = await get(port, '/stored/hello.txt');
  expect(stored.status === 200 && /^inline;/.test(stored.headers['content-disposition'] ?? ''), 'the /storage subpath serves inline', stored.headers);

  const traversal = await get(port, '/files/..%2F..%2Fpackage.json');
  expect(traversal.status === 400 || traversal.status === 404, 'a path out of the root is refused', traversal.status);
}

async function checkNextStart(port) {
  const hello = await get(port, '/files/hello.txt');
  expect(hello.status === 200 && hello.body.toString() === 'Hello from the consumer app.\n', 'next start serves the download', hello.status);
  expect(hello.headers['content-length'] === undefined, 'next start drops the length (as documented)', hello.headers);
  expect(hello.headers['transfer-encoding'] === 'chunked', 'and sends it chunked', hello.headers);
  const range = await get(port, '/files/big.bin', { headers: { range: 'bytes=0-9' } });
  expect(range.status === 206 && range.body.equals(BIG.subarray(0, 10)), 'a Range still works under next start', range.status);
}

async function main() {
  const started = Date.now();
  step(`packing lib/ into ${work}`);
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], path.join(root, 'lib')));
  const tarball = path.join(work, packed[0].filename);
  const shipped = packed[0].files.map((file) => file.path);
  expect(!shipped.some((file) => /\.test\.|\.typetest\.|rfc9110-|test-server|storage-contract|event-loop-probe/.test(file)), 'the tarball has no tests and no test support', shipped);
  expect(shipped.includes('dist/index.d.ts.map') && shipped.includes('index.ts'), 'it has declaration maps and the sources they point at', shipped);
  expect(shipped.includes('README.md') && shipped.includes('LICENSE'), 'and its own README and LICENSE', shipped);
  expect(shipped.includes('dist/cli/main.js') && shipped.includes('dist/index.d.ts'), 'the tarball has the bin and the types', shipped);

  step('installing the tarball into a copy of fixtures/consumer-app');
  cpSync(path.join(root, 'fixtures', 'consumer-app'), app, {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|\.next)([\\/]|$)/.test(source),
  });
  writeFileSync(path.join(app, 'files', 'big.bin'), BIG);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);

  step('next build (output: standalone)');
  run('npx', ['--no-install', 'next', 'build'], app);

  step('copying the standalone output to a folder of its own');
  cpSync(path.join(app, '.next', 'standalone'), standalone, { recursive: true });
  cpSync(path.join(app, '.next', 'static'), path.join(standalone, '.next', 'static'), { recursive: true });
  cpSync(path.join(app, 'files'), path.join(standalone, 'files'), { recursive: true });
  expect(!readdirSync(standalone).some((name) => name.startsWith('next.config')), 'the standalone folder has no next.config to load');

  const port = await freePort();
  step(`next-downloadview start ${standalone} (PORT=${port}, HOSTNAME=127.0.0.1, KEEP_ALIVE_TIMEOUT=6000)`);
  const kit = await serve(path.join(app, 'node_modules', '.bin', 'next-downloadview'), ['start', standalone], work, port, {
    PORT: String(port),
    HOSTNAME: '127.0.0.1',
    KEEP_ALIVE_TIMEOUT: '6000',
  });
  await checkKitServer(port);
  const alive = await get(port, '/files/hello.txt', { method: 'HEAD' });
  expect(alive.headers['keep-alive'] === 'timeout=6', 'KEEP_ALIVE_TIMEOUT is honoured', alive.headers);
  await stop(kit.child);

  // The Docker recipe of the README: the package folder copied into the standalone output (no
  // route imports the server, so tracing leaves it out), run with node, flags instead of env.
  cpSync(path.join(app, 'node_modules', 'next-downloadview'), path.join(standalone, 'node_modules', 'next-downloadview'), {
    recursive: true,
    dereference: true,
  });
  const dockerPort = await freePort();
  step(`node node_modules/next-downloadview/dist/cli/main.js start . -p ${dockerPort} -H 127.0.0.1 --keepAliveTimeout 7000 (in the standalone folder)`);
  const docker = await serve(
    process.execPath,
    ['node_modules/next-downloadview/dist/cli/main.js', 'start', '.', '-p', String(dockerPort), '-H', '127.0.0.1', '--keepAliveTimeout', '7000'],
    standalone,
    dockerPort,
    { PORT: '1', HOSTNAME: '0.0.0.0', KEEP_ALIVE_TIMEOUT: '6000' },
  );
  const inDocker = await get(dockerPort, '/files/big.bin', { method: 'HEAD' });
  expect(inDocker.status === 200 && inDocker.headers['content-length'] === String(BIG.length), 'the Docker layout serves with Content-Length', inDocker.headers);
  expect(inDocker.headers['keep-alive'] === 'timeout=7', '--keepAliveTimeout wins over KEEP_ALIVE_TIMEOUT', inDocker.headers);
  await stop(docker.child);

  const plainPort = await freePort();
  step(`next start -p ${plainPort} (in the app folder)`);
  const plain = await serve(path.join(app, 'node_modules', '.bin', 'next'), ['start', '-p', String(plainPort), '-H', '127.0.0.1'], app, plainPort);
  await checkNextStart(plainPort);
  await stop(plain.child);

  const devPort = await freePort();
  step(`next-downloadview dev -p ${devPort} (in the app folder)`);
  const dev = await serve(path.join(app, 'node_modules', '.bin', 'next-downloadview'), ['dev', '-p', String(devPort), '-H', '127.0.0.1'], app, devPort);
  const inDev = await get(devPort, '/files/hello.txt');
  expect(inDev.status === 200 && inDev.headers['content-length'] === String(inDev.body.length), 'the dev server sends Content-Length too', inDev.headers);
  await stop(dev.child);

  step('a route with `runtime = \'edge\'` fails the build with the kit\'s one line');
  mkdirSync(path.join(app, 'app', 'edge'), { recursive: true });
  writeFileSync(
    path.join(app, 'app', 'edge', 'route.ts'),
    "import { virtualDownload } from 'next-downloadview';\nexport const runtime = 'edge';\nexport const { GET, HEAD } = virtualDownload({ file: { content: 'x' } });\n",
  );
  const edge = spawnSync('npx', ['--no-install', 'next', 'build'], { cwd: app, env, encoding: 'utf8' });
  const edgeOutput = `${edge.stdout}\n${edge.stderr}`;
  expect(edge.status !== 0, 'the edge build fails', edge.status);
  expect(
    edgeOutput.includes("next-downloadview needs the Node.js runtime: remove `export const runtime = 'edge'` from this route"),
    'with the kit\'s message, naming the fix',
    edgeOutput.slice(-2000),
  );

  console.log(`consumer: ${checks} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  for (const child of children) await stop(child);
  if (keep) console.log(`consumer: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
