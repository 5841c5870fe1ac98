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
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import { HttpError, virtualDownload } from 'next-downloadview';
import { S3Storage } from 'next-downloadview/s3';
import { FileSystemStorage } from 'next-downloadview/storage';
import { holdLimitMs, probeEventLoop } from '@/lib/streams/event-loop-probe';
import {
  checkEntries,
  CHECK_CONCURRENCY,
  entryName,
  FALLBACK_ENTRY_NAME,
  makeArchive,
  MAX_ENTRY_NAME_BYTES,
  UniqueNames,
  zipEntries,
  zipEtag,
  zipFile,
  zipLastModified,
  zipLength,
  zipLengthInTurns,
  type ZipEntry,
} from './zip';

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
    crc32: null,
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
    ['..', FALLBACK_ENTRY_NAME],
    ['', FALLBACK_ENTRY_NAME],
    ['  spaced  ', 'spaced'],
    ['e\u0301te\u0301.txt', 'été.txt'],
  ])('makes %j the entry name %j', (name, expected) => {
    expect(entryName(name)).toBe(expected);
  });

  describe('names Windows cannot extract', () => {
    it.each([
      // An NTFS alternate data stream with some extractors.
      ['re:port.txt', 're_port.txt'],
      ['C:\\Windows\\x.txt', 'C__Windows_x.txt'],
      // Characters Windows refuses.
      ['wh?t*.txt', 'wh_t_.txt'],
      ['<a>|"b".txt', '_a___b_.txt'],
      ['bell\u0007.txt', 'bell_.txt'],
      ['nul\u0000byte.txt', 'nul_byte.txt'],
      // Reserved device names, with any extension, in any case.
      ['CON', '_CON'],
      ['con', '_con'],
      ['nul.txt', '_nul.txt'],
      ['Aux.tar.gz', '_Aux.tar.gz'],
      ['PRN.', '_PRN'],
      ['com1', '_com1'],
      ['LPT9.log', '_LPT9.log'],
      ['COM\u00b9.txt', '_COM\u00b9.txt'],
      ['CONIN$', '_CONIN$'],
      ['CON .txt', '_CON.txt'],
      // Not reserved: longer names and names that only start like one.
      ['CONSOLE.txt', 'CONSOLE.txt'],
      ['com10', 'com10'],
      ['nul_report.txt', 'nul_report.txt'],
      ['my.con', 'my.con'],
      // Trailing dots and spaces, which Windows drops.
      ['trailing dot.', 'trailing dot'],
      ['dots...', 'dots'],
      ['space. . ', 'space'],
      ['...', FALLBACK_ENTRY_NAME],
      [' . ', FALLBACK_ENTRY_NAME],
      ['.env', '.env'],
    ])('makes %j the entry name %j', (name, expected) => {
      expect(entryName(name)).toBe(expected);
    });

    it('never gives a name Windows refuses, whatever the input', () => {
      const parts = ['CON', 'nul', 'a', '.', ' ', ':', '?', '*', '<', '|', '"', '\\', '/', '\u0001', 'txt', 'é'];
      for (let i = 0; i < 5000; i++) {
        let name = '';
        for (let j = 0, seed = i; j < 6; j++, seed = Math.floor(seed / parts.length) + j * 7) name += parts[seed % parts.length];
        const entry = entryName(name);
        // eslint-disable-next-line no-control-regex -- control characters are what must not be left
        expect(entry, JSON.stringify(name)).not.toMatch(/[\u0000-\u001f<>:"/\\|?*]|[. ]$|^$/);
        expect(entry.split('.')[0]!.trimEnd(), JSON.stringify(name)).not.toMatch(/^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i);
        expect(entryName(name)).toBe(entry);
      }
    });
  });
});

