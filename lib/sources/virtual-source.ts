import { createHash } from 'node:crypto';
import type { Source, SourceMeta } from '../engine/source';
import { iterableToStream, type Chunk } from '../streams/iterable-stream';
import { sliceStream, splitStream } from '../streams/slice-stream';

/** Content that lives in memory or is generated. Text is sent as UTF-8. */
export type VirtualContent =
  | string
  | Uint8Array
  | ArrayBuffer
  | Blob
  | ReadableStream<Uint8Array>
  | Iterable<Chunk>
  | AsyncIterable<Chunk>;

/**
 * A file that does not live on disk (django-downloadview's VirtualFile): its bytes and what is
 * known about them. `size` is needed for generated content to get a Content-Length and Range;
 * `etag` defaults to a SHA-256 of the content when it is a string or bytes.
 */
export interface VirtualFile extends SourceMeta {
  /**
   * The bytes. A stream or a generator can be read once only: give a function that makes it,
   * and it is called only when a body is sent (never for HEAD, 304, 412 or 416).
   */
  content: VirtualContent | (() => VirtualContent | Promise<VirtualContent>);
}

const encoder = new TextEncoder();

function isIterable(value: object): value is Iterable<Chunk> | AsyncIterable<Chunk> {
  return Symbol.iterator in value || Symbol.asyncIterator in value;
}

/** String and bytes are materialised to bytes once; everything else is left as it is. */
function asBytes(content: VirtualContent): Uint8Array | undefined {
  if (typeof content === 'string') return encoder.encode(content);
  if (content instanceof Uint8Array) return content;
  if (content instanceof ArrayBuffer) return new Uint8Array(content);
  return undefined;
}

function toStream(content: VirtualContent): ReadableStream<Uint8Array> {
  const bytes = asBytes(content);
  if (bytes) return iterableToStream([bytes]);
  if (content instanceof Blob) return content.stream();
  if (content instanceof ReadableStream) return content;
  if (typeof content === 'object' && content !== null && isIterable(content)) return iterableToStream(content);
  throw new TypeError('virtual content must be a string, bytes, a Blob, a ReadableStream or an iterable');
}

/**
 * Turns a `VirtualFile` into a source. Bytes and strings are measured in bytes (UTF-8) and get
 * a content hash as their ETag; a Blob has its size; a stream or generator has the size it is
 * given, or none (then no Content-Length and no Range). A Range on generated content of known
 * size is served by reading and dropping the bytes before it.
 */
export function virtualSource(file: VirtualFile): Source {
  const made = typeof file.content === 'function' ? undefined : file.content;
  const bytes = made === undefined ? undefined : asBytes(made);
  const size = bytes?.length ?? (made instanceof Blob ? made.size : file.size);
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new TypeError(`virtual file size must be a whole number of bytes, got ${size}`);
  }
  // Bytes in hand are hashed once: the hash is their ETag (unless one is given) and their Repr-Digest.
  const sha256 = bytes ? createHash('sha256').update(bytes).digest() : undefined;
  const etag = file.etag ?? sha256?.toString('base64url');
  return {
    name: file.name,
    size,
    lastModified: file.lastModified,
    etag,
    contentType: file.contentType,
    charset: file.charset,
    encoding: file.encoding,
    digests: sha256 && { 'sha-256': sha256.toString('base64') },
    async open(range) {
      if (bytes) return toStream(range ? bytes.subarray(range.start, range.end + 1) : bytes);
      if (made instanceof Blob) return range ? made.slice(range.start, range.end + 1).stream() : made.stream();
      const content = made ?? (await (file.content as () => VirtualContent | Promise<VirtualContent>)());
      const stream = toStream(content);
      return range ? sliceStream(stream, range.start, range.end) : stream;
    },
    // Generated content is made once per answer, multipart included: every part comes from
    // the same generation (made in ascending order, see `sequential`).
    sequential: !bytes && !(made instanceof Blob),
    async openRanges(ranges) {
      if (bytes) return ranges.map((range) => toStream(bytes.subarray(range.start, range.end + 1)));
      if (made instanceof Blob) return ranges.map((range) => made.slice(range.start, range.end + 1).stream());
      const content = made ?? (await (file.content as () => VirtualContent | Promise<VirtualContent>)());
      return splitStream(toStream(content), ranges);
    },
  };
}
