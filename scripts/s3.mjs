#!/usr/bin/env node
// A local S3-compatible server for the tests, the e2e demo and the bench: fauxqs, which needs
// Node >= 22, run under the `node` binary of the npm package node@22. Both are installed on
// demand into a tool folder of their own (never as the project's dependencies: a `node`
// package in the root node_modules/.bin would shadow the system's node for every script).
//
//   node scripts/s3.mjs install                      installs them (once; seconds)
//   node scripts/s3.mjs start [--port 4790] [--bucket name ...] [--gate]
//                                                    runs the server in the foreground
// From code: `const server = await startS3({ port, buckets, gate }); ... await server.stop()`.
//
// fauxqs checks no signature and ignores the response-* parameters of a presigned GET (seen
// with fauxqs 2.4: a wrong or expired signature got 200, response-content-disposition was not
// sent back). With `--gate` (S3_GATE=1) a small proxy in front of it does both, as S3 does: it
// verifies every SigV4 signature (Authorization header or presigned query, against
// S3_GATE_KEY_ID / S3_GATE_SECRET, default test-key / test-secret), refuses an expired URL with
// 403, and puts the response-* values on the answer. fauxqs then listens on port + 1.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TOOL_FOLDER = process.env.S3_TOOL_FOLDER ?? path.join(ROOT, 'var', 'tools', 's3');
const NODE22 = path.join(TOOL_FOLDER, 'node_modules', '.bin', 'node');
const FAUXQS = path.join(TOOL_FOLDER, 'node_modules', 'fauxqs', 'package.json');
/** Versions that were tried here; fauxqs 2 answers Range, If-Match and If-None-Match. */
const PACKAGES = ['fauxqs@2', 'node@22'];

/** Blocks the thread for `ms` (the install runs synchronously). */
function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Installs fauxqs and Node 22 into the tool folder unless they are there. Test files that start
 * a server at the same time install once: the first takes a lock (a folder: mkdir is atomic),
 * the others wait for it; a lock older than five minutes is a crashed install and is taken over.
 */
