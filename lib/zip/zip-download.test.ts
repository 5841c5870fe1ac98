import { crc32 } from 'node:zlib';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readZip } from '@/e2e/helpers';
import { FileSystemStorage } from '../storage/file-system-storage';
import { holdLimitMs, probeEventLoop } from '../streams/event-loop-probe.test-support';
import type { ByteRange } from '../http/range';
import { NotFoundError } from '../errors';
import type { Storage } from '../storage/storage';
import { CHECK_CONCURRENCY, zipDownload, zipSource, type ZipEntry } from './zip-download';

const context = { params: Promise.resolve({}) };

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** Entries of in-memory bytes that count every byte they are asked for, in chunks of 16 KiB. */
function memoryEntries(contents: Uint8Array[], { withCrc = true, names }: { withCrc?: boolean; names?: string[] } = {}) {
  const stats = { read: 0, opened: [] as string[] };
  const entries: ZipEntry[] = contents.map((content, i) => ({
    name: names?.[i] ?? `file ${i}.bin`,
    size: content.length,
    lastModified: new Date(Date.UTC(2026, 0, 2, 3, 4, 6 + i * 2)),
    etag: `v${i}-${content.length}`,
    crc32: withCrc ? crc32(content) : undefined,
    open(range?: ByteRange) {
      stats.opened.push(`${i}:${range ? `${range.start}-${range.end}` : 'all'}`);
      const part = range ? content.subarray(range.start, range.end + 1) : content;
      let at = 0;
      return new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (at >= part.length) return controller.close();
            const chunk = part.slice(at, at + 16 * 1024);
            at += chunk.length;
            stats.read += chunk.length;
            controller.enqueue(chunk);
          },
        },
        { highWaterMark: 0 },
      );
    },
  }));
  return { entries, stats };
}

const sample = () => [bytes(100_000, 1), bytes(0, 2), bytes(300_000, 3), bytes(10, 4), bytes(250_000, 5)];

