import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pathDownload } from '../factories/path-download';
import { assertDownloadResponse } from './assert-download-response';
import { temporaryMediaRoot } from './temporary-media-root';

const saved = process.env.MEDIA_ROOT;
afterEach(() => {
  if (saved === undefined) delete process.env.MEDIA_ROOT;
  else process.env.MEDIA_ROOT = saved;
});

describe('temporaryMediaRoot', () => {
  it('makes a folder with the files, points MEDIA_ROOT at it, and puts everything back', async () => {
    process.env.MEDIA_ROOT = '/before';
    const media = await temporaryMediaRoot({ 'a.txt': 'hello', 'docs/b.bin': new Uint8Array([1, 2]) });
    expect(process.env.MEDIA_ROOT).toBe(media.root);
    expect(readFileSync(path.join(media.root, 'a.txt'), 'utf8')).toBe('hello');
    expect([...readFileSync(media.path('docs/b.bin'))]).toEqual([1, 2]);
    await media.write('later/c.txt', 'c');
    expect(readFileSync(media.path('later/c.txt'), 'utf8')).toBe('c');
    await media.cleanup();
    expect(process.env.MEDIA_ROOT).toBe('/before');
    expect(existsSync(media.root)).toBe(false);
  });

  it('removes the variable again when it was not set, and sets another one when asked', async () => {
    delete process.env.MEDIA_ROOT;
    const media = await temporaryMediaRoot({}, { env: 'UPLOADS_DIR' });
    expect(process.env.UPLOADS_DIR).toBe(media.root);
    expect(process.env.MEDIA_ROOT).toBeUndefined();
    await media[Symbol.asyncDispose]();
    expect(process.env.UPLOADS_DIR).toBeUndefined();
  });

  it('is what a route reading process.env.MEDIA_ROOT serves from', async () => {
    const media = await temporaryMediaRoot({ 'report.pdf': '%PDF-1.7' });
    try {
      const { GET } = pathDownload({ root: process.env.MEDIA_ROOT });
      const response = await GET(new Request('http://test/media/report.pdf'), { params: Promise.resolve({ path: ['report.pdf'] }) });
      await assertDownloadResponse(response, { filename: 'report.pdf', contentType: 'application/pdf', body: '%PDF-1.7' });
    } finally {
      await media.cleanup();
    }
  });

  it('refuses a file name that would leave the folder, and leaves nothing behind', async () => {
    await expect(temporaryMediaRoot({ '../escape.txt': 'x' })).rejects.toThrow(/Invalid path/);
  });
});
