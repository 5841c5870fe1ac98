import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { iterableToStream } from 'next-downloadview/sources';
import type { Storage } from 'next-downloadview/storage';
import type { FileRow } from '@/db/schema';
import { readZip } from '@/e2e/helpers';
import { entryName, makeArchive, MAX_ENTRY_NAME_BYTES, uniqueName, zipEntries, zipEtag, zipLastModified, zipLength, type ZipEntry } from './zip';

const CHUNK = 16 * 1024;

/** A storage of in-memory files that records which files were opened, and which cancelled. */
function fakeStorage(files: Record<string, Uint8Array>) {
  const opened: string[] = [];
  const cancelled: string[] = [];
  const storage = {
    open(name: string): Promise<ReadableStream<Uint8Array>> {
      const bytes = files[name];
      if (!bytes) return Promise.reject(new Error(`no file ${name}`));
      opened.push(name);
      let at = 0;
      return Promise.resolve(
        new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (at >= bytes.length) return controller.close();
              controller.enqueue(bytes.slice(at, at + CHUNK));
              at += CHUNK;
            },
            cancel() {
              cancelled.push(name);
            },
          },
          { highWaterMark: 0 },
        ),
      );
    },
  } as unknown as Storage;
  return { storage, opened, cancelled };
}

function bytes(length: number, seed: string): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed.charCodeAt(i % seed.length)) & 0xff;
  return out;
}

function row(id: number, name: string, content: Uint8Array, updatedAt = new Date(Date.UTC(2026, 0, 2, 3, 4, 6))): FileRow {
  return {
    id,
    name,
    storagePath: `uploads/${id}.bin`,
    size: content.length,
    contentType: 'application/octet-stream',
    sha256: createHash('sha256').update(content).digest('hex'),
    createdAt: updatedAt,
    updatedAt,
  };
}

async function readAll(archive: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of archive) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function sample() {
  const contents = [bytes(100_000, 'a'), bytes(0, 'b'), bytes(10 * CHUNK + 5, 'c'), bytes(10, 'd')];
  const rows = [row(1, 'a.txt', contents[0]!), row(2, 'A.TXT', contents[1]!), row(3, '中文报告.txt', contents[2]!), row(4, 'a.txt', contents[3]!)];
  const files = Object.fromEntries(rows.map((r, i) => [r.storagePath, contents[i]!]));
  return { rows, contents, entries: await zipEntries(rows), ...fakeStorage(files) };
}

describe('entryName', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', '.._.._etc_passwd'],
    ['/abs/path.txt', '_abs_path.txt'],
    ['back\\slash.txt', 'back_slash.txt'],
    ['tab\there.txt', 'tab_here.txt'],
    ['..', '_..'],
    ['', '_'],
    ['  spaced  ', 'spaced'],
    ['e\u0301te\u0301.txt', 'été.txt'],
  ])('makes %j the entry name %j', (name, expected) => {
    expect(entryName(name)).toBe(expected);
  });
});

describe('uniqueName', () => {
  it.each([
    [['a.txt', 'a.txt', 'a.txt'], ['a.txt', 'a (2).txt', 'a (3).txt']],
    [['a.txt', 'A.TXT'], ['a.txt', 'A (2).TXT']],
    [['a.txt', 'a (2).txt', 'a.txt'], ['a.txt', 'a (2).txt', 'a (3).txt']],
    [['backup.tar.gz', 'backup.tar.gz'], ['backup.tar.gz', 'backup (2).tar.gz']],
    [['README', 'README'], ['README', 'README (2)']],
    [['.env', '.env'], ['.env', '.env (2)']],
  ])('names %j as %j', (names, expected) => {
    const taken = new Set<string>();
    expect(names.map((name) => uniqueName(name, taken))).toEqual(expected);
  });
});

describe('zipEntries', () => {
  it('keeps the row order, sizes and times, and makes the names unique', async () => {
    const { entries, rows } = await sample();
    expect(entries.map((entry) => entry.name)).toEqual(['a.txt', 'A (2).TXT', '中文报告.txt', 'a (3).txt']);
    expect(entries.map((entry) => entry.size)).toEqual(rows.map((r) => r.size));
    expect(entries[0]!.lastModified).toEqual(rows[0]!.updatedAt);
  });
});

