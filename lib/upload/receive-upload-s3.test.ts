import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useS3Server } from '../s3/use-s3-server.test-support';
import { receiveUpload } from './receive-upload';

// receiveUpload into an S3Storage on the project's S3 test server (fauxqs behind the signature
// gate): what the object keeps besides its bytes.

const s3 = useS3Server();

function upload(content: Uint8Array | string, filename: string, type = 'application/octet-stream'): Request {
  const form = new FormData();
  form.append('file', new File([typeof content === 'string' ? content : new Uint8Array(content)], filename, { type }));
  return new Request('http://x/api/files', { method: 'POST', body: form });
}

describe('receiveUpload into S3Storage', () => {
  it('stores the type and the SHA-256 with the object, as it returns them', async () => {
    const storage = s3.storage();
    const content = 'id,name\n1,one\n';
    const received = await receiveUpload(upload(content, 'report.csv'), storage, { maxBytes: 1024, name: () => 'uploads/report.csv' });
    const sha256 = createHash('sha256').update(content).digest('hex');
    expect(received).toMatchObject({ contentType: 'text/csv', sha256, size: content.length });
    const object = await storage.stat('uploads/report.csv');
    expect(object).toMatchObject({ contentType: 'text/csv', sha256, size: content.length });
  });

  it('stores the type the first bytes show, not the one the name claims: HTML named .png is application/octet-stream', async () => {
    const storage = s3.storage();
    const html = '<!doctype html><script>alert(document.cookie)</script>';
    const received = await receiveUpload(upload(html, 'cat.png', 'image/png'), storage, { maxBytes: 1024, name: () => 'uploads/cat.png' });
    expect(received.contentType).toBe('application/octet-stream');
    // The object says so too (stat reports no type for octet-stream: the name would decide, so the raw header is checked).
    const response = await fetch(await storage.presignedUrl('uploads/cat.png'));
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    await response.body?.cancel();
  });

  it('keeps every byte of a large upload whose first bytes were read ahead to type it', async () => {
    const storage = s3.storage();
    const gif = Buffer.from('47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex');
    const body = Buffer.concat([gif, Buffer.alloc(300 * 1024, 7)]);
    const received = await receiveUpload(upload(body, 'photo.jpg', 'image/jpeg'), storage, { maxBytes: 1024 * 1024, name: () => 'uploads/photo.jpg' });
    expect(received).toMatchObject({ contentType: 'image/gif', size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    expect((await storage.stat('uploads/photo.jpg')).contentType).toBe('image/gif');
    expect(Buffer.compare(Buffer.from(await new Response(await storage.open('uploads/photo.jpg')).arrayBuffer()), body)).toBe(0);
  });
});
