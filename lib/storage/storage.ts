import type { Digests } from '../http/digest';
import type { ByteRange } from '../http/range';
import { HttpError } from '../errors';
import type { SourceEtag } from '../engine/source';
import type { FileBody } from '../streams/file-stream';

/** What a storage knows about a stored file without reading it. */
export interface StoredFile {
  /** The file's name in the storage (`/`-separated, relative). */
  name: string;
  size: number;
  lastModified?: Date;
  /** A strong validator of this version of the file (a hash, an object store's ETag, size+mtime). */
  etag?: SourceEtag;
  contentType?: string;
  /**
   * Hashes of the stored bytes, standard base64 (see `Source.digests`), when the storage knows
   * them without reading the file for this request (a hash it keeps, e.g. `etag: 'sha256'`).
   */
  digests?: Digests;
}

/** How much of a stored file to open, and how. */
export interface OpenOptions {
  /** Only these bytes (inclusive). */
  range?: ByteRange;
  /**
   * The version the caller decided on (the `etag` of a `stat`). If the stored file is no longer
   * that version, `open` throws `FileChangedError` instead of sending other bytes under the
   * old headers: a conditional GET (`If-Match`) on an object store.
   */
  ifMatch?: SourceEtag;
}

/** Anything that can be written: bytes, text, a stream or an (async) iterable of chunks. */
export type SaveContent =
  | Uint8Array
  | string
  | ReadableStream<Uint8Array>
  | Iterable<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>;

/**
 * Limits and metadata of a save. The metadata is kept where the storage can keep it: an object
 * store stores it with the object and gives it back from `stat` (`S3Storage`); a folder on disk
 * keeps only the bytes (`FileSystemStorage` types a file by its name), but checks the values the
 * same way, so code that saves works unchanged on either. A value that cannot be a header
 * (a line break, a non-ASCII character) is a 400.
 */
export interface SaveOptions {
  /** Replace an existing file of that name. Default `false`: saving onto one is a 409. */
  overwrite?: boolean;
  /** Refuse (413) and keep nothing once more than this many bytes have come. */
  maxBytes?: number;
  /** The media type to store, e.g. `image/png`. Default: none (the name decides when served). */
  contentType?: string;
  /** A Content-Disposition to store (ASCII: `attachment; filename*=UTF-8''...` for other names). */
  contentDisposition?: string;
  /** A Cache-Control to store, e.g. `private, max-age=3600`. */
  cacheControl?: string;
  /**
   * User metadata (`x-amz-meta-<name>` on S3): names of letters, digits and `-` (lower-cased),
   * values of printable ASCII, at most 2 KiB in all. `sha256` is the storage's own.
   */
  metadata?: Record<string, string>;
}

/** S3's limit on the user metadata of an object: names and values, in bytes. */
const MAX_METADATA_BYTES = 2048;

/**
 * The metadata of `SaveOptions` as header values, checked (400 for what cannot be a header);
 * metadata names lower-cased. Storages call it whether or not they keep the values.
 */
export function checkSaveMetadata(options: SaveOptions): {
  contentType?: string;
  contentDisposition?: string;
  cacheControl?: string;
  metadata: Record<string, string>;
} {
  const value = (label: string, given: string | undefined): string | undefined => {
    if (given === undefined) return undefined;
    // Printable ASCII and tabs only: what a header value can carry unencoded (RFC 9110 §5.5).
    if (typeof given !== 'string' || !/^[\t\x20-\x7e]*$/.test(given) || given.trim() === '') {
      throw new HttpError(400, `Invalid ${label} for the stored file`);
    }
    return given.trim();
  };
  const contentType = value('Content-Type', options.contentType);
  if (contentType !== undefined && !/^[\w.+-]+\/[\w.+-]+\s*(;.*)?$/.test(contentType)) throw new HttpError(400, 'Invalid Content-Type for the stored file');
  const metadata: Record<string, string> = {};
  let bytes = 0;
  for (const [name, given] of Object.entries(options.metadata ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/.test(name)) throw new HttpError(400, `Invalid metadata name ${JSON.stringify(name.slice(0, 40))}`);
    const lower = name.toLowerCase();
    metadata[lower] = given === '' ? '' : value(`metadata ${lower}`, given)!;
    bytes += lower.length + metadata[lower].length;
  }
  if (bytes > MAX_METADATA_BYTES) throw new HttpError(400, `Metadata over ${MAX_METADATA_BYTES} bytes`);
  return {
    contentType,
    contentDisposition: value('Content-Disposition', options.contentDisposition),
    cacheControl: value('Cache-Control', options.cacheControl),
    metadata,
  };
}

