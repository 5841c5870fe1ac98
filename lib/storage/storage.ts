import type { Digests } from '../http/digest';
import type { ByteRange } from '../http/range';
import { NotFoundError } from '../errors';
import type { SourceEtag } from '../engine/source';

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

/** Limits and metadata of a save. */
export interface SaveOptions {
  /** Replace an existing file of that name. Default `false`: saving onto one is a 409. */
  overwrite?: boolean;
  /** Refuse (413) and keep nothing once more than this many bytes have come. */
  maxBytes?: number;
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

export { NotFoundError };