describe('makeArchive', () => {
  it('is exactly zipLength bytes and holds every file, byte for byte', async () => {
    const { entries, contents, storage } = await sample();
    const zip = await readAll(makeArchive(entries, storage));
    expect(zip.length).toBe(zipLength(entries));
    const files = readZip(zip);
    expect(files.map((file) => file.name)).toEqual(entries.map((entry) => entry.name));
    files.forEach((file, i) => expect(file.data.equals(contents[i]!)).toBe(true));
    // DOS times have two-second steps, in the server's local time.
    expect(files[0]!.lastModified.getTime()).toBe(entries[0]!.lastModified.getTime());
  });

  it('is the same bytes every time for the same rows', async () => {
    const first = await sample();
    const second = await sample();
    const [a, b] = await Promise.all([
      readAll(makeArchive(first.entries, first.storage)),
      readAll(makeArchive(second.entries, second.storage)),
    ]);
    expect(a.equals(b)).toBe(true);
  });

  it('is 22 bytes (an end record) for no files', async () => {
    const zip = await readAll(makeArchive([], fakeStorage({}).storage));
    expect(zip.length).toBe(22);
    expect(zipLength([])).toBe(22);
    expect(readZip(zip)).toEqual([]);
  });

  it('opens each file only when the archive reaches it', async () => {
    const { entries, storage, opened } = await sample();
    const archive = makeArchive(entries, storage);
    const first = await archive.next();
    expect(first.value?.length).toBeGreaterThan(0);
    expect(opened).toEqual(['uploads/1.bin']);
    await archive.return(undefined);
  });

  it('closes the file being read when the download is cancelled', async () => {
    const { entries, storage, opened, cancelled } = await sample();
    // As the route sends it: through the kit's iterable-to-stream adapter, which Next cancels.
    const reader = iterableToStream(makeArchive(entries, storage)).getReader();
    // Read into the third file (the second is empty).
    while (opened.length < 3) await reader.read();
    await reader.read();
    await reader.cancel(new Error('client went away'));
    expect(cancelled).toEqual(['uploads/3.bin']);
    expect(opened).toHaveLength(3);
  });

  it('fails the stream when a file is missing from the storage', async () => {
    const { entries } = await sample();
    const { storage } = fakeStorage({});
    await expect(readAll(makeArchive(entries, storage))).rejects.toThrow(/no file/);
  });

  it.each([
    ['shorter', -1],
    ['longer', 1],
  ])('fails, and closes the file, when a file is %s than its row says', async (_how, delta) => {
    const { entries, storage, cancelled } = await sample();
    const wrong = entries.map((entry, i) => (i === 0 ? { ...entry, size: entry.size + delta } : entry));
    await expect(readAll(makeArchive(wrong, storage))).rejects.toThrow(/uploads\/1\.bin has (fewer|more) bytes/);
    if (delta > 0) expect(cancelled).toEqual([]);
    else expect(cancelled).toEqual(['uploads/1.bin']);
  });

  it('passes the storage chunks on as they are, without copying them', async () => {
    const content = bytes(5 * CHUNK, 'x');
    const rows = [row(1, 'x.bin', content)];
    const { storage } = fakeStorage({ 'uploads/1.bin': content });
    const seen: Uint8Array[] = [];
    const original = storage.open.bind(storage);
    storage.open = async (name: string) => {
      const stream = await original(name);
      return stream.pipeThrough(new TransformStream({ transform: (chunk, controller) => (seen.push(chunk), controller.enqueue(chunk)) }));
    };
    const out: Uint8Array[] = [];
    for await (const chunk of makeArchive(await zipEntries(rows), storage)) out.push(chunk);
    expect(seen).toHaveLength(5);
    for (const chunk of seen) expect(out).toContain(chunk);
  });

  it('writes Zip64 records for a file of 4 GiB or more, and its length is still exact', async () => {
    // 4 GiB + 1 of one shared zero chunk: nothing is kept but the archive's tail.
    const size = 4 * 1024 ** 3 + 1;
    const zero = new Uint8Array(1024 * 1024);
    const storage = {
      open: (name: string) => {
        let left = name === 'huge' ? size : 0;
        return Promise.resolve(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              if (left === 0) return controller.close();
              const chunk = left >= zero.length ? zero : zero.subarray(0, left);
              left -= chunk.length;
              controller.enqueue(chunk);
            },
          }),
        );
      },
    } as unknown as Storage;
    const entries: ZipEntry[] = [
      { name: 'huge.bin', storagePath: 'huge', size, lastModified: new Date(Date.UTC(2026, 0, 2)), sha256: '' },
      { name: 'after.bin', storagePath: 'after', size: 0, lastModified: new Date(Date.UTC(2026, 0, 2)), sha256: '' },
    ];
    let length = 0;
    let tail = Buffer.alloc(0);
    let head: Buffer | undefined;
    for await (const chunk of makeArchive(entries, storage)) {
      head ??= Buffer.from(chunk);
      length += chunk.length;
      if (chunk !== zero) tail = Buffer.concat([tail, chunk]).subarray(-4096);
    }
    expect(length).toBe(zipLength(entries));
    // Local header: version 4.5, sizes 0xFFFFFFFF, a Zip64 extra field.
    expect(head!.readUInt16LE(4)).toBe(45);
    expect(head!.readUInt32LE(22)).toBe(0xffffffff);
    expect(head!.readUInt16LE(30 + 'huge.bin'.length)).toBe(0x0001);
    // The end records: a Zip64 end record and locator before the classic one (offsets past 4 GiB).
    const end = tail.length - 22;
    expect(tail.readUInt32LE(end)).toBe(0x06054b50);
    expect(tail.readUInt32LE(end + 16)).toBe(0xffffffff);
    expect(tail.readUInt32LE(end - 20)).toBe(0x07064b50);
    const zip64End = end - 20 - 56;
    expect(tail.readUInt32LE(zip64End)).toBe(0x06064b50);
    const directoryOffset = Number(tail.readBigUInt64LE(zip64End + 48));
    const directorySize = Number(tail.readBigUInt64LE(zip64End + 40));
    expect(directoryOffset + directorySize).toBe(length - 22 - 20 - 56);
    // The central directory: the huge entry's CRC-32 of 4 GiB + 1 zero bytes, its size in the Zip64 field.
    const central = tail.length - (length - directoryOffset);
    expect(tail.readUInt32LE(central)).toBe(0x02014b50);
    let crc = 0;
    for (let left = size; left > 0; left -= Math.min(left, zero.length)) crc = zlibCrc32(zero.subarray(0, Math.min(left, zero.length)), crc);
    expect(tail.readUInt32LE(central + 16)).toBe(crc);
    expect(tail.readBigUInt64LE(central + 46 + 'huge.bin'.length + 4)).toBe(BigInt(size));
    // The second entry starts past 4 GiB: its offset is in its own Zip64 field.
    const second = central + 46 + 'huge.bin'.length + 4 + 16;
    expect(tail.readUInt32LE(second)).toBe(0x02014b50);
    expect(tail.readUInt32LE(second + 42)).toBe(0xffffffff);
    expect(Number(tail.readBigUInt64LE(second + 46 + 'after.bin'.length + 4))).toBe(30 + 'huge.bin'.length + 20 + size + 24);
  }, 60_000);
});

