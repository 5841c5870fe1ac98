import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Busboy, type BusboyFileStream, type BusboyInstance } from '@fastify/busboy';
import { safeBasename } from '../http/disposition';
import { HttpError } from '../http/http-error';
import type { Storage, StoredFile } from '../storage/storage';

/** Options of `receiveUpload`. */
export interface ReceiveUploadOptions {
  /** The multipart field that carries the file. Default `file`. */
  field?: string;
  /** Larger uploads are refused with 413 and nothing is kept. */
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
  size: number;
  /** Hex SHA-256 of the bytes, computed as they were written. */
  sha256: string;
}

/** Multipart framing around one file is small; a body much larger than the limit is refused unread. */
const FRAMING_ALLOWANCE = 64 * 1024;

/**
 * Streams the file of a `multipart/form-data` request into a storage without holding it in
 * memory: the storage saves it atomically (temporary file, then rename), so an upload that is
 * too large (413), malformed (400) or cut off by the client leaves nothing behind.
 *
 * @example
 * export async function POST(request: Request) {
 *   const upload = await receiveUpload(request, media, { maxBytes: 100 * 2 ** 20, name: () => `uploads/${crypto.randomUUID()}` });
 *   return Response.json({ name: upload.clientName, size: upload.size, sha256: upload.sha256 }, { status: 201 });
 * }
 */
export async function receiveUpload(request: Request, storage: Storage, options: ReceiveUploadOptions): Promise<ReceivedUpload> {
  const field = options.field ?? 'file';
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new HttpError(415, 'Expected a multipart/form-data upload');
  }
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > options.maxBytes + FRAMING_ALLOWANCE) {
    throw new HttpError(413, `File is larger than the limit of ${options.maxBytes} bytes`);
  }
  if (!request.body) throw new HttpError(400, 'Empty upload');

  let parser: BusboyInstance;
  try {
    parser = new Busboy({
      headers: { 'content-type': contentType },
      // One byte over the limit is how we learn the file was too large.
      // `files` counts every file part, also those of other fields (drained below).
      limits: { files: 10, fileSize: options.maxBytes + 1, fields: 20, parts: 40, headerPairs: 100 },
    });
  } catch {
    throw new HttpError(400, 'Malformed multipart body');
  }

  let saving: Promise<ReceivedUpload> | undefined;
  let fileStream: Readable | undefined;
  parser.on('file', (name: string, stream: BusboyFileStream, filename: string | undefined, _encoding: string, mimetype: string) => {
    if (name !== field || saving) {
      stream.resume();
      return;
    }
    fileStream = stream;
    // Its errors reach the save through the loop in hashed(); without a listener, an error
    // emitted while nothing reads (the save failed first) would crash the process.
    stream.on('error', () => undefined);
    const clientName = safeBasename(filename ?? '');
    const hash = createHash('sha256');
    let size = 0;
    async function* hashed(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      } catch {
        // The body broke off or is not valid multipart: the client's fault, not the storage's.
        throw new HttpError(400, 'Malformed or interrupted upload');
      }
    }
    saving = storage
      .save(options.name(clientName), hashed(), { maxBytes: options.maxBytes })
      .then((stored) => ({ stored, clientName, clientType: mimetype || undefined, size, sha256: hash.digest('hex') }));
    // A save that fails (too large, disk full) stops the parsing too, instead of leaving the
    // parser waiting on a file stream nobody reads.
    saving.catch((error: unknown) => parser.destroy(error instanceof Error ? error : new Error(String(error))));
  });

  // An error the parser emits after the pipeline settled must not go unheard either.
  parser.on('error', () => undefined);
  try {
    await pipeline(Readable.fromWeb(request.body as import('node:stream/web').ReadableStream<Uint8Array>), parser);
  } catch (error) {
    // The client went away or the body is not valid multipart: stop the save, which then
    // removes its temporary file.
    fileStream?.destroy(error instanceof Error ? error : new Error(String(error)));
    const saveError: unknown = await saving?.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    if (saveError !== undefined) throw saveError;
    // The file was stored, but the rest of the body never came: the upload did not happen.
    const saved = await saving;
    if (saved) await storage.delete(saved.stored.name);
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, 'Malformed or interrupted upload');
  }
  if (!saving) throw new HttpError(400, `No file in the "${field}" field`);
  return saving;
}
