import { describe, expect, it } from 'vitest';
import { readZip } from '@/e2e/helpers';
import type { FileRow } from '@/db/schema';
import { useS3Server } from '@/lib/s3/test-server';
import { makeArchive, zipEntries, zipLength } from './zip';

// files.zip on FILES_STORAGE=s3://...: the archive reads each row's bytes from the S3 storage.
const s3 = useS3Server();

function row(id: number, name: string, storagePath: string, size: number): FileRow {
  const at = new Date('2026-11-30T12:00:00Z');
  return { id, name, storagePath, size, contentType: 'application/octet-stream', sha256: '', createdAt: at, updatedAt: at };
}

describe('makeArchive on an S3Storage', () => {
  it('streams every row from the bucket into a ZIP of the announced length', async () => {
    const storage = s3.storage();
    const big = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 253);
    await storage.save('uploads/a.bin', big);
    await storage.save('uploads/b.txt', 'grüße');
    const entries = await zipEntries([row(1, 'groß.bin', 'uploads/a.bin', big.length), row(2, 'b.txt', 'uploads/b.txt', Buffer.byteLength('grüße'))]);
    const chunks: Uint8Array[] = [];
    for await (const chunk of makeArchive(entries, storage)) chunks.push(chunk);
    const zip = Buffer.concat(chunks);
    expect(zip.length).toBe(zipLength(entries));
    const files = readZip(zip);
    expect(files.map((file) => file.name)).toEqual(['groß.bin', 'b.txt']);
    expect(Buffer.compare(files[0]!.data, Buffer.from(big))).toBe(0);
    expect(files[1]!.data.toString()).toBe('grüße');
  });
});