describe('UniqueNames', () => {
  it.each([
    [['a.txt', 'a.txt', 'a.txt'], ['a.txt', 'a (2).txt', 'a (3).txt']],
    [['a.txt', 'A.TXT'], ['a.txt', 'A (2).TXT']],
    [['a.txt', 'a (2).txt', 'a.txt'], ['a.txt', 'a (2).txt', 'a (3).txt']],
    [['backup.tar.gz', 'backup.tar.gz'], ['backup.tar.gz', 'backup (2).tar.gz']],
    [['README', 'README'], ['README', 'README (2)']],
    [['.env', '.env'], ['.env', '.env (2)']],
    [['a.txt', 'a (3).txt', 'a.txt', 'a.txt', 'a.txt'], ['a.txt', 'a (3).txt', 'a (2).txt', 'a (4).txt', 'a (5).txt']],
    [['a (2).txt', 'a.txt', 'a.txt'], ['a (2).txt', 'a.txt', 'a (3).txt']],
  ])('names %j as %j', (names, expected) => {
    const unique = new UniqueNames();
    expect(names.map((name) => unique.take(name))).toEqual(expected);
  });

  it('gives two rows whose portable names are the same two entries', () => {
    const unique = new UniqueNames();
    expect(['re:port.txt', 're?port.txt', 're_port.txt', 'CON', '_CON'].map((name) => unique.take(entryName(name)))).toEqual([
      're_port.txt',
      're_port (2).txt',
      're_port (3).txt',
      '_CON',
      '_CON (2)',
    ]);
  });

  it('names 50,000 rows of the same name in linear time, the last one a (50000).txt', () => {
    // Each name once retried (2), (3), ... from 2: 1.25 billion tries here, where 8,000 rows took 8 s.
    const unique = new UniqueNames();
    const started = performance.now();
    let last = '';
    for (let i = 0; i < 50_000; i++) last = unique.take('a.txt');
    expect(last).toBe('a (50000).txt');
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('gives the same names for the same names in the same order', () => {
    const names = Array.from({ length: 2000 }, (_, i) => ['a.txt', 'A.TXT', `a (${i % 7}).txt`, 'b', 'nul.txt'][i % 5]!);
    const once = () => {
      const unique = new UniqueNames();
      return names.map((name) => unique.take(entryName(name)));
    };
    const first = once();
    expect(once()).toEqual(first);
    expect(new Set(first.map((name) => name.toLowerCase())).size).toBe(names.length);
  });
});

describe('zipEntries', () => {
  it('keeps the row order, sizes and times, and makes the names unique', async () => {
    const { entries, rows } = await sample();
    expect(entries.map((entry) => entry.name)).toEqual(['a.txt', 'A (2).TXT', '中文报告.txt', 'a (3).txt']);
    expect(entries.map((entry) => entry.size)).toEqual(rows.map((r) => r.size));
    expect(entries[0]!.lastModified).toEqual(rows[0]!.updatedAt);
    expect(entries.map((entry) => entry.row)).toEqual(rows.map((r) => ({ id: r.id, name: r.name })));
  });

  it('lets other requests run while it names 8,000 rows of the same name', async () => {
    // 8,000 uploads called a.txt once held the event loop 8 s per export request.
    const rows = Array.from({ length: 8000 }, (_, i) => row(i + 1, 'a.txt', new Uint8Array()));
    const probe = await probeEventLoop(() => zipEntries(rows));
    expect(probe.result.at(-1)!.name).toBe('a (8000).txt');
    expect(probe.worstDelayMs).toBeLessThan(400);
  });

  it('zipFile lets other requests run while it names, checks and lays out 100,000 rows', async () => {
    // Naming, the layout and the ETag are each a few hundred ms of CPU at this size.
    const content = new Uint8Array();
    const rows = Array.from({ length: 100_000 }, (_, i) => row(i + 1, `report ${i % 5000}.txt`, content));
    const stats = { stat: (name: string) => Promise.resolve({ name, size: 0 }) } as unknown as import('next-downloadview/storage').Storage;
    const probe = await probeEventLoop(() => zipFile(rows, stats));
    expect(probe.result.size).toBe(zipLength(await zipEntries(rows)));
    expect(probe.result.etag).toBe(zipEtag(await zipEntries(rows)));
    expect(await zipLengthInTurns(await zipEntries(rows))).toBe(probe.result.size);
    expect(probe.worstDelayMs).toBeLessThan(holdLimitMs(probe.totalMs));
  });

  it('lets other requests run while it names 200,000 rows', async () => {
    // Linear, but still about a second of CPU: it takes turns with the rest of the process.
    const content = new Uint8Array();
    const rows = Array.from({ length: 200_000 }, (_, i) => row(i + 1, `report ${i % 5000}.txt`, content));
    const probe = await probeEventLoop(() => zipEntries(rows));
    expect(probe.result).toHaveLength(200_000);
    expect(probe.worstDelayMs).toBeLessThan(holdLimitMs(probe.totalMs));
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
    const unique = new UniqueNames();
    const long = entryName(`${'ü'.repeat(500)}.csv`);
    const names = Array.from({ length: 12 }, () => unique.take(long));
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

describe('checkEntries and zipFile: a status before the first byte', () => {
  let root: string;
  let storage: FileSystemStorage;
  const servers: Server[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'zip-check-'));
    storage = new FileSystemStorage(root);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** `count` rows whose files are on disk, but for the ones in `missing`. */
  async function rowsOnDisk(count: number, missing: number[] = [], prefix = 'r', size = 100): Promise<FileRow[]> {
    const rows: FileRow[] = [];
    for (let id = 1; id <= count; id++) {
      const content = bytes(size + id, `${prefix}${id}`);
      const r = { ...row(id, `file ${id}.txt`, content), storagePath: `${prefix}/${id}.bin` };
      if (!missing.includes(id)) await storage.save(r.storagePath, content, { overwrite: true });
      rows.push(r);
    }
    return rows;
  }

  const exportOf = (rows: FileRow[], store = storage as import('next-downloadview/storage').Storage) =>
    virtualDownload({ file: () => zipFile(rows, store) });
  const request = (method: 'GET' | 'HEAD') => new Request('http://x/api/exports/files.zip', { method });
  const context = { params: Promise.resolve({}) };

  it('answers 200 and the whole archive when every file is there', async () => {
    const rows = await rowsOnDisk(20, [], 'ok');
    const response = await exportOf(rows).GET(request('GET'), context);
    expect(response.status).toBe(200);
    const zip = Buffer.from(await response.arrayBuffer());
    expect(zip.length).toBe(Number(response.headers.get('content-length')));
    expect(readZip(zip).map((file) => file.name)).toEqual(rows.map((r) => r.name));
  });

  it.each([
    ['the first file', 1],
    ['a later file', 37],
  ])('answers 502 before any byte, for GET and HEAD, when %s is missing, and logs its row', async (_what, id) => {
    const rows = await rowsOnDisk(40, [id], `missing${id}`);
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    for (const method of ['GET', 'HEAD'] as const) {
      const response = await exportOf(rows)[method](request(method), context);
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).not.toBe('application/zip');
    }
    const lines = log.mock.calls.map((call) => String(call[0])).filter((line) => line.startsWith('files.zip:'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`row ${id} "file ${id}.txt"`);
    expect(lines[0]).toContain('missing');
  });

  it('answers 502 when a file is not the size its row says', async () => {
    const rows = await rowsOnDisk(3, [], 'size');
    rows[1] = { ...rows[1]!, size: rows[1]!.size + 1 };
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const response = await exportOf(rows).GET(request('GET'), context);
    expect(response.status).toBe(502);
    expect(String(log.mock.calls[0]?.[0])).toMatch(/row 2 "file 2\.txt".*has 102 bytes, its row 103/);
  });

  it('names a row whose name holds a line break on one line of the log', async () => {
    const rows = await rowsOnDisk(1, [1], 'newline');
    rows[0] = { ...rows[0]!, name: 'evil\nfiles.zip: forged line' };
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(checkEntries(await zipEntries(rows), storage)).rejects.toMatchObject({ status: 502 });
    expect(String(log.mock.calls[0]?.[0])).not.toContain('\n');
  });

  it('answers 504 before any byte when the store does not answer in time', async () => {
    // An S3 endpoint that takes the connection and never answers.
    const server = createServer(() => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s3 = new S3Storage({ bucket: 'hangs', endpoint, credentials: { accessKeyId: 'k', secretAccessKey: 's' }, timeoutMs: 300 });
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const rows = [row(1, 'a.txt', bytes(10, 'a')), row(2, 'b.txt', bytes(10, 'b'))];
    const started = performance.now();
    for (const method of ['GET', 'HEAD'] as const) {
      const response = await exportOf(rows, s3)[method](request(method), context);
      expect(response.status).toBe(504);
    }
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(String(log.mock.calls[0]?.[0])).toMatch(/^files\.zip: row 1 "a\.txt"/);
  });

  it(`asks the storage about at most ${CHECK_CONCURRENCY} files at once, and stops at the first failure`, async () => {
    let inFlight = 0;
    let most = 0;
    let asked = 0;
    const counting = {
      async stat(name: string) {
        asked++;
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight--;
        if (name === 'uploads/50.bin') throw new HttpError(404, 'Not Found');
        return { name, size: 0 };
      },
    } as unknown as import('next-downloadview/storage').Storage;
    const entries = await zipEntries(Array.from({ length: 500 }, (_, i) => row(i + 1, 'x', new Uint8Array())));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(checkEntries(entries, counting)).rejects.toMatchObject({ status: 502 });
    expect(most).toBe(CHECK_CONCURRENCY);
    expect(asked).toBeLessThan(50 + 2 * CHECK_CONCURRENCY);
  });

  it('lets other requests run while it checks 50,000 files on a local disk, which answers synchronously', async () => {
    const files = await rowsOnDisk(20, [], 'many');
    const rows = Array.from({ length: 50_000 }, (_, i) => ({ ...files[i % 20]!, id: i + 1 }));
    const entries = await zipEntries(rows);
    const probe = await probeEventLoop(() => checkEntries(entries, storage));
    expect(probe.worstDelayMs).toBeLessThan(holdLimitMs(probe.totalMs));
  });

  it('breaks the connection, and logs the row, when a file vanishes after the headers', async () => {
    // Files larger than a chunk of the body, so that the third is opened only once the first is out.
    const rows = await rowsOnDisk(3, [], 'vanish', 256 * 1024);
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const response = await exportOf(rows).GET(request('GET'), context);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.value!.length).toBeGreaterThan(0);
    await storage.delete(rows[2]!.storagePath);
    await expect((async () => {
      for (;;) if ((await reader.read()).done) return;
    })()).rejects.toThrow();
    expect(log.mock.calls.map((call) => String(call[0]))).toContainEqual(expect.stringMatching(/^files\.zip: row 3 "file 3\.txt" .*after the headers/));
  });
});
