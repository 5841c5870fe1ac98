import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useS3Server } from '../s3/test-server';
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
});
