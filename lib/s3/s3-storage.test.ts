import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpError, NotFoundError } from '../errors';
import { type SaveOptions } from '../storage/storage';
import { S3Storage } from './s3-storage';
import { TEST_BUCKET, TEST_CREDENTIALS, useS3Server } from './test-server';
import { rejection, storedNames } from '../storage/storage-contract';

const s3 = useS3Server();
const MiB = 1024 * 1024;

/** A fetch that records every request it passes on. */
function recording(): { fetch: typeof fetch; calls: { method: string; url: URL; status?: number }[] } {
  const calls: { method: string; url: URL; status?: number }[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      const call: { method: string; url: URL; status?: number } = { method: init?.method ?? 'GET', url: new URL(String(input)) };
      calls.push(call);
      const response = await fetch(input, init);
      call.status = response.status;
      return response;
    },
  };
}

function pattern(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 31 + (i >> 12)) % 256);
}

async function* inChunks(bytes: Uint8Array, chunk: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
}

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
  servers = [];
});

/**
 * A local HTTP server with the given behaviour, as an S3 endpoint, on a free port of 4792-4799
 * (below them, 4700-4789 hold the fauxqs servers of the S3 test files and 4790-4791 the CLI's).
 */
async function fakeStore(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  // An ephemeral port: a fixed range would hand a new fake the port of one closed a moment ago,
  // and fetch's pool could send the request down a kept-alive connection of the old one.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function storageAt(endpoint: string, options: Partial<ConstructorParameters<typeof S3Storage>[0]> = {}): S3Storage {
  return new S3Storage({ bucket: TEST_BUCKET, endpoint, credentials: TEST_CREDENTIALS, ...options });
}

