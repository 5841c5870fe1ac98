/**
 * The bench's test files: deterministic bytes (an AES-256-CTR keystream keyed by the size), written
 * once into a cache folder and reused; linked into each run's media folder and read once so they
 * sit in the page cache before anything is measured.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, linkSync, mkdirSync, copyFileSync, renameSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';

const VERSION = 'v1';
const WRITE_CHUNK = 8 * 1024 * 1024;

function keystream(size: number) {
  const key = createHash('sha256').update(`next-downloadview bench ${VERSION} ${size}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
}

/** The cached file of `size` bytes, created if missing. */
export async function cachedFile(cacheDir: string, size: number): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `bench-${VERSION}-${size}.bin`);
  if (existsSync(file) && statSync(file).size === size) return file;
  const partial = `${file}.${process.pid}.partial`;
  const cipher = keystream(size);
  const out = createWriteStream(partial);
  const zeros = Buffer.alloc(WRITE_CHUNK);
  for (let written = 0; written < size; ) {
    const n = Math.min(WRITE_CHUNK, size - written);
    if (!out.write(cipher.update(n === WRITE_CHUNK ? zeros : zeros.subarray(0, n)))) await once(out, 'drain');
    written += n;
  }
  out.end();
  await once(out, 'finish');
  renameSync(partial, file);
  return file;
}

/** Places `source` at `target`: a hard link when the file systems allow it, a copy otherwise. */
export function placeFile(source: string, target: string): void {
  mkdirSync(path.dirname(target), { recursive: true });
  try {
    linkSync(source, target);
  } catch {
    copyFileSync(source, target);
  }
}

/** Reads the whole file once (into the page cache); returns its SHA-256. */
export async function warm(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function readAll(file: string): Promise<Buffer> {
  return readFile(file);
}

/** Bytes `start..end` (inclusive) of a file. */
export async function readSlice(file: string, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { start, end })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
