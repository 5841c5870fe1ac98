import { createHash } from 'node:crypto';
import { FileChangedError, HttpError, NotFoundError } from '../errors';
import { checkRequestedPath } from '../fs/confine';
import type { OpenOptions, SaveContent, SaveOptions, Storage, StoredFile } from '../storage/storage';
import { bytesStream } from '../streams/bytes-stream';

interface MemoryFile {
  bytes: Uint8Array<ArrayBuffer>;
  lastModified: Date;
  etag: string;
  contentType?: string;
}

/** Files to start with: name -> content (text is stored as UTF-8). */
export type MemoryFiles = Record<string, string | Uint8Array>;

/**
 * A `Storage` that keeps its files in memory (Laravel's `Storage::fake()`): give it to a factory in
 * a test, and the route reads, saves and lists without a folder or a bucket. It keeps the storage
 * contract the real storages keep (the same suite runs against it): names are checked as
 * `FileSystemStorage` checks them, saves are atomic and bounded by `maxBytes`, a replaced file
 * fails an `ifMatch` open, and the ETag is the SHA-256 of the content, as a checksum column gives.
 *
 * @example
 * import { storageDownload } from 'next-downloadview';
 * import { MemoryStorage } from 'next-downloadview/testing';
 * const { GET } = storageDownload({ storage: new MemoryStorage({ 'docs/a.txt': 'hello' }) });
 * const response = await GET(new Request('http://test/files/docs/a.txt'), { params: { path: ['docs', 'a.txt'] } });
 */
export class MemoryStorage implements Storage {
  readonly exactReads = true;
  readonly #files = new Map<string, MemoryFile>();

  constructor(files: MemoryFiles = {}) {
    for (const [name, content] of Object.entries(files)) this.#files.set(checkName(name), memoryFile(toBytes(content)));
  }

  async stat(name: string): Promise<StoredFile> {
    return storedFile(checkName(name), this.#find(name));
  }

  async open(name: string, options: OpenOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const file = this.#opened(name, options);
    const { range } = options;
    return bytesStream(range ? file.bytes.slice(range.start, range.end + 1) : file.bytes.slice());
  }

  async save(name: string, content: SaveContent, options: SaveOptions = {}): Promise<StoredFile> {
    const checked = checkName(name);
    if (!options.overwrite && this.#files.has(checked)) throw new HttpError(409, 'A file of that name exists');
    const bytes = await collect(content, options.maxBytes);
    // Checked again once the content has come: a save of the same name that finished meanwhile wins.
    if (!options.overwrite && this.#files.has(checked)) throw new HttpError(409, 'A file of that name exists');
    const file = memoryFile(bytes);
    this.#files.set(checked, file);
    return storedFile(checked, file);
  }

  async delete(name: string): Promise<boolean> {
    return this.#files.delete(checkName(name));
  }

  async exists(name: string): Promise<boolean> {
    try {
      return this.#files.has(checkName(name));
    } catch {
      return false;
    }
  }

  async *list(prefix = ''): AsyncIterable<StoredFile> {
    for (const [name, file] of [...this.#files]) if (name.startsWith(prefix)) yield storedFile(name, file);
  }

  #find(name: string): MemoryFile {
    const file = this.#files.get(checkName(name));
    if (!file) throw new NotFoundError(name);
    return file;
  }

  #opened(name: string, options: OpenOptions): MemoryFile {
    const file = this.#find(name);
    const wanted = typeof options.ifMatch === 'string' ? options.ifMatch : options.ifMatch?.tag;
    if (wanted !== undefined && wanted !== file.etag) throw new FileChangedError(name);
    return file;
  }
}

/** A name as a storage takes it: relative, `/`-separated, nothing that could leave the storage (400). */
function checkName(name: string): string {
  return checkRequestedPath(name, { dotfiles: true }).join('/');
}

function memoryFile(bytes: Uint8Array<ArrayBuffer>): MemoryFile {
  return { bytes, lastModified: new Date(), etag: createHash('sha256').update(bytes).digest('hex') };
}

function storedFile(name: string, file: MemoryFile): StoredFile {
  return { name, size: file.bytes.byteLength, lastModified: file.lastModified, etag: file.etag, contentType: file.contentType };
}

function toBytes(chunk: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof chunk === 'string' ? new Uint8Array(Buffer.from(chunk, 'utf8')) : new Uint8Array(chunk);
}

async function collect(content: SaveContent, maxBytes: number | undefined): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const add = (chunk: string | Uint8Array): void => {
    const bytes = toBytes(chunk);
    size += bytes.byteLength;
    if (maxBytes !== undefined && size > maxBytes) throw new HttpError(413, `File is larger than the limit of ${maxBytes} bytes`);
    chunks.push(bytes);
  };
  if (typeof content === 'string' || content instanceof Uint8Array) add(content);
  else if (content instanceof ReadableStream) {
    const reader = content.getReader();
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) add(read.value);
    } catch (error) {
      await reader.cancel(error).catch(() => undefined);
      throw error;
    } finally {
      reader.releaseLock();
    }
  } else {
    for await (const chunk of content as AsyncIterable<string | Uint8Array>) add(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
