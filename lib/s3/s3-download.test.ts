import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { storageDownload } from '../factories/storage-download';
import { parseContentDisposition } from '../testing/parse-content-disposition';
import { S3Storage } from './s3-storage';
import { TEST_BUCKET, TEST_CREDENTIALS, useS3Server } from './use-s3-server.test-support';

// The kit's routes on an S3Storage against a real S3-compatible server (fauxqs).
const s3 = useS3Server();
const ctx = (name: string) => ({ params: { path: name.split('/') } });
const BODY = 'The quick brown fox jumps over the lazy dog\n';

describe('storageDownload on S3Storage', () => {
  describe('streamed', () => {
    it('answers 200 with the bytes, 206 with a range, 304 to its ETag and HEAD with the length', async () => {
      const storage = s3.storage();
      await storage.save('docs/fox.txt', BODY);
      const { GET, HEAD } = storageDownload({ storage });
      const whole = await GET(new Request('http://app/x'), ctx('docs/fox.txt'));
      expect(whole.status).toBe(200);
      expect(await whole.text()).toBe(BODY);
      const etag = whole.headers.get('etag')!;
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      // Saved without a type: the kit guesses from the name, as on disk.
      expect(whole.headers.get('content-type')).toBe('text/plain; charset=utf-8');

      const part = await GET(new Request('http://app/x', { headers: { range: 'bytes=4-8' } }), ctx('docs/fox.txt'));
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 4-8/${BODY.length}`);
      expect(await part.text()).toBe('quick');

      const resumed = await GET(new Request('http://app/x', { headers: { range: 'bytes=40-', 'if-range': etag } }), ctx('docs/fox.txt'));
      expect(resumed.status).toBe(206);
      expect(await resumed.text()).toBe(BODY.slice(40));

      const cached = await GET(new Request('http://app/x', { headers: { 'if-none-match': etag } }), ctx('docs/fox.txt'));
      expect(cached.status).toBe(304);

      const head = await HEAD(new Request('http://app/x', { method: 'HEAD' }), ctx('docs/fox.txt'));
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(BODY.length));
      expect(head.body).toBeNull();
    });

    it('answers a file replaced between two requests with the new bytes under the new ETag', async () => {
      const storage = s3.storage();
      await storage.save('a.txt', 'first');
      const { GET } = storageDownload({ storage });
      const before = (await GET(new Request('http://app/x'), ctx('a.txt'))).headers.get('etag');
      await storage.save('a.txt', 'second version', { overwrite: true });
      const after = await GET(new Request('http://app/x', { headers: { 'if-range': before!, range: 'bytes=0-2' } }), ctx('a.txt'));
      expect(after.status).toBe(200);
      expect(await after.text()).toBe('second version');
    });

    it('answers 404 for a missing object and 400 for a name that climbs out', async () => {
      const { GET } = storageDownload({ storage: s3.storage() });
      expect((await GET(new Request('http://app/x'), ctx('nothing.txt'))).status).toBe(404);
      expect((await GET(new Request('http://app/x'), { params: { path: ['..', 'x'] } })).status).toBe(400);
    });

    it('answers 503 with Retry-After, not 500 or 502, when the S3 server is not there', async () => {
      // A port that was just free: nothing listens there, the connection is refused.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as AddressInfo;
      await new Promise((resolve) => probe.close(resolve));
      const gone = new S3Storage({ bucket: TEST_BUCKET, endpoint: `http://127.0.0.1:${port}`, credentials: TEST_CREDENTIALS });
      const response = await storageDownload({ storage: gone }).GET(new Request('http://app/x'), ctx('a.txt'));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.text()).toBe('Service Unavailable\n');
    });
  });

  describe('Repr-Digest (RFC 9530) of an object the kit saved', () => {
    const digestOf = (bytes: string | Uint8Array) => `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`;

    it('sends the SHA-256 save() stored with the object on 200, 206, HEAD and 304, and Content-Digest on the whole 200', async () => {
      const storage = s3.storage();
      await storage.save('docs/fox.txt', BODY);
      const { GET, HEAD } = storageDownload({ storage });
      const whole = await GET(new Request('http://app/x'), ctx('docs/fox.txt'));
      expect(whole.headers.get('repr-digest')).toBe(digestOf(BODY));
      expect(whole.headers.get('content-digest')).toBe(digestOf(BODY));
      expect(await whole.text()).toBe(BODY);
      const etag = whole.headers.get('etag')!;

      // A download resumed in two pieces, checked against the field of the whole.
      const first = await GET(new Request('http://app/x', { headers: { range: 'bytes=0-19' } }), ctx('docs/fox.txt'));
      const rest = await GET(new Request('http://app/x', { headers: { range: 'bytes=20-', 'if-range': etag } }), ctx('docs/fox.txt'));
      expect([first.status, rest.status]).toEqual([206, 206]);
      expect(first.headers.get('repr-digest')).toBe(digestOf(BODY));
      expect(rest.headers.get('repr-digest')).toBe(digestOf(BODY));
      expect(rest.headers.get('content-digest')).toBeNull();
      expect(digestOf((await first.text()) + (await rest.text()))).toBe(rest.headers.get('repr-digest'));

      const head = await HEAD(new Request('http://app/x', { method: 'HEAD' }), ctx('docs/fox.txt'));
      expect(head.headers.get('repr-digest')).toBe(digestOf(BODY));
      const cached = await GET(new Request('http://app/x', { headers: { 'if-none-match': etag } }), ctx('docs/fox.txt'));
      expect(cached.status).toBe(304);
      expect(cached.headers.get('repr-digest')).toBe(digestOf(BODY));
      // Only SHA-512 wanted: the kit does not know it, and sends none.
      const unknown = await HEAD(new Request('http://app/x', { method: 'HEAD', headers: { 'want-repr-digest': 'sha-512=5' } }), ctx('docs/fox.txt'));
      expect(unknown.headers.get('repr-digest')).toBeNull();
    });

    it('sends it for an object saved in parts (the hash is added by a copy once the upload is complete)', async () => {
      const storage = s3.storage({ partSize: 5 * 1024 * 1024 });
      const body = new Uint8Array(11 * 1024 * 1024).map((_, i) => (i * 31) % 251);
      await storage.save('big.bin', body);
      const head = await storageDownload({ storage }).HEAD(new Request('http://app/x', { method: 'HEAD' }), ctx('big.bin'));
      expect(head.headers.get('repr-digest')).toBe(digestOf(body));
    });

    it('sends it for a direct upload, whose SHA-256 the store checked', async () => {
      const storage = s3.storage();
      const content = Buffer.from('%PDF-1.7 uploaded by a browser\n');
      const sha256 = createHash('sha256').update(content).digest('hex');
      const put = await storage.presignedPut('pending/a.pdf', { size: content.length, sha256, contentType: 'application/pdf' });
      expect((await fetch(put.url, { method: put.method, headers: put.headers, body: content })).status).toBe(200);
      const head = await storageDownload({ storage }).HEAD(new Request('http://app/x', { method: 'HEAD' }), ctx('pending/a.pdf'));
      expect(head.headers.get('repr-digest')).toBe(digestOf(content));
    });

    it('sends none for an object whose hash the kit does not know (a browser POST, which S3 does not hash)', async () => {
      const storage = s3.storage();
      const post = await storage.presignedPost('posted.txt', { maxBytes: 1024 });
      const form = new FormData();
      for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
      form.append('file', new Blob([BODY]), 'posted.txt');
      expect((await fetch(post.url, { method: 'POST', body: form })).status).toBeLessThan(300);
      const { GET, HEAD } = storageDownload({ storage });
      const head = await HEAD(new Request('http://app/x', { method: 'HEAD' }), ctx('posted.txt'));
      expect(head.status).toBe(200);
      expect(head.headers.get('repr-digest')).toBeNull();
      const whole = await GET(new Request('http://app/x'), ctx('posted.txt'));
      expect(await whole.text()).toBe(BODY);
      expect(whole.headers.get('repr-digest')).toBeNull();
      expect(whole.headers.get('content-digest')).toBeNull();
    });
  });

  it('is refused by the store when signed with another secret (502 to the client)', async () => {
    const storage = s3.storage({ credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'not-the-secret' } });
    const response = await storageDownload({ storage }).GET(new Request('http://app/x'), ctx('a.txt'));
    expect(response.status).toBe(502);
  });

  describe('with delivery: redirect', () => {
    it('answers 307 to a presigned URL that downloads the same bytes', async () => {
      const storage = s3.storage();
      await storage.save('reports/naïve café.txt', BODY);
      const streamed = await storageDownload({ storage }).GET(new Request('http://app/x'), ctx('reports/naïve café.txt'));
      const response = await storageDownload({ storage, delivery: 'redirect' }).GET(new Request('http://app/x'), ctx('reports/naïve café.txt'));
      expect(response.status).toBe(307);
      const location = new URL(response.headers.get('location')!);
      expect(location.searchParams.get('X-Amz-Expires')).toBe('60');
      expect(location.searchParams.get('response-content-disposition')).toBe(streamed.headers.get('content-disposition'));
      expect(parseContentDisposition(location.searchParams.get('response-content-disposition')!).filename).toBe('naïve café.txt');
      const followed = await fetch(location);
      expect(followed.status).toBe(200);
      expect(await followed.text()).toBe(BODY);
      // The store answers with the kit's headers (the gate applies response-* as S3 does).
      expect(followed.headers.get('content-disposition')).toBe(streamed.headers.get('content-disposition'));
      expect(followed.headers.get('content-type')).toBe(streamed.headers.get('content-type'));
      expect(followed.headers.get('cache-control')).toBe(streamed.headers.get('cache-control'));
      const ranged = await fetch(location, { headers: { range: 'bytes=4-8' } });
      expect(ranged.status).toBe(206);
      expect(await ranged.text()).toBe('quick');
    });
  });
});
