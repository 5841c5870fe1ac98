// A local S3-compatible server for the package's tests, and for the demo's e2e, bench and
// cluster test: fauxqs, which needs Node >= 22, run under the `node` binary of the npm package
// node@22. Both are installed on demand into a tool folder of their own (never as the project's
// dependencies: a `node` package in the root node_modules/.bin would shadow the system's node for
// every script). Test support of the package, never built or shipped; the command line around it
// is scripts/s3.mjs.
//
// From code: `const server = await startS3({ port, buckets, gate }); ... await server.stop()`;
// `port: 0` takes free ports.
//
// fauxqs checks no signature and ignores the response-* parameters of a presigned GET (seen
// with fauxqs 2.4: a wrong or expired signature got 200, response-content-disposition was not
// sent back). With `gate` a small proxy in front of it does both, as S3 does: it verifies every
// SigV4 signature (Authorization header or presigned query, against S3_GATE_KEY_ID /
// S3_GATE_SECRET, default test-key / test-secret), refuses an expired URL with 403, and puts
// the response-* values on the answer. fauxqs then listens on port + 1 (on a free port of its
// own with `port: 0`).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (this file is lib/s3/...): the tool folder is its var/tools/s3. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
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
  const innerPort = port === 0 ? await freePort(host) : gate ? port + 1 : port;
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
  let accepted = [credentials];
  if (gate) {
    proxy = signatureGate({ host, port: innerPort, accepted: () => accepted });
    await new Promise((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(port, host, resolve);
    });
  }
  const listening = gate ? proxy.address().port : innerPort;
  return {
    endpoint: `http://${host}:${listening}`,
    child,
    /**
     * The credentials the gate accepts from now on (a rotation: the old keys are refused at
     * once); `{ accessKeyId, secretAccessKey, sessionToken? }` each.
     */
    setCredentials: (list) => {
      if (!Array.isArray(list) || list.length === 0) throw new TypeError('s3: setCredentials needs at least one set of credentials');
      accepted = list;
    },
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

/** A port nothing listens on right now (the system's pick, released again). */
function freePort(host) {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
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

/** The whole body of a request (the gate buffers the uploads whose hash it checks: a test server). */
async function readBody(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * A multipart/form-data body as S3's POST reads it: the fields before the file, and the file
 * (the field named `file`, which must come last; anything after it is ignored).
 */
function parseForm(body, contentType) {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!match) return undefined;
  const delimiter = Buffer.from(`--${match[1] ?? match[2]}`);
  const fields = new Map();
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return undefined;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4);
    if (next < 0) return undefined;
    const head = body.subarray(start, headEnd).toString('utf8');
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    const content = body.subarray(headEnd + 4, next);
    if (name?.toLowerCase() === 'file') return { fields, file: content };
    if (name !== undefined) fields.set(name.toLowerCase(), content.toString('utf8'));
    at = next + 2;
  }
  return { fields, file: undefined };
}

/**
 * S3's checks of a browser-based upload (POST Object with a SigV4-signed policy, from AWS's "POST
 * Policy" and "Browser-Based Uploads Using POST" documents): the policy's signature with an
 * accepted key, its expiration, every condition (exact match, `eq`, `starts-with`,
 * `content-length-range`), no form field the policy does not cover (but `policy`,
 * `x-amz-signature`, `file` and `x-ignore-*`), and the session token of temporary keys.
 * Returns undefined when the upload passes, else [status, S3 error code].
 */
