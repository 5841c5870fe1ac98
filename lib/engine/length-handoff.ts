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
 * Signed values by length, so that the lengths a server sends over and over (the same files)
 * cost a map lookup instead of an HMAC on each side. Bounded: cleared when full.
 */
const SIGNED = Symbol.for('next-downloadview.signed-lengths');
const SIGNED_MAX = 4096;

type GlobalWithSigned = typeof globalThis & { [SIGNED]?: { token: Buffer; values: Map<number, string> } };

function signedValues(token: Buffer): Map<number, string> {
  const global = globalThis as GlobalWithSigned;
  let cache = global[SIGNED];
  if (!cache || cache.token !== token) cache = global[SIGNED] = { token, values: new Map() };
  return cache.values;
}

/**
 * The private header's value for a length, or `undefined` when no kit server runs in this
 * process. It carries a MAC under a per-process secret, so a header a route sets by hand (or
 * copies from elsewhere) cannot make the server announce a length of its choosing.
 */
export function signedLength(length: number): string | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || !Number.isSafeInteger(length) || length < 0) return undefined;
  const values = signedValues(token);
  let signed = values.get(length);
  if (signed === undefined) {
    const value = String(length);
    signed = `${value}.${mac(token, value).toString('base64url')}`;
    if (values.size >= SIGNED_MAX) values.clear();
    values.set(length, signed);
  }
  return signed;
}

/** The length in a private header value, if it was made by `signedLength` in this process. */
export function verifiedLength(header: unknown): number | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || typeof header !== 'string') return undefined;
  const match = /^(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{22})$/.exec(header);
  if (!match) return undefined;
  const length = Number(match[1]);
  // A value this process signed and still remembers: compared in constant time, no HMAC.
  const known = signedValues(token).get(length);
  if (known !== undefined) return equalStrings(known, header) ? length : undefined;
  const expected = mac(token, match[1]!);
  const given = Buffer.from(match[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return length;
}

/**
 * Next 16 drops `Content-Encoding` from route-handler responses too: a file stored gzipped would
 * reach the client as a gzip blob under its plain name. The engine hands the coding over in
 * this header, signed like the length, and the server turns it back into `Content-Encoding`.
 */
export const ENCODING_HEADER = 'x-downloadview-encoding';

/** A `Content-Encoding` value: content-codings (RFC 9110 §8.4.1), tokens, comma-separated. */
const CODINGS = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:[ \t]*,[ \t]*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** The MAC of a coding; its own prefix, so that no signed length can pass for a coding. */
function encodingMac(token: Buffer, encoding: string): string {
  return mac(token, `content-encoding:${encoding}`).toString('base64url');
}

/** The private header's value for a `Content-Encoding`, or `undefined` when no kit server runs in this process. */
export function signedEncoding(encoding: string): string | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || !CODINGS.test(encoding)) return undefined;
  return `${encoding}/${encodingMac(token, encoding)}`;
}

/** The coding in a private header value, if it was made by `signedEncoding` in this process. */
export function verifiedEncoding(header: unknown): string | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || typeof header !== 'string') return undefined;
  const at = header.lastIndexOf('/');
  if (at < 1) return undefined;
  const encoding = header.slice(0, at);
  if (!CODINGS.test(encoding)) return undefined;
  const given = Buffer.from(header.slice(at + 1), 'utf8');
  const expected = Buffer.from(encodingMac(token, encoding), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected) ? encoding : undefined;
}

/** Whether two strings of the same shape are equal, in time that does not depend on where they differ. */
function equalStrings(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
