import { createHash, type Hash } from 'node:crypto';
import { digestFromHex } from '../http/digest';
import { formatEntityTag, toEntityTag } from '../http/etag';
import { HttpError, NotFoundError, FileChangedError } from '../errors';
import { parseContentRange } from '../http/range';
import { checkRequestedPath } from '../fs/confine';
import { checkSaveMetadata, type OpenOptions, type SaveContent, type SaveOptions, type Storage, type StoredFile } from '../storage/storage';
import { CredentialsCache, fromEnvironment, type S3CredentialsProvider, type S3ProvidedCredentials } from './credentials';
import { amzDate, presignUrl, sha256Hex, signHeaders, signPolicy, uriEncode, type S3Credentials } from './sigv4';
import { elements, escapeXmlText, text } from './xml';


/** Where the bucket is and how to sign for it. */
export interface S3StorageOptions {
  bucket: string;
  /** Folder of the bucket the storage lives in, e.g. `uploads/`; its names cannot leave it. */
  prefix?: string;
  /** Default `us-east-1`. */
  region?: string;
  /**
   * Base URL of an S3-compatible server (MinIO, R2, a local test server). Default: AWS's
   * `https://s3.<region>.amazonaws.com`, with the bucket in the host name.
   */
  endpoint?: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`. Default: `true` when `endpoint` is given. */
  forcePathStyle?: boolean;
  /**
   * Static keys, or a provider called when credentials are first needed and again shortly
   * before they expire (one call shared by concurrent requests): `fromEnvironment()` for the
   * standard AWS chain, or `fromNodeProviderChain()` of `@aws-sdk/credential-providers`.
   * Presigned URLs never outlive the credentials that signed them.
   */
  credentials: S3Credentials | S3CredentialsProvider;
  /**
   * A store that has not answered within this many ms is 504 (plus a second per 100 kB of a
   * body being sent): headers, and the whole body of an answer read here (a list page, a
   * write's answer, an error). A download's body that stalls this long between two chunks
   * breaks the download. Default 10 000.
   */
  timeoutMs?: number;
  /**
   * Bodies up to this size are sent in one PUT; larger ones in parts of this size (multipart
   * upload), so a save holds at most two parts in memory. Default 8 MiB; S3's minimum is 5 MiB.
   * The SHA-256 is stored with the object (`x-amz-meta-sha256`) for a single PUT only: a
   * multipart upload fixes its metadata before the first byte. `save` returns it either way.
   */
  partSize?: number;
  /** Lifetime of the URLs `url()` gives, in seconds. Default 60. */
  urlExpiresIn?: number;
  /** The fetch to use (tests, a proxy agent). Default: the global one. */
  fetch?: typeof fetch;
}

/** What a presigned GET can make the store answer with (S3's `response-*` query parameters). */
export interface PresignOptions {
  /** Seconds the URL is valid; default the storage's `urlExpiresIn`. */
  expiresIn?: number;
  contentDisposition?: string;
  contentType?: string;
  cacheControl?: string;
  contentEncoding?: string;
}

/** What a browser may upload with a presigned PUT (`S3Storage.presignedPut`). */
export interface PresignPutOptions {
  /** The exact size in bytes: the length is signed, so a larger (or smaller) body is refused by the store. */
  size: number;
  /** Hex SHA-256 of the content: sent as `x-amz-checksum-sha256`, which S3 checks (400 BadDigest), and kept as `x-amz-meta-sha256`. */
  sha256: string;
  /** The Content-Type the object gets (the browser must send it). Default `application/octet-stream`. */
  contentType?: string;
  contentDisposition?: string;
  cacheControl?: string;
  /** User metadata, as for `save` (the browser sends it as `x-amz-meta-*` headers). */
  metadata?: Record<string, string>;
  /** Seconds the URL is valid; default the storage's `urlExpiresIn`, never past the credentials' expiry. */
  expiresIn?: number;
}

/** A presigned PUT: the browser sends `method` to `url` with exactly these `headers` and the file as the body. */
export interface PresignedPut {
  url: string;
  method: 'PUT';
  /** Headers the request must carry as they are (Content-Length, which the browser sets itself, is signed too). */
  headers: Record<string, string>;
  /** Unix time in ms after which the store refuses the URL. */
  expiresAt: number;
}

/** What a browser may upload with a presigned POST form (`S3Storage.presignedPost`). */
export interface PresignPostOptions {
  /** Largest file the store accepts (`content-length-range`); S3 answers EntityTooLarge past it. */
  maxBytes: number;
  /** Smallest file the store accepts. Default 0. */
  minBytes?: number;
  /** The Content-Type the object gets (a form field the policy fixes). Default `application/octet-stream`. */
  contentType?: string;
  contentDisposition?: string;
  cacheControl?: string;
  /** User metadata, as for `save` (form fields `x-amz-meta-*` the policy fixes). */
  metadata?: Record<string, string>;
  /** Seconds the form is valid; default the storage's `urlExpiresIn`, never past the credentials' expiry. */
  expiresIn?: number;
}

/** A presigned POST: a `multipart/form-data` POST to `url` with these `fields` first and the file last, in a field named `file`. */
export interface PresignedPost {
  url: string;
  /** Form fields to send as they are, before the file (key, policy, signature, type, metadata). */
  fields: Record<string, string>;
  /** Unix time in ms after which the store refuses the form. */
  expiresAt: number;
}

/** What `stat` and `save` tell about an object, with its SHA-256 and the metadata stored with it. */
export interface S3StoredFile extends StoredFile {
  /** Hex SHA-256 of the content (computed by `save`, kept as `x-amz-meta-sha256`). */
  sha256?: string;
  /** The Content-Disposition stored with the object, if any. */
  contentDisposition?: string;
  /** The Cache-Control stored with the object, if any. */
  cacheControl?: string;
  /** User metadata (`x-amz-meta-*`, names lower-case), `sha256` included. */
  metadata: Record<string, string>;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** S3 numbers parts 1..10 000. */
const MAX_PARTS = 10_000;
/** S3 keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
const SHA256_META = 'x-amz-meta-sha256';
/**
 * A ListObjectsV2 page holds at most 1000 keys of at most 1024 bytes, each at most 5 times
 * longer escaped, with a few hundred bytes of other fields: 8 MiB is more than any page.
 */
const MAX_LIST_PAGE_BYTES = 8 * 1024 * 1024;
/** The XML of a PUT, CreateMultipartUpload or CompleteMultipartUpload answer: one key and a few fields. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** What of an error answer is read for the log: S3 puts its <Code> first. */
const ERROR_HEAD_BYTES = 4 * 1024;

/**
 * Files in an S3 bucket (or any server that speaks its API), signed with AWS Signature Version 4.
 *
 * - `stat` is a HEAD; `open` a GET, with `Range` for a range and `If-Match` on the ETag that
 *   decided the headers, so a replaced object is `FileChangedError` instead of mixed bytes.
 * - A missing object is `NotFoundError` (404); a store that fails, refuses our credentials or
 *   answers nonsense is 502, one that does not answer in time 504: never a 500.
 * - `save` streams: bodies up to `partSize` in one PUT, larger ones as a multipart upload, with
 *   the size limit checked as bytes come and the SHA-256 computed on the way. Nothing is visible
 *   under the name before the upload completes; a failed save aborts its upload.
 * - `url()` is a presigned GET (`presignedUrl` takes response-* overrides and a lifetime).
 *
 * Names are checked like paths (no `..`, no empty, `.` or control-character segment, no
 * backslash) and always live under `prefix`.
 *
 * @example
 * const files = new S3Storage({
 *   bucket: 'uploads', region: 'eu-west-1',
 *   credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! },
 * });
 */
export class S3Storage implements Storage {
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
  /** Bytes are counted by the engine: a store's body is not checked here. */
  readonly exactReads = false;
  readonly #base: string;
  readonly #pathStyle: boolean;
  readonly #credentials: CredentialsCache;
  readonly #timeoutMs: number;
  readonly #partSize: number;
  readonly #urlExpiresIn: number;
  readonly #fetch: typeof fetch;

  constructor(options: S3StorageOptions) {
    const { bucket, credentials } = options ?? ({} as S3StorageOptions);
    // Bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens.
    if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new TypeError(`S3Storage: invalid bucket name ${JSON.stringify(bucket)}`);
    }
    if (typeof credentials !== 'function' && (!credentials || typeof credentials.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string')) {
      throw new TypeError('S3Storage: credentials need accessKeyId and secretAccessKey, or are a provider function');
    }
    this.bucket = bucket;
    this.region = options.region ?? 'us-east-1';
    if (!/^[a-z0-9-]+$/.test(this.region)) throw new TypeError(`S3Storage: invalid region ${JSON.stringify(this.region)}`);
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = prefix === '' ? '' : `${checkName(prefix).join('/')}/`;
    const endpoint = options.endpoint ?? `https://s3.${this.region}.amazonaws.com`;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new TypeError(`S3Storage: endpoint is not a URL: ${JSON.stringify(endpoint)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('S3Storage: endpoint must be http(s)');
    this.#pathStyle = options.forcePathStyle ?? options.endpoint !== undefined;
    this.#base = this.#pathStyle
      ? `${url.origin}${url.pathname.replace(/\/+$/, '')}/${bucket}`
      : `${url.protocol}//${bucket}.${url.host}${url.pathname.replace(/\/+$/, '')}`;
    this.#credentials = new CredentialsCache(credentials);
    this.#timeoutMs = positive(options.timeoutMs ?? 10_000, 'timeoutMs');
    this.#partSize = positive(options.partSize ?? DEFAULT_PART_SIZE, 'partSize');
    if (this.#partSize < MIN_PART_SIZE) throw new TypeError(`S3Storage: partSize must be at least ${MIN_PART_SIZE} (S3's minimum part)`);
    this.#urlExpiresIn = positive(options.urlExpiresIn ?? 60, 'urlExpiresIn');
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The object key of a name, after the same checks as a path under a root. */
  #key(name: string): string {
    const key = this.prefix + checkName(name).join('/');
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new HttpError(400, 'Name too long');
    return key;
  }

