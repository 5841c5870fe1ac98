import { HttpError, type VirtualFile } from '@/lib';

export const MAX_COUNT = 100_000_000;
export const DEFAULT_COUNT = 1000;

/** Reads `?count=`: a whole number from 1 to 10^8 in plain decimal; anything else is a 400. */
export function parseCount(value: string | null): number {
  if (value === null) return DEFAULT_COUNT;
  const count = /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : NaN;
  if (!(count >= 1 && count <= MAX_COUNT)) {
    throw new HttpError(400, `count must be a whole number from 1 to ${MAX_COUNT}`);
  }
  return count;
}

/** Exact byte length of `1\n2\n...count\n`, so the export has a Content-Length and resumes. */
export function numbersSize(count: number): number {
  let size = 0;
  for (let digits = 1, low = 1; low <= count; digits++, low *= 10) {
    const high = Math.min(count, low * 10 - 1);
    size += (high - low + 1) * (digits + 1);
  }
  return size;
}

const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;
const ZERO = 0x30;

/**
 * Yields `1\n2\n...count\n` as ASCII bytes in 256 KiB chunks. The digits are kept as an
 * odometer and copied, not formatted: number-to-string per line would cap the export far below
 * what the socket can take.
 */
export function* numbers(count: number): Generator<Uint8Array> {
  const digits = new Uint8Array(10);
  let width = 1;
  digits[9] = ZERO + 1;
  let chunk = new Uint8Array(CHUNK);
  let at = 0;
  for (let n = 1; n <= count; n++) {
    if (at + width + 1 > CHUNK) {
      yield chunk.subarray(0, at);
      chunk = new Uint8Array(CHUNK);
      at = 0;
    }
    chunk.set(digits.subarray(10 - width), at);
    at += width;
    chunk[at++] = NEWLINE;
    // Increment the odometer.
    let i = 9;
    while (i >= 0 && digits[i] === ZERO + 9) digits[i--] = ZERO;
    if (i < 10 - width) {
      width++;
      digits[10 - width] = ZERO + 1;
    } else {
      digits[i] = digits[i]! + 1;
    }
  }
  if (at > 0) yield chunk.subarray(0, at);
}

export function numbersFile(countParam: string | null): VirtualFile {
  const count = parseCount(countParam);
  return {
    name: 'numbers.txt',
    contentType: 'text/plain',
    size: numbersSize(count),
    // The content is a pure function of the count: a strong, versioned validator.
    etag: `numbers-${count}-v1`,
    content: () => numbers(count),
  };
}
