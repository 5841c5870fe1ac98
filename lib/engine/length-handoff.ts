import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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
