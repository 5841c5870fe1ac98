import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { crc32 } from 'node:zlib';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Busboy, type BusboyFileStream, type BusboyInstance } from '@fastify/busboy';
import { typeFromName } from '../http/content-type';
import { checkedContentType, SNIFF_BYTES } from './content-type-check';
import { safeBasename } from '../http/disposition';
import { HttpError } from '../errors';
import { declaredLength } from '../http/read-body';
import type { Storage, StoredFile } from '../storage/storage';

/** Options of `receiveUpload`. */
export interface ReceiveUploadOptions {
  /** The multipart field that carries the file. Default `file`. */
  field?: string;
  /** Larger uploads are refused with 413 and nothing is kept; the request may be 64 KiB larger. */
  maxBytes: number;
  /**
   * The storage name to save under, from the client's file name (already reduced to a safe
   * basename). Never use the client's name as the path itself.
   */
  name: (clientName: string) => string;
}

/** What `receiveUpload` stored. */
export interface ReceivedUpload {
  stored: StoredFile;
  /** The client's file name, reduced to a basename (may be empty). */
  clientName: string;
  /** Media type the client declared; untrusted. */
  clientType: string | undefined;
  /**
   * The media type stored with the file (where the storage keeps one): the type of its name (or
   * else the one the client declared) if the first bytes agree, the type the bytes show if they
   * do not, `application/octet-stream` if neither holds (see `checkedContentType`).
   */
  contentType: string;
  size: number;
  /** Hex SHA-256 of the bytes, computed as they were written. */
  sha256: string;
  /**
   * CRC-32 of the bytes (`zlib.crc32`), computed in the same pass: store it with the row, and a
   * `zipDownload` of the file resumes by seeking (see `ZipEntry.crc32`).
   */
  crc32: number;
}

/**
 * Multipart framing around the file (boundaries, part headers, a few small fields) is small: a
 * request may carry this much more than `maxBytes`, and not a byte more, whatever its layout.
 */
const FRAMING_ALLOWANCE = 64 * 1024;

/** Small fields besides the file (a title, a token): each at most this long. */
const MAX_FIELD_BYTES = 8 * 1024;

function tooLarge(message: string): HttpError {
  // The rest of the body is left unread, so the connection cannot carry another request
  // (RFC 9110 §15.5.14); the kit's server closes it after the answer.
  return new HttpError(413, message, { connection: 'close' });
}

/**
 * Streams the file of a `multipart/form-data` request into a storage without holding it in
 * memory: the storage saves it atomically (temporary file, then rename), so an upload that is
 * too large (413), malformed (400) or cut off by the client leaves nothing behind.
 *
 * The whole request is bounded, not only the file: a declared Content-Length over `maxBytes` plus
 * 64 KiB of framing is refused before a byte is read, and the body is counted as it streams and
 * refused with 413 the moment it passes that bound, whatever carries the bytes (other fields,
 * other files, a preamble or an epilogue). So are more than 10 files, 20 fields, 40 parts, or a
 * field over 8 KiB. The rest of a refused body is never read; it is not cancelled either, since
 * cancelling the body of a request Next built from a socket resets that socket before the 413
 * can be sent (the kit's server closes the connection after the answer instead).
 *
 * @example
 * // app/uploads/route.ts
 * import { receiveUpload } from 'next-downloadview/upload';
 * import { FileSystemStorage } from 'next-downloadview/storage';
 * const media = new FileSystemStorage(process.env.MEDIA_ROOT!);
 * export async function POST(request: Request) {
 *   const upload = await receiveUpload(request, media, { maxBytes: 100 * 2 ** 20, name: () => `uploads/${crypto.randomUUID()}` });
 *   return Response.json({ name: upload.clientName, size: upload.size, sha256: upload.sha256 }, { status: 201 });
 * }
 */
export async function receiveUpload(request: Request, storage: Storage, options: ReceiveUploadOptions): Promise<ReceivedUpload> {
  const field = options.field ?? 'file';
  const { contentType, bound, body } = checkedRequest(request, options.maxBytes);
  const parser = multipartParser(contentType, options.maxBytes);
  const guard = guarded(parser);

  let saving: Promise<ReceivedUpload> | undefined;
  let fileStream: Readable | undefined;
  parser.on('file', (name: string, stream: BusboyFileStream, filename: string | undefined, _encoding: string, mimetype: string) => {
    if (name !== field || saving) {
      // Drained, but counted against the bound like every other byte of the request.
      stream.resume();
      return;
    }
    fileStream = stream;
    saving = saveFile(stream, safeBasename(filename ?? ''), mimetype || undefined, storage, options);
    // A save that fails (too large, disk full) stops the parsing too, instead of leaving the
    // parser waiting on a file stream nobody reads.
    saving.catch(guard.fail);
  });

  // An error the parser emits after we stopped listening must not go unheard either.
  parser.on('error', () => undefined);
  const reader = body.getReader();
  try {
    await feed(reader, parser, guard.stopped, bound, options.maxBytes);
  } catch (error) {
    const failure = guard.failure() ?? error;
    // Stop the save, which then removes its temporary file.
    fileStream?.destroy(failure instanceof Error ? failure : new Error(String(failure)));
    throw await undone(failure, saving, storage);
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // A read still pending on a stalled client; it is rejected and nobody waits for it.
    }
  }
  if (!saving) throw new HttpError(400, `No file in the "${field}" field`);
  return saving;
}