async function body(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

function get(headers: Record<string, string> = {}, method = 'GET') {
  return new Request('http://x/archive.zip', { method, headers });
}

describe('zipDownload', () => {
  describe('a whole archive', () => {
    it('answers 200 with an exact Content-Length, a strong ETag and every entry byte for byte', async () => {
      const contents = sample();
      const { entries } = memoryEntries(contents);
      const { GET } = zipDownload({ filename: 'files.zip', entries: () => entries });
      const response = await GET(get(), context);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/zip');
      expect(response.headers.get('content-disposition')).toContain('files.zip');
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      expect(response.headers.get('etag')).toMatch(/^"zip-[\w-]+"$/);
      const zip = await body(response);
      expect(zip.length).toBe(Number(response.headers.get('content-length')));
      const files = readZip(zip);
      expect(files.map((file) => file.name)).toEqual(entries.map((entry) => entry.name));
      files.forEach((file, i) => expect(Buffer.compare(file.data, contents[i]!)).toBe(0));
    });

    it('is the same bytes, with or without the CRC-32s given', async () => {
      const contents = sample();
      const [withCrc, without] = [memoryEntries(contents), memoryEntries(contents, { withCrc: false })];
      const a = await zipDownload({ entries: () => withCrc.entries }).GET(get(), context);
      const b = await zipDownload({ entries: () => without.entries }).GET(get(), context);
      expect(a.headers.get('etag')).toBe(b.headers.get('etag'));
      expect((await body(a)).equals(await body(b))).toBe(true);
    });

    it('is 22 bytes (an end record) for no entries, and a valid empty archive', async () => {
      const response = await zipDownload({ entries: () => [] }).GET(get(), context);
      expect(response.status).toBe(200);
      const zip = await body(response);
      expect(zip.length).toBe(22);
      expect(readZip(zip)).toEqual([]);
    });

    it('makes the names portable and unique', async () => {
      const { entries } = memoryEntries([bytes(1, 1), bytes(1, 2), bytes(1, 3), bytes(1, 4)], {
        names: ['a.txt', 'A.TXT', '../../etc/passwd', 'CON'],
      });
      const zip = await body(await zipDownload({ entries: () => entries }).GET(get(), context));
      expect(readZip(zip).map((file) => file.name)).toEqual(['a.txt', 'A (2).TXT', '.._.._etc_passwd', '_CON']);
    });

    it('reads rows as an async iterable yields them', async () => {
      const contents = sample();
      const { entries } = memoryEntries(contents);
      async function* rows() {
        for (const entry of entries) yield entry;
      }
      const zip = await body(await zipDownload({ entries: () => rows() }).GET(get(), context));
      expect(readZip(zip)).toHaveLength(contents.length);
    });

    it('answers 404 when entries gives nothing', async () => {
      expect((await zipDownload({ entries: () => undefined }).GET(get(), context)).status).toBe(404);
    });
  });

  describe('HEAD and conditional requests', () => {
    it('answer HEAD and 304 without reading a byte', async () => {
      const { entries, stats } = memoryEntries(sample());
      const { GET, HEAD } = zipDownload({ entries: () => entries });
      const head = await HEAD(get({}, 'HEAD'), context);
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBeGreaterThan(650_000);
      const notModified = await GET(get({ 'if-none-match': head.headers.get('etag')! }), context);
      expect(notModified.status).toBe(304);
      expect(stats.opened).toEqual([]);
      expect(stats.read).toBe(0);
    });

    it('has no Last-Modified: an archive whose newest file stays, and one entry goes, is another archive', async () => {
      // With the newest entry's date as Last-Modified, If-Modified-Since answered 304, and a date in
      // If-Range resumed, across the removal of an older entry.
      const { entries } = memoryEntries(sample());
      const { GET } = zipDownload({ entries: () => entries });
      const date = new Date(Date.UTC(2026, 0, 3)).toUTCString();
      const first = await GET(get(), context);
      expect(first.headers.get('last-modified')).toBeNull();
      await first.arrayBuffer();
      const shorter = zipDownload({ entries: () => entries.slice(1) });
      expect((await shorter.GET(get({ 'if-modified-since': date }), context)).status).toBe(200);
      expect((await shorter.GET(get({ range: 'bytes=100-', 'if-range': date }), context)).status).toBe(200);
    });

    it('changes the ETag when an entry changes', async () => {
      const { entries } = memoryEntries(sample());
      const etag = async (list: ZipEntry[]) => (await zipDownload({ entries: () => list }).HEAD(get({}, 'HEAD'), context)).headers.get('etag');
      const before = await etag(entries);
      expect(await etag(entries.map((entry, i) => (i === 2 ? { ...entry, etag: 'other' } : entry)))).not.toBe(before);
      expect(await etag(entries.map((entry, i) => (i === 2 ? { ...entry, name: 'renamed.bin' } : entry)))).not.toBe(before);
    });
  });

  describe('with a Range header', () => {
    const contents = sample();

    it.each([true, false])('answers every range with the bytes of the whole archive (CRC-32s given: %s)', async (withCrc) => {
      const whole = await body(await zipDownload({ entries: () => memoryEntries(contents, { withCrc }).entries }).GET(get(), context));
      const length = whole.length;
      // Every record boundary region and a spread of others: headers, data, descriptors, the directory, the end.
      const starts = [0, 1, 29, 30, 100_050, 100_100, 100_120, 100_200, 400_000, length - 600, length - 30, length - 22, length - 1];
      for (const start of starts) {
        for (const span of [1, 17, 5_000, 200_000]) {
          const end = Math.min(start + span - 1, length - 1);
          const { entries } = memoryEntries(contents, { withCrc });
          const response = await zipDownload({ entries: () => entries }).GET(get({ range: `bytes=${start}-${end}` }), context);
          expect(response.status).toBe(206);
          expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${length}`);
          const part = await body(response);
          expect(part.equals(whole.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
        }
      }
    });

    it('reads only the entries, and the parts of them, that the range needs when the CRC-32s are known', async () => {
      const { entries: all } = memoryEntries(contents);
      const whole = await body(await zipDownload({ entries: () => all }).GET(get(), context));
      // Resume inside the third entry's data: the first two are not read, the third from the resume point on.
      const start = 100_000 + 300 + 150_000;
      const { entries, stats } = memoryEntries(contents);
      const response = await zipDownload({ entries: () => entries }).GET(get({ range: `bytes=${start}-` }), context);
      const part = await body(response);
      expect(Buffer.concat([whole.subarray(0, start), part]).equals(whole)).toBe(true);
      // Local headers are 30 bytes and the 10-byte name, descriptors 16 bytes.
      const dataStart = (40 + 100_000 + 16) + (40 + 0 + 16) + 40;
      expect(stats.opened).toEqual([`2:${start - dataStart}-${contents[2]!.length - 1}`, '3:all', '4:all']);
      expect(stats.read).toBe(dataStart + 300_000 - start + 10 + 250_000);
    });

    it('reads every entry again without the CRC-32s when the range reaches the central directory, and sends only the range', async () => {
      const { entries, stats } = memoryEntries(contents, { withCrc: false });
      const head = await zipDownload({ entries: () => entries }).HEAD(get({}, 'HEAD'), context);
      const length = Number(head.headers.get('content-length'));
      const response = await zipDownload({ entries: () => entries }).GET(get({ range: `bytes=${length - 100}-` }), context);
      expect((await body(response)).length).toBe(100);
      expect(stats.read).toBe(contents.reduce((sum, content) => sum + content.length, 0));
    });

    it('reads only the entry it is in, from its start, without the CRC-32s, for a range before the directory', async () => {
      const { entries, stats } = memoryEntries(contents, { withCrc: false });
      // Into the third entry's data and through its descriptor: its CRC-32 is needed, the others not.
      const start = 100_000 + 300 + 250_000;
      const response = await zipDownload({ entries: () => entries }).GET(get({ range: `bytes=${start}-400160` }), context);
      expect(response.status).toBe(206);
      await body(response);
      expect(stats.opened).toEqual(['2:all']);
    });

    it('answers If-Range with the current ETag 206 and with another 200, from the same engine', async () => {
      const { entries } = memoryEntries(contents);
      const { GET, HEAD } = zipDownload({ entries: () => entries });
      const etag = (await HEAD(get({}, 'HEAD'), context)).headers.get('etag')!;
      expect((await GET(get({ range: 'bytes=10-', 'if-range': etag }), context)).status).toBe(206);
      expect((await GET(get({ range: 'bytes=10-', 'if-range': '"zip-other"' }), context)).status).toBe(200);
    });

    it('answers several ranges as multipart/byteranges', async () => {
      const { entries } = memoryEntries(contents);
      const { GET } = zipDownload({ entries: () => entries });
      const whole = await body(await GET(get(), context));
      const response = await GET(get({ range: 'bytes=0-9,500000-500009' }), context);
      expect(response.status).toBe(206);
      const text = (await body(response)).toString('latin1');
      expect(text).toContain(whole.subarray(0, 10).toString('latin1'));
      expect(text).toContain(whole.subarray(500_000, 500_010).toString('latin1'));
    });

    it('stitches a download resumed three times into the whole archive', async () => {
      const { entries } = memoryEntries(contents);
      const { GET } = zipDownload({ entries: () => entries });
      const whole = await body(await GET(get(), context));
      const etag = (await GET(get({ range: 'bytes=0-0' }), context)).headers.get('etag')!;
      const cuts = [0, 123_457, 400_001, whole.length];
      const parts: Buffer[] = [];
      for (let i = 0; i + 1 < cuts.length; i++) {
        const response = await GET(get({ range: `bytes=${cuts[i]}-${cuts[i + 1]! - 1}`, 'if-range': etag }), context);
        expect(response.status).toBe(206);
        parts.push(await body(response));
      }
      expect(Buffer.concat(parts).equals(whole)).toBe(true);
    });
  });

  describe('onCrc32', () => {
    afterEach(() => vi.restoreAllMocks());

    it('tells the CRC-32 of each entry read whole that had none, once, and not of one that had it', async () => {
      const contents = sample();
      const told: [number, number][] = [];
      const { entries } = memoryEntries(contents, { withCrc: false });
      const listening = entries.map((entry, i) => ({ ...entry, crc32: i === 0 ? crc32(contents[0]!) : undefined, onCrc32: (sum: number) => told.push([i, sum]) }));
      await body(await zipDownload({ entries: () => listening }).GET(get(), context));
      expect(told).toEqual([1, 2, 3, 4].map((i) => [i, crc32(contents[i]!)]));
    });

    it('logs what the listener throws, and the download goes on', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const contents = sample();
      const { entries } = memoryEntries(contents, { withCrc: false });
      const throwing = entries.map((entry) => ({ ...entry, onCrc32: () => { throw new Error('database down'); } }));
      const files = readZip(await body(await zipDownload({ entries: () => throwing }).GET(get(), context)));
      expect(files).toHaveLength(contents.length);
      expect(String(log.mock.calls[0]?.[0])).toMatch(/onCrc32 of "file 0\.bin" failed/);
    });
  });

  describe('entries without a size', () => {
    it('streams a valid archive without Content-Length, ETag or ranges', async () => {
      const contents = sample();
      const { entries } = memoryEntries(contents);
      const unsized = entries.map(({ size: _size, ...entry }) => entry);
      const response = await zipDownload({ entries: () => unsized }).GET(get({ range: 'bytes=0-9' }), context);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.headers.get('etag')).toBeNull();
      const files = readZip(await body(response));
      files.forEach((file, i) => expect(Buffer.compare(file.data, contents[i]!)).toBe(0));
    });
  });

  describe('an entry that fails after the headers', () => {
    afterEach(() => vi.restoreAllMocks());

    it.each([
      ['is missing', (entry: ZipEntry): ZipEntry => ({ ...entry, open: () => Promise.reject(new Error('gone')) })],
      ['is shorter than its size', (entry: ZipEntry): ZipEntry => ({ ...entry, size: entry.size! + 1 })],
      ['is longer than its size', (entry: ZipEntry): ZipEntry => ({ ...entry, size: entry.size! - 1 })],
      ['is not the CRC-32 given', (entry: ZipEntry): ZipEntry => ({ ...entry, crc32: (entry.crc32! + 1) >>> 0 })],
    ])('errors the body when an entry %s, and logs it', async (_what, spoil) => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const { entries } = memoryEntries(sample());
      const spoiled = entries.map((entry, i) => (i === 2 ? spoil(entry) : entry));
      const response = await zipDownload({ entries: () => spoiled }).GET(get(), context);
      expect(response.status).toBe(200);
      await expect(response.arrayBuffer()).rejects.toThrow();
      expect(log.mock.calls.map((call) => String(call[0]))).toContainEqual(expect.stringMatching(/zipDownload: "file 2\.bin" broke the archive after the headers/));
    });
  });

  describe('entries in a storage', () => {
    let root: string;
    let storage: FileSystemStorage;
    beforeAll(async () => {
      root = await mkdtemp(path.join(os.tmpdir(), 'zip-download-'));
      storage = new FileSystemStorage(root);
      await storage.save('a.bin', bytes(300_000, 1));
      await storage.save('b.bin', bytes(5, 2));
    });
    afterAll(() => rm(root, { recursive: true, force: true }));
    afterEach(() => vi.restoreAllMocks());

    const rows = (): ZipEntry[] => [
      { name: 'a.bin', path: 'a.bin', size: 300_000, crc32: crc32(bytes(300_000, 1)) },
      { name: 'b.bin', path: 'b.bin', size: 5 },
    ];

    it('reads each path from the storage, and a range of it', async () => {
      const { GET } = zipDownload({ storage, entries: rows });
      const whole = await body(await GET(get(), context));
      expect(readZip(whole).map((file) => file.data.length)).toEqual([300_000, 5]);
      const part = await body(await GET(get({ range: 'bytes=200000-' }), context));
      expect(part.equals(whole.subarray(200_000))).toBe(true);
    });

    it('with check, answers 502 before any byte, for GET and HEAD, when a file is missing, and logs which', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const entries = () => [...rows(), { name: 'gone.bin', path: 'gone.bin', size: 3, label: 'row 3' }];
      const { GET, HEAD } = zipDownload({ storage, check: true, entries });
      expect((await GET(get(), context)).status).toBe(502);
      expect((await HEAD(get({}, 'HEAD'), context)).status).toBe(502);
      expect(String(log.mock.calls[0]?.[0])).toMatch(/zipDownload: row 3 breaks the archive: the file is missing from the storage/);
    });

    it(`with check, asks the storage about at most ${CHECK_CONCURRENCY} files at once, and stops at the first failure`, async () => {
      let inFlight = 0;
      let most = 0;
      let asked = 0;
      const slow = {
        open: () => Promise.reject(new Error('not read')),
        async stat(name: string) {
          asked++;
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inFlight--;
          if (name === 'f50') throw new NotFoundError(name);
          return { name, size: 0 };
        },
      } as unknown as Storage;
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const entries = Array.from({ length: 500 }, (_, i): ZipEntry => ({ name: 'x', path: `f${i + 1}`, size: 0 }));
      await expect(zipSource(entries, { storage: slow, check: true })).rejects.toMatchObject({ status: 502 });
      expect(most).toBe(CHECK_CONCURRENCY);
      expect(asked).toBeLessThan(50 + 2 * CHECK_CONCURRENCY);
    });

    it('with check, lets other requests run while it stats 50,000 files on a local disk, which answers synchronously', async () => {
      const entries = Array.from({ length: 50_000 }, (_, i): ZipEntry => ({ name: `b ${i}.bin`, path: 'b.bin', size: 5 }));
      const probe = await probeEventLoop(() => zipSource(entries, { storage, check: true }));
      expect(probe.result.size).toBeGreaterThan(0);
      expect(probe.worstDelayMs).toBeLessThan(holdLimitMs(probe.totalMs));
    });

    it('with check, answers 502 when a file is not of its size', async () => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const { GET } = zipDownload({ storage, check: true, entries: () => [{ name: 'b.bin', path: 'b.bin', size: 6 }] });
      expect((await GET(get(), context)).status).toBe(502);
    });
  });

  describe('many entries', () => {
    it('lets other requests run while zipSource names and lays out 100,000 entries of 5,000 names', async () => {
      // Naming, the layout and the ETag are each a few hundred ms of CPU at this size.
      const empty = () => new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
      const entries = Array.from({ length: 100_000 }, (_, i): ZipEntry => ({ name: `report ${i % 5000}.txt`, size: 0, open: empty }));
      const probe = await probeEventLoop(() => zipSource(entries));
      expect(probe.result.size).toBeGreaterThan(100_000 * (30 + 46 + 16));
      expect(probe.worstDelayMs).toBeLessThan(holdLimitMs(probe.totalMs));
    });
  });

  describe('its options and entries', () => {
    it('refuses a missing entries function and a storage that is not one, when the route loads', () => {
      expect(() => zipDownload({} as never)).toThrow(/entries must be a function/);
      expect(() => zipDownload({ entries: () => [], storage: {} as never })).toThrow(/storage must be a Storage/);
    });

    it.each([
      ['a negative size', { name: 'x', size: -1, open: () => new ReadableStream() }, /size/],
      ['a CRC-32 past 32 bits', { name: 'x', size: 1, crc32: 2 ** 32, open: () => new ReadableStream() }, /crc32/],
      ['neither path nor open', { name: 'x', size: 1 }, /path or an open/],
      ['a path without a storage', { name: 'x', path: 'x' }, /no storage/],
    ])('fails (500) on an entry with %s', async (_what, entry, message) => {
      await expect(zipSource([entry as ZipEntry])).rejects.toThrow(message);
    });
  });
});
