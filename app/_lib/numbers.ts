import { HttpError, type VirtualFile } from 'next-downloadview';

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

const FIRST_CHUNK = 64 * 1024;
const CHUNK = 1024 * 1024;
const NEWLINE = 0x0a;
const ZERO = 0x30;
/** Numbers from 1000 on are written a thousand lines at a time: those lines differ only in their prefix. */
const BLOCK = 1000;

/**
 * Yields `1\n2\n...count\n` as ASCII bytes, in 1 MiB chunks after a 64 KiB first one (the size the
 * kit reads files in: fewer, larger writes). Nothing is formatted per line (number-to-string per line
 * caps the export far below what a socket takes): lines 1..999 are written once as text, and
 * from 1000 on a block holds the thousand lines that share a prefix (`12345000\n...12345999\n`);
 * the next block is the same bytes with the prefix incremented, which patches one digit column
 * (rarely more) instead of rewriting each line.
 */
export function* numbers(count: number): Generator<Uint8Array> {
  const out = new Chunker();
  const small = Math.min(count, BLOCK - 1);
  yield* out.write(new TextEncoder().encode(Array.from({ length: small }, (_, i) => `${i + 1}\n`).join('')));
  let n = small + 1;
  while (n <= count) {
    const width = String(n).length;
    const block = blockFor(n, width);
    const line = width + 1;
    const prefixWidth = width - 3;
    // One width: from n (a multiple of 1000) up to the last number with this many digits.
    const last = Math.min(count, 10 ** width - 1);
    for (;;) {
      const lines = Math.min(BLOCK, last - n + 1);
      yield* out.write(block.subarray(0, lines * line));
      n += lines;
      if (n > last) break;
      // Increment the prefix in every line: the carried columns, from the right.
      let column = prefixWidth - 1;
      for (;;) {
        const digit = block[column]! === ZERO + 9 ? ZERO : block[column]! + 1;
        for (let at = column; at < block.length; at += line) block[at] = digit;
        if (digit !== ZERO) break;
        column--;
      }
    }
  }
  yield* out.end();
}

/** The thousand lines `n..n+999`, each `width` digits and a newline; n is a multiple of 1000. */
function blockFor(n: number, width: number): Uint8Array {
  const line = width + 1;
  const block = new Uint8Array(BLOCK * line);
  const prefix = String(n / BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    const text = prefix + String(i).padStart(3, '0');
    for (let j = 0; j < width; j++) block[i * line + j] = text.charCodeAt(j);
    block[i * line + width] = NEWLINE;
  }
  return block;
}

/**
 * Packs writes into fresh chunks (a yielded chunk is never written again): a small first one, so
 * the first bytes leave at once, then 1 MiB ones.
 */
class Chunker {
  private chunk = new Uint8Array(FIRST_CHUNK);
  private at = 0;

  *write(bytes: Uint8Array): Generator<Uint8Array> {
    let from = 0;
    while (from < bytes.length) {
      const take = Math.min(bytes.length - from, this.chunk.length - this.at);
      this.chunk.set(bytes.subarray(from, from + take), this.at);
      this.at += take;
      from += take;
      if (this.at === this.chunk.length) yield* this.flush();
    }
  }

  *end(): Generator<Uint8Array> {
    if (this.at > 0) yield* this.flush();
  }

  private *flush(): Generator<Uint8Array> {
    yield this.chunk.subarray(0, this.at);
    this.chunk = new Uint8Array(CHUNK);
    this.at = 0;
  }
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
