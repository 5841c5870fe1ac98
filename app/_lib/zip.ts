import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { truncateFilename } from 'next-downloadview/http';
import { HttpError, type VirtualFile } from 'next-downloadview';
import { NotFoundError, type Storage } from 'next-downloadview/storage';
import type { FileRow } from '@/db/schema';
import { drain, inTurns, turns } from './turns';

/** One file of the archive: its entry name, and where its bytes are. */
export interface ZipEntry {
  /** The row it comes from, named in the log when its file breaks the archive. */
  row?: { id: number; name: string };
  /** Entry name in the archive: the row's name, made portable and unique (`a.txt`, `a (2).txt`). */
  name: string;
  storagePath: string;
  size: number;
  lastModified: Date;
  sha256: string;
}

// Double extensions kept together when a number is added: `backup (2).tar.gz`, not `backup.tar (2).gz`.
const EXTENSION = /(\.tar)?\.[^.\s]{1,10}$/i;

/**
 * Longest entry name in UTF-8 bytes. The ZIP format itself allows 65,535 (APPNOTE 4.4.10), but
 * the file systems an archive is extracted to take 255 bytes per name (ext4, XFS, APFS; NTFS 255
 * UTF-16 units): a longer entry cannot be extracted anywhere.
 */
export const MAX_ENTRY_NAME_BYTES = 255;

/** What an entry whose name has nothing left once made safe is called. */
export const FALLBACK_ENTRY_NAME = 'unnamed';

/**
 * Characters Windows refuses in a name (`<>:"/\|?*`, and control characters; Microsoft's
 * "Naming Files, Paths, and Namespaces"), and DEL. `/` and `\` would also make folders: an entry
 * `../x` or `/etc/x` would write outside the folder it is extracted to; `:` names an NTFS
 * alternate data stream for some extractors (`re:port.txt` writes a stream `port.txt` of `re`).
 */
// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const REFUSED = /[\u0000-\u001f\u007f<>:"/\\|?*]/g;

/**
 * Device names Windows reserves, whatever the extension and case (`CON`, `nul.txt`, `Com1.tar.gz`):
 * a file of that name cannot be created, and extracting it writes to the device. The same page
 * lists the superscript digits of COM and LPT, and CONIN$ / CONOUT$, as reserved too.
 */
const RESERVED = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$)$/i;

/** Windows drops trailing dots and spaces, so `report.` and `report` would be one file. */
const TRAILING = /[. ]+$/;

/**
 * `stem` + `tail` within `maxBytes` UTF-8 bytes: the stem is cut (between whole characters, by the
 * kit's `truncateFilename`) so that the tail (extension, number) stays; a tail that would leave no
 * room for a stem of its own is cut with the name instead.
 */
function fitName(stem: string, tail: string, maxBytes: number): string {
  const room = maxBytes - Buffer.byteLength(tail, 'utf8');
  if (room < maxBytes / 2) return truncateFilename(stem + tail, maxBytes).replace(TRAILING, '');
  return truncateFilename(stem, room).trimEnd() + tail;
}

/** `name` split into its stem and extension (`backup.tar.gz` -> `backup`, `.tar.gz`); a dotfile has no extension. */
function splitExtension(name: string): [stem: string, extension: string] {
  const extension = EXTENSION.exec(name)?.[0] ?? '';
  return extension && extension.length < name.length ? [name.slice(0, -extension.length), extension] : [name, ''];
}

/**
 * A file name that every common system can extract, deterministically (the same name always gives
 * the same result): no folder separators, no character Windows refuses (each becomes `_`), no
 * trailing dots or spaces, no reserved device name (`CON`, `nul.txt` become `_CON`, `_nul.txt`),
 * never empty ({@link FALLBACK_ENTRY_NAME}), and at most 255 UTF-8 bytes, cut in the stem so that
 * the extension stays. Uniqueness comes after, from {@link UniqueNames}, so two names that become
 * the same here still get two entries.
 */
