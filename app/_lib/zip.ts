import { createHash } from 'node:crypto';
import { predictLength } from 'client-zip';
import type { Storage } from 'next-downloadview/storage';
import type { FileRow } from '@/db/schema';

/** One file of the archive: its entry name, and where its bytes are. */
export interface ZipEntry {
  /** Entry name in the archive: the row's name, made unique (`a.txt`, `a (2).txt`). */
  name: string;
  storagePath: string;
  size: number;
  lastModified: Date;
  sha256: string;
}

// Double extensions kept together when a number is added: `backup (2).tar.gz`, not `backup.tar (2).gz`.
const EXTENSION = /(\.tar)?\.[^.\s]{1,10}$/i;

/**
 * A file name that is safe as a ZIP entry: no folder separators (an entry `../x` or `/etc/x`
 * would write outside the folder it is extracted to), no control characters, not only dots.
 */
export function entryName(name: string): string {
  const clean = name
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001f\u007f/\\]/g, '_')
    .trim();
  return clean === '' || /^\.+$/.test(clean) ? `_${clean}` : clean;
}

/**
 * `name`, or `name (2)`, `name (3)`, ... before the extension, whichever is not taken yet.
 * Names are compared case-insensitively: extracting `A.txt` and `a.txt` on macOS or Windows
 * would otherwise overwrite one with the other. Adds the name it returns to `taken`.
 */
export function uniqueName(name: string, taken: Set<string>): string {
  const key = (candidate: string) => candidate.toLowerCase();
  let candidate = name;
  const extension = EXTENSION.exec(name)?.[0] ?? '';
  const stem = extension && extension.length < name.length ? name.slice(0, -extension.length) : name;
  const suffix = stem === name ? '' : extension;
  for (let n = 2; taken.has(key(candidate)); n++) candidate = `${stem} (${n})${suffix}`;
  taken.add(key(candidate));
  return candidate;
}

/** The archive's entries, in row order, with unique names. Reads metadata only, never bytes. */
export async function zipEntries(rows: AsyncIterable<FileRow> | Iterable<FileRow>): Promise<ZipEntry[]> {
  const taken = new Set<string>();
  const entries: ZipEntry[] = [];
  for await (const row of rows) {
    entries.push({
      name: uniqueName(entryName(row.name), taken),
      storagePath: row.storagePath,
      size: row.size,
      lastModified: row.updatedAt,
      sha256: row.sha256,
    });
  }
  return entries;
}

/** The exact byte length of the archive `makeZip` writes for these entries (Zip64 included). */
export function zipLength(entries: readonly ZipEntry[]): number {
  return Number(predictLength(entries.map(({ name, size, lastModified }) => ({ name, size, lastModified }))));
}

/** Newest modification time of the entries; undefined for an empty archive. */
export function zipLastModified(entries: readonly ZipEntry[]): Date | undefined {
  let newest: Date | undefined;
  for (const entry of entries) if (!newest || entry.lastModified > newest) newest = entry.lastModified;
  return newest;
}

/** Bump when the archive layout changes for the same entries (another ZIP library, say). */
const ZIP_FORMAT = 'client-zip-2.5/stored/v1';

/**
 * A strong ETag of the archive: the bytes are a function of the entries (name, size, content
 * hash, time) and of the server's time zone (ZIP stores local DOS times). With it, an
 * interrupted download of the archive resumes with `Range` + `If-Range`.
 */
export function zipEtag(entries: readonly ZipEntry[]): string {
  const hash = createHash('sha256').update(ZIP_FORMAT).update(Intl.DateTimeFormat().resolvedOptions().timeZone);
  for (const entry of entries) {
    hash.update(JSON.stringify([entry.name, entry.size, entry.sha256, entry.lastModified.getTime()]));
  }
  return `zip-${hash.digest('base64url')}`;
}

/** What `makeZip` reads: one entry at a time, its bytes a stream. */
export interface ZipInput {
  name: string;
  lastModified: Date;
  size: number;
  input: ReadableStream<Uint8Array>;
}

/**
 * The entries for `makeZip`, each file opened only when the archive reaches it, so one file is
 * open at a time and the first bytes go out before the last file is read.
 *
 * If the archive is cancelled (the client went away), `makeZip` throws the reason into this
 * generator; the file being read is then cancelled here, which closes it (`makeZip` holds a lock
 * on the stream it reads and never releases it), and the generator ends without an error.
 */
export async function* openEach(entries: readonly ZipEntry[], storage: Storage): AsyncGenerator<ZipInput> {
  let reading: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    for (const entry of entries) {
      reading = (await storage.open(entry.storagePath)).getReader();
      try {
        yield { name: entry.name, lastModified: entry.lastModified, size: entry.size, input: readerStream(reading) };
      } catch {
        // The cancellation reason, thrown in by makeZip: not an error of the archive. Stop quietly.
        return;
      }
    }
  } finally {
    // A file read to its end is closed already; cancelling it again does nothing.
    await reading?.cancel().catch(() => undefined);
  }
}

/** A stream reading from `reader`, which this module keeps so it can cancel it. */
function readerStream(reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
