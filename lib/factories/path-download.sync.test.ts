import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors';
import { FileSystemStorage } from '../storage/file-system-storage';
import { pathDownload } from './path-download';
import { temporaryTree, type TemporaryTree } from '../helpers.test-support';

let root: string;

let tree: TemporaryTree;

beforeAll(() => {
  tree = temporaryTree('path-download-sync-test', { 'small.txt': 'small body', 'large.bin': Buffer.alloc(200_000, 7) });
  root = tree.base;
});

afterAll(() => tree.remove());

describe('pathDownload syncFs', () => {
  for (const syncFs of [true, false]) {
    it(`serves the same answers with syncFs: ${syncFs}`, async () => {
      const { GET } = pathDownload({ root, syncFs });
      const small = await GET(new Request('http://x/small.txt'), { params: { path: ['small.txt'] } });
      expect(small.status).toBe(200);
      expect(await small.text()).toBe('small body');
      const range = await GET(new Request('http://x/large.bin', { headers: { range: 'bytes=10-19' } }), {
        params: { path: ['large.bin'] },
      });
      expect(range.status).toBe(206);
      expect(Buffer.from(await range.arrayBuffer())).toEqual(Buffer.alloc(10, 7));
      const large = await GET(new Request('http://x/large.bin'), { params: { path: ['large.bin'] } });
      expect((await large.arrayBuffer()).byteLength).toBe(200_000);
      const missing = await GET(new Request('http://x/nothing'), { params: { path: ['nothing'] } });
      expect(missing.status).toBe(404);
    });
  }

  it('refuses a syncFs that is not a boolean when the route module loads', () => {
    expect(() => pathDownload({ root, syncFs: 'yes' as unknown as boolean })).toThrow(ConfigurationError);
  });
});

describe('FileSystemStorage syncFs', () => {
  for (const syncFs of [true, false]) {
    it(`stats and opens the same with syncFs: ${syncFs}`, async () => {
      const storage = new FileSystemStorage(root, { syncFs });
      expect((await storage.stat('small.txt')).size).toBe(10);
      expect(await new Response(await storage.open('small.txt')).text()).toBe('small body');
      await expect(storage.stat('nothing')).rejects.toMatchObject({ status: 404 });
    });
  }

  it('refuses a syncFs that is not a boolean', () => {
    expect(() => new FileSystemStorage(root, { syncFs: 1 as unknown as boolean })).toThrow(TypeError);
  });
});
