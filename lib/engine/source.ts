import type { Digests } from '../http/digest';
import type { ByteRange } from '../http/range';

/** An entity-tag as a source knows it: a bare value is strong; say `weak: true` only if it is. */
export type SourceEtag = string | { tag: string; weak?: boolean };

/** What a source knows about its bytes, before any of them is read. */
export interface SourceMeta {
  /** Suggested file name; reduced to its basename before it reaches a header. */
  name?: string;
  /** Exact length in bytes; unknown for a generator that does not say. */
  size?: number;
  lastModified?: Date;
  etag?: SourceEtag;
  /** Media type, e.g. `text/csv`; guessed from `name` when absent. */
  contentType?: string;
  /** Charset of a textual type, e.g. `iso-8859-1`. */
  charset?: string;
  /** Content-Encoding the bytes are already in (a stored `.gz` served as-is); never guessed. */
  encoding?: string;
  /**
   * Hashes of the whole representation, i.e. of every byte `open()` gives (in its `encoding`),
   * each the standard base64 of the raw digest, e.g. `{ 'sha-256': '47DEQpj8…uFU=' }` (see
   * `digestFromHex` for a stored hex checksum). Sent as `Repr-Digest` (RFC 9530) on 200, 206,
   * HEAD and 304, and as `Content-Digest` on a whole 200. Give only a digest known to be of these
   * bytes: one that is not of the right length is not sent.
   */
  digests?: Digests;
  /**
   * Request fields that chose these bytes among other representations of the same resource
   * (`accept-encoding` for a precompressed variant): sent in `Vary` on every answer, so that a
   * cache keeps the representations apart.
   */
  vary?: readonly string[];
}

/**
 * A source answers two questions: what is it (`SourceMeta`) and give me these bytes (`open`).
 * The engine decides every header from the metadata and calls `open` last, and only for a GET
 * that ends in 200 or 206.
 */
export interface Source extends SourceMeta {
  /**
   * The bytes `range.start..range.end` (inclusive), or all of them. Should fail before returning
   * (missing file, changed file) rather than from inside the stream, so that the failure can
   * still become a clean error response.
   */
  open(range?: ByteRange): Promise<ReadableStream<Uint8Array>> | ReadableStream<Uint8Array>;
  /**
   * The bytes of several ranges from ONE opening of the source, one stream per range in the
   * order given, for a multipart/byteranges answer: every part then comes from the version that
   * decided the headers, as a single range does, even if the file is deleted or replaced
   * between two parts. The engine reads the streams in order and cancels the ones it will not
   * read; the source closes what it opened once all of them have ended or been cancelled.
   * Without it, each part is `open`ed in turn.
   */
  openRanges?(ranges: readonly ByteRange[]): Promise<ReadableStream<Uint8Array>[]>;
  /**
   * The bytes `range.start..range.end` (or all of them) read at once, when the source can do
   * that cheaply (a small file from the page cache): the engine sends them as they are, the
   * cheapest body a route handler can give. `undefined` means "too large, stream them": the
   * engine then calls `open`. Checked like `open`: a changed or missing file is an error, before
   * any header is sent.
   */
  readSmall?(range?: ByteRange): Promise<Uint8Array<ArrayBuffer> | undefined> | Uint8Array<ArrayBuffer> | undefined;
  /**
   * The bytes can only be read forward, once per opening (generated content): `openRanges`
   * then gets the ranges in ascending order, and the parts are sent in that order, which
   * RFC 9110 §15.3.7.2 allows (a client reads each part's Content-Range).
   */
  sequential?: boolean;
  /** Whether `open` serves byte ranges; defaults to "the size is known". */
  ranges?: boolean;
  /**
   * `open` guarantees exactly the bytes asked for, or a stream error (a file source checks this
   * itself). Otherwise the engine counts the bytes against the announced length.
   */
  exact?: boolean;
  /**
   * Set by a source whose bytes come from a server that already evaluated the request's
   * conditional and Range headers (a proxied upstream): its answer stands, and `size` is the
   * length of the body `open()` returns (the part, for a 206).
   */
  answered?: UpstreamAnswer;
  /**
   * Where the bytes live, for an answer the app delegates: to the web server in front (offload
   * rules map the path or URL to its internal location) or, on a route with
   * `delivery: 'redirect'`, to the store itself (`redirectUrl`). Asked once per request, and only
   * when the route has offload rules or redirect delivery; a source without it (virtual content)
   * is always sent by the app.
   */
  locate?(): Promise<SourceLocation>;
  /**
   * For a source that knows where its bytes are before what they are (a proxied URL, whose
   * headers cost a request upstream): the source described, which the engine asks for only when
   * the answer is not delegated. An offloaded download then never contacts the upstream from the
   * app, and its answer is decided from what this source knows (its name).
   */
  describe?(): Promise<Source>;
  /**
   * Releases what the source holds that `open()` did not hand over (an upstream body, a
   * handle). The engine calls it once per request, after the answer is decided, whatever the
   * answer: a HEAD, a 304, an error, an offload or a streamed body (whose stream, once opened,
   * releases itself). Optional: a source that holds nothing between its metadata and `open()`
   * has nothing to close.
   */
  close?(): void | Promise<void>;
}

/** Where a source's bytes live: what `Source.locate` answers. */
export interface SourceLocation {
  /** The file's canonical local path. */
  path?: string;
  /** A URL of the bytes: a storage's own URL, or the upstream a proxied file comes from. */
  url?: string;
  /**
   * A short-lived URL of the bytes that answers with `headers` (Content-Disposition, Content-Type,
   * Cache-Control, Content-Encoding, as far as the store can carry them, e.g. an S3 presigned GET
   * with its `response-*` parameters), valid for `expiresIn` seconds.
   */
  redirectUrl?(headers: Headers, expiresIn: number): string | Promise<string>;
}

/** How an upstream answered a forwarded request. */
export type UpstreamAnswer =
  | { status: 200 }
  | { status: 206; contentRange: string }
  | { status: 304 }
  | { status: 412 }
  | { status: 416; contentRange?: string };
