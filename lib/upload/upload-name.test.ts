import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_FILENAME_BYTES } from '../http/disposition';
import { FileSystemStorage } from '../storage/file-system-storage';
import { receiveUpload } from './receive-upload';

// The client's file name of an upload is bounded (issue 10, class 8): a name of 20,000
// characters is cut to MAX_FILENAME_BYTES of UTF-8 before the route sees it, its extension kept,
// so the name stored with the file can later be sent in a Content-Disposition header.

const BOUNDARY = '----upload-name-boundary-q9Zt3';

let tmp: string;
let storage: FileSystemStorage;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'upload-name-'));
  storage = new FileSystemStorage(path.join(tmp, 'media'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A multipart body with one file part, its filename written as UTF-8 the way browsers do. */
function uploadRequest(filename: string, content: string): Request {
  const body = Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n`, 'utf8'),
    Buffer.from(`Content-Type: application/octet-stream\r\n\r\n${content}\r\n--${BOUNDARY}--\r\n`, 'utf8'),
  ]);
  return new Request('http://x/api/files', {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    body,
  });
}

describe('receiveUpload with a very long client file name', () => {
  it.each<[string, string, string]>([
    ['ASCII', `${'a'.repeat(20_000)}.pdf`, '.pdf'],
    ['CJK', `${'中文'.repeat(10_000)}.txt`, '.txt'],
    ['emoji', `${'😀'.repeat(10_000)}.png`, '.png'],
  ])('cuts a %s name of 20,000 characters to a bounded, valid name with its extension', async (_label, filename, extension) => {
    let given = '';
    const upload = await receiveUpload(uploadRequest(filename, 'payload'), storage, {
      maxBytes: 1024,
      name: (clientName) => {
        given = clientName;
        return 'uploads/1.bin';
      },
    });
    expect(upload.clientName).toBe(given);
    const bytes = Buffer.from(upload.clientName, 'utf8');
    expect(bytes.length).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(bytes.length).toBeGreaterThan(MAX_FILENAME_BYTES - 8);
    expect(upload.clientName.endsWith(extension)).toBe(true);
    expect(upload.clientName.isWellFormed()).toBe(true);
    expect(filename.startsWith(upload.clientName.slice(0, -extension.length))).toBe(true);
    // The file itself is stored whole, under the route's own name.
    expect(await readFile(path.join(tmp, 'media', 'uploads', '1.bin'), 'utf8')).toBe('payload');
  });

  it('keeps a name that fits as the client sent it', async () => {
    const upload = await receiveUpload(uploadRequest('résumé 2026.pdf', 'x'), storage, { maxBytes: 1024, name: () => 'uploads/2.bin' });
    expect(upload.clientName).toBe('résumé 2026.pdf');
  });
});