/**
 * A place files live, addressed by name (Django's storage idea). Names are relative,
 * `/`-separated; a storage refuses names that could leave it. Shaped so that an object store
 * (ranged GET, ETag, conditional GET) fits it as well as a folder does.
 */
export interface Storage {
  /** Metadata of a file; `NotFoundError` when there is none. */
  stat(name: string): Promise<StoredFile>;
  /** The file's bytes, or a range of them; `NotFoundError` when there is none. */
  open(name: string, options?: OpenOptions): Promise<ReadableStream<Uint8Array>>;
  /**
   * The bytes `open` would stream, as the open local file (see `Source.openFile`), with the same
   * checks and errors. Optional: only a storage on this machine's disks has one.
   */
  openFile?(name: string, options?: OpenOptions): Promise<FileBody>;
  /**
   * Several ranges of one version of the file, opened once: one stream per range, in order
   * (see `Source.openRanges`); the file is released once every stream has ended or been
   * cancelled. Optional: without it each part of a multipart answer is `open`ed with `ifMatch`.
   */
  openRanges?(name: string, ranges: readonly ByteRange[], options?: Pick<OpenOptions, 'ifMatch'>): Promise<ReadableStream<Uint8Array>[]>;
  /**
   * The bytes `open` would stream, read at once into memory when that is cheap (a small body from
   * a local disk), else `undefined` and the caller `open`s. Same checks and errors as `open`
   * (`ifMatch`, `NotFoundError`). Optional: it saves a small download the cost of a stream.
   */
  readSmall?(name: string, options?: OpenOptions): Promise<Uint8Array<ArrayBuffer> | undefined>;
  /** Writes a whole file atomically: readers see the old file or the new one, never a part. */
  save(name: string, content: SaveContent, options?: SaveOptions): Promise<StoredFile>;
  /** Removes a file; `false` when there was none. */
  delete(name: string): Promise<boolean>;
  /** Whether a file of that name is stored. */
  exists(name: string): Promise<boolean>;
  /** Every file whose name starts with `prefix`, in no particular order. */
  list(prefix?: string): AsyncIterable<StoredFile>;
  /** A URL the file can be fetched from directly, where the storage has one. */
  url?(name: string): string | undefined;
  /**
   * The file's canonical path on this machine, where it has one (for X-Sendfile-style offload):
   * symlinks resolved and confined like `open`; `NotFoundError` when there is no such file.
   */
  localPath?(name: string): Promise<string>;
  /**
   * `open` yields exactly the bytes asked for or errors (a file system checks this itself);
   * otherwise the engine counts the bytes against the announced length.
   */
  readonly exactReads?: boolean;
}

/** What a redirect URL makes the storage answer with (S3's `response-*` parameters). */
export interface RedirectUrlOptions {
  expiresIn: number;
  contentDisposition?: string;
  contentType?: string;
  cacheControl?: string;
  contentEncoding?: string;
}

/**
 * A storage that can mint a URL answering with headers of the caller's choice, e.g.
 * `S3Storage.presignedUrl`. Redirect delivery (`delivery: 'redirect'`) needs it; `url()` alone
 * cannot carry the file name, so a storage with only `url()` keeps streaming.
 */
export interface RedirectingStorage extends Storage {
  /** A short-lived URL of the file `name` that answers with the headers in `options`. */
  presignedUrl(name: string, options: RedirectUrlOptions): string | Promise<string>;
}

/** Whether `storage` can mint redirect URLs (`RedirectingStorage`). */
export function canRedirect(storage: Storage): storage is RedirectingStorage {
  return typeof (storage as Partial<RedirectingStorage>).presignedUrl === 'function';
}

/** Default lifetime of a redirect URL, in seconds: long enough to follow, too short to share. */
export const DEFAULT_REDIRECT_EXPIRES_IN = 60;
