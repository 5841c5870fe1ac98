#!/usr/bin/env node
// The consumer test: the package as a user gets it, in an app as create-next-app@16 makes it.
//
// Packs lib/ (`npm pack`) and installs the tarball into a copy of fixtures/consumer-app (the
// default app of create-next-app@16: cacheComponents, its tsconfig, its eslint config, plus
// `output: 'standalone'`) in a temporary folder outside this repository. The package README's
// snippets become the app's routes: every ```ts / ```tsx block of lib/README.md whose first line
// is `// <relative path>.ts(x)` (optionally followed by `: text`) is written verbatim to that
// path, so a snippet that stops building or behaving fails this test. The fixture adds what the
// README does not show: redirect(), notFound() and forbidden() inside hooks (with plain routes
// doing the same, to compare), fixed-file routes without dynamic segments, and misconfigured
// routes.
//
// Then, in order: eslint (the app's own config), `next build` with no MEDIA_ROOT, no
// DOWNLOAD_SECRET and no AWS variable (its output must hold no `Error:` line and no
// NEXT_PRERENDER_INTERRUPTED), the README's vitest snippet, and the same checks under five servers
// with the settings given only at start: `next-downloadview start` on a copied standalone folder
// (Content-Length on every download), the README's Docker layout, plain `next start` (Content-Length
// kept or dropped as the installed Next's send-response says: printed), `next-downloadview dev`,
// and the README's server.mjs (a server of one's own on HandoffResponse). Last, a route with `runtime = 'edge'` must fail the build with the kit's
// one-line message. npm installs from its cache when it can (--prefer-offline).
//
//   node scripts/consumer-test.mjs [--keep] [--readme FILE] [--next VERSION] [--typescript VERSION]
//                                  [--lib-check] [--tarball FILE] [--json FILE]
//
//   --keep         leave the temporary folder
//   --readme       the README whose snippets run (default lib/README.md)
//   --next         Next (and eslint-config-next) version instead of the fixture's
//   --typescript   TypeScript version instead of the fixture's
//   --lib-check    `skipLibCheck: false` in the app's tsconfig: `next build` type-checks every .d.ts
//   --tarball      a packed next-downloadview to install instead of packing lib/ (the matrix packs once)
//   --json         write what was found (versions, Content-Length under next start, seconds) there
//
// The matrix of Next x Node x TypeScript versions: scripts/consumer-matrix.mjs.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Settings a deployment gives only at runtime: removed from every step before the servers. */
const RUNTIME_ONLY = /^(MEDIA_ROOT|DOWNLOAD_SECRET|AWS_[A-Z0-9_]+)$/;

/**
 * The snippets of a README that are meant to run: ```ts, ```tsx or ```mjs blocks whose first line
 * is a comment naming a relative .ts/.tsx/.mjs path (`// app/x/route.ts` or `// server.mjs: what it is`).
 * Returns `[{ file, code, line }]`; a path named twice, or one that leaves the app, is an error.
 */
export function extractSnippets(markdown) {
  const snippets = [];
  const seen = new Map();
  const fence = /^```(ts|tsx|mjs)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (const match of markdown.matchAll(fence)) {
    const code = match[2];
    const first = code.split('\n', 1)[0];
    const named = /^\/\/ ((?:[\w@.[\]()-]+\/)*[\w@.[\]()-]+\.(?:tsx?|mjs))(?::.*)?\s*$/.exec(first);
    if (!named) continue;
    const file = named[1];
    const line = markdown.slice(0, match.index).split('\n').length;
    if (file.split('/').some((part) => part === '..' || part === '.')) {
      throw new Error(`README line ${line}: the snippet path ${file} must stay inside the app`);
    }
    if (seen.has(file)) throw new Error(`README lines ${seen.get(file)} and ${line}: two snippets are both ${file}`);
    seen.set(file, line);
    snippets.push({ file, code, line });
  }
  return snippets;
}

/** One HTTP exchange, with the raw headers as they came (transfer-encoding included). */
function get(port, pathname, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`timeout on ${method} ${pathname}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A request that declares a body larger than it sends: the answer must come from the declared
 * length alone (an upload limit), before any body arrives. The socket is dropped afterwards.
 */
function postDeclaringLength(port, pathname, headers, length) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: pathname, method: 'POST', headers: { ...headers, 'content-length': String(length) } },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) });
          req.destroy();
        });
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`timeout on POST ${pathname}`)));
    req.on('error', (error) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
    req.write('--x\r\n');
  });
}

