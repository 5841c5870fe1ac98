import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pathDownload } from '../factories/path-download';
import { storageDownload } from '../factories/storage-download';
import { virtualDownload } from '../factories/virtual-download';
import { FileSystemStorage } from '../storage/file-system-storage';

// A multipart/byteranges answer reads every part from the one opening of the file (or the one
// generation of the content) that decided its headers, like a single range does: a file deleted
// or replaced between two parts changes nothing in the body.
//   <tmp>/root/data.bin: OLD (64 bytes of 'o'), replaced by NEW (64 bytes of 'n') mid-answer.

const OLD = Buffer.alloc(64, 'o');
const NEW = Buffer.alloc(64, 'n');
const RANGE = 'bytes=0-3,10-13,60-63';

let tmp: string;
let root: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'multipart-one-open-'));
  root = path.join(tmp, 'root');
  await mkdir(root);
  await writeFile(path.join(root, 'data.bin'), OLD);
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function request(): Request {
  return new Request('http://x/data.bin', { headers: { range: RANGE } });
}

const params = { params: Promise.resolve({ path: ['data.bin'] }) };

/**
 * Reads the body until the first part's bytes are in, calls `between`, then reads the rest.
 * Resolves with the whole body, or rejects when the body errors (a broken connection).
 */
async function readAcross(response: Response, firstPart: string, between: () => Promise<void>): Promise<string> {
  const reader = response.body!.getReader();
  let text = '';
  let changed = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString('latin1');
    if (!changed && text.includes(`\r\n\r\n${firstPart}`)) {
      changed = true;
      await between();
    }
  }
  expect(changed).toBe(true);
  return text;
}

/** The bytes of each part, in order. */
function partBodies(body: string): string[] {
  return [...body.matchAll(/Content-Range: bytes \d+-\d+\/\d+\r\n\r\n([^\r]*)\r\n/g)].map((match) => match[1]!);
}

/** How many of this process's file descriptors point at `file`, once pending closes settle. */
async function openFds(file: string): Promise<number> {
  let count = 0;
  for (let attempt = 0; attempt < 50; attempt++) {
    count = 0;
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`) === file) count++;
      } catch {
        // The fd readdir itself used is gone.
      }
    }
    if (count === 0) return 0;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return count;
}

const replace = async () => {
  const fresh = path.join(root, 'fresh.tmp');
  await writeFile(fresh, NEW);
  await rename(fresh, path.join(root, 'data.bin'));
};
const remove = () => unlink(path.join(root, 'data.bin'));

describe('a multipart/byteranges answer', () => {
  const routes = {
    pathDownload: () => pathDownload({ root, chunkSize: 2 }).GET,
    storageDownload: () => storageDownload({ storage: new FileSystemStorage(root, { chunkSize: 2 }) }).GET,
  };

  describe.each(Object.entries(routes))('from %s', (_name, route) => {
    it.each([
      ['replaced by a rename', replace],
      ['deleted', remove],
    ])('sends the old bytes whole when the file is %s between parts', async (_label, between) => {
      const response = await route()(request(), params);
      expect(response.status).toBe(206);
      const body = await readAcross(response, 'oooo', between);
      expect(partBodies(body)).toEqual(['oooo', 'oooo', 'oooo']);
      expect(Buffer.byteLength(body, 'latin1')).toBe(Number(response.headers.get('content-length')));
    });
  });

  describe('the one open file', () => {
    it('is closed once the body is read to its end', async () => {
      const response = await pathDownload({ root }).GET(request(), params);
      await response.arrayBuffer();
      expect(await openFds(path.join(root, 'data.bin'))).toBe(0);
    });

    it('is closed when the client cancels after the first part', async () => {
      const response = await pathDownload({ root, chunkSize: 2 }).GET(request(), params);
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('\r\n\r\noooo')) text += Buffer.from((await reader.read()).value!).toString('latin1');
      await reader.cancel();
      expect(await openFds(path.join(root, 'data.bin'))).toBe(0);
    });

    it('is closed when the client leaves before the body is read at all', async () => {
      const client = new AbortController();
      const leaving = new Request('http://x/data.bin', { headers: { range: RANGE }, signal: client.signal });
      const response = await storageDownload({ storage: new FileSystemStorage(root) }).GET(leaving, params);
      expect(response.status).toBe(206);
      client.abort();
      expect(await openFds(path.join(root, 'data.bin'))).toBe(0);
    });
  });

  describe('from generated content', () => {
    it('takes every part from one generation of the content', async () => {
      let generation = 0;
      const { GET } = virtualDownload({
        file: () => ({
          name: 'gen.txt',
          size: 64,
          etag: '"fixed"',
          content: async function* () {
            const mark = String(++generation);
            for (let index = 0; index < 8; index++) yield mark.repeat(8);
          },
        }),
      });
      const response = await GET(request(), params);
      expect(response.status).toBe(206);
      const body = await readAcross(response, '1111', async () => undefined);
      expect(partBodies(body)).toEqual(['1111', '1111', '1111']);
      expect(generation).toBe(1);
    });

    it('sends the parts of out-of-order ranges from one generation, in ascending order', async () => {
      let generation = 0;
      const { GET } = virtualDownload({
        file: () => ({
          name: 'gen.txt',
          size: 26,
          content: async function* () {
            generation++;
            yield 'abcdefghijklm';
            yield 'nopqrstuvwxyz';
          },
        }),
      });
      const response = await GET(new Request('http://x/gen.txt', { headers: { range: 'bytes=20-21,0-1' } }), params);
      expect(response.status).toBe(206);
      const body = await response.text();
      expect([...body.matchAll(/Content-Range: (bytes \S+)/g)].map((match) => match[1])).toEqual(['bytes 0-1/26', 'bytes 20-21/26']);
      expect(partBodies(body)).toEqual(['ab', 'uv']);
      expect(Buffer.byteLength(body)).toBe(Number(response.headers.get('content-length')));
      expect(generation).toBe(1);
    });
  });
});
