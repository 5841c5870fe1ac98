import { crc32 } from 'node:zlib';
import type { ByteRange } from '../http/range';
import { eventLoopTurn } from '../streams/event-loop-turn';
import {
  centralHeader,
  centralHeaderLength,
  descriptor,
  descriptorLength,
  endRecords,
  endRecordsLength,
  localHeader,
  localHeaderLength,
  needsZip64End,
  type EntryLayout,
} from './zip-format';

/** An entry ready to be written: its layout, its CRC-32 when known ahead, and how to read it. */
export interface ArchiveEntry {
  layout: EntryLayout;
  /** The CRC-32 of the entry's bytes, when the caller knows it: then only the bytes a range needs are read. */
  crc32?: number;
  /** How the log names the entry when it breaks the archive. */
  label: string;
  /** The entry's bytes, or the range of them (inclusive offsets within the entry). */
  read(range?: ByteRange): Promise<ReadableStream<Uint8Array>>;
  /** Told the CRC-32 once the entry has been read whole, when it was not known ahead. */
  onCrc32?(crc32: number): void;
}

/** The archive's entries and, when every size is known, where each record goes and the total length. */
export interface ArchivePlan {
  entries: readonly ArchiveEntry[];
  /** Offset of the central directory; undefined when a size is known only once read. */
  directoryOffset?: number;
  /** The exact length of the archive; undefined when a size is known only once read. */
  length?: number;
}

/** Small records are gathered up to this many bytes before they are sent (70,000 central headers are ~6 MB). */
const GATHER_BYTES = 64 * 1024;

/**
 * Where every record goes, and the archive's exact length, when every entry's size is known.
 * Takes turns with the other requests of the process (70,000 entries are a few hundred ms of CPU).
 */
export async function planArchive(entries: readonly ArchiveEntry[]): Promise<ArchivePlan> {
  let offset = 0;
  let directorySize = 0;
  for (const { layout } of entries) {
    if (layout.size === undefined) return { entries };
    directorySize += centralHeaderLength(layout, offset);
    offset += localHeaderLength(layout) + layout.size + descriptorLength(layout);
    const wait = eventLoopTurn();
    if (wait) await wait;
  }
  const length = offset + directorySize + endRecordsLength(needsZip64End(entries.length, offset, directorySize));
  return { entries, directoryOffset: offset, length };
}

/** An entry that failed once its bytes had begun: the archive, whose length is promised, breaks. */
export class EntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryError';
  }
}

/**
 * The bytes `range.start..range.end` of the archive (all of it without a range), made as they
 * are read. Entries are read one at a time, each opened only when the archive reaches it, their
 * chunks passed on as the source gives them (never copied); small records go out together.
 *
 * What is read for a range:
 * - an entry whose data the range touches: only the part it needs (a ranged read);
 * - an entry whose data descriptor or central-directory header the range holds, and whose CRC-32
 *   is not known ahead: all of it, from its first byte, to compute the CRC-32;
 * - nothing else. With every CRC-32 known, a resume at 90% of an archive reads the last 10% of
 *   its bytes; without them, a range that reaches the central directory reads every entry, as a
 *   download from the first byte does (only the range is sent).
 *
 * An entry whose bytes are missing, shorter or longer than its size, or (when read whole) whose
 * CRC-32 is not the one given throws: the body errors and the connection breaks, since its
 * length was promised; never an archive that looks whole with a hole in it. The file being read
 * is cancelled (closed) when the consumer stops early.
 */
export async function* archiveBytes(plan: ArchivePlan, range?: ByteRange, log = logBreak): AsyncGenerator<Uint8Array> {
  const { entries } = plan;
  const start = range?.start ?? 0;
  const end = range?.end ?? Number.POSITIVE_INFINITY;
  const wantDirectory = plan.directoryOffset === undefined || end >= plan.directoryOffset;
  const offsets = new Float64Array(entries.length);
  const sizes = new Float64Array(entries.length);
  const crcs = new Uint32Array(entries.length);
  let pos = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  /** The part of a record at `pos` that the range holds. */
  const take = (record: Uint8Array) => {
    const from = Math.max(start - pos, 0);
    const to = Math.min(end - pos + 1, record.length);
    if (from < to) {
      pending.push(from === 0 && to === record.length ? record : record.subarray(from, to));
      pendingBytes += to - from;
    }
    pos += record.length;
  };
  const flush = (): Uint8Array => {
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return out;
  };

  for (const [index, entry] of entries.entries()) {
    if (pos > end) break;
    const item = entry.layout;
    offsets[index] = pos;
    const size = item.size;
    if (size !== undefined) {
      sizes[index] = size;
      const total = localHeaderLength(item) + size + descriptorLength(item);
      // Wholly before the range, and its CRC-32 known or not needed: only its length counts.
      if (pos + total <= start && (entry.crc32 !== undefined || !wantDirectory || size === 0)) {
        crcs[index] = entry.crc32 ?? 0;
        pos += total;
        const wait = eventLoopTurn();
        if (wait) await wait;
        continue;
      }
    }
    take(localHeader(item));
    const dataStart = pos;
    let crc = entry.crc32;
    const read = entryRead(size, crc !== undefined, dataStart, descriptorLength(item), { start, end, wantDirectory });
    if (size !== undefined && size <= 0 && crc === undefined) {
      // Nothing to read: the CRC-32 of no bytes is 0.
      crc = 0;
      entry.onCrc32?.(0);
    }
    if (read) {
      if (pendingBytes > 0) yield flush();
      const result = yield* readEntry(entry, read, size, crc, log);
      crc = result.crc;
      if (size === undefined) sizes[index] = result.got;
    }
    pos = dataStart + sizes[index]!;
    crcs[index] = crc ?? 0;
    take(descriptor(item, crcs[index]!, sizes[index]!));
    if (pendingBytes >= GATHER_BYTES) yield flush();
  }

  if (wantDirectory && pos <= end) {
    const directoryOffset = pos;
    for (const [index, entry] of entries.entries()) {
      take(centralHeader(entry.layout, crcs[index]!, sizes[index]!, offsets[index]!));
      if (pendingBytes >= GATHER_BYTES) yield flush();
      const wait = eventLoopTurn();
      if (wait) await wait;
    }
    take(endRecords(entries.length, directoryOffset, pos - directoryOffset));
  }
  if (pendingBytes > 0) yield flush();
}