export function entryName(name: string): string {
  const clean = name.normalize('NFC').replace(REFUSED, '_').trim().replace(TRAILING, '');
  if (clean === '') return FALLBACK_ENTRY_NAME;
  // The device is the part before the first dot, trailing spaces ignored (`CON .txt` is CON too).
  const device = clean.split('.', 1)[0]!.trimEnd();
  const safe = RESERVED.test(device) ? `_${clean}` : clean;
  const fitted = fitName(...splitExtension(safe), MAX_ENTRY_NAME_BYTES);
  return fitted === '' ? FALLBACK_ENTRY_NAME : fitted;
}

/**
 * Makes entry names unique: `name`, or `name (2)`, `name (3)`, ... before the extension,
 * whichever is not taken yet, within 255 UTF-8 bytes (a long stem is cut to make room for the
 * number). Names are compared case-insensitively: extracting `A.txt` and `a.txt` on macOS or
 * Windows would otherwise overwrite one with the other.
 *
 * Linear in the names it is given: each base name remembers the next number to try, so the 8,000th
 * `a.txt` is `a (8000).txt` at once instead of after trying 7,998 taken names (which made an
 * export of 8,000 same-named rows take seconds of CPU, every request of the process waiting).
 * The result depends only on the names and their order.
 */
export class UniqueNames {
  readonly #taken = new Set<string>();
  /** Next number to try, per base name (lower-cased). */
  readonly #next = new Map<string, number>();

