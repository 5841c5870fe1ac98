import { createHash } from 'node:crypto';
import { makeZip } from 'client-zip';
import { describe, expect, it } from 'vitest';
import type { Storage } from 'next-downloadview/storage';
import type { FileRow } from '@/db/schema';
import { readZip } from '@/e2e/helpers';
import { entryName, openEach, uniqueName, zipEntries, zipEtag, zipLastModified, zipLength, type ZipEntry } from './zip';

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

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer());
}

async function sample() {
  const contents = [bytes(100_000, 'a'), bytes(0, 'b'), bytes(3 * CHUNK + 5, 'c'), bytes(10, 'd')];
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

describe('the archive makeZip writes from openEach', () => {
  it('is exactly zipLength bytes and holds every file, byte for byte', async () => {
    const { entries, contents, storage } = await sample();
    const zip = await readAll(makeZip(openEach(entries, storage)));
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
      readAll(makeZip(openEach(first.entries, first.storage))),
      readAll(makeZip(openEach(second.entries, second.storage))),
    ]);
    expect(a.equals(b)).toBe(true);
  });

  it('is 22 bytes (an end record) for no files', async () => {
    const zip = await readAll(makeZip(openEach([], fakeStorage({}).storage)));
    expect(zip.length).toBe(22);
    expect(zipLength([])).toBe(22);
    expect(readZip(zip)).toEqual([]);
  });

  it('opens each file only when the archive reaches it', async () => {
    const { entries, storage, opened } = await sample();
    const reader = makeZip(openEach(entries, storage)).getReader();
    const first = await reader.read();
    expect(first.value?.length).toBeGreaterThan(0);
    expect(opened).toEqual(['uploads/1.bin']);
    await reader.cancel();
  });

  it('closes the file being read when the download is cancelled', async () => {
    const { entries, storage, opened, cancelled } = await sample();
    const reader = makeZip(openEach(entries, storage)).getReader();
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
    await expect(readAll(makeZip(openEach(entries, storage)))).rejects.toThrow(/no file/);
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