export function checkPostPolicy({ bucket, form, accepted, now = new Date() }) {
  const field = (name) => form.fields.get(name.toLowerCase());
  const policyText = field('policy');
  if (!policyText || form.file === undefined) return [400, 'InvalidArgument'];
  if (field('x-amz-algorithm') !== 'AWS4-HMAC-SHA256') return [400, 'InvalidArgument'];
  const [keyId, day, region, service] = (field('x-amz-credential') ?? '').split('/');
  const credentials = accepted.find((candidate) => candidate.accessKeyId === keyId);
  if (!credentials) return [403, 'InvalidAccessKeyId'];
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day ?? ''), region ?? ''), service ?? ''), 'aws4_request');
  const expected = createHmac('sha256', key).update(policyText, 'utf8').digest('hex');
  const given = Buffer.from(field('x-amz-signature') ?? '', 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, 'utf8'))) return [403, 'SignatureDoesNotMatch'];
  if (credentials.sessionToken && field('x-amz-security-token') !== credentials.sessionToken) return [403, 'InvalidToken'];
  let policy;
  try {
    policy = JSON.parse(Buffer.from(policyText, 'base64').toString('utf8'));
  } catch {
    return [400, 'InvalidPolicyDocument'];
  }
  const expiration = Date.parse(policy?.expiration ?? '');
  if (!Number.isFinite(expiration) || !Array.isArray(policy.conditions)) return [400, 'InvalidPolicyDocument'];
  if (now.getTime() > expiration) return [403, 'AccessDenied'];
  const covered = new Set(['policy', 'x-amz-signature', 'file']);
  const value = (name) => (name === 'bucket' ? bucket : (field(name) ?? ''));
  for (const condition of policy.conditions) {
    if (Array.isArray(condition)) {
      const [operator, target, ...rest] = condition;
      if (operator === 'content-length-range') {
        const [, min, max] = condition;
        if (form.file.length > Number(max)) return [400, 'EntityTooLarge'];
        if (form.file.length < Number(min)) return [400, 'EntityTooSmall'];
        continue;
      }
      const name = String(target ?? '').replace(/^\$/, '').toLowerCase();
      covered.add(name);
      if (operator === 'eq' && value(name) !== rest[0]) return [403, 'AccessDenied'];
      if (operator === 'starts-with' && !value(name).startsWith(String(rest[0]))) return [403, 'AccessDenied'];
      if (operator !== 'eq' && operator !== 'starts-with') return [400, 'InvalidPolicyDocument'];
    } else if (condition && typeof condition === 'object') {
      for (const [name, expectedValue] of Object.entries(condition)) {
        covered.add(name.toLowerCase());
        if (value(name.toLowerCase()) !== expectedValue) return [403, 'AccessDenied'];
      }
    } else {
      return [400, 'InvalidPolicyDocument'];
    }
  }
  for (const name of form.fields.keys()) {
    if (!covered.has(name) && !name.startsWith('x-ignore-')) return [403, 'AccessDenied'];
  }
  return undefined;
}

/** A HEAD of a key straight to fauxqs (which checks no signature): its status and ETag. */
function headUpstream(host, port, keyPath) {
  return new Promise((resolve) => {
    const head = httpRequest({ host, port, method: 'HEAD', path: keyPath.startsWith('/') ? keyPath : `/${keyPath}` }, (answer) => {
      answer.resume();
      resolve({ status: answer.statusCode, etag: answer.headers.etag });
    });
    head.on('error', () => resolve({ status: 502 }));
    head.end();
  });
}