/** Which bytes of an entry's data to read, which of them to pass on, and whether to check its CRC-32. */
interface EntryRead {
  /** The bytes passed on, as offsets within what is read: `from` inclusive, `to` exclusive. */
  from: number;
  to: number;
  /** The part of the entry to read (inclusive offsets); undefined to read all of it. */
  part?: ByteRange;
  /** Whether the entry is read whole, so that its CRC-32 is computed and checked. */
  checkCrc: boolean;
}

/**
 * What to read of an entry whose data starts at `dataStart` in the archive, for the bytes
 * `window.start..window.end`: all of it when its size or a needed CRC-32 is known only once read,
 * only the part the range touches otherwise, and nothing (undefined) when it is empty or the range
 * needs none of it.
 */
function entryRead(
  size: number | undefined,
  crcKnown: boolean,
  dataStart: number,
  descriptorBytes: number,
  window: { start: number; end: number; wantDirectory: boolean },
): EntryRead | undefined {
  const { start, end, wantDirectory } = window;
  if (size === undefined) return { from: 0, to: Number.POSITIVE_INFINITY, checkCrc: true };
  if (size <= 0) return undefined;
  const dataEnd = dataStart + size;
  const descriptorInRange = dataEnd <= end && dataEnd + descriptorBytes > start;
  const from = Math.max(start, dataStart) - dataStart;
  const to = Math.min(end + 1, dataEnd) - dataStart;
  if (!crcKnown && (wantDirectory || descriptorInRange)) return { from, to, checkCrc: true };
  if (from >= to) return undefined;
  const whole = from === 0 && to === size;
  return { from: 0, to: to - from, part: whole ? undefined : { start: from, end: to - 1 }, checkCrc: whole };
}

/**
 * Reads one entry as `read` says and yields the bytes it passes on, never copied. Throws an
 * EntryError when the entry has more or fewer bytes than expected or, read whole, a CRC-32 other
 * than the one given; whatever breaks the entry is logged, then thrown. Cancels the stream when
 * stopped early. Returns how many bytes were read and the entry's CRC-32 (computed when read
 * whole, else the one given).
 */
async function* readEntry(
  entry: ArchiveEntry,
  read: EntryRead,
  size: number | undefined,
  crc: number | undefined,
  log: (entry: ArchiveEntry, error: unknown) => void,
): AsyncGenerator<Uint8Array, { got: number; crc: number | undefined }> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let done = false;
  let got = 0;
  let sum = 0;
  // A ranged read is counted against its part; a whole one against the entry's size.
  const expected = read.part ? read.part.end - read.part.start + 1 : size;
  try {
    reader = (await entry.read(read.part)).getReader();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      const bytes = chunk.value;
      const at = got;
      got += bytes.length;
      if (expected !== undefined && got > expected) break;
      if (read.checkCrc) sum = crc32(bytes, sum);
      const from = Math.max(read.from - at, 0);
      const to = Math.min(read.to - at, bytes.length);
      if (from < to) yield from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to);
    }
    done = true;
    if (expected !== undefined && got !== expected) {
      throw new EntryError(`it has ${got > expected ? 'more' : 'fewer'} bytes than its ${expected}`);
    }
    if (read.checkCrc) {
      if (crc !== undefined && crc !== sum) throw new EntryError(`its CRC-32 is ${hex(sum)}, not the ${hex(crc)} given`);
      if (crc === undefined) entry.onCrc32?.(sum);
      crc = sum;
    }
  } catch (error) {
    log(entry, error);
    throw error;
  } finally {
    // A stream read to its end is closed already; cancelling it again does nothing.
    if (reader && (!done || got !== expected)) await reader.cancel().catch(() => undefined);
  }
  return { got, crc };
}

const hex = (value: number) => `0x${value.toString(16).padStart(8, '0')}`;

function logBreak(entry: ArchiveEntry, error: unknown): void {
  const reason = error instanceof Error ? error.message : String(error);
  console.error(`next-downloadview: zipDownload: ${entry.label} broke the archive after the headers: ${reason}`);
}
