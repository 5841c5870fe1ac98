// Stored ZIP, as in PKWARE's APPNOTE.TXT 6.3.10: each entry is a local header, the bytes as they
// are, and a data descriptor carrying the CRC-32; then the central directory and the end record,
// with the Zip64 records (APPNOTE 4.3.14-4.3.16, 4.5.3) for sizes, offsets or counts past the
// 32/16-bit fields.
//
// Every entry has a data descriptor, whether or not its CRC-32 is known ahead: the bytes of an
// archive are then the same whoever knows the CRCs, so a download begun before they were known
// (and stored) resumes after, under the same ETag. A known CRC only changes what has to be read.
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
export const MAX32 = 0xffffffff;
const MAX16 = 0xffff;

/** Length of the end records: the Zip64 end record and locator (when needed), and the classic end record. */
export const endRecordsLength = (zip64End: boolean) => (zip64End ? 56 + 20 : 0) + 22;

/** An entry as the format sees it: its name in bytes, its size (if known ahead) and its DOS time. */
export interface EntryLayout {
  name: Buffer;
  /** Undefined when the size is known only once the bytes are read: the entry is then Zip64. */
  size: number | undefined;
  /** Sizes past the 32-bit fields (or unknown) go in Zip64 fields, and the descriptor has 8-byte sizes. */
  zip64: boolean;
  time: number;
  date: number;
}

export function entryLayout(name: string, size: number | undefined, lastModified: Date | undefined): EntryLayout {
  const [time, date] = dosDateTime(lastModified);
  return { name: Buffer.from(name, 'utf8'), size, zip64: size === undefined || size >= MAX32, time, date };
}

export const localHeaderLength = (item: EntryLayout) => 30 + item.name.length + (item.zip64 ? 20 : 0);
export const descriptorLength = (item: EntryLayout) => (item.zip64 ? 24 : 16);

function centralExtraLength(item: EntryLayout, offset: number): number {
  const fields = (item.zip64 ? 16 : 0) + (offset >= MAX32 ? 8 : 0);
  return fields === 0 ? 0 : 4 + fields;
}

export const centralHeaderLength = (item: EntryLayout, offset: number) => 46 + item.name.length + centralExtraLength(item, offset);

/** Whether the archive needs the Zip64 end records (APPNOTE 4.4.1.4: a count, size or offset past its field). */
export const needsZip64End = (count: number, directoryOffset: number, directorySize: number) =>
  count >= MAX16 || directoryOffset >= MAX32 || directorySize >= MAX32;

/**
 * MS-DOS date and time (APPNOTE 4.4.6) in the server's local time, two-second steps; clamped to
 * the years the format can hold (1980-2107). No date is 1980-01-01.
 */
function dosDateTime(at: Date | undefined): [time: number, date: number] {
  const year = at?.getFullYear() ?? Number.NaN;
  if (!at || Number.isNaN(year) || year < 1980) return [0, (1 << 5) | 1];
  if (year > 2107) return [(23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31];
  return [
    (at.getHours() << 11) | (at.getMinutes() << 5) | (at.getSeconds() >> 1),
    ((year - 1980) << 9) | ((at.getMonth() + 1) << 5) | at.getDate(),
  ];
}

export function localHeader(item: EntryLayout): Buffer {
  const header = Buffer.alloc(localHeaderLength(item));
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

export function descriptor(item: EntryLayout, crc: number, size: number): Buffer {
  const record = Buffer.alloc(descriptorLength(item));
  record.writeUInt32LE(DESCRIPTOR, 0);
  record.writeUInt32LE(crc, 4);
  if (item.zip64) {
    record.writeBigUInt64LE(BigInt(size), 8);
    record.writeBigUInt64LE(BigInt(size), 16);
  } else {
    record.writeUInt32LE(size, 8);
    record.writeUInt32LE(size, 12);
  }
  return record;
}

export function centralHeader(item: EntryLayout, crc: number, size: number, offset: number): Buffer {
  const extra = centralExtraLength(item, offset);
  const header = Buffer.alloc(46 + item.name.length + extra);
  const bigOffset = offset >= MAX32;
  header.writeUInt32LE(CENTRAL, 0);
  header.writeUInt16LE(MADE_BY, 4);
  header.writeUInt16LE(item.zip64 || bigOffset ? VERSION_ZIP64 : VERSION, 6);
  header.writeUInt16LE(FLAGS, 8);
  header.writeUInt16LE(item.time, 12);
  header.writeUInt16LE(item.date, 14);
  header.writeUInt32LE(crc, 16);
  header.writeUInt32LE(item.zip64 ? MAX32 : size, 20);
  header.writeUInt32LE(item.zip64 ? MAX32 : size, 24);
  header.writeUInt16LE(item.name.length, 28);
  header.writeUInt16LE(extra, 30);
  header.writeUInt32LE(FILE_MODE >>> 0, 38);
  header.writeUInt32LE(bigOffset ? MAX32 : offset, 42);
  item.name.copy(header, 46);
  // Zip64 extended information: the 8-byte values of the fields above that read 0xFFFFFFFF, in this order (APPNOTE 4.5.3).
  let at = 46 + item.name.length;
  if (extra > 0) {
    header.writeUInt16LE(0x0001, at);
    header.writeUInt16LE(extra - 4, at + 2);
    at += 4;
    if (item.zip64) {
      header.writeBigUInt64LE(BigInt(size), at);
      header.writeBigUInt64LE(BigInt(size), at + 8);
      at += 16;
    }
    if (bigOffset) header.writeBigUInt64LE(BigInt(offset), at);
  }
  return header;
}

export function endRecords(count: number, directoryOffset: number, directorySize: number): Buffer {
  const zip64End = needsZip64End(count, directoryOffset, directorySize);
  const records = Buffer.alloc(endRecordsLength(zip64End));
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
