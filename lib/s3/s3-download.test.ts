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