describe('S3Storage', () => {
  describe('with a prefix', () => {
    it('keeps its files under the prefix, out of reach of another prefix', async () => {
      const one = s3.storage({ prefix: 'tenant-one/' });
      const two = s3.storage({ prefix: 'tenant-two' });
      await one.delete('secret.txt');
      await one.save('secret.txt', 'one', { overwrite: true });
      expect(await two.exists('secret.txt')).toBe(false);
      expect((await rejection<HttpError>(two.stat('../tenant-one/secret.txt'))).status).toBe(400);
      expect(await storedNames(two)).not.toContain('secret.txt');
      expect(await storedNames(one)).toContain('secret.txt');
      // The whole bucket, seen without a prefix, has it under the prefix.
      expect(await s3.storage({ prefix: '' }).exists('tenant-one/secret.txt')).toBe(true);
    });

    it('refuses a prefix that climbs out of the bucket', () => {
      expect(() => s3.storage({ prefix: '../other/' })).toThrow();
      expect(() => s3.storage({ prefix: 'a/../../b' })).toThrow();
    });
  });

  describe('save of a body larger than one part', () => {
    it('uploads it in parts, byte for byte, with its SHA-256', async () => {
      const { fetch, calls } = recording();
      const storage = s3.storage({ partSize: 5 * MiB, fetch });
      const body = pattern(11 * MiB + 123);
      const saved = await storage.save('big.bin', inChunks(body, 256 * 1024));
      expect(saved.size).toBe(body.length);
      expect(saved.sha256).toBe(createHash('sha256').update(body).digest('hex'));
      expect(calls.filter((call) => call.url.searchParams.has('partNumber')).map((call) => call.url.searchParams.get('partNumber'))).toEqual(['1', '2', '3']);
      const back = new Uint8Array(await new Response(await storage.open('big.bin')).arrayBuffer());
      expect(Buffer.compare(back, body)).toBe(0);
      const middle = await new Response(await storage.open('big.bin', { range: { start: 5 * MiB - 2, end: 5 * MiB + 1 } })).arrayBuffer();
      expect([...new Uint8Array(middle)]).toEqual([...body.subarray(5 * MiB - 2, 5 * MiB + 2)]);
    });

    it('shows nothing under the name while its parts are being sent', async () => {
      const storage = s3.storage({ partSize: 5 * MiB });
      const seen: boolean[] = [];
      await storage.save('growing.bin', (async function* () {
        yield* inChunks(pattern(11 * MiB), MiB);
        // Two parts are stored by now, the upload is not complete.
        seen.push(await storage.exists('growing.bin'));
      })());
      expect(seen).toEqual([false]);
      expect((await storage.stat('growing.bin')).size).toBe(11 * MiB);
    });

    it('aborts its multipart upload and keeps nothing when the content fails after a part was sent', async () => {
      const { fetch, calls } = recording();
      const storage = s3.storage({ partSize: 5 * MiB, fetch });
      async function* failing() {
        // Two whole parts are sent, the third fails while it fills.
        yield* inChunks(pattern(11 * MiB), MiB);
        throw new Error('client went away');
      }
      await expect(storage.save('broken.bin', failing())).rejects.toThrow('client went away');
      const aborted = calls.find((call) => call.method === 'DELETE' && call.url.searchParams.has('uploadId'));
      expect(aborted?.status).toBe(204);
      expect(calls.filter((call) => call.method === 'PUT' && call.url.searchParams.has('partNumber')).map((call) => call.status)).toEqual([200, 200]);
      expect(await storage.exists('broken.bin')).toBe(false);
    });

    it('keeps nothing and starts no upload when the content fails before a second part is full', async () => {
      const { fetch, calls } = recording();
      const storage = s3.storage({ partSize: 5 * MiB, fetch });
      async function* failing() {
        yield* inChunks(pattern(6 * MiB), MiB);
        throw new Error('client went away');
      }
      await expect(storage.save('short.bin', failing())).rejects.toThrow('client went away');
      expect(calls.filter((call) => call.method !== 'HEAD')).toEqual([]);
      expect(await storage.exists('short.bin')).toBe(false);
    });

    it('stops at maxBytes with 413 while streaming, and aborts the upload', async () => {
      const { fetch, calls } = recording();
      const storage = s3.storage({ partSize: 5 * MiB, fetch });
      let produced = 0;
      async function* endless() {
        for (;;) {
          produced += MiB;
          yield new Uint8Array(MiB);
        }
      }
      const error = await rejection<HttpError>(storage.save('huge.bin', endless(), { maxBytes: 12 * MiB }));
      expect(error.status).toBe(413);
      // Read no further than the byte past the limit.
      expect(produced).toBe(13 * MiB);
      expect(calls.filter((call) => call.url.searchParams.has('partNumber'))).toHaveLength(2);
      expect(calls.some((call) => call.method === 'DELETE' && call.url.searchParams.has('uploadId'))).toBe(true);
      expect(await storage.exists('huge.bin')).toBe(false);
    });
  });

  describe('stat', () => {
    it('gives the stored type, but not the octet-stream stores give objects saved without one', async () => {
      const endpoint = await fakeStore((request, response) => {
        const type = request.url!.endsWith('typed.txt') ? 'text/csv' : request.url!.endsWith('old.txt') ? 'binary/octet-stream' : 'application/octet-stream';
        response.writeHead(200, { 'content-length': '3', 'content-type': type, etag: '"e"' });
        response.end();
      });
      const storage = storageAt(endpoint);
      expect((await storage.stat('typed.txt')).contentType).toBe('text/csv');
      expect((await storage.stat('plain.txt')).contentType).toBeUndefined();
      expect((await storage.stat('old.txt')).contentType).toBeUndefined();
    });


    it('gives the SHA-256 stored with a single-PUT save', async () => {
      const storage = s3.storage();
      await storage.save('a.txt', 'abc');
      expect((await storage.stat('a.txt')).sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    });
  });

  describe('save with metadata', () => {
    const options = {
      contentType: 'image/png',
      contentDisposition: "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.png",
      cacheControl: 'private, max-age=3600',
      metadata: { 'Uploaded-By': 'user-7', sha256: 'not-the-hash' },
    };

    it('stores Content-Type, Content-Disposition, Cache-Control and user metadata, and stat gives them back', async () => {
      const storage = s3.storage();
      const saved = await storage.save('pic.png', 'png bytes', options);
      const sha256 = createHash('sha256').update('png bytes').digest('hex');
      for (const file of [saved, await storage.stat('pic.png')]) {
        expect(file).toMatchObject({ contentType: 'image/png', contentDisposition: options.contentDisposition, cacheControl: 'private, max-age=3600', sha256 });
        // The storage's own sha256 wins over one given as metadata.
        expect(file.metadata).toEqual({ 'uploaded-by': 'user-7', sha256 });
      }
      // A plain GET of the object carries them too.
      const response = await fetch(await storage.presignedUrl('pic.png'));
      expect([response.headers.get('content-type'), response.headers.get('cache-control')]).toEqual(['image/png', 'private, max-age=3600']);
      await response.body?.cancel();
    });

    it('keeps them, and the SHA-256, on a body sent in parts', async () => {
      const storage = s3.storage({ partSize: 5 * MiB });
      const body = pattern(6 * MiB);
      await storage.save('big.png', inChunks(body, 512 * 1024), options);
      const file = await storage.stat('big.png');
      expect(file).toMatchObject({ size: body.length, contentType: 'image/png', contentDisposition: options.contentDisposition, cacheControl: 'private, max-age=3600' });
      expect(file.metadata).toEqual({ 'uploaded-by': 'user-7', sha256: createHash('sha256').update(body).digest('hex') });
      expect(Buffer.compare(new Uint8Array(await new Response(await storage.open('big.png')).arrayBuffer()), body)).toBe(0);
    });

    it('refuses with 400, before a byte is stored, what cannot be a header', async () => {
      const storage = s3.storage();
      const refused: SaveOptions[] = [
        { contentType: 'text/html\r\nx-evil: 1' },
        { contentType: 'not a type' },
        { contentDisposition: 'attachment; filename="résumé.pdf"' },
        { cacheControl: '' },
        { metadata: { 'a b': 'x' } },
        { metadata: { note: 'line\nbreak' } },
        { metadata: { big: 'x'.repeat(2100) } },
      ];
      for (const bad of refused) {
        expect((await rejection<HttpError>(storage.save('bad.txt', 'x', bad))).status).toBe(400);
      }
      expect(await storage.exists('bad.txt')).toBe(false);
    });
  });

  describe('presignedPut (a browser uploading straight to the bucket)', () => {
    const content = Buffer.from('%PDF-1.7\nstraight to the bucket\n');
    const sha256 = createHash('sha256').update(content).digest('hex');

    async function put(target: { url: string; headers: Record<string, string> }, body: Uint8Array, headers: Record<string, string> = target.headers) {
      const response = await fetch(target.url, { method: 'PUT', headers, body: new Uint8Array(body) });
      return { status: response.status, text: await response.text() };
    }

    it('lets exactly that file in, with its type, metadata and SHA-256 kept', async () => {
      const storage = s3.storage();
      const target = await storage.presignedPut('pending/a.pdf', { size: content.length, sha256, contentType: 'application/pdf', metadata: { name: 'r%C3%A9sum%C3%A9.pdf' } });
      expect(target.headers).toMatchObject({ 'content-type': 'application/pdf', 'x-amz-meta-sha256': sha256, 'x-amz-checksum-sha256': createHash('sha256').update(content).digest('base64'), 'if-none-match': '*' });
      expect(new URL(target.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;if-none-match;x-amz-checksum-sha256;x-amz-meta-name;x-amz-meta-sha256');
      expect((await put(target, content)).status).toBe(200);
      expect(await storage.stat('pending/a.pdf')).toMatchObject({ size: content.length, sha256, contentType: 'application/pdf', metadata: { name: 'r%C3%A9sum%C3%A9.pdf', sha256 } });
    });

    it('is refused by the store for a larger body (the signed length), other bytes (BadDigest), changed headers, or a second upload', async () => {
      const storage = s3.storage();
      const target = await storage.presignedPut('pending/b.pdf', { size: content.length, sha256, contentType: 'application/pdf' });
      const larger = await put(target, Buffer.concat([content, Buffer.from('more')]));
      expect([larger.status, /SignatureDoesNotMatch/.test(larger.text)]).toEqual([403, true]);
      const other = Buffer.from(content);
      other[0] = 0x41;
      const tampered = await put(target, other);
      expect([tampered.status, /BadDigest/.test(tampered.text)]).toEqual([400, true]);
      expect((await put(target, content, { ...target.headers, 'content-type': 'text/html' })).status).toBe(403);
      expect(await storage.exists('pending/b.pdf')).toBe(false);
      expect((await put(target, content)).status).toBe(200);
      expect((await put(target, content)).status).toBe(412);
    });

    it('is reachable from a page of another origin: the test store answers the CORS preflight a bucket rule would', async () => {
      const storage = s3.storage();
      const target = await storage.presignedPut('pending/c.pdf', { size: content.length, sha256, contentType: 'application/pdf' });
      const preflight = await fetch(target.url, {
        method: 'OPTIONS',
        headers: { origin: 'http://127.0.0.1:3101', 'access-control-request-method': 'PUT', 'access-control-request-headers': Object.keys(target.headers).join(',') },
      });
      expect(preflight.status).toBe(200);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:3101');
      expect(preflight.headers.get('access-control-allow-headers')).toBe(Object.keys(target.headers).join(','));
      const response = await fetch(target.url, { method: 'PUT', headers: { ...target.headers, origin: 'http://127.0.0.1:3101' }, body: content });
      expect([response.status, response.headers.get('access-control-allow-origin')]).toEqual([200, 'http://127.0.0.1:3101']);
    });

    it('refuses with 400 a size or SHA-256 that cannot be right, and a name outside the storage', async () => {
      const storage = s3.storage();
      expect((await rejection<HttpError>(storage.presignedPut('a', { size: -1, sha256 }))).status).toBe(400);
      expect((await rejection<HttpError>(storage.presignedPut('a', { size: 1, sha256: 'abc' }))).status).toBe(400);
      expect((await rejection<HttpError>(storage.presignedPut('../a', { size: 1, sha256 }))).status).toBe(400);
    });
  });

  describe('presignedPost (a browser form posting straight to the bucket)', () => {
    function form(target: { fields: Record<string, string> }, file: Uint8Array, fields: Record<string, string> = target.fields): FormData {
      const body = new FormData();
      for (const [name, value] of Object.entries(fields)) body.append(name, value);
      body.append('file', new Blob([new Uint8Array(file)]), 'upload.bin');
      return body;
    }
    async function post(target: { url: string; fields: Record<string, string> }, file: Uint8Array, fields?: Record<string, string>) {
      const response = await fetch(target.url, { method: 'POST', body: form(target, file, fields) });
      return { status: response.status, code: /<Code>([^<]*)<\/Code>/.exec(await response.text())?.[1] };
    }

    it('takes a file up to maxBytes under the signed key, with the signed type and metadata', async () => {
      const storage = s3.storage();
      const target = await storage.presignedPost('posted/a.csv', { maxBytes: 1000, contentType: 'text/csv', metadata: { name: 'a.csv' } });
      expect(target.fields).toMatchObject({ key: `${storage.prefix}posted/a.csv`, 'Content-Type': 'text/csv', 'x-amz-meta-name': 'a.csv', 'x-amz-algorithm': 'AWS4-HMAC-SHA256' });
      const policy = JSON.parse(Buffer.from(target.fields.policy!, 'base64').toString()) as { conditions: unknown[] };
      expect(policy.conditions).toContainEqual(['content-length-range', 0, 1000]);
      expect((await post(target, Buffer.alloc(1000, 0x41))).status).toBe(204);
      expect(await storage.stat('posted/a.csv')).toMatchObject({ size: 1000, contentType: 'text/csv', metadata: { name: 'a.csv' } });
    });

    it('is refused by the store over maxBytes (EntityTooLarge), under minBytes, for another key, an extra field or a changed type', async () => {
      const storage = s3.storage();
      const target = await storage.presignedPost('posted/b.bin', { maxBytes: 1000, minBytes: 10 });
      expect(await post(target, Buffer.alloc(1001))).toEqual({ status: 400, code: 'EntityTooLarge' });
      expect(await post(target, Buffer.alloc(9))).toEqual({ status: 400, code: 'EntityTooSmall' });
      expect(await post(target, Buffer.alloc(10), { ...target.fields, key: `${storage.prefix}posted/other.bin` })).toEqual({ status: 403, code: 'AccessDenied' });
      expect(await post(target, Buffer.alloc(10), { ...target.fields, 'x-amz-meta-role': 'admin' })).toEqual({ status: 403, code: 'AccessDenied' });
      expect(await post(target, Buffer.alloc(10), { ...target.fields, 'Content-Type': 'text/html' })).toEqual({ status: 403, code: 'AccessDenied' });
      expect(await post(target, Buffer.alloc(10), { ...target.fields, policy: Buffer.from('{"expiration":"2099-01-01T00:00:00Z","conditions":[]}').toString('base64') })).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(await storage.exists('posted/b.bin')).toBe(false);
      expect((await post(target, Buffer.alloc(10))).status).toBe(204);
    });

    it('is refused once it has expired', async () => {
      const storage = s3.storage();
      const target = await storage.presignedPost('posted/c.bin', { maxBytes: 10, expiresIn: 1 });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await post(target, Buffer.alloc(5))).toEqual({ status: 403, code: 'AccessDenied' });
    });
  });

  describe('copy and readStart', () => {
    it('copies inside the store with new metadata, keeping the SHA-256, and never onto an existing name', async () => {
      const storage = s3.storage();
      const saved = await storage.save('pending/x.bin', 'GIF89a and more', { contentType: 'image/png', metadata: { name: 'x' } });
      const copied = await storage.copy('pending/x.bin', 'uploads/x.gif', { contentType: 'image/gif' });
      expect(copied).toMatchObject({ size: saved.size, contentType: 'image/gif', sha256: saved.sha256, metadata: { sha256: saved.sha256 } });
      expect((await rejection<HttpError>(storage.copy('pending/x.bin', 'uploads/x.gif'))).status).toBe(409);
      expect(await rejection(storage.copy('pending/none.bin', 'uploads/y.gif'))).toBeInstanceOf(NotFoundError);
    });

    it('reads the first bytes of a file, or all of a shorter one', async () => {
      const storage = s3.storage();
      await storage.save('r.txt', 'abcdef');
      expect(Buffer.from(await storage.readStart('r.txt', 4)).toString()).toBe('abcd');
      expect(Buffer.from(await storage.readStart('r.txt', 4100)).toString()).toBe('abcdef');
      await storage.save('empty.txt', '');
      expect((await storage.readStart('empty.txt', 4100)).length).toBe(0);
    });
  });

  describe('list', () => {
    it('follows continuation tokens across pages and skips keys that are not valid names', async () => {
      const pages: Record<string, string> = {
        '': '<ListBucketResult><Contents><Key>p/a.txt</Key><Size>1</Size><ETag>&quot;x&quot;</ETag><LastModified>2026-01-02T03:04:05.000Z</LastModified></Contents>' +
          '<Contents><Key>p/folder/</Key><Size>0</Size></Contents><IsTruncated>true</IsTruncated><NextContinuationToken>next+1</NextContinuationToken></ListBucketResult>',
        'next+1': '<ListBucketResult><Contents><Key>p/b &amp; c.txt</Key><Size>2</Size></Contents><Contents><Key>p/../x</Key><Size>2</Size></Contents><IsTruncated>false</IsTruncated></ListBucketResult>',
      };
      const tokens: string[] = [];
      const endpoint = await fakeStore((request, response) => {
        const url = new URL(request.url!, 'http://x');
        tokens.push(url.searchParams.get('continuation-token') ?? '');
        expect(url.searchParams.get('prefix')).toBe('p/');
        response.end(pages[url.searchParams.get('continuation-token') ?? '']);
      });
      const files = [];
      for await (const file of storageAt(endpoint, { prefix: 'p' }).list()) files.push(file);
      expect(files.map((file) => file.name)).toEqual(['a.txt', 'b & c.txt']);
      expect(files[0]).toMatchObject({ size: 1, etag: '"x"', lastModified: new Date('2026-01-02T03:04:05.000Z') });
      expect(tokens).toEqual(['', 'next+1']);
    });
  });

  describe('when the store fails', () => {
    it('answers 503 with Retry-After for a store nobody listens on (a closed port), at once', async () => {
      const endpoint = await fakeStore(() => undefined);
      await new Promise((resolve) => servers.pop()!.close(resolve));
      const storage = storageAt(endpoint);
      // One at a time: a call made before the previous one is awaited could reject with no handler yet.
      for (const attempt of [() => storage.stat('a.txt'), () => storage.open('a.txt'), () => storage.save('a.txt', 'x'), () => storage.delete('a.txt')]) {
        const started = Date.now();
        const error = await rejection<HttpError>(attempt());
        expect(error).toBeInstanceOf(HttpError);
        expect(error.status).toBe(503);
        expect(error.headers).toEqual({ 'retry-after': '5' });
        expect(Date.now() - started).toBeLessThan(2_000);
      }
    });

    it('answers 502 for a store that closes the connection without an answer', async () => {
      const endpoint = await fakeStore((request) => request.socket.destroy());
      const error = await rejection<HttpError>(storageAt(endpoint).stat('a.txt'));
      expect(error.status).toBe(502);
    });

    it('answers 504 for a store that does not answer in time', async () => {
      const endpoint = await fakeStore(() => undefined);
      const started = Date.now();
      const error = await rejection<HttpError>(storageAt(endpoint, { timeoutMs: 200 }).stat('a.txt'));
      expect(error.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('breaks a body that stalls, but waits for a slow reader', async () => {
      const endpoint = await fakeStore((_request, response) => {
        response.writeHead(200, { 'content-length': '10' });
        response.write('hello');
      });
      const stream = await storageAt(endpoint, { timeoutMs: 300 }).open('a.txt');
      const reader = stream.getReader();
      // The reader pauses longer than the timeout between reads: that is not the store's fault.
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('hello');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const started = Date.now();
      const error = await rejection<HttpError>(reader.read());
      expect(error.status).toBe(504);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });

    it('answers 502 for an object stored with a Content-Encoding fetch would decode', async () => {
      const endpoint = await fakeStore((_request, response) => {
        response.writeHead(200, { 'content-length': '3', 'content-encoding': 'gzip' });
        response.end('abc');
      });
      expect((await rejection<HttpError>(storageAt(endpoint).open('a.txt.gz'))).status).toBe(502);
    });

    it('refuses a name longer than S3 keys may be with 400', async () => {
      expect((await rejection<HttpError>(s3.storage().stat('x'.repeat(1100)))).status).toBe(400);
    });

    it('answers 502 for a store error, and never says more to the client', async () => {
      const endpoint = await fakeStore((_request, response) => {
        response.writeHead(500, { 'content-type': 'application/xml' });
        response.end('<Error><Code>InternalError</Code></Error>');
      });
      const error = await rejection<HttpError>(storageAt(endpoint).open('a.txt'));
      expect(error.status).toBe(502);
      expect(error.expose).toBe(false);
    });

    it('answers 502 for refused credentials (403) rather than a client error', async () => {
      const endpoint = await fakeStore((_request, response) => {
        response.writeHead(403);
        response.end('<Error><Code>SignatureDoesNotMatch</Code></Error>');
      });
      expect((await rejection<HttpError>(storageAt(endpoint).stat('a.txt'))).status).toBe(502);
    });

    it.each([
      ['another range than asked', 'bytes 0-4/10'],
      // RFC 9110 §14.4: a complete length at or below last-pos makes the field invalid.
      ['a range past its own complete length', 'bytes 5-9/9'],
      ['a malformed Content-Range', 'bytes 5-9'],
    ])('answers 502 when the store sends %s', async (_label, contentRange) => {
      const endpoint = await fakeStore((_request, response) => {
        response.writeHead(206, { 'content-range': contentRange, 'content-length': '5' });
        response.end('hello');
      });
      expect((await rejection<HttpError>(storageAt(endpoint).open('a.txt', { range: { start: 5, end: 9 } }))).status).toBe(502);
    });

    it('answers 502 at once, reading nothing of the object, when the store ignores the Range', async () => {
      const endpoint = await fakeStore((_request, response) => {
        // The whole object instead of the part: a first chunk, then the rest slowly (here never).
        response.writeHead(200, { 'content-length': String(1024 * MiB) });
        response.write(Buffer.alloc(64 * 1024));
      });
      const started = Date.now();
      const error = await rejection<HttpError>(storageAt(endpoint, { timeoutMs: 5_000 }).open('a.txt', { range: { start: 5, end: 9 } }));
      expect(error.status).toBe(502);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('reads only the start of an error answer for the log, however long its body', async () => {
      const endpoint = await fakeStore((_request, response) => {
        // An endless error body: a first chunk, then nothing.
        response.writeHead(500, { 'content-type': 'application/xml' });
        response.write(`<Error><Code>SlowDown</Code><Message>${' '.repeat(64 * 1024)}`);
      });
      const storage = storageAt(endpoint, { timeoutMs: 5_000 });
      for (const attempt of [() => storage.open('a.txt'), () => storedNames(storage)]) {
        const started = Date.now();
        const error = await rejection<HttpError>(attempt());
        expect(error.status).toBe(502);
        expect(error.message).toContain('500 SlowDown');
        expect(Date.now() - started).toBeLessThan(2_000);
      }
    });

    it('answers 504 for a store that sends headers and then stalls a body that must be read whole', async () => {
      const endpoint = await fakeStore((request, response) => {
        if (request.method === 'HEAD') {
          response.writeHead(404);
          response.end();
        } else if (request.method === 'DELETE') {
          response.writeHead(204);
          response.end();
        } else {
          // A list page, a PUT's or CreateMultipartUpload's answer, an error: begun, never ended.
          response.writeHead(request.url!.includes('error') ? 503 : 200, { 'content-type': 'application/xml' });
          response.write('<ListBucketResult>');
        }
      });
      const storage = storageAt(endpoint, { timeoutMs: 300, partSize: 5 * MiB });
      const attempts = {
        list: () => storedNames(storage),
        'single PUT': () => storage.save('a.txt', 'abc'),
        'multipart upload': () => storage.save('big.bin', pattern(5 * MiB + 1)),
        'error answer': () => storage.open('error.txt'),
      };
      for (const [label, attempt] of Object.entries(attempts)) {
        const started = Date.now();
        const error = await rejection<HttpError>(attempt());
        expect([label, error.status]).toEqual([label, 504]);
        // 300 ms, plus a second for the PUT's body (S3Storage allows 100 kB/s).
        expect(Date.now() - started).toBeLessThan(3_000);
      }
    });

    it('answers 502 for a list page larger than any ListObjectsV2 page', async () => {
      const endpoint = await fakeStore((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/xml' });
        response.end(Buffer.alloc(24 * MiB, 0x20));
      });
      expect((await rejection<HttpError>(storedNames(storageAt(endpoint)))).status).toBe(502);
    });

    it('is NotFoundError for a missing object', async () => {
      expect(await rejection<HttpError>(s3.storage().open('nothing-here.txt'))).toBeInstanceOf(NotFoundError);
    });
  });

  describe('url and presignedUrl', () => {
    it('sign a GET of the key, with the response-* overrides and lifetime asked for', async () => {
      const storage = s3.storage({ prefix: 'signed/', urlExpiresIn: 30 });
      await storage.save('été 1.txt', 'summer', { overwrite: true });
      const url = new URL(await storage.presignedUrl('été 1.txt', { contentDisposition: "attachment; filename*=UTF-8''%C3%A9t%C3%A9", contentType: 'text/plain', cacheControl: 'private, max-age=60', expiresIn: 45 }));
      expect(url.pathname).toBe(`/${TEST_BUCKET}/signed/%C3%A9t%C3%A9%201.txt`);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('45');
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(url.searchParams.get('response-content-disposition')).toBe("attachment; filename*=UTF-8''%C3%A9t%C3%A9");
      expect(url.searchParams.get('response-content-type')).toBe('text/plain');
      expect(url.searchParams.get('response-cache-control')).toBe('private, max-age=60');
      expect(new URL(storage.url('été 1.txt')!).searchParams.get('X-Amz-Expires')).toBe('30');
      const response = await fetch(url);
      expect(await response.text()).toBe('summer');
    });

    it('refuse a name that leaves the storage', () => {
      expect(() => s3.storage().url('../x')).toThrow(HttpError);
    });
  });

  describe('with a credentials provider', () => {
    it('asks the provider once for many concurrent requests and signs them all with what it gave', async () => {
      const provider = vi.fn(async () => ({ ...TEST_CREDENTIALS, expiration: new Date(Date.now() + 3_600_000) }));
      const storage = s3.storage({ credentials: provider });
      await Promise.all(Array.from({ length: 8 }, (_, i) => storage.save(`c${i}.txt`, `n${i}`, { overwrite: true })));
      const sizes = await Promise.all(Array.from({ length: 8 }, (_, i) => storage.stat(`c${i}.txt`).then((file) => file.size)));
      expect(sizes).toEqual(Array.from({ length: 8 }, () => 2));
      expect(provider).toHaveBeenCalledTimes(1);
    });

    it('never presigns a URL for longer than the credentials have left', async () => {
      const storage = s3.storage({ credentials: async () => ({ ...TEST_CREDENTIALS, expiration: new Date(Date.now() + 20_500) }), urlExpiresIn: 600 });
      expect(storage.url('a.txt')).toBeUndefined();
      const expires = Number(new URL(await storage.presignedUrl('a.txt', { expiresIn: 3600 })).searchParams.get('X-Amz-Expires'));
      expect(expires).toBeGreaterThanOrEqual(19);
      expect(expires).toBeLessThanOrEqual(20);
      expect(Number(new URL(storage.url('a.txt')!).searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(20);
      expect(new URL(await storage.presignedUrl('a.txt', { expiresIn: 5 })).searchParams.get('X-Amz-Expires')).toBe('5');
    });

    it('is a 503 when the provider fails and there is nothing to sign with', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const storage = s3.storage({
        credentials: async () => {
          throw new Error('endpoint down');
        },
      });
      const error = await rejection<HttpError>(storage.stat('a.txt'));
      expect([error.status, error.message]).toEqual([503, 'S3Storage: no credentials: endpoint down']);
      log.mockRestore();
    });
  });

  describe('fromUrl', () => {
    it('reads s3://bucket/prefix and the standard AWS variables', () => {
      const storage = S3Storage.fromUrl('s3://my-bucket/uploads/2026', {
        AWS_ACCESS_KEY_ID: 'id',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_REGION: 'eu-west-3',
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4790',
      });
      expect(storage).toMatchObject({ bucket: 'my-bucket', prefix: 'uploads/2026/', region: 'eu-west-3' });
      expect(storage.url('a b.txt')).toMatch(/^http:\/\/127\.0\.0\.1:4790\/my-bucket\/uploads\/2026\/a%20b\.txt\?/);
    });

    it('uses the bucket host name on AWS itself', () => {
      const storage = S3Storage.fromUrl('s3://my-bucket', { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' });
      expect(storage.url('a.txt')).toMatch(/^https:\/\/my-bucket\.s3\.us-east-1\.amazonaws\.com\/a\.txt\?/);
    });

    it('refuses a location that is not s3://bucket', () => {
      expect(() => S3Storage.fromUrl('https://x/y', { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' })).toThrow(TypeError);
      expect(() => S3Storage.fromUrl('s3://B_ad', { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' })).toThrow(/bucket/);
    });

    it('looks for credentials at the first request, not when built, and names the variables when there are none', async () => {
      // What `next build` does: the module is loaded with no AWS variables at all.
      const storage = S3Storage.fromUrl('s3://bucket', { AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_S3: s3.endpoint() });
      expect(storage.url('a.txt')).toBeUndefined();
      const error = await rejection<HttpError>(storage.stat('a.txt'));
      expect(error.status).toBe(503);
      expect(error.message).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
      expect(error.message).toMatch(/AWS_CONTAINER_CREDENTIALS_FULL_URI/);
    });

    it('says which variable is missing when only the key id is set', async () => {
      const storage = S3Storage.fromUrl('s3://bucket', { AWS_ACCESS_KEY_ID: 'id', AWS_ENDPOINT_URL_S3: s3.endpoint() });
      expect((await rejection<HttpError>(storage.stat('a.txt'))).message).toMatch(/AWS_SECRET_ACCESS_KEY is not/);
    });

    it('takes the keys from the variables when they are set at the first request only', async () => {
      const env: Record<string, string | undefined> = { AWS_ENDPOINT_URL_S3: s3.endpoint() };
      const storage = S3Storage.fromUrl(`s3://${TEST_BUCKET}/late-${process.pid}`, env);
      env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
      env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
      await storage.save('a.txt', 'late', { overwrite: true });
      expect((await storage.stat('a.txt')).size).toBe(4);
    });
  });
});
