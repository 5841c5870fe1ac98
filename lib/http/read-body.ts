import { HttpError } from '../errors';

/** What a small JSON or form endpoint takes by default: a few KB. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

/** Options of `readBody`, `readText` and `readJson`. */
export interface ReadBodyOptions {
  /** Larger bodies are refused with 413. Default 16 KiB. */
  maxBytes?: number;
}

function limitOf(options: ReadBodyOptions): number {
  const limit = options.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`maxBytes must be a whole number of bytes, got ${limit}`);
  return limit;
}

function tooLarge(limit: number): HttpError {
  // The rest of the body is never read, so the connection cannot carry another request
  // (RFC 9110 §15.5.14): `Connection: close` says so; the kit's server closes it too.
  return new HttpError(413, `Body is larger than the limit of ${limit} bytes`, { connection: 'close' });
}

/**
 * The declared length of a request body, or `undefined` when the request does not declare one
 * (chunked). A malformed Content-Length is refused (RFC 9112 §6.3: it cannot be framed).
 */
export function declaredLength(request: Request): number | undefined {
  const header = request.headers.get('content-length');
  if (header === null) return undefined;
  // Node joins repeated identical values with ", "; differing ones are refused before we see them.
  const values = new Set(header.split(',').map((value) => value.trim()));
  const [value] = values;
  if (values.size !== 1 || !/^[0-9]{1,15}$/.test(value!)) throw new HttpError(400, 'Invalid Content-Length');
  return Number(value);
}

/**
 * Reads a request body into memory, but never more than `maxBytes`: a declared Content-Length
 * over the limit is refused with 413 before a byte is read, and a body without one is counted as
 * it streams and refused the moment it passes the limit.
 *
 * The rest of a refused body is left unread on purpose, not cancelled: cancelling the body of a
 * request that Next built from a Node socket destroys that socket, so the client would see a
 * reset instead of the 413. The kit's server closes the connection once the answer is sent.
 *
 * @example
 * const bytes = await readBody(request, { maxBytes: 64 * 1024 });
 */
export async function readBody(request: Request, options: ReadBodyOptions = {}): Promise<Uint8Array> {
  const limit = limitOf(options);
  const declared = declaredLength(request);
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  if (!request.body) return new Uint8Array(0);
  if (request.bodyUsed) throw new TypeError('readBody: the request body was already read');

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch {
        throw new HttpError(400, 'The request body broke off');
      }
      if (step.done) break;
      size += step.value.byteLength;
      if (size > limit) throw tooLarge(limit);
      chunks.push(step.value);
    }
  } finally {
    reader.releaseLock();
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

/**
 * A request body as UTF-8 text, at most `maxBytes` bytes (see `readBody`). Bytes that are not
 * UTF-8 are refused with 400 instead of being replaced.
 */
export async function readText(request: Request, options: ReadBodyOptions = {}): Promise<string> {
  const bytes = await readBody(request, options);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new HttpError(400, 'The request body is not UTF-8 text');
  }
}

/**
 * A request body parsed as JSON, at most `maxBytes` bytes (see `readBody`); 400 when it is not
 * JSON. Small endpoints should use this rather than `request.json()`, which reads any size.
 *
 * @example
 * export async function POST(request: Request) {
 *   const { path } = (await readJson(request, { maxBytes: 4096 })) as { path?: unknown };
 * }
 */
export async function readJson(request: Request, options: ReadBodyOptions = {}): Promise<unknown> {
  const text = await readText(request, options);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'Expected a JSON body');
  }
}
