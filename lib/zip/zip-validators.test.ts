import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArchivers } from '../../scripts/ensure-archivers.mjs';
import { FileSystemStorage } from '../storage/file-system-storage';
import type { Storage } from '../storage/storage';
import { zipDownload, type ZipEntry } from './zip-download';

// The archives zipDownload makes, read by the archivers people extract them with: Info-ZIP's
// unzip, Python's zipfile, libarchive's bsdtar and 7-Zip, each testing every entry's CRC-32.
// Archives go to a file only because these readers seek in one; a run of zeros is skipped
// (written sparse), so the 4 GiB archive takes a few megabytes of disk.

const run = promisify(execFile);
const context = { params: Promise.resolve({}) };
const MiB = 1024 * 1024;
const ZEROS = Buffer.alloc(MiB);

let dir: string;
let tools: Record<string, string>;

beforeAll(async () => {
  const ready = ensureArchivers({ log: () => undefined }) as { ok: true; paths: Record<string, string> } | { ok: false; message: string };
  if (!ready.ok) throw new Error(ready.message);
  tools = ready.paths;
  dir = await mkdtemp(path.join(os.tmpdir(), 'zip-validators-'));
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Streams the route's whole archive into `file`, sparse where it is zeros; its length and ETag. */
async function saveArchive(GET: (request: Request, ctx: typeof context) => Promise<Response>, file: string) {
  const response = await GET(new Request('http://x/archive.zip'), context);
  expect(response.status).toBe(200);
  const handle = await open(file, 'w');
  let length = 0;
  try {
    const reader = response.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      const chunk = read.value;
      const zeros = chunk.length <= MiB && Buffer.compare(chunk, ZEROS.subarray(0, chunk.length)) === 0;
      if (!zeros) await handle.write(chunk, 0, chunk.length, length);
      length += chunk.length;
    }
  } finally {
    await handle.close();
  }
  await truncate(file, length);
  expect(length).toBe(Number(response.headers.get('content-length')));
  return { length, etag: response.headers.get('etag')! };
}

/** Every reader tests every entry; each must say so, and list `count` entries. */
async function validate(file: string, count: number): Promise<void> {
  const big = { maxBuffer: 256 * MiB };
  const checks = [
    (async () => {
      if (count === 0) {
        // A valid empty archive is a warning (exit 1) to unzip, never an error (exit 2 or more).
        await expect(run(tools.unzip!, ['-t', file], big)).rejects.toMatchObject({ code: 1, stdout: expect.stringMatching(/zipfile is empty/) });
        return;
      }
      const { stdout } = await run(tools.unzip!, ['-t', file], big);
      expect(stdout).toMatch(/No errors detected in compressed data/);
      expect(stdout.match(/^\s+testing: .* OK$/gm)).toHaveLength(count);
    })(),
    (async () => {
      const script = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nbad = z.testzip()\nprint(len(z.infolist()), bad)';
      const { stdout } = await run(tools.python3!, ['-c', script, file], big);
      expect(stdout.trim()).toBe(`${count} None`);
    })(),
    (async () => {
      // -x to stdout reads and checks every entry (libarchive fails on a bad CRC-32); -t lists them.
      await run('sh', ['-c', `"$0" -xOf "$1" > /dev/null`, tools.bsdtar!, file], big);
      const { stdout } = await run(tools.bsdtar!, ['-tf', file], big);
      expect(stdout === '' ? 0 : stdout.trimEnd().split('\n').length).toBe(count);
    })(),
    (async () => {
      const { stdout } = await run(tools['7-Zip']!, ['t', file], big);
      expect(stdout).toMatch(/Everything is Ok/);
      // 7-Zip counts the files only when there are several.
      if (count > 1) expect(stdout).toMatch(new RegExp(`Files: ${count}\\b`));
    })(),
  ];
  await Promise.all(checks);
}

/** Entries of a few bytes each, made in memory. */
function smallEntries(count: number): ZipEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const content = Buffer.from(`entry ${i}\n`);
    // Some names repeat, and some are not ASCII, so that the unique names are exercised too.
    const name = i % 10 === 0 ? 'same.txt' : i % 10 === 1 ? `résumé ${i % 1000}.txt` : `file ${i}.txt`;
    return { name, size: content.length, crc32: crc32(content), lastModified: new Date(Date.UTC(2026, 0, 1)), open: () => new Response(content).body! };
  });
}