function multipart(parts) {
  const boundary = `----consumer${randomBytes(8).toString('hex')}`;
  const chunks = [];
  for (const part of parts) {
    const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${filename}\r\n`));
    if (part.type) chunks.push(Buffer.from(`Content-Type: ${part.type}\r\n`));
    chunks.push(Buffer.from('\r\n'), Buffer.from(part.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * Whether two answers are the same as far as a client sees: status, type and body. A Next page
 * carries per-render ids, so HTML bodies are compared by their <title> only.
 */
function sameAnswer(a, b) {
  if (a.status !== b.status || a.headers['content-type'] !== b.headers['content-type']) return false;
  if (/text\/html/.test(a.headers['content-type'] ?? '')) {
    const title = (response) => /<title>([^<]*)<\/title>/.exec(response.body.toString())?.[1];
    return title(a) === title(b);
  }
  return a.body.equals(b.body);
}

const BIG = Buffer.alloc(300_000, 0);
/** For the README's rate-limited route: 500 000 bytes past its 1 MB at full speed, 0.5 s at 1 MB/s. */
const LIBRARY = Buffer.alloc(1_500_000, 0x6c);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + 3) % 251;
const HELLO = 'Hello from the consumer app.\n';

class ConsumerTest {
  constructor(options) {
    this.options = options;
    this.env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', npm_config_audit: 'false', npm_config_fund: 'false' };
    delete this.env.NODE_ENV;
    for (const name of Object.keys(this.env)) if (RUNTIME_ONLY.test(name)) delete this.env[name];
    this.work = mkdtempSync(path.join(os.tmpdir(), 'ndv-consumer-'));
    this.app = path.join(this.work, 'app');
    this.standalone = path.join(this.work, 'standalone');
    this.media = path.join(this.work, 'media');
    this.runtimeEnv = {
      MEDIA_ROOT: this.media,
      DOWNLOAD_SECRET: randomBytes(48).toString('base64'),
      AWS_ACCESS_KEY_ID: 'consumer-test',
      AWS_SECRET_ACCESS_KEY: 'consumer-test-secret',
      AWS_REGION: 'us-east-1',
      // The README's instrumentation.ts writes its audit log of downloads here.
      DOWNLOAD_AUDIT_LOG: path.join(this.work, 'downloads.log'),
    };
    this.children = new Set();
    this.checks = 0;
    this.found = {};
  }

  step(title) {
    console.log(`consumer: ${title}`);
  }

  expect(condition, what, detail) {
    if (!condition) {
      const got = detail === undefined ? '' : `\n  got: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`;
      throw new Error(`consumer check failed: ${what}${got}`);
    }
    this.checks++;
  }

  run(command, args, cwd, extraEnv = {}) {
    const result = spawnSync(command, args, { cwd, env: { ...this.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    const output = `${result.stdout}\n${result.stderr}`;
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}) in ${cwd}\n${output}`);
    return { stdout: result.stdout, output };
  }

  /** Starts a server process and resolves once it answers on the port; `log()` is its output so far. */
  async serve(command, args, cwd, port, extraEnv = {}) {
    const child = spawn(command, args, { cwd, env: { ...this.env, ...this.runtimeEnv, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited (${child.exitCode}):\n${output}`);
      try {
        await get(port, '/login');
        return { child, log: () => output };
      } catch {
        if (Date.now() > deadline) throw new Error(`${command} did not answer on ${port} within 90 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async stop(child) {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    this.children.delete(child);
  }

  /** Copies the fixture, writes the README's snippets into it, sets the cell's versions. */
  prepareApp(tarball) {
    cpSync(path.join(root, 'fixtures', 'consumer-app'), this.app, {
      recursive: true,
      filter: (source) => !/[\\/](node_modules|\.next)([\\/]|$)/.test(source) && !/next-env\.d\.ts$/.test(source),
    });
    const readme = this.options.readme;
    const snippets = extractSnippets(readFileSync(readme, 'utf8'));
    this.snippets = new Set(snippets.map((snippet) => snippet.file));
    for (const snippet of snippets) {
      const target = path.join(this.app, snippet.file);
      this.expect(!existsSync(target), `README snippet ${snippet.file} (line ${snippet.line}) is not also a fixture file`);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, snippet.code);
    }
    for (const required of ['app/media/[...path]/route.ts', 'app/uploads/route.ts', 'server.mjs']) {
      this.expect(this.snippets.has(required), `the README has a runnable snippet for ${required}`, [...this.snippets]);
    }
    this.tests = snippets.filter((snippet) => /\.test\.tsx?$/.test(snippet.file)).map((snippet) => snippet.file);
    this.expect(this.tests.length > 0, 'the README has a runnable test snippet (// tests/....test.ts)', [...this.snippets]);
    this.step(`${snippets.length} snippets from ${path.relative(root, readme) || readme}: ${[...this.snippets].join(', ')}`);

    const manifestPath = path.join(this.app, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (this.options.next) {
      manifest.dependencies.next = this.options.next;
      manifest.devDependencies['eslint-config-next'] = this.options.next;
    }
    if (this.options.typescript) manifest.devDependencies.typescript = this.options.typescript;
    manifest.dependencies['next-downloadview'] = `file:${tarball}`;
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    if (this.options.libCheck) {
      const tsconfigPath = path.join(this.app, 'tsconfig.json');
      const tsconfig = JSON.parse(readFileSync(tsconfigPath, 'utf8'));
      tsconfig.compilerOptions.skipLibCheck = false;
      writeFileSync(tsconfigPath, `${JSON.stringify(tsconfig, null, 2)}\n`);
    }

    cpSync(path.join(this.app, 'files'), this.media, { recursive: true });
    rmSync(path.join(this.app, 'files'), { recursive: true });
    writeFileSync(path.join(this.media, 'big.bin'), BIG);
    writeFileSync(path.join(this.media, 'library.bin'), LIBRARY);
  }

  version(name) {
    return JSON.parse(readFileSync(path.join(this.app, 'node_modules', name, 'package.json'), 'utf8')).version;
  }

  /**
   * create-next-app of an older Next 16 wrote no `partialPrefetching` (that Next refuses the key):
   * the config keeps only what the installed Next knows, as its own create-next-app made it.
   */
  fitConfigToNext() {
    const schema = readFileSync(path.join(this.app, 'node_modules', 'next', 'dist', 'server', 'config-schema.js'), 'utf8');
    if (schema.includes('partialPrefetching')) return;
    const configPath = path.join(this.app, 'next.config.ts');
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace(/^\s*partialPrefetching: true,\n/m, ''));
    this.step(`Next ${this.found.versions.next} has no partialPrefetching: left out of next.config.ts, as its create-next-app did`);
  }

  /** Whether the installed Next removes Content-Length from route-handler responses. */
  nextDropsLength() {
    const file = path.join(this.app, 'node_modules', 'next', 'dist', 'server', 'send-response.js');
    return /FORBIDDEN_HEADERS\s*=\s*\[[^\]]*['"]content-length['"]/.test(readFileSync(file, 'utf8'));
  }

  async main() {
    const started = Date.now();
    let tarball = this.options.tarball;
    if (!tarball) {
      this.step(`packing lib/ into ${this.work}`);
      const packed = JSON.parse(this.run('npm', ['pack', '--json', '--pack-destination', this.work], path.join(root, 'lib')).stdout);
      tarball = path.join(this.work, packed[0].filename);
      const shipped = packed[0].files.map((file) => file.path);
      this.expect(!shipped.some((file) => /\.test\.|\.typetest\.|\.test-support\./.test(file)), 'the tarball has no tests and no test support', shipped);
      this.expect(shipped.includes('dist/index.d.ts.map') && shipped.includes('index.ts'), 'it has declaration maps and the sources they point at', shipped);
      this.expect(shipped.includes('README.md') && shipped.includes('LICENSE'), 'and its own README and LICENSE', shipped);
      this.expect(shipped.includes('dist/cli/main.js') && shipped.includes('dist/index.d.ts'), 'the tarball has the bin and the types', shipped);
    }

    this.step('copying fixtures/consumer-app and writing the README snippets into it');
    this.prepareApp(tarball);
    this.step('npm install --prefer-offline');
    let t = Date.now();
    this.run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], this.app);
    this.found.versions = {
      node: process.version,
      next: this.version('next'),
      typescript: this.version('typescript'),
      'eslint-config-next': this.version('eslint-config-next'),
      vitest: this.version('vitest'),
    };
    this.found.seconds = { install: (Date.now() - t) / 1000 };
    this.step(`installed in ${this.found.seconds.install.toFixed(1)} s: ${JSON.stringify(this.found.versions)}`);

    this.fitConfigToNext();

    this.step('eslint --max-warnings 0 (create-next-app\'s config)');
    t = Date.now();
    this.run('npx', ['--no-install', 'eslint', '--max-warnings', '0', '.'], this.app);

    this.found.seconds.eslint = (Date.now() - t) / 1000;
    this.step(`next build (no ${RUNTIME_ONLY.source} in its environment${this.options.libCheck ? ', skipLibCheck false' : ''})`);
    t = Date.now();
    const buildOutput = this.run('npx', ['--no-install', 'next', 'build'], this.app).output;
    this.found.seconds.build = (Date.now() - t) / 1000;
    const errorLines = buildOutput.split('\n').filter((line) => /Error:|NEXT_PRERENDER_INTERRUPTED/.test(line));
    this.expect(errorLines.length === 0, 'next build prints no `Error:` line and no NEXT_PRERENDER_INTERRUPTED', errorLines.join('\n'));

    this.step(`vitest run (${this.tests.join(', ')}; no MEDIA_ROOT)`);
    t = Date.now();
    const vitest = this.run('npx', ['--no-install', 'vitest', 'run'], this.app, { NO_COLOR: '1' }).output;
    this.expect(/Tests\s+\d+ passed/.test(vitest) && !/\d+ failed/.test(vitest), 'the README\'s test snippet passes', vitest.slice(-1500));

    this.found.seconds.vitest = (Date.now() - t) / 1000;
    this.step('copying the standalone output to a folder of its own');
    cpSync(path.join(this.app, '.next', 'standalone'), this.standalone, { recursive: true });
    cpSync(path.join(this.app, '.next', 'static'), path.join(this.standalone, '.next', 'static'), { recursive: true });
    this.expect(!readdirSync(this.standalone).some((name) => name.startsWith('next.config')), 'the standalone folder has no next.config to load');
    this.expect(!existsSync(path.join(this.standalone, 'files')) && !existsSync(path.join(this.standalone, 'media')), 'no media folder was traced into the build');

    const bin = (name) => path.join(this.app, 'node_modules', '.bin', name);
    t = Date.now();
    const port = await freePort();
    this.step(`next-downloadview start <standalone copy> (PORT=${port}, KEEP_ALIVE_TIMEOUT=6000, settings given now)`);
    const kit = await this.serve(bin('next-downloadview'), ['start', this.standalone], this.work, port, {
      PORT: String(port),
      HOSTNAME: '127.0.0.1',
      KEEP_ALIVE_TIMEOUT: '6000',
    });
    await this.checkServer('kit', port, kit, { length: true });
    const alive = await get(port, '/media/hello.txt', { method: 'HEAD' });
    this.expect(alive.headers['keep-alive'] === 'timeout=6', 'KEEP_ALIVE_TIMEOUT is honoured', alive.headers);
    await this.stop(kit.child);

    await this.checkDockerLayout();
    this.found.seconds.standalone = (Date.now() - t) / 1000;

    const dropsLength = this.nextDropsLength();
    this.found.nextStartKeepsContentLength = !dropsLength;
    t = Date.now();
    const plainPort = await freePort();
    this.step(`next start -p ${plainPort} (Next ${this.found.versions.next} ${dropsLength ? 'drops' : 'keeps'} Content-Length, says its send-response)`);
    const plain = await this.serve(bin('next'), ['start', '-p', String(plainPort), '-H', '127.0.0.1'], this.app, plainPort);
    await this.checkServer('next start', plainPort, plain, { length: !dropsLength });
    await this.stop(plain.child);
    this.found.seconds['next start'] = (Date.now() - t) / 1000;

    const devPort = await freePort();
    this.step(`next-downloadview dev -p ${devPort}`);
    t = Date.now();
    const dev = await this.serve(bin('next-downloadview'), ['dev', '-p', String(devPort), '-H', '127.0.0.1'], this.app, devPort);
    await this.checkServer('dev', devPort, dev, { length: true });
    await this.stop(dev.child);
    this.found.seconds.dev = (Date.now() - t) / 1000;

    if (this.snippets.has('server.mjs')) {
      const ownPort = await freePort();
      this.step(`node server.mjs (the README's server of one's own, HandoffResponse; PORT=${ownPort})`);
      t = Date.now();
      const own = await this.serve('node', ['server.mjs'], this.app, ownPort, { PORT: String(ownPort), HOSTNAME: '127.0.0.1', NODE_ENV: 'production' });
      await this.checkServer('own server', ownPort, own, { length: true });
      await this.stop(own.child);
      this.found.seconds['own server'] = (Date.now() - t) / 1000;
    }

    t = Date.now();
    await this.checkEdgeBuild();
    this.found.seconds.edge = (Date.now() - t) / 1000;

    this.found.seconds.total = (Date.now() - started) / 1000;
    this.found.checks = this.checks;
    console.log(
      `consumer: Next ${this.found.versions.next}: plain next start ${this.found.nextStartKeepsContentLength ? 'keeps' : 'drops'} Content-Length`,
    );
    const phases = Object.entries(this.found.seconds).map(([phase, seconds]) => `${phase} ${seconds.toFixed(0)} s`);
    console.log(`consumer: ${this.checks} checks passed in ${this.found.seconds.total.toFixed(1)} s (${phases.join(', ')})`);
  }

  /** Every check that holds under each server; `length`: whether downloads carry Content-Length. */
  async checkServer(name, port, server, { length }) {
    const expect = (condition, what, detail) => this.expect(condition, `[${name}] ${what}`, detail);
    const hasLength = (response) =>
      length
        ? response.headers['content-length'] === String(response.body.length) && response.headers['transfer-encoding'] === undefined
        : response.headers['content-length'] === undefined && response.headers['transfer-encoding'] === 'chunked';
    const lengthWord = length ? 'with Content-Length' : 'chunked, without Content-Length';

    // The README's pathDownload over MEDIA_ROOT.
    const hello = await get(port, '/media/hello.txt');
    expect(hello.status === 200 && hello.body.toString() === HELLO, 'GET /media/hello.txt serves the file', { status: hello.status, body: hello.body.toString().slice(0, 200) });
    expect(hasLength(hello), `it comes ${lengthWord}`, hello.headers);
    expect(/^attachment; filename="?hello\.txt"?(;|$)/.test(hello.headers['content-disposition'] ?? ''), 'as an attachment named hello.txt', hello.headers);
    const head = await get(port, '/media/big.bin', { method: 'HEAD' });
    expect(head.status === 200 && (length ? head.headers['content-length'] === String(BIG.length) : true), 'HEAD answers 200 (with the length where kept)', head.headers);
    const range = await get(port, '/media/big.bin', { headers: { range: 'bytes=1000-1999' } });
    expect(range.status === 206 && range.headers['content-range'] === `bytes 1000-1999/${BIG.length}`, 'a Range is 206 with its Content-Range', range.headers);
    expect(range.body.equals(BIG.subarray(1000, 2000)), 'and exactly those bytes');
    if (length) expect(range.headers['content-length'] === '1000', 'and the part length', range.headers);
    const etag = hello.headers.etag;
    expect(typeof etag === 'string' && etag.startsWith('"'), 'a strong ETag', hello.headers);
    const fresh = await get(port, '/media/hello.txt', { headers: { 'if-none-match': etag } });
    expect(fresh.status === 304 && fresh.body.length === 0, 'If-None-Match is 304 without a body', fresh.status);
    const resume = await get(port, '/media/r%C3%A9sum%C3%A9.txt');
    expect(
      resume.status === 200 && /^attachment; filename="?[^";]*"?; filename\*=UTF-8''r%C3%A9sum%C3%A9\.txt$/.test(resume.headers['content-disposition'] ?? ''),
      'a non-ASCII name is served with an RFC 6266 / RFC 8187 Content-Disposition',
      resume.headers,
    );
    expect(hasLength(resume), `it comes ${lengthWord}`, resume.headers);
    const traversal = await get(port, '/media/..%2F..%2Fpackage.json');
    expect(traversal.status === 400 || traversal.status === 404, 'a path out of the root is refused', traversal.status);

    await this.checkReadmeRoutes(expect, port, { hasLength, lengthWord });
    await this.checkDownloadEvents(expect, port);
    await this.checkControlFlow(expect, port);
    await this.checkUploads(expect, port);

    // Fixed files, no dynamic segment: prerendering bailed out at build, served now.
    const fixedVirtual = await get(port, '/hello');
    expect(fixedVirtual.status === 200 && fixedVirtual.body.toString() === 'Hello world!\n', 'a fixed virtualDownload route serves', fixedVirtual.status);
    expect(/filename="?hello-world\.txt"?/.test(fixedVirtual.headers['content-disposition'] ?? ''), 'with its name', fixedVirtual.headers);
    const fixedPath = await get(port, '/fixed');
    expect(fixedPath.status === 200 && fixedPath.body.toString() === HELLO, 'a pathDownload with a fixed path serves its file', fixedPath.status);
    expect(hasLength(fixedPath), `it comes ${lengthWord}`, fixedPath.headers);
    expect(fixedPath.headers['x-nextjs-cache'] === undefined, 'and was not prerendered', fixedPath.headers);

    await this.checkMisconfiguration(expect, port, server);
  }

  /** The README's download-event snippets: the file deleted after it was sent, the audit log. */
  async checkDownloadEvents(expect, port) {
    const until = async (condition) => {
      for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      return condition();
    };
    if (this.snippets.has('app/once/[name]/route.ts')) {
      const ticket = path.join(this.media, 'once', 'ticket.txt');
      mkdirSync(path.dirname(ticket), { recursive: true });
      writeFileSync(ticket, HELLO);
      const head = await get(port, '/once/ticket.txt', { method: 'HEAD' });
      expect(head.status === 200 && existsSync(ticket), "the README's deleteFileAfterSend route keeps its file after a HEAD", head.status);
      const first = await get(port, '/once/ticket.txt');
      expect(first.status === 200 && first.body.toString() === HELLO, 'serves it once', first.status);
      expect(await until(() => !existsSync(ticket)), 'and deletes it once it was sent whole');
      const second = await get(port, '/once/ticket.txt');
      expect(second.status === 404, 'a second GET is 404', second.status);
    }
    if (this.snippets.has('instrumentation.ts')) {
      const log = this.runtimeEnv.DOWNLOAD_AUDIT_LOG;
      const before = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
      await get(port, '/media/hello.txt');
      const line = () => {
        const lines = existsSync(log) ? readFileSync(log, 'utf8').slice(before).split('\n').filter(Boolean) : [];
        return lines.map((text) => JSON.parse(text)).find((entry) => entry.route === '/media/hello.txt');
      };
      expect(await until(() => line() !== undefined), "the README's audit log (instrumentation.ts) has a line for the download");
      const entry = line();
      expect(
        entry?.outcome === 'completed' && entry.status === 200 && entry.bytes === HELLO.length && entry.of === HELLO.length && entry.file === 'hello.txt',
        'saying it completed, with every byte',
        entry,
      );
    }
  }

  async checkReadmeRoutes(expect, port, { hasLength, lengthWord }) {
    if (this.snippets.has('app/files/[...path]/route.ts')) {
      const stored = await get(port, '/files/hello.txt');
      expect(stored.status === 200 && stored.body.toString() === HELLO, 'the README\'s storageDownload serves', stored.status);
    }
    if (this.snippets.has('app/documents/[id]/route.ts')) {
      const document = await get(port, '/documents/1');
      expect(document.status === 200 && document.body.toString() === HELLO, 'the README\'s objectDownload serves the row\'s file', document.status);
      expect(/filename="?Hello\.txt"?/.test(document.headers['content-disposition'] ?? ''), 'under the row\'s name', document.headers);
      expect(hasLength(document), `it comes ${lengthWord}`, document.headers);
      const none = await get(port, '/documents/999');
      const plain = await get(port, '/plain/not-found');
      expect(none.status === 404 && sameAnswer(none, plain), 'an unknown row is Next\'s own 404 (notFound() in getObject)', {
        status: none.status,
        kit: [none.headers['content-type'], none.body.toString().slice(0, 100)],
        plain: [plain.headers['content-type'], plain.body.toString().slice(0, 100)],
      });
    }
    if (this.snippets.has('app/exports/report.csv/route.ts')) {
      const report = await get(port, '/exports/report.csv');
      expect(report.status === 200 && report.body.toString() === 'id,name\n1,Ada\n2,Grace\n3,Émilie\n', 'the README\'s generated report streams the rows', report.body.toString());
      expect(/filename="?report\.csv"?/.test(report.headers['content-disposition'] ?? ''), 'as report.csv', report.headers);
    }
    if (this.snippets.has('app/blobs/[id]/route.ts')) {
      const blob = await get(port, '/blobs/7', { headers: { range: 'bytes=5-9' } });
      expect(blob.status === 206 && blob.body.toString() === 'bytes', 'the README\'s sourceDownload answers a Range from the app\'s own store', blob.status);
      const none = await get(port, '/blobs/8');
      expect(none.status === 404, 'an unknown blob is 404', none.status);
    }
    if (this.snippets.has('app/exports/documents.zip/route.ts')) {
      const zip = await get(port, '/exports/documents.zip');
      // One stored entry: a 30-byte local header, its name, the bytes, then the directory.
      const entry = zip.body.indexOf('Hello.txt');
      expect(zip.status === 200 && zip.headers['content-type'] === 'application/zip' && entry === 30, 'the README\'s zipDownload streams the rows as a ZIP', zip.status);
      expect(zip.body.subarray(entry + 'Hello.txt'.length, entry + 'Hello.txt'.length + HELLO.length).toString() === HELLO, 'holding the row\'s file', zip.body.length);
      const part = await get(port, '/exports/documents.zip', { headers: { range: 'bytes=39-', 'if-range': zip.headers.etag } });
      expect(part.status === 206 && part.body.equals(zip.body.subarray(39)), 'and resumes with Range and If-Range', part.status);
    }
    if (this.snippets.has('app/private/[...path]/route.ts')) {
      const out = await get(port, '/private/hello.txt');
      expect(out.status === 307 && out.headers.location === '/login', 'the README\'s signed-in route sends a visitor to /login', { status: out.status, location: out.headers.location });
      const signedIn = await get(port, '/private/hello.txt', { headers: { cookie: 'session=1' } });
      expect(signedIn.status === 200 && signedIn.body.toString() === HELLO, 'and serves a signed-in user', signedIn.status);
    }
    if (this.snippets.has('app/downloads/[...path]/route.ts')) {
      const unsigned = await get(port, '/downloads/hello.txt');
      expect(unsigned.status === 403, 'the README\'s signed-link route refuses an unsigned request', unsigned.status);
      if (this.snippets.has('app/share/[...path]/route.ts')) {
        const share = await get(port, '/share/hello.txt');
        const url = share.status === 200 ? JSON.parse(share.body.toString()).url : undefined;
        expect(typeof url === 'string' && url.startsWith('/downloads/hello.txt?'), 'the README\'s share route signs a link', share.body.toString().slice(0, 300));
        const signed = await get(port, url);
        expect(signed.status === 200 && signed.body.toString() === HELLO, 'which the signed-link route serves (DOWNLOAD_SECRET given at start)', signed.status);
      }
    }
    if (this.snippets.has('app/imports/route.ts')) {
      const upload = multipart([{ name: 'file', filename: 'data.csv', type: 'text/csv', content: 'a,b\n1,2\n' }]);
      const created = await get(port, '/imports', { method: 'POST', headers: { 'content-type': upload.contentType }, body: upload.body });
      expect(created.status === 201, 'the README\'s own-handler upload is 201', { status: created.status, body: created.body.toString().slice(0, 300) });
      const refused = await get(port, '/imports', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      expect(refused.status === 415, 'and answers 415 to a body that is not multipart (withErrorResponses)', refused.status);
    }
    if (this.snippets.has('app/assets/[...path]/route.ts')) {
      const asset = await get(port, '/assets/hello.txt');
      const policy = asset.headers['cache-control'] ?? '';
      expect(
        asset.status === 200 && ['public', 'max-age=31536000', 'immutable', 'no-transform'].every((part) => policy.split(/,\s*/).includes(part)),
        'the README\'s cache policy route answers public, max-age=31536000, immutable, no-transform',
        { status: asset.status, policy },
      );
    }
    if (this.snippets.has('app/videos/[...path]/route.ts')) {
      // The README's video library: any bytes do, the type comes from the name.
      writeFileSync(path.join(this.media, 'clip.webm'), BIG);
      const probe = await get(port, '/videos/clip.webm', { headers: { range: 'bytes=0-1' } });
      expect(
        probe.status === 206 && probe.headers['content-range'] === `bytes 0-1/${BIG.length}` && probe.body.equals(BIG.subarray(0, 2)),
        'the README\'s video route answers a player\'s bytes=0-1 probe with those two bytes',
        { status: probe.status, headers: probe.headers },
      );
      expect(
        probe.headers['content-type'] === 'video/webm' && /^inline; filename="?clip\.webm"?$/.test(probe.headers['content-disposition'] ?? ''),
        'inline, as video/webm',
        probe.headers,
      );
      const seek = await get(port, '/videos/clip.webm', { headers: { range: `bytes=${BIG.length - 1000}-` } });
      expect(seek.status === 206 && seek.body.equals(BIG.subarray(BIG.length - 1000)), 'a seek near the end gets the rest of the file as 206', seek.status);
      const past = await get(port, '/videos/clip.webm', { headers: { range: `bytes=${BIG.length}-` } });
      expect(past.status === 416 && past.headers['content-range'] === `bytes */${BIG.length}`, 'a range past the end is 416 with the size', { status: past.status, headers: past.headers });
    }
    if (this.snippets.has('app/library/[...path]/route.ts')) {
      let started = performance.now();
      const free = await get(port, '/library/library.bin');
      const freeMs = performance.now() - started;
      expect(free.status === 200 && free.body.equals(LIBRARY), 'the README\'s rate-limited route serves the whole file', free.status);
      // 1 MB at full speed, then 500 000 bytes at 1 MB/s: half a second at least, on any server.
      expect(freeMs >= 490, 'at 1 MB/s past its first megabyte', `${freeMs.toFixed(0)} ms`);
      started = performance.now();
      const pro = await get(port, '/library/library.bin', { headers: { cookie: 'session=pro' } });
      expect(pro.status === 200 && pro.body.equals(LIBRARY), 'and a pro user\'s download, unlimited', { status: pro.status, ms: performance.now() - started });
    }
    if (this.snippets.has('app/invoices/[id]/route.ts')) {
      const invoice = await get(port, '/invoices/42');
      expect(invoice.status === 200 && invoice.body.toString().startsWith('%PDF'), 'the README\'s sendFile serves the invoice', invoice.status);
      expect(/filename="?invoice-2026-0042\.pdf"?/.test(invoice.headers['content-disposition'] ?? ''), 'under the name it gives', invoice.headers);
      const none = await get(port, '/invoices/7');
      expect(none.status === 404, 'an unknown invoice is 404', none.status);
    }
  }

  /** redirect(), notFound() and forbidden() in hooks answer what the same call does in a plain route. */
  async checkControlFlow(expect, port) {
    const plainRedirect = await get(port, '/plain/redirect');
    const redirected = await get(port, '/guarded/hello.txt');
    expect(redirected.status === 307 && redirected.status === plainRedirect.status, 'redirect() in authorize answers 307, as in a plain route', {
      kit: redirected.status,
      plain: plainRedirect.status,
    });
    expect(redirected.headers.location === '/login' && redirected.headers.location === plainRedirect.headers.location, 'with its Location', redirected.headers);
    const signedIn = await get(port, '/guarded/hello.txt', { headers: { cookie: 'session=1' } });
    expect(signedIn.status === 200 && signedIn.body.toString() === HELLO, 'and the download with a session', signedIn.status);

    const plainMissing = await get(port, '/plain/not-found');
    const missing = await get(port, '/notes/999');
    expect(missing.status === 404 && plainMissing.status === 404, 'notFound() in getObject answers 404, as in a plain route', { kit: missing.status, plain: plainMissing.status });
    expect(sameAnswer(missing, plainMissing), 'with Next\'s own answer (not the kit\'s plain text)', {
      kit: [missing.headers['content-type'], missing.body.toString().slice(0, 100)],
      plain: [plainMissing.headers['content-type'], plainMissing.body.toString().slice(0, 100)],
    });
    const note = await get(port, '/notes/1');
    expect(note.status === 200 && note.body.toString() === HELLO, 'and the file when getObject finds the row', note.status);

    const plainForbidden = await get(port, '/plain/forbidden');
    const forbidden = await get(port, '/staff/hello.txt');
    expect(forbidden.status === 403 && plainForbidden.status === 403, 'forbidden() in authorize answers 403, as in a plain route', {
      kit: forbidden.status,
      plain: plainForbidden.status,
    });
    expect(sameAnswer(forbidden, plainForbidden), 'with Next\'s own answer', {
      kit: [forbidden.headers['content-type'], forbidden.body.toString().slice(0, 100)],
      plain: [plainForbidden.headers['content-type'], plainForbidden.body.toString().slice(0, 100)],
    });
  }

  /** The README's upload route: 201, and 413 / 400 / 415 to the three refusals, never 500. */
  async checkUploads(expect, port) {
    const good = multipart([{ name: 'file', filename: 'notes.txt', type: 'text/plain', content: 'uploaded by the consumer test\n' }]);
    const created = await get(port, '/uploads', { method: 'POST', headers: { 'content-type': good.contentType }, body: good.body });
    expect(created.status === 201, 'a good upload is 201', { status: created.status, body: created.body.toString().slice(0, 300) });
    const tooLarge = await postDeclaringLength(port, '/uploads', { 'content-type': good.contentType }, 2 ** 40);
    expect(tooLarge.status === 413, 'an upload over maxBytes is 413', { status: tooLarge.status, body: tooLarge.body.toString().slice(0, 300) });
    const noFile = multipart([{ name: 'title', content: 'no file here' }]);
    const empty = await get(port, '/uploads', { method: 'POST', headers: { 'content-type': noFile.contentType }, body: noFile.body });
    expect(empty.status === 400, 'an upload without its file field is 400', { status: empty.status, body: empty.body.toString().slice(0, 300) });
    const notMultipart = await get(port, '/uploads', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"file":"x"}' });
    expect(notMultipart.status === 415, 'a body that is not multipart is 415', { status: notMultipart.status, body: notMultipart.body.toString().slice(0, 300) });
  }

  /**
   * Routes set up wrong answer a 5xx that names the problem at their first request (twice here),
   * and their server logs one line about each: not a silent 404, not a stack trace per request.
   */
  async checkMisconfiguration(expect, port, server) {
    const cases = [
      { url: '/broken', what: 'a pathDownload route without a [...path] segment', names: /\[\.\.\.path\]/ },
      { url: '/wrong-param/hello.txt', what: 'a param the route does not have', names: /\bfile\b|param/ },
      { url: '/missing-root/hello.txt', what: 'a root that does not exist', names: /root|MEDIA_ROOT/ },
    ];
    for (const { url, what, names } of cases) {
      const before = server.log().length;
      const first = await get(port, url);
      const second = await get(port, url);
      expect(first.status >= 500 && second.status >= 500, `${what} answers 5xx, not 404`, { first: first.status, second: second.status });
      expect(names.test(first.body.toString()), `${what}: the answer names the problem`, first.body.toString().slice(0, 300));
      const logged = server
        .log()
        .slice(before)
        .split('\n')
        .filter((line) => line.trim() !== '' && !/^\s*(GET|HEAD) \/|Compil|✓|○/.test(line));
      const about = logged.filter((line) => names.test(line));
      expect(about.length === 1, `${what}: the server logs one line about it`, logged.join('\n'));
      expect(!logged.some((line) => /^\s+at /.test(line)), `${what}: and no stack trace`, logged.join('\n'));
    }
  }

  /** The README's Docker recipe: the package folder copied into the standalone output, run with node. */
  async checkDockerLayout() {
    cpSync(path.join(this.app, 'node_modules', 'next-downloadview'), path.join(this.standalone, 'node_modules', 'next-downloadview'), {
      recursive: true,
      dereference: true,
    });
    const port = await freePort();
    this.step(`node node_modules/next-downloadview/dist/cli/main.js start . -p ${port} --keepAliveTimeout 7000 (the Docker layout)`);
    const docker = await this.serve(
      process.execPath,
      ['node_modules/next-downloadview/dist/cli/main.js', 'start', '.', '-p', String(port), '-H', '127.0.0.1', '--keepAliveTimeout', '7000'],
      this.standalone,
      port,
      { PORT: '1', HOSTNAME: '0.0.0.0', KEEP_ALIVE_TIMEOUT: '6000' },
    );
    const head = await get(port, '/media/big.bin', { method: 'HEAD' });
    this.expect(head.status === 200 && head.headers['content-length'] === String(BIG.length), 'the Docker layout serves with Content-Length', head.headers);
    this.expect(head.headers['keep-alive'] === 'timeout=7', '--keepAliveTimeout wins over KEEP_ALIVE_TIMEOUT', head.headers);
    await this.stop(docker.child);
  }

  /**
   * With cacheComponents Next itself refuses any `runtime` export, so the kit's own message is
   * for apps without it: this build turns cacheComponents off.
   */
  async checkEdgeBuild() {
    this.step("a route with `runtime = 'edge'` (cacheComponents off) fails the build with the kit's one line");
    writeFileSync(path.join(this.app, 'next.config.ts'), 'export default { output: "standalone" };\n');
    // A fresh build, as CI does: Next 16.0's route types left by `next dev` in .next/dev/types
    // clash with a build's under skipLibCheck false.
    rmSync(path.join(this.app, '.next'), { recursive: true, force: true });
    mkdirSync(path.join(this.app, 'app', 'edge'), { recursive: true });
    writeFileSync(
      path.join(this.app, 'app', 'edge', 'route.ts'),
      "import { virtualDownload } from 'next-downloadview';\nexport const runtime = 'edge';\nexport const { GET, HEAD } = virtualDownload({ file: { content: 'x' } });\n",
    );
    const edge = spawnSync('npx', ['--no-install', 'next', 'build'], { cwd: this.app, env: this.env, encoding: 'utf8' });
    const output = `${edge.stdout}\n${edge.stderr}`;
    this.expect(edge.status !== 0, 'the edge build fails', edge.status);
    this.expect(
      output.includes("next-downloadview needs the Node.js runtime: remove `export const runtime = 'edge'` from this route"),
      "with the kit's message, naming the fix",
      output.slice(-2000),
    );
  }

  async finish() {
    for (const child of [...this.children]) await this.stop(child);
    if (this.options.keep) console.log(`consumer: kept ${this.work}`);
    else rmSync(this.work, { recursive: true, force: true });
  }
}

async function cli() {
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      readme: { type: 'string', default: path.join(root, 'lib', 'README.md') },
      next: { type: 'string' },
      typescript: { type: 'string' },
      'lib-check': { type: 'boolean', default: false },
      tarball: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const test = new ConsumerTest({
    keep: values.keep,
    readme: path.resolve(values.readme),
    next: values.next,
    typescript: values.typescript,
    libCheck: values['lib-check'],
    tarball: values.tarball && path.resolve(values.tarball),
  });
  try {
    await test.main();
    test.found.ok = true;
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    test.found.ok = false;
    test.found.error = (error instanceof Error ? error.message : String(error)).split('\n').slice(0, 3).join(' ');
    process.exitCode = 1;
  } finally {
    await test.finish();
    if (values.json) writeFileSync(values.json, `${JSON.stringify(test.found, null, 2)}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await cli();
