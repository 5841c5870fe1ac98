import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { suitePort } from './ports';

/** Repository root (this file lives in <root>/e2e). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where a run of the suite keeps its state and output: E2E_STATE_DIR, default test-results/. Two
 * copies of the suite in one worktree need one each (and ports of their own: see ./ports.ts).
 */
export const e2eStateDir = path.resolve(repoRoot, process.env.E2E_STATE_DIR || 'test-results');

/** Scratch state of the e2e demo server; wiped before each run so seeding starts from empty. */
export const e2eVarDir = path.join(e2eStateDir, 'e2e-var');

/** MEDIA_ROOT of the demo server under test: specs read the expected bytes from here. */
export const mediaRoot = path.join(e2eVarDir, 'media');

/** DATABASE_URL of the demo server under test. */
export const databaseUrl = path.join(e2eVarDir, 'demo.db');

/** MAX_UPLOAD_BYTES of the demo server under test: 2 MiB. */
export const maxUploadBytes = 2 * 1024 * 1024;

/** The demo server under test: E2E_PORT, else a free port. */
export const e2ePort = suitePort('E2E_PORT');
export const e2eBaseURL = `http://127.0.0.1:${e2ePort}`;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  return sha256(await readFile(file));
}

/** One file of a ZIP archive, as `readZip` finds it. */
export interface ZipFile {
  name: string;
  /** Modification time as stored (MS-DOS local time, two-second steps), read as local time. */
  lastModified: Date;
  data: Buffer;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * A small ZIP reader for tests (APPNOTE 6.3.10): walks the central directory (Zip64 included)
 * and returns each stored (uncompressed) file, checking its CRC-32 against the bytes. Throws on
 * anything it does not understand, so a malformed archive fails the test.
 */
export function readZip(zip: Buffer): ZipFile[] {
  // The end record is the last 22 bytes, or more if there is a comment (up to 64 KiB).
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === EOCD) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error('zip: no end of central directory record');
  let count = zip.readUInt16LE(end + 10);
  let directorySize = zip.readUInt32LE(end + 12);
  let directoryOffset = zip.readUInt32LE(end + 16);
  if (end >= 20 && zip.readUInt32LE(end - 20) === ZIP64_LOCATOR) {
    const zip64End = Number(zip.readBigUInt64LE(end - 20 + 8));
    if (zip.readUInt32LE(zip64End) !== ZIP64_EOCD) throw new Error('zip: bad Zip64 end record');
    count = Number(zip.readBigUInt64LE(zip64End + 32));
    directorySize = Number(zip.readBigUInt64LE(zip64End + 40));
    directoryOffset = Number(zip.readBigUInt64LE(zip64End + 48));
  }
  if (directoryOffset + directorySize > zip.length) throw new Error('zip: central directory past the end');

  const files: ZipFile[] = [];
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== CENTRAL) throw new Error(`zip: bad central directory entry ${i}`);
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const time = zip.readUInt16LE(at + 12);
    const date = zip.readUInt16LE(at + 14);
    const crc = zip.readUInt32LE(at + 16);
    let compressedSize = zip.readUInt32LE(at + 20);
    let size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    let localOffset = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString(flags & 0x800 ? 'utf8' : 'latin1');
    // Zip64 extended information (0x0001): the 64-bit values of the fields that read 0xFFFFFFFF, in order.
    const extra = zip.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let field = e + 4;
        if (size === 0xffffffff) {
          size = Number(extra.readBigUInt64LE(field));
          field += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(extra.readBigUInt64LE(field));
          field += 8;
        }
        if (localOffset === 0xffffffff) localOffset = Number(extra.readBigUInt64LE(field));
      }
      e += 4 + length;
    }
    if (method !== 0) throw new Error(`zip: ${name}: compression method ${method} is not supported here`);
    if (compressedSize !== size) throw new Error(`zip: ${name}: stored entry with two sizes`);
    if (zip.readUInt32LE(localOffset) !== LOCAL) throw new Error(`zip: ${name}: bad local header`);
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + size);
    if (data.length !== size) throw new Error(`zip: ${name}: data past the end`);
    if (crc32(data) !== crc) throw new Error(`zip: ${name}: CRC-32 mismatch`);
    const lastModified = new Date(
      (date >> 9) + 1980,
      ((date >> 5) & 0xf) - 1,
      date & 0x1f,
      time >> 11,
      (time >> 5) & 0x3f,
      (time & 0x1f) * 2,
    );
    files.push({ name, lastModified, data });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

export const crc32: (data: Uint8Array) => number = zlib.crc32;