describe('entry names', () => {
  const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

  it.each([
    ['a 20,000-character name', `${'x'.repeat(20_000)}.pdf`, '.pdf'],
    ['a long CJK name', `${'报'.repeat(200)}.tar.gz`, '.tar.gz'],
    ['a long name of emoji', `${'😀'.repeat(100)}.txt`, '.txt'],
    ['a long name without an extension', 'é'.repeat(300), ''],
  ])('cuts %s to 255 UTF-8 bytes of whole characters, keeping the extension', (_what, name, extension) => {
    const cut = entryName(name);
    expect(utf8(cut)).toBeLessThanOrEqual(MAX_ENTRY_NAME_BYTES);
    expect(utf8(cut)).toBeGreaterThan(MAX_ENTRY_NAME_BYTES - 4);
    expect(cut.endsWith(extension)).toBe(true);
    expect(cut).not.toContain('\ufffd');
    expect(name.startsWith(cut.slice(0, cut.length - extension.length))).toBe(true);
  });

  it('never splits a character made of several code points (an emoji with a skin tone)', () => {
    const thumb = '\u{1f44d}\u{1f3fd}';
    const cut = entryName(`${thumb.repeat(40)}.txt`);
    expect(utf8(cut)).toBeLessThanOrEqual(MAX_ENTRY_NAME_BYTES);
    expect(cut.slice(0, -'.txt'.length)).toBe(thumb.repeat((cut.length - 4) / thumb.length));
  });

  it('leaves a name of exactly 255 bytes alone', () => {
    const name = `${'a'.repeat(251)}.txt`;
    expect(entryName(name)).toBe(name);
  });

  it('keeps the number of a duplicate within 255 bytes, cutting the stem instead', () => {
    const taken = new Set<string>();
    const long = entryName(`${'ü'.repeat(500)}.csv`);
    const names = Array.from({ length: 12 }, () => uniqueName(long, taken));
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(12);
    expect(names[1]).toMatch(/ü \(2\)\.csv$/);
    expect(names[11]).toMatch(/ü \(12\)\.csv$/);
    for (const name of names) expect(utf8(name)).toBeLessThanOrEqual(MAX_ENTRY_NAME_BYTES);
  });

  it('gives an archive that unzip accepts for a 20,000-character name and its duplicate', async (context) => {
    if (!existsSync('/usr/bin/unzip')) return context.skip('unzip is not installed');
    const content = bytes(1000, 'n');
    const name = `${'名'.repeat(20_000)}.txt`;
    const rows = [row(1, name, content), row(2, name, content)];
    const { storage } = fakeStorage({ [rows[0]!.storagePath]: content, [rows[1]!.storagePath]: content });
    const entries = await zipEntries(rows);
    const zip = await readAll(makeArchive(entries, storage));
    expect(zip.length).toBe(zipLength(entries));
    const files = readZip(zip);
    expect(files.map((file) => utf8(file.name) <= MAX_ENTRY_NAME_BYTES)).toEqual([true, true]);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zip-names-'));
    try {
      const file = path.join(dir, 'names.zip');
      await writeFile(file, zip);
      const { stdout } = await promisify(execFile)('/usr/bin/unzip', ['-t', file]);
      expect(stdout).toMatch(/No errors detected/);
      // Extracting really works: both files land, under names the file system takes.
      await promisify(execFile)('/usr/bin/unzip', ['-q', file, '-d', path.join(dir, 'out')]);
      const listed = (await promisify(execFile)('ls', [path.join(dir, 'out')])).stdout.trim().split('\n');
      expect(listed).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('zipEtag', () => {
  const entry: ZipEntry = { name: 'a.txt', storagePath: 'a', size: 1, lastModified: new Date(0), sha256: 'aa' };

  it('is the same for the same entries', () => {
    expect(zipEtag([entry])).toBe(zipEtag([{ ...entry }]));
  });

  it.each([
    ['name', { name: 'b.txt' }],
    ['size', { size: 2 }],
    ['content', { sha256: 'bb' }],
    ['time', { lastModified: new Date(2000) }],
  ])('changes with the %s', (_field, change) => {
    expect(zipEtag([{ ...entry, ...change }])).not.toBe(zipEtag([entry]));
  });
});

describe('zipLastModified', () => {
  it('is the newest entry time, or undefined without entries', () => {
    const at = (ms: number): ZipEntry => ({ name: 'x', storagePath: 'x', size: 0, lastModified: new Date(ms), sha256: '' });
    expect(zipLastModified([at(5), at(9), at(1)])).toEqual(new Date(9));
    expect(zipLastModified([])).toBeUndefined();
  });
});
