import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from 'next-downloadview';
import { S3Storage } from 'next-downloadview/s3';
import { createTestDatabase, type TestDatabase } from '@/db/testing/databases';
import { TEST_BUCKET, TEST_CREDENTIALS, useS3Server } from '@/lib/s3/use-s3-server.test-support';
import { completeDirectUpload, parseDirectUploadRequest, startDirectUpload, sweepPendingUploads, type DirectUploadTicket } from './direct-upload';

// The demo's direct uploads against the project's S3 test server (fauxqs behind the signature
// gate, which checks the signed length and S3's x-amz-checksum-sha256) and a real database.

const s3 = useS3Server();
const MAX = 1024 * 1024;
let database: TestDatabase;
let storage: S3Storage;
let count = 0;

beforeEach(async () => {
  database = await createTestDatabase('sqlite');
  // The package as the demo loads it (its errors are the ones the demo's code recognises).
  storage = new S3Storage({ bucket: TEST_BUCKET, endpoint: s3.endpoint(), credentials: TEST_CREDENTIALS, prefix: `direct-${process.pid}-${++count}/` });
});
afterEach(async () => {
  await database.dispose();
});

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const PDF = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as HttpError,
  );
}

/** What the browser does with a ticket: PUT the bytes with exactly its headers. */
async function put(ticket: DirectUploadTicket, body: Uint8Array): Promise<number> {
  const response = await fetch(ticket.url, { method: ticket.method, headers: ticket.headers, body: new Uint8Array(body) });
  await response.body?.cancel();
  return response.status;
}

describe('direct uploads', () => {
  it('records a file the browser put straight into the bucket, with its size, checked type and SHA-256, under uploads/', async () => {
    const ticket = await startDirectUpload(parseDirectUploadRequest({ name: 'Résumé 2026.pdf', size: PDF.length, sha256: sha256(PDF) }, MAX), storage);
    expect(ticket.key).toMatch(/^pending\/[0-9a-f-]{36}\.pdf$/);
    expect(await put(ticket, PDF)).toBe(200);
    const row = await completeDirectUpload(ticket.key, storage, database.db, MAX);
    expect(row).toMatchObject({ name: 'Résumé 2026.pdf', size: PDF.length, contentType: 'application/pdf', sha256: sha256(PDF) });
    expect(row.storagePath).toBe(`uploads/${ticket.key.slice('pending/'.length)}`);
    expect(await storage.stat(row.storagePath)).toMatchObject({ size: PDF.length, contentType: 'application/pdf', sha256: sha256(PDF) });
    expect(await storage.exists(ticket.key)).toBe(false);
    // Completing twice records nothing more.
    expect((await rejection(completeDirectUpload(ticket.key, storage, database.db, MAX))).status).toBe(409);
  });

  it('stores and records the type of the bytes: HTML put as a .png is application/octet-stream', async () => {
    const html = Buffer.from('<!doctype html><script>alert(document.cookie)</script>');
    const ticket = await startDirectUpload({ name: 'cat.png', size: html.length, sha256: sha256(html) }, storage);
    expect(ticket.headers['content-type']).toBe('image/png');
    expect(await put(ticket, html)).toBe(200);
    const row = await completeDirectUpload(ticket.key, storage, database.db, MAX);
    expect(row.contentType).toBe('application/octet-stream');
    const response = await fetch(await storage.presignedUrl(row.storagePath));
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    await response.body?.cancel();
  });

  it('is refused by the store for a file larger than declared or other bytes, and then nothing is recorded', async () => {
    const ticket = await startDirectUpload({ name: 'a.pdf', size: PDF.length, sha256: sha256(PDF) }, storage);
    expect(await put(ticket, Buffer.concat([PDF, Buffer.alloc(1024)]))).toBe(403);
    expect(await put(ticket, Buffer.from(PDF).fill(0x20, 0, 4))).toBe(400);
    expect((await rejection(completeDirectUpload(ticket.key, storage, database.db, MAX))).status).toBe(409);
  });

  it('refuses to presign a declared size over the limit (413), or a body that is not a file description (400)', () => {
    expect(() => parseDirectUploadRequest({ name: 'big.bin', size: MAX + 1, sha256: sha256('x') }, MAX)).toThrow(expect.objectContaining({ status: 413 }));
    for (const body of [null, {}, { name: 'a', size: '1', sha256: sha256('x') }, { name: 'a', size: 1, sha256: 'nope' }, { name: 1, size: 1, sha256: sha256('x') }]) {
      expect(() => parseDirectUploadRequest(body, MAX)).toThrow(expect.objectContaining({ status: 400 }));
    }
  });

  it('records a client path with NUL and control characters as a basename the database can hold', async () => {
    const ticket = await startDirectUpload({ name: '../../etc/a\u0000b\u0007c été.pdf', size: PDF.length, sha256: sha256(PDF) }, storage);
    expect(ticket.key).toMatch(/^pending\/[0-9a-f-]{36}\.pdf$/);
    expect(await put(ticket, PDF)).toBe(200);
    expect((await completeDirectUpload(ticket.key, storage, database.db, MAX)).name).toBe('abc été.pdf');
  });

  it('completes only keys it gave out', async () => {
    for (const key of ['uploads/x.pdf', 'pending/../uploads/x', 'pending/not-a-uuid.pdf', 42]) {
      expect((await rejection(completeDirectUpload(key, storage, database.db, MAX))).status).toBe(400);
    }
  });

  it('sweeps pending uploads older than the given age, and leaves newer ones and completed files alone', async () => {
    await storage.save('pending/0b7e1c2a-1111-4222-8333-944455556666.bin', 'abandoned');
    await storage.save('uploads/kept.bin', 'kept');
    expect(await sweepPendingUploads(storage, 60_000)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await sweepPendingUploads(storage, 500)).toBe(1);
    expect(await storage.exists('pending/0b7e1c2a-1111-4222-8333-944455556666.bin')).toBe(false);
    expect(await storage.exists('uploads/kept.bin')).toBe(true);
  });
});