  /** A name not given before (case-insensitively), for `name`; remembers it. */
  take(name: string): string {
    const [stem, extension] = splitExtension(name);
    const base = fitName(stem, extension, MAX_ENTRY_NAME_BYTES);
    const baseKey = base.toLowerCase();
    let candidate = base;
    if (this.#taken.has(baseKey)) {
      let n = this.#next.get(baseKey) ?? 2;
      do candidate = fitName(stem, ` (${n++})${extension}`, MAX_ENTRY_NAME_BYTES);
      while (this.#taken.has(candidate.toLowerCase()));
      this.#next.set(baseKey, n);
    }
    this.#taken.add(candidate.toLowerCase());
    return candidate;
  }
}

/**
 * The archive's entries, in row order, with portable unique names. Reads metadata only, never
 * bytes. Gives the event loop a turn every few milliseconds, so a table of many rows does not
 * hold up the other requests of the process.
 */
export async function zipEntries(rows: AsyncIterable<FileRow> | Iterable<FileRow>): Promise<ZipEntry[]> {
  const names = new UniqueNames();
  const entries: ZipEntry[] = [];
  const turn = turns();
  for await (const row of rows) {
    entries.push({
      row: { id: row.id, name: row.name },
      name: names.take(entryName(row.name)),
      storagePath: row.storagePath,
      size: row.size,
      lastModified: row.updatedAt,
      sha256: row.sha256,
    });
    const wait = turn();
    if (wait) await wait;
  }
  return entries;
}

/** How many files `checkEntries` asks the storage about at once. */
export const CHECK_CONCURRENCY = 16;

/** How a row is named in the log: its id and its name, quoted (a name may hold anything). */
function describeRow(entry: ZipEntry): string {
  return entry.row ? `row ${entry.row.id} ${JSON.stringify(entry.row.name)} (${entry.storagePath})` : JSON.stringify(entry.storagePath);
}

/**
 * Checks, before the archive commits to a status, that every entry's file is there with the size
 * its row says (a `stat` each, `concurrency` at a time): the archive's Content-Length is the sum of
 * those sizes, so a missing or different file would otherwise end a 200 short, for every user,
 * until the row is removed.
 *
 * A file that is missing, of another size, or that the storage refuses to name is a 502: the
 * archive exists (its rows do), but the store behind it failed the server; 404 would tell the
 * client and any cache that there is no such export. What the storage itself answers with a 5xx
 * stays (a store that does not answer in time is its 504). One line of the log names the row.
 * When several rows fail, the first in row order is the one reported.
 *
 * The price is one `stat` per row on every request, HEAD included: on a local disk about 20 µs of
 * CPU each here (8,000 rows: ~0.2 s, in turns), on S3 one HEAD request per object.
 */
export async function checkEntries(entries: readonly ZipEntry[], storage: Storage, concurrency = CHECK_CONCURRENCY): Promise<void> {
  let next = 0;
  const failures = new Map<number, unknown>();
  // A local disk answers synchronously (FileSystemStorage's syncFs): the workers then never wait
  // for I/O, and without turns 8,000 checks would be one run of microtasks.
  const turn = turns();
  const worker = async () => {
    for (;;) {
      const wait = turn();
      if (wait) await wait;
      if (failures.size > 0 || next >= entries.length) return;
      const index = next++;
      const entry = entries[index]!;
      try {
        const stored = await storage.stat(entry.storagePath);
        if (stored.size !== entry.size) throw new SizeMismatch(stored.size, entry.size);
      } catch (error) {
        failures.set(index, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  if (failures.size === 0) return;
  const index = Math.min(...failures.keys());
  const entry = entries[index]!;
  const error = failures.get(index);
  console.error(`files.zip: ${describeRow(entry)} breaks the archive: ${reason(error)}`);
  if (error instanceof HttpError && error.status >= 500) throw error;
  if (error instanceof HttpError || error instanceof SizeMismatch) {
    throw new HttpError(502, 'The archive cannot be made: a file is missing from the storage or has changed');
  }
  throw error;
}

class SizeMismatch extends Error {
  constructor(stored: number, expected: number) {
    super(`the stored file has ${stored} bytes, its row ${expected}`);
    this.name = 'SizeMismatch';
  }
}

function reason(error: unknown): string {
  if (error instanceof NotFoundError) return 'the file is missing from the storage';
  if (error instanceof Error) return error.message;
  return String(error);
}

// Stored ZIP, as in PKWARE's APPNOTE.TXT 6.3.10: each entry is a local header, the bytes as they
// are, and a data descriptor carrying the CRC-32 (known only once the bytes have been read, so the
// archive streams in one pass); then the central directory and the end record, with the Zip64
// records (APPNOTE 4.3.14-4.3.16, 4.5.3) for sizes, offsets or counts past the 32/16-bit fields.
const LOCAL = 0x04034b50;
const DESCRIPTOR = 0x08074b50;
const CENTRAL = 0x02014b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const END = 0x06054b50;
/** Bit 3: CRC and sizes follow the data (APPNOTE 4.4.4); bit 11: names are UTF-8 (APPNOTE 4.4.4, appendix D). */
const FLAGS = 0x0808;
/** 2.0 (stored entries, folders) or 4.5 (Zip64), APPNOTE 4.4.3. */
const VERSION = 20;
const VERSION_ZIP64 = 45;
/** Made by: UNIX (upper byte 3), spec 4.5, so that the external attributes below are mode bits (APPNOTE 4.4.2). */
const MADE_BY = (3 << 8) | VERSION_ZIP64;
/** A regular file, rw-r--r--, in the upper half of the external attributes (APPNOTE 4.4.15). */
const FILE_MODE = 0o100644 << 16;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;

/** Sizes past the 32-bit fields go in a Zip64 extra field, and the data descriptor grows to 8-byte sizes. */
const isZip64 = (size: number) => size >= MAX32;

interface Layout {
  name: Buffer;
  size: number;
  zip64: boolean;
  /** Offset of the local header from the start of the archive. */
  offset: number;
  time: number;
  date: number;
}

/** Where every record of the archive goes, and its total length. */
interface Plan {
  items: Layout[];
  directoryOffset: number;
  directorySize: number;
  zip64End: boolean;
  length: number;
}

/**
 * The layout, one entry per step (see `inTurns`): for 70,000 entries it is a few hundred
 * milliseconds of CPU, which the export takes in turns with the other requests.
 */
function* layoutSteps(entries: readonly ZipEntry[]): Generator<undefined, Plan> {
  const items: Layout[] = [];
  let offset = 0;
  let directorySize = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const zip64 = isZip64(entry.size);
    const [time, date] = dosDateTime(entry.lastModified);
    const item = { name, size: entry.size, zip64, offset, time, date };
    items.push(item);
    offset += localHeaderLength(name, zip64) + entry.size + (zip64 ? 24 : 16);
    directorySize += centralHeaderLength(item);
    yield;
  }
  const directoryOffset = offset;
  const zip64End = items.length >= MAX16 || directoryOffset >= MAX32 || directorySize >= MAX32;
  const length = directoryOffset + directorySize + (zip64End ? 56 + 20 : 0) + 22;
  return { items, directoryOffset, directorySize, zip64End, length };
}

function layout(entries: readonly ZipEntry[]): Plan {
  return drain(layoutSteps(entries));
}

const localHeaderLength = (name: Buffer, zip64: boolean) => 30 + name.length + (zip64 ? 20 : 0);

function centralExtraLength(item: Layout): number {
  const fields = (item.zip64 ? 16 : 0) + (item.offset >= MAX32 ? 8 : 0);
  return fields === 0 ? 0 : 4 + fields;
}

const centralHeaderLength = (item: Layout) => 46 + item.name.length + centralExtraLength(item);

/**
 * MS-DOS date and time (APPNOTE 4.4.6) in the server's local time, two-second steps; clamped to
 * the years the format can hold (1980-2107).
 */
function dosDateTime(at: Date): [time: number, date: number] {
  const year = at.getFullYear();
  if (Number.isNaN(year) || year < 1980) return [0, (1 << 5) | 1];
  if (year > 2107) return [(23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31];
  return [
    (at.getHours() << 11) | (at.getMinutes() << 5) | (at.getSeconds() >> 1),
    ((year - 1980) << 9) | ((at.getMonth() + 1) << 5) | at.getDate(),
  ];
}

function localHeader(item: Layout): Buffer {
  const header = Buffer.alloc(localHeaderLength(item.name, item.zip64));
  header.writeUInt32LE(LOCAL, 0);
  header.writeUInt16LE(item.zip64 ? VERSION_ZIP64 : VERSION, 4);
  header.writeUInt16LE(FLAGS, 6);
  // Method 0 (stored) at 8; CRC and sizes are 0 here, in the data descriptor (APPNOTE 4.4.4 bit 3).
  header.writeUInt16LE(item.time, 10);
  header.writeUInt16LE(item.date, 12);
  if (item.zip64) {
    header.writeUInt32LE(MAX32, 18);
    header.writeUInt32LE(MAX32, 22);
  }
  header.writeUInt16LE(item.name.length, 26);
  header.writeUInt16LE(item.zip64 ? 20 : 0, 28);
  item.name.copy(header, 30);
  // Zip64 extended information with zero sizes: tells a reader that the descriptor holds 8-byte sizes (APPNOTE 4.3.9.2).
  if (item.zip64) {
    header.writeUInt16LE(0x0001, 30 + item.name.length);
    header.writeUInt16LE(16, 32 + item.name.length);
  }
  return header;
}

function descriptor(item: Layout, crc: number): Buffer {
  const record = Buffer.alloc(item.zip64 ? 24 : 16);
  record.writeUInt32LE(DESCRIPTOR, 0);
  record.writeUInt32LE(crc, 4);
  if (item.zip64) {
    record.writeBigUInt64LE(BigInt(item.size), 8);
    record.writeBigUInt64LE(BigInt(item.size), 16);
  } else {
    record.writeUInt32LE(item.size, 8);
    record.writeUInt32LE(item.size, 12);
  }
  return record;
}

function centralHeader(item: Layout, crc: number): Buffer {
  const header = Buffer.alloc(centralHeaderLength(item));
  const bigOffset = item.offset >= MAX32;
  header.writeUInt32LE(CENTRAL, 0);
  header.writeUInt16LE(MADE_BY, 4);
  header.writeUInt16LE(item.zip64 || bigOffset ? VERSION_ZIP64 : VERSION, 6);
  header.writeUInt16LE(FLAGS, 8);
  header.writeUInt16LE(item.time, 12);
  header.writeUInt16LE(item.date, 14);
  header.writeUInt32LE(crc, 16);
  header.writeUInt32LE(item.zip64 ? MAX32 : item.size, 20);
  header.writeUInt32LE(item.zip64 ? MAX32 : item.size, 24);
  header.writeUInt16LE(item.name.length, 28);
  header.writeUInt16LE(centralExtraLength(item), 30);
  header.writeUInt32LE(FILE_MODE >>> 0, 38);
  header.writeUInt32LE(bigOffset ? MAX32 : item.offset, 42);
  item.name.copy(header, 46);
  // Zip64 extended information: the 8-byte values of the fields above that read 0xFFFFFFFF, in this order (APPNOTE 4.5.3).
  let at = 46 + item.name.length;
  if (centralExtraLength(item) > 0) {
    header.writeUInt16LE(0x0001, at);
    header.writeUInt16LE(centralExtraLength(item) - 4, at + 2);
    at += 4;
    if (item.zip64) {
      header.writeBigUInt64LE(BigInt(item.size), at);
      header.writeBigUInt64LE(BigInt(item.size), at + 8);
      at += 16;
    }
    if (bigOffset) header.writeBigUInt64LE(BigInt(item.offset), at);
  }
  return header;
}

function endRecords(count: number, directoryOffset: number, directorySize: number, zip64End: boolean): Buffer {
  const records = Buffer.alloc((zip64End ? 76 : 0) + 22);
  let at = 0;
  if (zip64End) {
    // Zip64 end of central directory record (APPNOTE 4.3.14), then its locator (4.3.15).
    records.writeUInt32LE(ZIP64_END, 0);
    records.writeBigUInt64LE(44n, 4);
    records.writeUInt16LE(MADE_BY, 12);
    records.writeUInt16LE(VERSION_ZIP64, 14);
    records.writeBigUInt64LE(BigInt(count), 24);
    records.writeBigUInt64LE(BigInt(count), 32);
    records.writeBigUInt64LE(BigInt(directorySize), 40);
    records.writeBigUInt64LE(BigInt(directoryOffset), 48);
    records.writeUInt32LE(ZIP64_LOCATOR, 56);
    records.writeBigUInt64LE(BigInt(directoryOffset + directorySize), 64);
    records.writeUInt32LE(1, 72);
    at = 76;
  }
  records.writeUInt32LE(END, at);
  records.writeUInt16LE(Math.min(count, MAX16), at + 8);
  records.writeUInt16LE(Math.min(count, MAX16), at + 10);
  records.writeUInt32LE(Math.min(directorySize, MAX32), at + 12);
  records.writeUInt32LE(Math.min(directoryOffset, MAX32), at + 16);
  return records;
}

/** The exact byte length of the archive `makeArchive` writes for these entries (Zip64 included). */
export function zipLength(entries: readonly ZipEntry[]): number {
  return layout(entries).length;
}

/** `zipLength`, computed in turns with the other requests of the process (for a page that shows it). */
export async function zipLengthInTurns(entries: readonly ZipEntry[]): Promise<number> {
  return (await inTurns(layoutSteps(entries))).length;
}

/** Newest modification time of the entries; undefined for an empty archive. */
export function zipLastModified(entries: readonly ZipEntry[]): Date | undefined {
  let newest: Date | undefined;
  for (const entry of entries) if (!newest || entry.lastModified > newest) newest = entry.lastModified;
  return newest;
}

/** Bump when the archive layout changes for the same entries. */
const ZIP_FORMAT = 'stored-dd/v2';

/**
 * A strong ETag of the archive: the bytes are a function of the entries (name, size, content
 * hash, time) and of the server's time zone (ZIP stores local DOS times). With it, an
 * interrupted download of the archive resumes with `Range` + `If-Range`.
 */
export function zipEtag(entries: readonly ZipEntry[]): string {
  return drain(etagSteps(entries));
}

function* etagSteps(entries: readonly ZipEntry[]): Generator<undefined, string> {
  const hash = createHash('sha256').update(ZIP_FORMAT).update(Intl.DateTimeFormat().resolvedOptions().timeZone);
  for (const entry of entries) {
    hash.update(JSON.stringify([entry.name, entry.size, entry.sha256, entry.lastModified.getTime()]));
    yield;
  }
  return `zip-${hash.digest('base64url')}`;
}

/**
 * The archive of `entries`, made as it is read: each file is opened only when the archive
 * reaches it (one file open at a time, the first bytes out before the last file is read), and
 * its chunks are passed on as the storage reads them (1 MiB for FileSystemStorage), never
 * copied; the CRC-32 is zlib's native one (`zlib.crc32`), which runs at memory speed, where a
 * table-driven JavaScript CRC held the whole archive to a few hundred MB/s.
 *
 * The small records around the data (a descriptor and the next header) go out together, so an
 * archive of many small files is not sent a few dozen bytes at a time. If the consumer stops
 * early (the client went away), the file being read is cancelled, which closes it. A file whose
 * length differs from its row fails the archive: its length was promised in Content-Length.
 * `plan` is the layout `zipFile` made already, in turns.
 */
export async function* makeArchive(entries: readonly ZipEntry[], storage: Storage, plan: Plan = layout(entries)): AsyncGenerator<Uint8Array> {
  const directory: Buffer[] = [];
  let pending: Buffer[] = [];
  for (const [index, item] of plan.items.entries()) {
    const entry = entries[index]!;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let crc = 0;
    let size = 0;
    let done = false;
    try {
      reader = (await storage.open(entry.storagePath)).getReader();
      pending.push(localHeader(item));
      yield Buffer.concat(pending);
      pending = [];
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        crc = crc32(chunk.value, crc);
        size += chunk.value.length;
        if (size > item.size) break;
        yield chunk.value;
      }
      done = true;
      if (size !== item.size) throw new Error(`zip: ${entry.storagePath} has ${size > item.size ? 'more' : 'fewer'} bytes than its ${item.size}`);
    } catch (error) {
      // The headers are out: the connection breaks (Content-Length is not met), and the log says
      // which row did it.
      console.error(`files.zip: ${describeRow(entry)} broke the archive after the headers: ${reason(error)}`);
      throw error;
    } finally {
      // A file read to its end is closed already; cancelling it again does nothing.
      if (reader && (!done || size !== item.size)) await reader.cancel().catch(() => undefined);
    }
    pending.push(descriptor(item, crc));
    directory.push(centralHeader(item, crc));
  }
  yield Buffer.concat([...pending, ...directory, endRecords(plan.items.length, plan.directoryOffset, plan.directorySize, plan.zip64End)]);
}

/**
 * The export of `rows` as `files.zip`: entries named, every file checked before a status is
 * decided (see `checkEntries`), exact length, strong ETag; the bytes are made only when a body is
 * sent. Every pass over the rows takes turns with the other requests of the process.
 */
export async function zipFile(rows: AsyncIterable<FileRow> | Iterable<FileRow>, storage: Storage): Promise<VirtualFile> {
  const entries = await zipEntries(rows);
  await checkEntries(entries, storage);
  const plan = await inTurns(layoutSteps(entries));
  const etag = await inTurns(etagSteps(entries));
  return {
    name: 'files.zip',
    contentType: 'application/zip',
    size: plan.length,
    lastModified: zipLastModified(entries),
    etag,
    content: () => makeArchive(entries, storage, plan),
  };
}