/** What can be refused before a byte of the body is read: the type (415), a declared length (413), no body (400). */
function checkedRequest(request: Request, maxBytes: number): { contentType: string; bound: number; body: ReadableStream<Uint8Array> } {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new HttpError(415, 'Expected a multipart/form-data upload');
  }
  const bound = maxBytes + FRAMING_ALLOWANCE;
  const declared = declaredLength(request);
  if (declared !== undefined && declared > bound) {
    throw tooLarge(`File is larger than the limit of ${maxBytes} bytes`);
  }
  if (!request.body) throw new HttpError(400, 'Empty upload');
  return { contentType, bound, body: request.body };
}

/** The multipart parser with the upload's limits; a header it cannot parse is a 400. */
function multipartParser(contentType: string, maxBytes: number): BusboyInstance {
  try {
    return new Busboy({
      headers: { 'content-type': contentType },
      // One byte over the limit is how we learn the file was too large.
      // `files` counts every file part, also those of other fields (drained in receiveUpload).
      limits: { files: 10, fileSize: maxBytes + 1, fields: 20, fieldSize: MAX_FIELD_BYTES, parts: 40, headerPairs: 100 },
    });
  } catch {
    throw new HttpError(400, 'Malformed multipart body');
  }
}

/**
 * The first reason to stop, wherever it is found (a limit of the parser, a failed save): `fail`
 * records it and destroys the parser; `stopped` rejects with it, so that a read waiting on a
 * stalled client stops waiting too.
 */
function guarded(parser: BusboyInstance): { fail: (error: unknown) => void; stopped: Promise<never>; failure: () => unknown } {
  let failure: unknown;
  let stop!: (error: unknown) => void;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  stopped.catch(() => undefined);
  const fail = (error: unknown): void => {
    failure ??= error;
    stop(failure);
    parser.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  parser.on('partsLimit', () => fail(tooLarge('Too many parts in the upload')));
  parser.on('filesLimit', () => fail(tooLarge('Too many files in the upload')));
  parser.on('fieldsLimit', () => fail(tooLarge('Too many fields in the upload')));
  parser.on('field', (_name: string, _value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
    if (valueTruncated) fail(tooLarge(`A field is longer than ${MAX_FIELD_BYTES} bytes`));
  });
  return { fail, stopped, failure: () => failure };
}

/**
 * Saves the file part into the storage, hashing and counting it on the way; its first bytes
 * decide the type stored with it (an object store fixes it before the first byte is written).
 */
async function saveFile(
  stream: BusboyFileStream,
  clientName: string,
  clientType: string | undefined,
  storage: Storage,
  options: ReceiveUploadOptions,
): Promise<ReceivedUpload> {
  // Its errors reach the save through next(); without a listener, an error
  // emitted while nothing reads (the save failed first) would crash the process.
  stream.on('error', () => undefined);
  const hash = createHash('sha256');
  let crc = 0;
  let size = 0;
  const chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const next = async (): Promise<IteratorResult<Buffer>> => {
    try {
      return await chunks.next();
    } catch (error) {
      // Our own refusal (413) stays one; otherwise the body broke off or is not valid
      // multipart: the client's fault, not the storage's.
      if (error instanceof HttpError) throw error;
      throw new HttpError(400, 'Malformed or interrupted upload');
    }
  };
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < SNIFF_BYTES) {
    const step = await next();
    if (step.done) {
      ended = true;
      break;
    }
    head.push(step.value);
    headBytes += step.value.length;
  }
  const contentType = await checkedContentType(Buffer.concat(head), typeFromName(clientName) ?? clientType);
  async function* hashed(): AsyncGenerator<Uint8Array> {
    const counted = (chunk: Buffer): Buffer => {
      hash.update(chunk);
      crc = crc32(chunk, crc);
      size += chunk.length;
      return chunk;
    };
    yield* head.splice(0).map(counted);
    if (ended) return;
    for (let step = await next(); !step.done; step = await next()) yield counted(step.value);
  }
  const stored = await storage.save(options.name(clientName), hashed(), { maxBytes: options.maxBytes, contentType });
  return { stored, clientName, clientType, contentType, size, sha256: hash.digest('hex'), crc32: crc };
}

/**
 * After the request was refused or never came whole: a file already stored is deleted (the
 * upload did not happen), and the error to answer with is returned.
 */
async function undone(failure: unknown, saving: Promise<ReceivedUpload> | undefined, storage: Storage): Promise<unknown> {
  const saveError: unknown = await saving?.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  const saved = saveError === undefined ? await saving : undefined;
  if (saved) await storage.delete(saved.stored.name);
  if (failure instanceof HttpError) return failure;
  if (saveError !== undefined) return saveError;
  return new HttpError(400, 'Malformed or interrupted upload');
}

/**
 * Writes the body into the parser with backpressure, counting every byte, and waits for the
 * parser to finish. Throws 413 the moment the count passes `bound`, 400 if the body breaks off,
 * or whatever stopped the parser.
 */
async function feed(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  parser: BusboyInstance,
  stopped: Promise<never>,
  bound: number,
  maxBytes: number,
): Promise<void> {
  let received = 0;
  for (;;) {
    const read = reader.read().then(
      (step) => step,
      () => undefined,
    );
    const step = await Promise.race([read, stopped]);
    if (step === undefined) throw new HttpError(400, 'Malformed or interrupted upload');
    if (step.done) break;
    received += step.value.byteLength;
    if (received > bound) throw tooLarge(`File is larger than the limit of ${maxBytes} bytes`);
    if (parser.destroyed) break;
    // once() rejects when the parser errors (or is destroyed with an error) while we wait.
    if (!parser.write(step.value)) await Promise.race([once(parser, 'drain'), stopped]);
  }
  parser.end();
  await Promise.race([finished(parser), stopped]);
}