function s3Error(response, status, code, headers = {}) {
  response.writeHead(status, { ...headers, 'content-type': 'application/xml' });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>refused by the signature gate</Message></Error>`);
}

/**
 * The proxy in front of fauxqs: signatures checked, response-* applied, everything else passed on.
 * Also what S3 checks of an upload's bytes: the body of a PUT must hash to its signed
 * x-amz-content-sha256 (XAmzContentSHA256Mismatch) and to its x-amz-checksum-sha256 (BadDigest),
 * and a presigned PUT whose signed Content-Length differs from the body fails its signature. A
 * browser's cross-origin request gets the answers of a bucket whose CORS rule allows any origin.
 * `accepted()` gives the credentials accepted now (rotated by the caller); one with a
 * sessionToken is accepted only with that token.
 */
function signatureGate({ host, port, accepted }) {
  return createServer(async (request, response) => {
    const origin = request.headers.origin;
    const cors = origin ? { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'ETag, x-amz-checksum-sha256', vary: 'Origin' } : {};
    if (request.method === 'OPTIONS' && origin && request.headers['access-control-request-method']) {
      // A CORS preflight is not signed (S3 answers it from the bucket's CORS configuration).
      request.resume();
      response.writeHead(200, {
        ...cors,
        'access-control-allow-methods': 'GET, HEAD, PUT, POST',
        'access-control-allow-headers': request.headers['access-control-request-headers'] ?? '',
        'access-control-max-age': '600',
      });
      response.end();
      return;
    }
    const url = new URL(request.url, 'http://gate');
    if (request.method === 'POST' && /^multipart\/form-data/i.test(request.headers['content-type'] ?? '') && /^\/[^/]+\/?$/.test(url.pathname)) {
      // A browser-based upload: the policy in the form is the signature.
      const body = await readBody(request);
      const form = parseForm(body, request.headers['content-type']);
      const refused = form ? checkPostPolicy({ bucket: url.pathname.split('/')[1], form, accepted: accepted() }) : [400, 'MalformedPOSTRequest'];
      if (refused) {
        s3Error(response, refused[0], refused[1], cors);
        return;
      }
      const upstream = httpRequest({ host, port, method: 'POST', path: request.url, headers: { ...request.headers, 'content-length': String(body.length) } }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...cors });
        answer.pipe(response);
      });
      upstream.on('error', () => {
        if (!response.headersSent) response.writeHead(502);
        response.end();
      });
      upstream.end(body);
      return;
    }
    const keyId = (url.searchParams.get('X-Amz-Credential') ?? /Credential=([^/,]+)/.exec(request.headers.authorization ?? '')?.[1] ?? '').split('/')[0];
    const credentials = accepted().find((candidate) => candidate.accessKeyId === keyId) ?? accepted()[0];
    let failure = verifySignature({ method: request.method, url: request.url, headers: request.headers, credentials });
    const token = url.searchParams.get('X-Amz-Security-Token') ?? request.headers['x-amz-security-token'];
    if (!failure && credentials.sessionToken && token !== credentials.sessionToken) failure = 'InvalidToken';
    if (failure) {
      request.resume();
      s3Error(response, 403, failure, cors);
      return;
    }
    let body;
    const payloadHash = request.headers['x-amz-content-sha256'];
    const checksum = request.headers['x-amz-checksum-sha256'];
    if (request.method === 'PUT' && (checksum || /^[0-9a-f]{64}$/.test(payloadHash ?? ''))) {
      body = await readBody(request);
      if (/^[0-9a-f]{64}$/.test(payloadHash ?? '') && createHash('sha256').update(body).digest('hex') !== payloadHash) {
        s3Error(response, 400, 'XAmzContentSHA256Mismatch', cors);
        return;
      }
      if (checksum && createHash('sha256').update(body).digest('base64') !== checksum) {
        s3Error(response, 400, 'BadDigest', cors);
        return;
      }
    }
    // Conditional writes, which fauxqs ignores: If-None-Match: * on PutObject, CopyObject and
    // CompleteMultipartUpload (412 when the key exists), x-amz-copy-source-if-match on a copy.
    const writes = (request.method === 'PUT' && !url.searchParams.has('partNumber')) || (request.method === 'POST' && url.searchParams.has('uploadId'));
    if (writes && request.headers['if-none-match'] === '*' && (await headUpstream(host, port, url.pathname)).status === 200) {
      request.resume();
      s3Error(response, 412, 'PreconditionFailed', cors);
      return;
    }
    const copySource = request.headers['x-amz-copy-source'];
    const copyIfMatch = request.headers['x-amz-copy-source-if-match'];
    if (request.method === 'PUT' && copySource && copyIfMatch && (await headUpstream(host, port, copySource.split('?')[0])).etag !== copyIfMatch) {
      request.resume();
      s3Error(response, 412, 'PreconditionFailed', cors);
      return;
    }
    const overrides = {};
    for (const [name, value] of url.searchParams) {
      if (RESPONSE_OVERRIDES[name] && request.method === 'GET') overrides[RESPONSE_OVERRIDES[name]] = value;
    }
    const upstream = httpRequest({ host, port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      const headers = { ...answer.headers, ...cors };
      if (answer.statusCode === 200 || answer.statusCode === 206) Object.assign(headers, overrides);
      response.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(response);
    });
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    if (body) upstream.end(body);
    else request.pipe(upstream);
  });
}