export function installS3Server() {
  if (existsSync(NODE22) && existsSync(FAUXQS)) return;
  mkdirSync(TOOL_FOLDER, { recursive: true });
  const lock = path.join(TOOL_FOLDER, '.installing');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 5 * 60_000) rmSync(lock, { recursive: true, force: true });
      else sleep(250);
      if (existsSync(NODE22) && existsSync(FAUXQS) && !existsSync(lock)) return;
    }
  }
  try {
    if (!(existsSync(NODE22) && existsSync(FAUXQS))) install();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function install() {
  const manifest = path.join(TOOL_FOLDER, 'package.json');
  if (!existsSync(manifest)) writeFileSync(manifest, '{ "private": true }\n');
  console.error(`s3: installing ${PACKAGES.join(' ')} into ${path.relative(ROOT, TOOL_FOLDER)}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', TOOL_FOLDER, ...PACKAGES], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || !existsSync(NODE22)) throw new Error('s3: could not install fauxqs and node@22');
}

/** The program Node 22 runs: starts fauxqs, creates the buckets, says "ready" on stdout. */
const PROGRAM = `
const [port, host, ...buckets] = process.argv.slice(1);
// fauxqs 2.4 takes a host option but listens on 0.0.0.0 whatever it says, so the raw store (no
// signature check) would answer beside the gate on every interface. Every listen of this
// process is held to the host asked for.
const net = await import('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (first, ...rest) {
  // Fastify listens with an options object; the address check below catches any other form.
  if (first && typeof first === 'object' && 'port' in first) first = { ...first, host };
  return listen.call(this, first, ...rest);
};
const { startFauxqs } = await import('fauxqs');
const server = await startFauxqs({ port: Number(port), host, logger: false });
const bound = new URL(server.address).hostname;
if (bound !== host) throw new Error('fauxqs listens on ' + bound + ', not ' + host);
for (const bucket of buckets) server.createBucket(bucket);
process.stdout.write('ready\\n');
const stop = async () => { await server.stop(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/**
 * Starts fauxqs on 127.0.0.1:port with the given buckets; resolves once it answers. `stop()`
 * ends it. Any credentials are accepted (fauxqs does not check signatures).
 */
export async function startS3({ port = 4790, buckets = ['downloads'], host = '127.0.0.1', timeoutMs = 30_000, gate = false, credentials = gateCredentials() } = {}) {
  installS3Server();
  const innerPort = gate ? port + 1 : port;
  const child = spawn(NODE22, ['--no-warnings', '--input-type=module', '-e', PROGRAM, String(innerPort), host, ...buckets], {
    cwd: TOOL_FOLDER,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3: fauxqs did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3: fauxqs exited (${code}) before it was ready`));
    });
    child.stdout.on('data', (data) => {
      if (String(data).includes('ready')) {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  });
  child.removeAllListeners('exit');
  let proxy;
  if (gate) {
    proxy = signatureGate({ host, port: innerPort, credentials });
    await new Promise((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(port, host, resolve);
    });
  }
  return {
    endpoint: `http://${host}:${port}`,
    child,
    stop: async () => {
      proxy?.closeAllConnections();
      await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
      await new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(undefined);
        child.once('exit', () => resolve(undefined));
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}

function gateCredentials() {
  return { accessKeyId: process.env.S3_GATE_KEY_ID ?? 'test-key', secretAccessKey: process.env.S3_GATE_SECRET ?? 'test-secret' };
}

// ---- SigV4 verification, written from AWS's "Authenticating Requests (AWS Signature Version 4)" ----

const hmac = (key, data) => createHmac('sha256', key).update(data, 'utf8').digest();
const hex = (data) => createHash('sha256').update(data, 'utf8').digest('hex');
/** RFC 3986 encoding of a query name or value, as SigV4 canonicalises it. */
const encode = (value) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function expectedSignature({ method, rawPath, query, headers, signedHeaders, payloadHash, amzDate, scope, secret }) {
  const pairs = query.map(([name, value]) => [encode(name), encode(value)]).sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${String(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [method, rawPath, pairs.map(([n, v]) => `${n}=${v}`).join('&'), canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
  const [day, region, service] = scope.split('/');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  return createHmac('sha256', key).update(['AWS4-HMAC-SHA256', amzDate, scope, hex(canonical)].join('\n'), 'utf8').digest('hex');
}

/** `20130524T000000Z` as a Date. */
function fromAmzDate(value) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
}

/**
 * Checks a request's SigV4 signature. Returns undefined when it is valid, else the S3 error
 * code. `now` decides expiry of presigned URLs.
 */
export function verifySignature({ method, url, headers, credentials, now = new Date() }) {
  const [rawPath, rawQuery = ''] = url.split('?');
  const query = rawQuery === '' ? [] : rawQuery.split('&').map((pair) => {
    const at = pair.indexOf('=');
    const decode = (v) => decodeURIComponent(v.replace(/\+/g, ' '));
    return at < 0 ? [decode(pair), ''] : [decode(pair.slice(0, at)), decode(pair.slice(at + 1))];
  });
  const get = (name) => query.find(([n]) => n === name)?.[1];
  let credential, signedHeaders, signature, amzDate, payloadHash, rest;
  if (get('X-Amz-Signature') !== undefined) {
    if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'AuthorizationQueryParametersError';
    credential = get('X-Amz-Credential');
    signedHeaders = (get('X-Amz-SignedHeaders') ?? '').split(';');
    signature = get('X-Amz-Signature');
    amzDate = get('X-Amz-Date');
    payloadHash = 'UNSIGNED-PAYLOAD';
    rest = query.filter(([name]) => name !== 'X-Amz-Signature');
    const expires = Number(get('X-Amz-Expires'));
    const signedAt = fromAmzDate(amzDate);
    if (!signedAt || !Number.isInteger(expires) || expires < 1 || expires > 604800) return 'AuthorizationQueryParametersError';
    if (now.getTime() > signedAt.getTime() + expires * 1000) return 'AccessDenied';
  } else {
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(headers.authorization ?? '');
    if (!m) return 'AccessDenied';
    [, credential, , signature] = m;
    signedHeaders = m[2].split(';');
    amzDate = headers['x-amz-date'];
    payloadHash = headers['x-amz-content-sha256'];
    rest = query;
    if (!payloadHash) return 'InvalidRequest';
  }
  const [keyId, ...scopeParts] = (credential ?? '').split('/');
  if (keyId !== credentials.accessKeyId) return 'InvalidAccessKeyId';
  if (!signedHeaders.includes('host')) return 'AccessDenied';
  const expected = expectedSignature({
    method, rawPath, query: rest, headers, signedHeaders, payloadHash, amzDate, scope: scopeParts.join('/'), secret: credentials.secretAccessKey,
  });
  const given = Buffer.from(signature ?? '', 'utf8');
  return given.length === expected.length && timingSafeEqual(given, Buffer.from(expected, 'utf8')) ? undefined : 'SignatureDoesNotMatch';
}

/** What S3 does with a presigned GET's response-* parameters: they replace these headers. */
const RESPONSE_OVERRIDES = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-cache-control': 'cache-control',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
};

/** The proxy in front of fauxqs: signatures checked, response-* applied, everything else passed on. */
function signatureGate({ host, port, credentials }) {
  return createServer((request, response) => {
    const failure = verifySignature({ method: request.method, url: request.url, headers: request.headers, credentials });
    if (failure) {
      request.resume();
      response.writeHead(403, { 'content-type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${failure}</Code><Message>refused by the signature gate</Message></Error>`);
      return;
    }
    const overrides = {};
    for (const [name, value] of new URL(request.url, 'http://gate').searchParams) {
      if (RESPONSE_OVERRIDES[name] && request.method === 'GET') overrides[RESPONSE_OVERRIDES[name]] = value;
    }
    const upstream = httpRequest({ host, port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      const headers = { ...answer.headers };
      if (answer.statusCode === 200 || answer.statusCode === 206) Object.assign(headers, overrides);
      response.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(response);
    });
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  });
}

function option(args, name, fallback) {
  const values = [];
  for (let i = 0; i < args.length; i++) if (args[i] === name && args[i + 1] !== undefined) values.push(args[++i]);
  return values.length ? values : fallback;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'install') {
    installS3Server();
  } else if (command === 'start') {
    const port = Number(option(args, '--port', [process.env.S3_PORT ?? '4790'])[0]);
    const buckets = option(args, '--bucket', ['downloads']);
    const server = await startS3({ port, buckets, gate: args.includes('--gate') || process.env.S3_GATE === '1' });
    console.error(`s3: fauxqs on ${server.endpoint}, buckets ${buckets.join(', ')}`);
    const stop = () => server.stop().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    server.child.once('exit', (code) => process.exit(code ?? 1));
  } else {
    console.error('usage: node scripts/s3.mjs install | start [--port 4790] [--bucket name ...]');
    process.exit(2);
  }
}
