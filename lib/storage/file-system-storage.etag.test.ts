import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageDownload } from '../factories/storage-download';
import { FileChangedError } from '../errors';
import { FileSystemStorage } from './file-system-storage';
import { describeStorageContract } from './storage-contract';

// FileSystemStorage's `etag` option: the same bytes on two disks (two machines) give the same
// validators with 'sha256', and different ones with the default 'mtime'.

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe("FileSystemStorage's etag option", () => {
  let tmp: string;
  let roots: [string, string];

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fs-etag-'));
    roots = [path.join(tmp, 'one'), path.join(tmp, 'two')];
    for (const [index, root] of roots.entries()) {
      await mkdir(root, { recursive: true });
      await writeFile(path.join(root, 'a.txt'), 'the same bytes\n');
      const when = new Date(Date.UTC(2026, 0, 1 + index));
      await utimes(path.join(root, 'a.txt'), when, when);
    }
  });

  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("gives two machines' copies two ETags by default (size and mtime)", async () => {
    const [one, two] = roots.map((root) => new FileSystemStorage(root));
    expect((await one!.stat('a.txt')).etag).not.toBe((await two!.stat('a.txt')).etag);
  });

  it("gives them one ETag, the content's SHA-256, with etag: 'sha256'", async () => {
    const [one, two] = roots.map((root) => new FileSystemStorage(root, { etag: 'sha256' }));
    expect((await one!.stat('a.txt')).etag).toBe(`"${sha256('the same bytes\n')}"`);
    expect((await two!.stat('a.txt')).etag).toBe((await one!.stat('a.txt')).etag);
  });

  it('knows the hash of a file it saved, and gives it for the bytes written', async () => {
    const storage = new FileSystemStorage(roots[0], { etag: 'sha256' });
    const content = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const saved = await storage.save('big.bin', [content.subarray(0, 1000), content.subarray(1000)]);
    expect(saved.etag).toBe(`"${sha256(content)}"`);
    expect((await storage.stat('big.bin')).etag).toBe(saved.etag);
    expect(sha256(await readFile(path.join(roots[0], 'big.bin')))).toBe(sha256(content));
  });

  it('gives a new ETag when the file is rewritten outside the storage', async () => {
    const storage = new FileSystemStorage(roots[0], { etag: 'sha256' });
    const before = (await storage.stat('a.txt')).etag;
    await writeFile(path.join(roots[0], 'a.txt'), 'other bytes, same length\n');
    expect((await storage.stat('a.txt')).etag).toBe(`"${sha256('other bytes, same length\n')}"`);
    expect((await storage.stat('a.txt')).etag).not.toBe(before);
  });

  it('lists only hashes it knows: a listing never reads every file', async () => {
    const storage = new FileSystemStorage(roots[0], { etag: 'sha256' });
    await writeFile(path.join(roots[0], 'b.txt'), 'b');
    await storage.stat('a.txt');
    const listed = new Map<string, string | undefined>();
    for await (const file of storage.list()) listed.set(file.name, file.etag as string | undefined);
    expect(listed.get('a.txt')).toBe(`"${sha256('the same bytes\n')}"`);
    expect(listed.get('b.txt')).toBeUndefined();
    expect(listed.has('b.txt')).toBe(true);
  });

  it('opens the version an ETag names, and refuses one rewritten since', async () => {
    const storage = new FileSystemStorage(roots[0], { etag: 'sha256' });
    const { etag } = await storage.stat('a.txt');
    expect(await text(await storage.open('a.txt', { ifMatch: etag }))).toBe('the same bytes\n');
    await writeFile(path.join(roots[0], 'a.txt'), 'changed\n');
    await expect(storage.open('a.txt', { ifMatch: etag })).rejects.toBeInstanceOf(FileChangedError);
  });

  it('forgets the oldest hashes past maxHashedFiles', async () => {
    const storage = new FileSystemStorage(roots[0], { etag: 'sha256', maxHashedFiles: 1 });
    await writeFile(path.join(roots[0], 'b.txt'), 'b');
    await storage.stat('a.txt');
    await storage.stat('b.txt');
    const listed = new Map<string, unknown>();
    for await (const file of storage.list()) listed.set(file.name, file.etag);
    expect(listed.get('a.txt')).toBeUndefined();
    expect(listed.get('b.txt')).toBe(`"${sha256('b')}"`);
  });

  it('refuses an unknown etag mode or a bad maxHashedFiles when constructed', () => {
    expect(() => new FileSystemStorage(roots[0], { etag: 'md5' as never })).toThrow(TypeError);
    expect(() => new FileSystemStorage(roots[0], { etag: 'sha256', maxHashedFiles: 0 })).toThrow(TypeError);
  });

  describe('through storageDownload on two machines', () => {
    function machines() {
      return roots.map((root) => storageDownload({ storage: new FileSystemStorage(root, { etag: 'sha256' }), param: 'path' }));
    }
    const context = { params: Promise.resolve({ path: ['a.txt'] }) };

    it('answers 304 on one to the ETag the other gave', async () => {
      const [one, two] = machines();
      const first = await one!.GET(new Request('http://x/a.txt'), context);
      const etag = first.headers.get('etag')!;
      await first.body?.cancel();
      const again = await two!.GET(new Request('http://x/a.txt', { headers: { 'if-none-match': etag } }), { params: Promise.resolve({ path: ['a.txt'] }) });
      expect(again.status).toBe(304);
    });

    it('resumes on one a download the other began (Range with If-Range)', async () => {
      const [one, two] = machines();
      const first = await one!.GET(new Request('http://x/a.txt'), context);
      const etag = first.headers.get('etag')!;
      await first.body?.cancel();
      const rest = await two!.GET(new Request('http://x/a.txt', { headers: { range: 'bytes=9-', 'if-range': etag } }), { params: Promise.resolve({ path: ['a.txt'] }) });
      expect(rest.status).toBe(206);
      expect(await rest.text()).toBe('bytes\n');
    });
  });
});

const contractFolders: string[] = [];

afterAll(async () => {
  await Promise.all(contractFolders.map((folder) => rm(folder, { recursive: true, force: true })));
});

// Everything a Storage promises holds with content ETags too.
describeStorageContract("FileSystemStorage with etag: 'sha256'", async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'fs-contract-sha256-'));
  contractFolders.push(folder);
  return new FileSystemStorage(path.join(folder, 'media'), { etag: 'sha256' });
});
