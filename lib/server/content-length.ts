import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Next 16 drops `Content-Length` from route-handler responses. The engine hands the length to
 * the kit's server in this header instead, and the server turns it back into `Content-Length`.
 * It never reaches the wire: the server consumes it, and without the server it is not sent.
 */
export const LENGTH_HEADER = 'x-downloadview-length';

const TOKEN = Symbol.for('next-downloadview.length-token');

type GlobalWithToken = typeof globalThis & { [TOKEN]?: Buffer };

/** Called by the server: from now on, the engine in this process passes lengths on. */
export function enableLengthHeader(): void {
  (globalThis as GlobalWithToken)[TOKEN] ??= randomBytes(32);
}

function mac(token: Buffer, length: string): Buffer {
  return createHmac('sha256', token).update(length).digest().subarray(0, 16);
}

/**
 * The private header's value for a length, or `undefined` when no kit server runs in this
 * process. It carries a MAC under a per-process secret, so a header a route sets by hand (or
 * copies from elsewhere) cannot make the server announce a length of its choosing.
 */
export function signedLength(length: number): string | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || !Number.isSafeInteger(length) || length < 0) return undefined;
  const value = String(length);
  return `${value}.${mac(token, value).toString('base64url')}`;
}

/** The length in a private header value, if it was made by `signedLength` in this process. */
export function verifiedLength(header: unknown): number | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || typeof header !== 'string') return undefined;
  const match = /^(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{22})$/.exec(header);
  if (!match) return undefined;
  const expected = mac(token, match[1]!);
  const given = Buffer.from(match[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return Number(match[1]);
}

/** Statuses whose responses never carry a body (RFC 9110 §6.4.1). */
function bodiless(req: IncomingMessage, res: ServerResponse): boolean {
  return req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 || (res.statusCode >= 100 && res.statusCode < 200);
}

/**
 * Makes `res` turn a valid private length header into `Content-Length`, and guards it: the
 * private header is always removed; if the body written does not come to exactly that many
 * bytes, the connection is destroyed rather than ended, so a client never takes a short or
 * long body for a whole one.
 */
export function restoreContentLength(req: IncomingMessage, res: ServerResponse): void {
  let expected: number | undefined;
  let written = 0;
  const setHeader = res.setHeader.bind(res);
  const appendHeader = res.appendHeader?.bind(res);
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;

  const intercept = (name: string, value: unknown): boolean => {
    const lower = name.toLowerCase();
    if (lower === LENGTH_HEADER) {
      const length = verifiedLength(Array.isArray(value) ? value[0] : value);
      if (length !== undefined && !res.headersSent) {
        expected = length;
        setHeader('content-length', String(length));
      }
      return true;
    }
    // A length from anywhere else may not replace the verified one.
    return lower === 'content-length' && expected !== undefined;
  };

  res.setHeader = (name: string, value: number | string | readonly string[]) => (intercept(name, value) ? res : setHeader(name, value));
  if (appendHeader) {
    res.appendHeader = (name: string, value: string | readonly string[]) => (intercept(name, value) ? res : appendHeader(name, value));
  }

  const count = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    written += typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array).byteLength;
  };

  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (expected !== undefined && !bodiless(req, res)) {
      count(chunk, rest[0]);
      if (written > expected) {
        res.destroy(new Error(`response body is longer than its Content-Length of ${expected}`));
        return false;
      }
    }
    return write(chunk, ...rest);
  }) as typeof res.write;

  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (expected !== undefined && !bodiless(req, res)) {
      count(chunk, rest[0]);
      if (written !== expected) {
        res.destroy(new Error(`response body is ${written} bytes, its Content-Length ${expected}`));
        return res;
      }
    }
    return end(chunk, ...rest);
  }) as typeof res.end;
}
