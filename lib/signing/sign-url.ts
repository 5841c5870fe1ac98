import { canonicalPath } from '../http/canonical';
import { computeSignature, parseTarget, signingKey, SIGNATURE_PARAMS, type SigningSecret } from './signature';

/** Methods a signature can be bound to. */
export type SignedMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Lifetime of a signed URL when neither `expiresIn` nor `expiresAt` is given: one hour. */
export const DEFAULT_EXPIRES_IN = 3600;

/** Options of `signUrl`. */
export interface SignUrlOptions {
  /** At least 32 bytes, from configuration (e.g. `process.env.DOWNLOAD_SECRET`). */
  secret: SigningSecret;
  /**
   * Seconds the URL stays valid; default {@link DEFAULT_EXPIRES_IN}. There is no unlimited
   * signature: give a long one explicitly (e.g. `365 * 24 * 3600`) if that is what you mean.
   */
  expiresIn?: number;
  /** Absolute expiry instead of `expiresIn` (not both); rounded down to the second. */
  expiresAt?: Date;
  /**
   * Binds the URL to one method. A URL signed for GET is valid for HEAD too (HEAD is GET
   * without the body, RFC 9110 §9.3.2); one signed for HEAD is not valid for GET.
   * Without it, any method the route answers.
   */
  method?: SignedMethod;
  /** Clock in milliseconds, like `Date.now` (for tests). */
  now?: () => number;
}

/**
 * Signs a URL: adds `expires` (Unix seconds), `method` if bound, and `signature` (base64url
 * HMAC-SHA256 of the path, the other query parameters and those two). An absolute URL stays
 * absolute, a path (`/api/...`) stays a path. The path comes back percent-encoded the way it is
 * signed, so raw text (`/files/a b/é.txt`) can be passed as is; a `%` followed by two hex digits
 * is read as an escape, so encode a name containing one (`encodeURIComponent`). Sign the path
 * the route handler sees in `request.url`: behind a proxy or rewrite that changes it, sign the
 * rewritten one.
 *
 * Throws a `ConfigurationError` for a missing or short secret, a `TypeError` for a URL that
 * already carries `expires`, `method` or `signature`, a `RangeError` for an expiry that is not
 * in the future.
 *
 * @example
 * // app/files/page.tsx (server side)
 * import { signUrl } from 'next-downloadview/signing';
 * const href = signUrl(`/api/signed/${encodeURIComponent(name)}`, {
 *   secret: process.env.DOWNLOAD_SECRET!,
 *   expiresIn: 15 * 60,
 * });
 * // -> '/api/signed/r%C3%A9sum%C3%A9.pdf?expires=1767225600&signature=3q2-7w...'
 */
export function signUrl(url: string | URL, options: SignUrlOptions): string {
  const key = signingKey(options?.secret, 'signUrl');
  const { url: target, relative } = parseTarget(url, 'signUrl');
  for (const name of Object.values(SIGNATURE_PARAMS)) {
    if (target.searchParams.has(name)) {
      throw new TypeError(`signUrl: the URL already has a "${name}" parameter; sign the URL without it`);
    }
  }

  const extra = new URLSearchParams({ [SIGNATURE_PARAMS.expires]: String(expiryOf(options)) });
  if (options.method !== undefined) extra.set(SIGNATURE_PARAMS.method, methodOf(options.method));
  // The existing query is kept as written (re-serialising it would change how the app sees
  // it, e.g. `%20` -> `+`); the new parameters are plain ASCII.
  target.search = target.search ? `${target.search}&${extra}` : `?${extra}`;
  // Only unreserved characters and %XX are left, so the URL parser keeps this path as is.
  target.pathname = canonicalPath(target.pathname);

  target.search = `${target.search}&${SIGNATURE_PARAMS.signature}=${computeSignature(key, target)}`;
  return relative ? `${target.pathname}${target.search}${target.hash}` : target.href;
}

function expiryOf({ expiresIn, expiresAt, now = Date.now }: SignUrlOptions): number {
  const nowMs = now();
  let expires: number;
  if (expiresAt !== undefined) {
    if (expiresIn !== undefined) throw new TypeError('signUrl: give expiresIn or expiresAt, not both');
    if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
      throw new TypeError('signUrl: expiresAt must be a valid Date');
    }
    // Down: the URL never outlives the date asked for.
    expires = Math.floor(expiresAt.getTime() / 1000);
  } else {
    const seconds = expiresIn ?? DEFAULT_EXPIRES_IN;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
      throw new RangeError(
        `signUrl: expiresIn must be a positive number of seconds, got ${String(expiresIn)}; ` +
          'there is no unlimited signature, give a long one explicitly',
      );
    }
    // Up: the URL lives at least as long as asked.
    expires = Math.ceil((nowMs + seconds * 1000) / 1000);
  }
  if (!Number.isSafeInteger(expires * 1000)) throw new RangeError('signUrl: the expiry is too far in the future');
  if (expires * 1000 <= nowMs) {
    throw new RangeError(`signUrl: the expiry must be in the future, got ${new Date(expires * 1000).toISOString()}`);
  }
  return expires;
}

function methodOf(method: string): string {
  const upper = typeof method === 'string' ? method.toUpperCase() : '';
  if (!['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(upper)) {
    throw new TypeError(`signUrl: method must be GET, HEAD, POST, PUT, PATCH or DELETE, got ${JSON.stringify(method)}`);
  }
  return upper;
}