  #url(key: string, query?: Record<string, string>): URL {
    const url = new URL(`${this.#base}/${uriEncode(key, true)}`);
    for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
    return url;
  }

  /**
   * One signed request, its answer handled by `consume` before the timeout: failures of the
   * store become HttpErrors here: unreachable 503 with Retry-After, a bad answer 502, no full
   * answer within the timeout 504.
   * A body `consume` reads (a list page, a PUT's XML, an error) is under the timeout too, so a
   * store that sends headers and stalls cannot hang the call; a body it returns unread (a
   * download) may take as long as the client reading it, and is guarded by `idleTimeout`.
   */
  async #request<T = Response>(
    method: string,
    url: URL,
    init: { headers?: Record<string, string>; body?: Uint8Array | string; payloadHash?: string; extraMs?: number } = {},
    consume: (response: Response) => Promise<T> = async (response) => response as T,
  ): Promise<T> {
    const body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : init.body;
    const payloadHash = init.payloadHash ?? (body ? sha256Hex(body) : undefined);
    const credentials = await this.#credentials.get();
    const headers = signHeaders({ method, url, headers: init.headers, payloadHash, region: this.region, credentials });
    const controller = new AbortController();
    // A part of several MiB takes a while to send on a slow link: 100 kB/s is allowed for.
    const limit = this.#timeoutMs + (body ? Math.ceil(body.length / 100_000) * 1000 : 0) + (init.extraMs ?? 0);
    const timer = setTimeout(() => controller.abort(new StoreTimeout()), limit);
    // Also settles when a custom fetch, or a read in `consume`, does not heed the signal.
    const timedOut = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    let response: Response | undefined;
    try {
      response = await Promise.race([
        this.#fetch(url, { method, headers, body: body as BodyInit | undefined, signal: controller.signal, cache: 'no-store', redirect: 'manual' }),
        timedOut,
      ]);
      return await Promise.race([consume(response), timedOut]);
    } catch (error) {
      if (controller.signal.reason instanceof StoreTimeout) {
        response?.body?.cancel().catch(() => undefined);
        throw new HttpError(504, `S3 ${method} ${url.pathname}: no full answer within ${limit} ms`);
      }
      if (error instanceof HttpError || error instanceof FileChangedError) throw error;
      // No connection at all (refused, no route, no such host): the store is unavailable, which
      // a client or a proxy in front may retry (RFC 9110 §15.6.4); a store that answered badly is a 502.
      if (response === undefined && UNREACHABLE.has(errorCode(error) ?? '')) {
        throw new HttpError(503, `S3 ${method} ${url.pathname}: store unreachable (${describe(error)})`, { 'retry-after': String(RETRY_AFTER_SECONDS) });
      }
      throw new HttpError(502, `S3 ${method} ${url.pathname}: ${describe(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An answer the store should not have given, as a 502. Only the start of its body is read,
   * for the log; called from a `consume` of #request, so the read is under the timeout.
   */
  async #unexpected(method: string, url: URL, response: Response): Promise<HttpError> {
    const detail = text(await readStart(response, ERROR_HEAD_BYTES), 'Code') ?? '';
    return new HttpError(502, `S3 ${method} ${url.pathname}: ${response.status} ${detail}`.trim());
  }

  async #head(name: string): Promise<{ key: string; response: Response } | undefined> {
    const key = this.#key(name);
    const url = this.#url(key);
    return this.#request('HEAD', url, {}, async (response) => {
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw await this.#unexpected('HEAD', url, response);
      return { key, response };
    });
  }

  #describe(name: string, headers: Headers): S3StoredFile {
    const size = Number(headers.get('content-length'));
    if (!Number.isSafeInteger(size) || size < 0) throw new HttpError(502, 'S3: object without a valid Content-Length');
    const modified = headers.get('last-modified');
    const lastModified = modified === null ? undefined : new Date(modified);
    const stored = headers.get(SHA256_META) ?? undefined;
    const sha256 = stored && /^[0-9a-f]{64}$/.test(stored) ? stored : undefined;
    const metadata: Record<string, string> = {};
    for (const [header, value] of headers) if (header.startsWith('x-amz-meta-')) metadata[header.slice('x-amz-meta-'.length)] = value;
    // The hash save() computed from the bytes it sent (or a direct upload's, which S3 checked
    // against x-amz-checksum-sha256): the Repr-Digest of this version, which the ranged GETs pin
    // with If-Match on the same ETag. User metadata never sets it: objectHeaders leaves `sha256`
    // out, for PUTs and POST policies alike.
    const digest = sha256 && digestFromHex('sha-256', sha256);
    return {
      name,
      size,
      lastModified: lastModified && !Number.isNaN(lastModified.getTime()) ? lastModified : undefined,
      etag: headers.get('etag') ?? undefined,
      contentType: knownType(headers.get('content-type')),
      sha256,
      ...(digest && { digests: { 'sha-256': digest } }),
      contentDisposition: headers.get('content-disposition') ?? undefined,
      cacheControl: headers.get('cache-control') ?? undefined,
      metadata,
    };
  }

  async stat(name: string): Promise<S3StoredFile> {
    const found = await this.#head(name);
    if (!found) throw new NotFoundError(name);
    return this.#describe(name, found.response.headers);
  }

  async exists(name: string): Promise<boolean> {
    try {
      return (await this.#head(name)) !== undefined;
    } catch (error) {
      if (error instanceof HttpError && error.status === 400) return false;
      throw error;
    }
  }

  async open(name: string, options: OpenOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const url = this.#url(this.#key(name));
    const headers: Record<string, string> = {};
    const { range, ifMatch } = options;
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    // RFC 9110 §13.1.1: the store compares strongly and answers 412 for any other version.
    if (ifMatch !== undefined) headers['if-match'] = formatEntityTag(toEntityTag(ifMatch));
    // The checks run under the timeout (an error's body is read for the log); the body of the
    // object is returned unread, guarded by idleTimeout.
    const body = await this.#request('GET', url, { headers }, async (response) => {
      if (response.status === 404) {
        await response.body?.cancel();
        throw new NotFoundError(name);
      }
      if (response.status === 412) {
        await response.body?.cancel();
        throw new FileChangedError(name);
      }
      // fetch decodes a Content-Encoding it knows, so the bytes would not be the stored ones the
      // length and ranges describe: such an object cannot be served as it is stored.
      const encoding = response.headers.get('content-encoding');
      if (encoding !== null && !/^\s*identity\s*$/i.test(encoding)) {
        await response.body?.cancel();
        throw new HttpError(502, `S3 GET ${url.pathname}: the object is stored with Content-Encoding ${encoding}, which is not served`);
      }
      const expected = range ? 206 : 200;
      if (response.status >= 200 && response.status < 300 && (response.status !== expected || !response.body)) {
        // A store that ignores Range answers 200 with the whole object: nothing of it is read.
        await response.body?.cancel();
        throw new HttpError(502, `S3 GET ${url.pathname}: ${response.status} where ${expected} was expected`);
      }
      if (response.status !== expected || !response.body) throw await this.#unexpected('GET', url, response);
      if (range) {
        // The part must be the one asked for: a store that ignored the Range would send the start.
        const part = parseContentRange(response.headers.get('content-range'));
        if (part?.kind !== 'range' || part.start !== range.start || part.end !== range.end) {
          await response.body.cancel();
          throw new HttpError(502, `S3 GET ${url.pathname}: answered another range than bytes=${range.start}-${range.end}`);
        }
      }
      return response.body;
    });
    return idleTimeout(body, this.#timeoutMs, `S3 GET ${url.pathname}`);
  }

  /**
   * Streams the content to the object `name`, with the Content-Type, Content-Disposition,
   * Cache-Control and user metadata of `options` and its SHA-256 as `x-amz-meta-sha256` (a
   * multipart upload gets its SHA-256 by copying the object onto itself once complete: S3 fixes
   * metadata before the first part).
   */
  async save(name: string, content: SaveContent, options: SaveOptions = {}): Promise<S3StoredFile> {
    const key = this.#key(name);
    const stored = objectHeaders(options);
    // Refused before a byte is read; `If-None-Match: *` on the final write closes the race on
    // stores that support conditional writes.
    if (!options.overwrite && (await this.#head(name))) throw new HttpError(409, 'A file of that name exists');
    const hash = createHash('sha256');
    const parts = chunksOf(content, this.#partSize, options.maxBytes, hash);
    const first = await parts.next();
    const firstPart = first.done ? new Uint8Array(0) : first.value;
    const second = first.done ? first : await parts.next();
    let sha256: string;
    if (second.done) {
      // One part only: a single PUT, its payload signed with its own SHA-256.
      sha256 = hash.digest('hex');
      await this.#put(key, firstPart, sha256, options.overwrite === true, stored);
    } else {
      sha256 = await this.#multipart(key, [firstPart, second.value], parts, hash, options.overwrite === true, stored);
      await this.#addSha256(key, stored, sha256);
    }
    return { ...(await this.stat(name)), sha256 };
  }

  #writeHeaders(overwrite: boolean, stored: Record<string, string>, sha256?: string): Record<string, string> {
    const headers: Record<string, string> = { ...stored };
    if (sha256) headers[SHA256_META] = sha256;
    if (!overwrite) headers['if-none-match'] = '*';
    return headers;
  }

  async #put(key: string, body: Uint8Array, sha256: string, overwrite: boolean, stored: Record<string, string>): Promise<void> {
    const url = this.#url(key);
    await this.#request('PUT', url, { headers: this.#writeHeaders(overwrite, stored, sha256), body, payloadHash: sha256 }, (response) =>
      this.#written('PUT', url, response),
    );
  }

  /**
   * Copies the object `from` to `to` inside the store (CopyObject, up to 5 GiB, no bytes through
   * this process), with the type, disposition, cache policy and user metadata of `options`
   * instead of the source's; its SHA-256 goes along. Only the version just looked at is copied
   * (`x-amz-copy-source-if-match`), and `to` is not replaced unless `options.overwrite`.
   */
  async copy(from: string, to: string, options: SaveOptions = {}): Promise<S3StoredFile> {
    const source = await this.stat(from);
    const etag = typeof source.etag === 'string' ? source.etag : undefined;
    if (!etag) throw new HttpError(502, 'S3: object without an ETag');
    if (source.size > 5 * 1024 ** 3) throw new HttpError(413, 'File is too large to copy in one request');
    const headers: Record<string, string> = objectHeaders(options);
    if (source.sha256) headers[SHA256_META] = source.sha256;
    if (!options.overwrite) {
      // Refused before the copy, like a save; `If-None-Match: *` closes the race where supported.
      if (await this.#head(to)) throw new HttpError(409, 'A file of that name exists');
      headers['if-none-match'] = '*';
    }
    try {
      await this.#copyObject(this.#key(from), this.#key(to), headers, etag);
    } catch (error) {
      // S3 answers 412 both for a source that changed and for a target that appeared meanwhile.
      if (error instanceof FileChangedError && !options.overwrite && (await this.#head(to))) throw new HttpError(409, 'A file of that name exists');
      throw error;
    }
    return this.stat(to);
  }

  async #copyObject(fromKey: string, toKey: string, headers: Record<string, string>, etag: string): Promise<void> {
    const url = this.#url(toKey);
    const copyHeaders: Record<string, string> = {
      ...headers,
      'x-amz-copy-source': `/${this.bucket}/${uriEncode(fromKey, true)}`,
      'x-amz-copy-source-if-match': etag,
      'x-amz-metadata-directive': 'REPLACE',
    };
    await this.#request('PUT', url, { headers: copyHeaders }, async (response) => {
      if (response.status === 412) {
        await response.body?.cancel();
        throw new FileChangedError(fromKey);
      }
      return this.#written('PUT', url, response);
    });
  }

  /**
   * Puts `x-amz-meta-sha256` on an object written in parts: a copy onto itself that replaces
   * its metadata (CopyObject, up to 5 GiB), only if it is still the object just written. A copy
   * that fails leaves the object as it was, without the hash (logged): the save itself took.
   */
  async #addSha256(key: string, stored: Record<string, string>, sha256: string): Promise<void> {
    const url = this.#url(key);
    try {
      const head = await this.#request('HEAD', url, {}, async (response) => {
        await response.body?.cancel();
        return response.status === 200 ? response.headers : undefined;
      });
      const etag = head?.get('etag');
      const size = Number(head?.get('content-length'));
      if (!etag || !(size <= 5 * 1024 ** 3)) return;
      await this.#copyObject(key, key, { ...stored, [SHA256_META]: sha256 }, etag);
    } catch (error) {
      console.warn(`S3Storage: could not store the sha256 of ${key}: ${describe(error)}`);
    }
  }

  /** Whether a write took; called from a `consume` of #request, so its body is read under the timeout. */
  async #written(method: string, url: URL, response: Response): Promise<string> {
    // 412 to If-None-Match: * (another save got there first); 409 for a concurrent conditional write.
    if (response.status === 412 || response.status === 409) {
      await response.body?.cancel();
      throw new HttpError(409, 'A file of that name exists');
    }
    if (response.status !== 200) throw await this.#unexpected(method, url, response);
    // CompleteMultipartUpload can fail with 200 and an <Error> body.
    const body = await readText(response, MAX_ANSWER_BYTES, `S3 ${method} ${url.pathname}`);
    if (/<Error>/.test(body)) throw new HttpError(502, `S3 ${method} ${url.pathname}: ${text(body, 'Code') ?? 'error'}`);
    return body;
  }

  /**
   * A multipart upload: parts are sent one at a time as they fill, so memory stays at two parts
   * (the one being sent, the next one filling).
   * The object appears only at CompleteMultipartUpload; any failure aborts the upload, which
   * frees the parts already stored.
   */
  async #multipart(
    key: string,
    firstParts: Uint8Array[],
    rest: AsyncGenerator<Uint8Array>,
    hash: Hash,
    overwrite: boolean,
    stored: Record<string, string>,
  ): Promise<string> {
    const createUrl = this.#url(key, { uploads: '' });
    const uploadId = await this.#request('POST', createUrl, { headers: stored }, async (response) => {
      if (response.status !== 200) throw await this.#unexpected('POST', createUrl, response);
      return text(await readText(response, MAX_ANSWER_BYTES, `S3 POST ${createUrl.pathname}`), 'UploadId');
    });
    if (!uploadId) throw new HttpError(502, 'S3: CreateMultipartUpload gave no UploadId');
    const etags: string[] = [];
    try {
      const send = async (part: Uint8Array) => {
        if (etags.length >= MAX_PARTS) throw new HttpError(413, 'File has too many parts for the store');
        const url = this.#url(key, { partNumber: String(etags.length + 1), uploadId });
        const etag = await this.#request('PUT', url, { body: part }, async (response) => {
          if (response.status !== 200) throw await this.#unexpected('PUT', url, response);
          await response.body?.cancel();
          return response.headers.get('etag');
        });
        if (!etag) throw new HttpError(502, 'S3: UploadPart gave no ETag');
        etags.push(etag);
      };
      for (const part of firstParts) await send(part);
      for await (const part of rest) await send(part);
      const sha256 = hash.digest('hex');
      const list = etags.map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${escapeXmlText(etag)}</ETag></Part>`);
      const completeUrl = this.#url(key, { uploadId });
      const headers: Record<string, string> = { 'content-type': 'application/xml' };
      if (!overwrite) headers['if-none-match'] = '*';
      await this.#request(
        'POST',
        completeUrl,
        // S3 may take minutes to assemble a large object, sending blanks meanwhile: a second per
        // 100 MB assembled is allowed on top of the timeout.
        {
          headers,
          body: `<CompleteMultipartUpload>${list.join('')}</CompleteMultipartUpload>`,
          extraMs: Math.ceil((etags.length * this.#partSize) / 100_000_000) * 1000,
        },
        (response) => this.#written('POST', completeUrl, response),
      );
      return sha256;
    } catch (error) {
      await rest.return(undefined).catch(() => undefined);
      const abortUrl = this.#url(key, { uploadId });
      await this.#request('DELETE', abortUrl)
        .then((response) => response.body?.cancel())
        .catch((abortError: unknown) => console.warn(`S3Storage: could not abort upload ${uploadId}: ${describe(abortError)}`));
      throw error;
    }
  }

  async delete(name: string): Promise<boolean> {
    // S3 answers 204 whether or not there was an object: the HEAD says which.
    const found = await this.#head(name);
    if (!found) return false;
    const url = this.#url(found.key);
    await this.#request('DELETE', url, {}, async (response) => {
      if (response.status !== 204 && response.status !== 200) throw await this.#unexpected('DELETE', url, response);
      await response.body?.cancel();
    });
    return true;
  }

  /**
   * Objects whose name starts with `prefix`, a page of ListObjectsV2 at a time. Keys this
   * storage would refuse as names (a folder marker ending in `/`, `a//b`, `..`) are skipped.
   */
  async *list(prefix = ''): AsyncIterable<StoredFile> {
    // eslint-disable-next-line no-control-regex -- a NUL or backslash can name nothing here
    if (/[\\\u0000]/.test(prefix)) return;
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix: this.prefix + prefix };
      if (token) query['continuation-token'] = token;
      const url = new URL(`${this.#base}/`);
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
      const body = await this.#request('GET', url, {}, async (response) => {
        if (response.status !== 200) throw await this.#unexpected('GET', url, response);
        return readText(response, MAX_LIST_PAGE_BYTES, `S3 GET ${url.pathname}`);
      });
      for (const entry of elements(body, 'Contents')) {
        const key = text(entry, 'Key');
        if (key === undefined || !key.startsWith(this.prefix)) continue;
        const name = key.slice(this.prefix.length);
        try {
          checkName(name);
        } catch {
          continue;
        }
        const modified = text(entry, 'LastModified');
        const lastModified = modified === undefined ? undefined : new Date(modified);
        yield {
          name,
          size: Number(text(entry, 'Size') ?? 0),
          lastModified: lastModified && !Number.isNaN(lastModified.getTime()) ? lastModified : undefined,
          etag: text(entry, 'ETag'),
        };
      }
      token = text(body, 'IsTruncated') === 'true' ? text(body, 'NextContinuationToken') : undefined;
    } while (token);
  }

  /**
   * A presigned GET of the file, valid `urlExpiresIn` seconds (less when the credentials expire
   * sooner). Signed synchronously, so with a credentials provider only once credentials have
   * been fetched (any request of this storage does that): before, `undefined`. `presignedUrl`
   * waits for them.
   */
  url(name: string): string | undefined {
    const credentials = this.#credentials.peek();
    return credentials ? this.#presign(name, {}, credentials) : undefined;
  }

  /**
   * A presigned GET (SigV4 query signing) whose answer carries the given Content-Disposition,
   * Content-Type and Cache-Control instead of the object's own (S3's response-* parameters).
   * Valid `expiresIn` seconds, or until the credentials that signed it expire if that is sooner.
   */
  async presignedUrl(name: string, options: PresignOptions = {}): Promise<string> {
    const key = this.#key(name);
    return this.#presign(name, options, await this.#credentials.get(), key);
  }

  /**
   * A presigned PUT for a browser to upload one file straight to the bucket: its size, type,
   * metadata and SHA-256 are signed, so the store refuses any other body (a longer one breaks
   * the signature, other bytes fail S3's `x-amz-checksum-sha256` check with BadDigest). The
   * object is created only if none exists under the name (`If-None-Match: *`). Check it before
   * recording it (`stat`: size and `sha256`), and clean up names never completed (see the README:
   * a lifecycle rule on a prefix for pending uploads). The bucket needs a CORS rule allowing PUT
   * from the app's origin with these headers.
   */
  async presignedPut(name: string, options: PresignPutOptions): Promise<PresignedPut> {
    const key = this.#key(name);
    if (!Number.isSafeInteger(options.size) || options.size < 0 || options.size > 5 * 1024 ** 3) {
      throw new HttpError(400, 'Invalid size for a direct upload (0 to 5 GiB)');
    }
    if (typeof options.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(options.sha256)) throw new HttpError(400, 'Invalid SHA-256 for a direct upload');
    const sha256 = options.sha256.toLowerCase();
    const headers: Record<string, string> = objectHeaders(options);
    headers[SHA256_META] = sha256;
    headers['x-amz-checksum-sha256'] = Buffer.from(sha256, 'hex').toString('base64');
    headers['if-none-match'] = '*';
    const credentials = await this.#credentials.get();
    const expiresIn = clampExpiry(options.expiresIn ?? this.#urlExpiresIn, credentials);
    const url = presignUrl({
      method: 'PUT',
      url: this.#url(key),
      headers: { ...headers, 'content-length': String(options.size) },
      region: this.region,
      credentials,
      expiresIn,
    });
    return { url, method: 'PUT', headers, expiresAt: Date.now() + expiresIn * 1000 };
  }

  /**
   * A presigned POST form (an S3 POST policy, signed with SigV4) for a browser to upload a file
   * of unknown exact size: the key is fixed, the size bounded by `content-length-range` (the store
   * answers EntityTooLarge past `maxBytes`), the type and metadata fixed. S3 checks no SHA-256 of a
   * POST: hash the object before trusting it, or use `presignedPut` when the size and hash are
   * known ahead. Unlike a PUT, a POST replaces an existing object of that name.
   */
  async presignedPost(name: string, options: PresignPostOptions): Promise<PresignedPost> {
    const key = this.#key(name);
    const min = options.minBytes ?? 0;
    if (!Number.isSafeInteger(options.maxBytes) || !Number.isSafeInteger(min) || min < 0 || options.maxBytes < min || options.maxBytes > 5 * 1024 ** 3) {
      throw new TypeError('S3Storage.presignedPost: maxBytes and minBytes must be whole numbers, 0 <= minBytes <= maxBytes <= 5 GiB');
    }
    const headers = objectHeaders(options);
    const credentials = await this.#credentials.get();
    const expiresIn = clampExpiry(options.expiresIn ?? this.#urlExpiresIn, credentials);
    const now = new Date();
    const date = amzDate(now);
    const credential = `${credentials.accessKeyId}/${date.slice(0, 8)}/${this.region}/s3/aws4_request`;
    const fields: Record<string, string> = { key };
    // Form field names are case-insensitive; S3's documents spell the standard ones this way.
    const FIELD_NAMES: Record<string, string> = { 'content-type': 'Content-Type', 'content-disposition': 'Content-Disposition', 'cache-control': 'Cache-Control' };
    for (const [header, value] of Object.entries(headers)) fields[FIELD_NAMES[header] ?? header] = value;
    fields['x-amz-algorithm'] = 'AWS4-HMAC-SHA256';
    fields['x-amz-credential'] = credential;
    fields['x-amz-date'] = date;
    if (credentials.sessionToken) fields['x-amz-security-token'] = credentials.sessionToken;
    const expiresAt = now.getTime() + expiresIn * 1000;
    const policy = {
      expiration: new Date(expiresAt).toISOString(),
      conditions: [{ bucket: this.bucket }, ...Object.entries(fields).map(([field, value]) => ({ [field]: value })), ['content-length-range', min, options.maxBytes]],
    };
    const encoded = Buffer.from(JSON.stringify(policy), 'utf8').toString('base64');
    fields.policy = encoded;
    fields['x-amz-signature'] = signPolicy(encoded, credentials.secretAccessKey, date.slice(0, 8), this.region);
    return { url: `${this.#base}/`, fields, expiresAt };
  }

  /** The first `bytes` bytes of a file (all of it if shorter): what a type check reads. */
  async readStart(name: string, bytes: number): Promise<Uint8Array> {
    const { size, etag } = await this.stat(name);
    if (size === 0 || bytes < 1) return new Uint8Array(0);
    const stream = await this.open(name, { range: { start: 0, end: Math.min(size, bytes) - 1 }, ifMatch: etag });
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  #presign(name: string, options: PresignOptions, credentials: S3ProvidedCredentials, key = this.#key(name)): string {
    const query: Record<string, string> = {};
    if (options.cacheControl !== undefined) query['response-cache-control'] = options.cacheControl;
    if (options.contentDisposition !== undefined) query['response-content-disposition'] = options.contentDisposition;
    if (options.contentType !== undefined) query['response-content-type'] = options.contentType;
    if (options.contentEncoding !== undefined) query['response-content-encoding'] = options.contentEncoding;
    return presignUrl({
      method: 'GET',
      url: this.#url(key, query),
      region: this.region,
      credentials,
      expiresIn: clampExpiry(options.expiresIn ?? this.#urlExpiresIn, credentials),
    });
  }

  /**
   * An S3Storage from `s3://bucket/prefix` and the standard AWS variables: AWS_REGION (or
   * AWS_DEFAULT_REGION), AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL, which also selects path-style
   * addressing) and credentials from `fromEnvironment(env)`: AWS_ACCESS_KEY_ID,
   * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN when AWS_ACCESS_KEY_ID is set, else a web
   * identity, the container credentials endpoint or instance metadata. Credentials are looked
   * for at the first request, never here (`next build` imports routes without the variables).
   */
  static fromUrl(location: string, env: Record<string, string | undefined> = process.env, options: Partial<S3StorageOptions> = {}): S3Storage {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
    if (!match) throw new TypeError(`S3Storage: expected s3://bucket/prefix, got ${JSON.stringify(location)}`);
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
    // Keys already set are used as they are (so `url()` can sign at once); otherwise the chain
    // looks at the first request.
    const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: sessionToken || undefined } : fromEnvironment({ env });
    return new S3Storage({
      bucket: match[1]!,
      prefix: match[2],
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
      endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? undefined,
      credentials,
      ...options,
    });
  }
}

/** A URL's lifetime, cut so that it ends no later than the credentials that sign it (at least 1 s). */
function clampExpiry(expiresIn: number, credentials: S3ProvidedCredentials): number {
  if (!credentials.expiration) return expiresIn;
  const left = Math.floor((credentials.expiration.getTime() - Date.now()) / 1000);
  return Math.max(1, Math.min(expiresIn, left));
}

/** The headers that store `SaveOptions`' metadata with an object (checked: 400 for a bad value). */
function objectHeaders(options: SaveOptions): Record<string, string> {
  const { contentType, contentDisposition, cacheControl, metadata } = checkSaveMetadata(options);
  const headers: Record<string, string> = { 'content-type': contentType ?? 'application/octet-stream' };
  if (contentDisposition !== undefined) headers['content-disposition'] = contentDisposition;
  if (cacheControl !== undefined) headers['cache-control'] = cacheControl;
  for (const [name, value] of Object.entries(metadata)) if (name !== 'sha256') headers[`x-amz-meta-${name}`] = value;
  return headers;
}

class StoreTimeout extends Error {}

/** The first `maxBytes` of the body as text (less if it breaks off); the rest is not read. */
async function readStart(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // What came is enough for a log line.
  }
  reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/**
 * The body as text, at most `maxBytes` of it (502 past that: no answer this code asks for is
 * that large). A body that breaks off is 502 too. The caller's timeout bounds the wait.
 */
async function readText(response: Response, maxBytes: number, label: string): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) throw new HttpError(502, `${label}: answered more than ${maxBytes} bytes`);
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => undefined);
    if (error instanceof HttpError) throw error;
    throw new HttpError(502, `${label}: ${describe(error)}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The object's type, unless it is the "no idea" that stores give objects saved without one
 * (`application/octet-stream`, S3's old `binary/octet-stream`): then the kit guesses from the
 * name, as it does for a file on disk.
 */
function knownType(type: string | null): string | undefined {
  if (type === null) return undefined;
  return /^\s*(application|binary)\/octet-stream\s*(;|$)/i.test(type) ? undefined : type;
}

/**
 * The body, erroring (which breaks the client's connection) when the store sends nothing for
 * `ms` while a chunk is wanted. A slow client is not a stalled store: the clock runs only while
 * a read is pending. Cancelling it cancels the store's body, which frees the connection.
 */
function idleTimeout(body: ReadableStream<Uint8Array>, ms: number, label: string): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new HttpError(504, `${label}: the body stalled for ${ms} ms`)), ms);
        });
        try {
          const { done, value } = await Promise.race([reader.read(), stalled]);
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          reader.cancel(error).catch(() => undefined);
          controller.error(error);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Segments of a name, checked like a path under a root (400 for `..`, `\`, controls, empty segments). */
function checkName(name: string): string[] {
  if (typeof name !== 'string' || name === '') throw new HttpError(400, 'Invalid name');
  return checkRequestedPath(name, { dotfiles: true });
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`S3Storage: ${name} must be a whole number >= 1, got ${String(value)}`);
  return value;
}

/** Connection failures that mean the store could not be reached at all (Node's and undici's codes). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** Seconds a client is told to wait before retrying a store that could not be reached. */
const RETRY_AFTER_SECONDS = 5;

/** The code of a failed fetch: on its cause, or on the first error of an AggregateError cause (several addresses tried). */
function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string; errors?: Array<{ code?: string }> } } | undefined)?.cause;
  return cause?.code ?? cause?.errors?.[0]?.code;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/**
 * The content in parts of exactly `partSize` bytes (the last one shorter), counted against
 * `maxBytes` as it comes (413 past it) and fed to `hash`. Only one part is held at a time.
 */
async function* chunksOf(content: SaveContent, partSize: number, maxBytes: number | undefined, hash: Hash): AsyncGenerator<Uint8Array> {
  let received = 0;
  let buffered: Uint8Array[] = [];
  let bufferedBytes = 0;
  const pieces: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> =
    typeof content === 'string' || content instanceof Uint8Array ? [content] : (content as AsyncIterable<Uint8Array | string>);
  for await (const piece of pieces) {
    let bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    if (!(bytes instanceof Uint8Array)) throw new TypeError('S3Storage.save: content must be bytes or text');
    received += bytes.length;
    if (maxBytes !== undefined && received > maxBytes) throw new HttpError(413, `File is larger than the limit of ${maxBytes} bytes`);
    hash.update(bytes);
    while (bytes.length > 0) {
      const take = Math.min(bytes.length, partSize - bufferedBytes);
      buffered.push(bytes.subarray(0, take));
      bufferedBytes += take;
      bytes = bytes.subarray(take);
      if (bufferedBytes === partSize) {
        yield Buffer.concat(buffered);
        buffered = [];
        bufferedBytes = 0;
      }
    }
  }
  if (bufferedBytes > 0 || received === 0) yield Buffer.concat(buffered);
}
