import { describe, expect, it } from 'vitest';
import { storageDownload } from '../factories/storage-download';
import { describeStorageContract } from '../storage/storage-contract.test-support';
import { assertDownloadResponse } from './assert-download-response';
import { MemoryStorage } from './memory-storage';

describeStorageContract('MemoryStorage', async () => new MemoryStorage());

describe('MemoryStorage', () => {
  it('starts with the files it is given, and serves them through a factory as a folder would', async () => {
    const storage = new MemoryStorage({ 'docs/résumé.txt': 'bonjour\n', 'raw.bin': new Uint8Array([0, 1, 2]) });
    const { GET } = storageDownload({ storage });
    const response = await GET(new Request('http://test/files/docs/r%C3%A9sum%C3%A9.txt', { headers: { range: 'bytes=3-6' } }), {
      params: Promise.resolve({ path: ['docs', 'résumé.txt'] }),
    });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 3-6/8');
    await assertDownloadResponse(response, { status: 206, filename: 'résumé.txt', body: 'jour' });
  });

  it('gives the SHA-256 of the content as its ETag, as a checksum column does', async () => {
    const storage = new MemoryStorage({ 'a.txt': '' });
    expect((await storage.stat('a.txt')).etag).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('refuses names that could leave the storage when it is made', () => {
    expect(() => new MemoryStorage({ '../a.txt': 'x' })).toThrow(/Invalid path/);
  });
});
