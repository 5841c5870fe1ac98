import { describe, expect, it, vi } from 'vitest';
import { zipDownload } from 'next-downloadview/zip';
import { readZip } from '@/e2e/helpers';
import type { FileRow } from '@/db/schema';
import { S3Storage as PackagedS3Storage } from 'next-downloadview/s3';
import { TEST_BUCKET, TEST_CREDENTIALS, useS3Server } from '@/lib/s3/use-s3-server.test-support';
import { fileEntries } from './zip';

// files.zip on FILES_STORAGE=s3://...: the archive reads each row's bytes from the S3 storage.
const s3 = useS3Server();

function row(id: number, name: string, storagePath: string, size: number, crc32: number | null = null): FileRow {
  const at = new Date('2026-11-30T12:00:00Z');
  return { id, name, storagePath, size, contentType: 'application/octet-stream', sha256: '', createdAt: at, updatedAt: at, crc32 };
}

const context = { params: Promise.resolve({}) };

describe('files.zip on an S3Storage', () => {
  // The package's own S3Storage, as the demo uses it: its errors are the package's HttpErrors,
  // which the route's factory maps to statuses (test-server's is built from the sources).
  let count = 0;
  const packaged = () =>
    new PackagedS3Storage({ bucket: TEST_BUCKET, endpoint: s3.endpoint(), credentials: TEST_CREDENTIALS, prefix: `zip-${process.pid}-${++count}/` });

  it('streams every row from the bucket into a ZIP of the announced length, and a range of it by ranged GETs', async () => {
    const storage = packaged();
    const big = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 253);
    await storage.save('uploads/a.bin', big);
    await storage.save('uploads/b.txt', 'grüße');
    const { crc32 } = await import('node:zlib');
    const rows = [row(1, 'groß.bin', 'uploads/a.bin', big.length, crc32(big)), row(2, 'b.txt', 'uploads/b.txt', Buffer.byteLength('grüße'), crc32(Buffer.from('grüße')))];
    const { GET } = zipDownload({ storage, entries: () => fileEntries(rows) });
    const response = await GET(new Request('http://x/files.zip'), context);
    const zip = Buffer.from(await response.arrayBuffer());
    expect(zip.length).toBe(Number(response.headers.get('content-length')));
    const files = readZip(zip);
    expect(files.map((file) => file.name)).toEqual(['groß.bin', 'b.txt']);
    expect(Buffer.compare(files[0]!.data, Buffer.from(big))).toBe(0);
    expect(files[1]!.data.toString()).toBe('grüße');
    const part = await GET(new Request('http://x/files.zip', { headers: { range: 'bytes=2000000-' } }), context);
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(zip.subarray(2_000_000))).toBe(true);
  });

  it('answers 502 before any byte when an object of a row is missing from the bucket, and logs the row', async () => {
    const storage = packaged();
    await storage.save('uploads/here.txt', 'here');
    const rows = [row(1, 'here.txt', 'uploads/here.txt', 4), row(2, 'gone.txt', 'uploads/gone.txt', 4)];
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { GET, HEAD } = zipDownload({ storage, check: true, entries: () => fileEntries(rows) });
      for (const handler of [GET, HEAD]) {
        const response = await handler(new Request('http://x/api/exports/files.zip', { method: handler === GET ? 'GET' : 'HEAD' }), context);
        expect(response.status).toBe(502);
      }
      expect(String(log.mock.calls[0]?.[0])).toMatch(/zipDownload: row 2 "gone\.txt" \(uploads\/gone\.txt\) breaks the archive/);
    } finally {
      log.mockRestore();
    }
  });
});