describe('archives of zipDownload, read by unzip, Python zipfile, bsdtar and 7-Zip', () => {
  it('pass with no entries', async () => {
    const file = path.join(dir, 'empty.zip');
    await saveArchive(zipDownload({ entries: () => [] }).GET, file);
    await validate(file, 0);
  }, 60_000);

  it('pass with one entry', async () => {
    const file = path.join(dir, 'one.zip');
    await saveArchive(zipDownload({ entries: () => smallEntries(1) }).GET, file);
    await validate(file, 1);
  }, 60_000);

  it('pass with 70,000 entries (Zip64 end records: more than 65,535)', async () => {
    const file = path.join(dir, 'many.zip');
    await saveArchive(zipDownload({ entries: () => smallEntries(70_000) }).GET, file);
    await validate(file, 70_000);
  }, 300_000);

  describe('of more than 4 GiB, from a sparse file', () => {
    const HUGE = 4 * 1024 ** 3 + 1;
    let storage: Storage;
    let read = 0;

    beforeAll(async () => {
      const root = path.join(dir, 'store');
      const files = new FileSystemStorage(root);
      await files.save('before.txt', 'before');
      await files.save('after.txt', 'after the huge one');
      await files.save('huge.bin', '');
      await truncate(path.join(root, 'huge.bin'), HUGE);
      // The storage, counting the bytes it gives.
      storage = {
        stat: (name: string) => files.stat(name),
        async open(name: string, options?: Parameters<Storage['open']>[1]) {
          const stream = await files.open(name, options);
          const count = new TransformStream<Uint8Array, Uint8Array>({ transform: (chunk, controller) => ((read += chunk.length), controller.enqueue(chunk)) });
          return stream.pipeThrough(count);
        },
      } as unknown as Storage;
    });

    /** The CRC-32 of `size` zero bytes, without reading a file. */
    function zerosCrc(size: number): number {
      let crc = 0;
      for (let left = size; left > 0; left -= Math.min(left, MiB)) crc = crc32(ZEROS.subarray(0, Math.min(left, MiB)), crc);
      return crc;
    }

    it('passes, and a download resumed near its end reads only the end and stitches to the same bytes', async () => {
      const entries = (): ZipEntry[] => [
        { name: 'before.txt', path: 'before.txt', size: 6, crc32: crc32(Buffer.from('before')) },
        { name: 'huge.bin', path: 'huge.bin', size: HUGE, crc32: zerosCrc(HUGE) },
        // Its local header is past 4 GiB: the central directory gives its offset in a Zip64 field.
        { name: 'after.txt', path: 'after.txt', size: 18, crc32: crc32(Buffer.from('after the huge one')) },
      ];
      const { GET } = zipDownload({ storage, entries });
      const file = path.join(dir, 'huge.zip');
      read = 0;
      const whole = await saveArchive(GET, file);
      expect(whole.length).toBeGreaterThan(HUGE);
      expect(read).toBe(HUGE + 6 + 18);
      await validate(file, 3);

      // Resume 1 MiB before the end of the huge entry. The bytes before the cut are the saved
      // file's: the resumed download is that file's first `cut` bytes and this answer.
      const cut = whole.length - 3 * MiB;
      read = 0;
      const response = await GET(new Request('http://x/archive.zip', { headers: { range: `bytes=${cut}-`, 'if-range': whole.etag } }), context);
      expect(response.status).toBe(206);
      const tail = Buffer.from(await response.arrayBuffer());
      expect(read).toBeLessThan(3 * MiB);
      const handle = await open(file, 'r');
      try {
        const saved = Buffer.alloc(whole.length - cut);
        await handle.read(saved, 0, saved.length, cut);
        expect(tail.equals(saved)).toBe(true);
      } finally {
        await handle.close();
      }
    }, 600_000);
  });
});
