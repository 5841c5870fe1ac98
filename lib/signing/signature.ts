import { createHmac } from 'node:crypto';
import { ConfigurationError } from '../errors';
import { canonicalPath, canonicalQuery } from '../http/canonical';

/** A signing secret: a string (its UTF-8 bytes are the key) or raw bytes. */
export type SigningSecret = string | Uint8Array;

/** HMAC-SHA256 keys shorter than its output add no strength and are easy to guess (RFC 2104 §3). */
export const MIN_SECRET_BYTES = 32;

/** Query parameters the signature adds; a URL to sign must not carry them already. */
export const SIGNATURE_PARAMS = { expires: 'expires', method: 'method', signature: 'signature' } as const;

/** 32 bytes of HMAC-SHA256 in base64url without padding. */
export const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Separates this use of the key from any other the application makes of the same secret, and
 * lets a later format change invalidate every old link at once.
 */
const DOMAIN = 'next-downloadview signed URL v1';

const encoder = new TextEncoder();

/** The secret as key bytes; a missing or short one is a configuration error. */
export function signingKey(secret: SigningSecret | undefined, where: string): Uint8Array {
  if (secret === undefined || secret === null || secret === '') {
    throw new ConfigurationError(
      `${where}: the signing secret is missing; pass one from configuration, e.g. process.env.DOWNLOAD_SECRET`,
    );
  }
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new ConfigurationError(`${where}: the signing secret must be a string or a Uint8Array`);
  }
  const key = typeof secret === 'string' ? encoder.encode(secret) : secret;
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new ConfigurationError(
      `${where}: the signing secret must be at least ${MIN_SECRET_BYTES} bytes, got ${key.byteLength}; ` +
        `make one with: node -e "console.log(crypto.randomBytes(32).toString('base64url'))"`,
    );
  }
  return key;
}

const RELATIVE_BASE = 'http://relative.invalid';

/**
 * Parses an absolute URL, or a path starting with one `/` (kept relative by the caller). A
 * relative path without the leading slash would resolve against the page it appears on, and
 * `//host/...` changes the host, so neither is accepted.
 */
export function parseTarget(input: string | URL, where: string): { url: URL; relative: boolean } {
  if (input instanceof URL) return { url: new URL(input.href), relative: false };
  if (typeof input === 'string') {
    if (/^\/(?![/\\])/.test(input)) return { url: new URL(input, RELATIVE_BASE), relative: true };
    if (URL.canParse(input)) return { url: new URL(input), relative: false };
  }
  throw new TypeError(`${where}: expected an absolute URL or a path starting with "/", got ${JSON.stringify(input)}`);
}

/**
 * HMAC-SHA256 over the canonical path and the canonical query (every parameter but the signature,
 * so `expires` and `method` are covered). The host is left out: behind a proxy the handler does
 * not see the host the client used.
 */
export function computeSignature(key: Uint8Array, url: URL): string {
  const payload = [DOMAIN, canonicalPath(url.pathname), canonicalQuery(url.searchParams, SIGNATURE_PARAMS.signature)];
  return createHmac('sha256', key).update(payload.join('\n')).digest('base64url');
}
