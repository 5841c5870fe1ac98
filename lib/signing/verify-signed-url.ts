import { timingSafeEqual } from 'node:crypto';
import { computeSignature, parseTarget, signingKey, SIGNATURE_PARAMS, SIGNATURE_PATTERN, type SigningSecret } from './signature';

/**
 * Why a signed URL was refused:
 * - `missing`: no `signature` parameter (not a signed URL);
 * - `malformed`: a signature is there, but `expires` is missing or not a number, a parameter is
 *   repeated, or the signature is not 43 base64url characters;
 * - `invalid`: the signature does not match (tampered path or query, added or removed
 *   parameter, other secret);
 * - `expired`: genuine, but past its `expires`;
 * - `method`: genuine, but bound to another method.
 */
export type SignatureFailure = 'missing' | 'malformed' | 'expired' | 'invalid' | 'method';

/** The outcome of `verifySignedUrl`: valid, or why not. */
export type SignatureVerdict = { ok: true } | { ok: false; reason: SignatureFailure };

/** Options of `verifySignedUrl`. */
export interface VerifySignedUrlOptions {
  /** The secret the URL was signed with. */
  secret: SigningSecret;
  /** Clock in milliseconds, like `Date.now` (for tests). */
  now?: () => number;
  /** The method of the request; default: the Request's, `GET` for a URL or string. */
  method?: string;
}

/**
 * Checks a URL made by `signUrl`. Only the path and query count (not the host). The signature is
 * checked first, in constant time, so `expired` and `method` are only ever said of genuine URLs.
 * A URL signed for GET is valid for HEAD as well. A missing or short secret throws a
 * `ConfigurationError`: it is the server's fault, not the client's.
 *
 * @example
 * const verdict = verifySignedUrl(request, { secret: process.env.DOWNLOAD_SECRET! });
 * if (!verdict.ok) return new Response(`Signature ${verdict.reason}`, { status: 403 });
 */
export function verifySignedUrl(request: Request | URL | string, options: VerifySignedUrlOptions): SignatureVerdict {
  const key = signingKey(options?.secret, 'verifySignedUrl');
  let url: URL;
  try {
    url = parseTarget(request instanceof Request ? request.url : request, 'verifySignedUrl').url;
  } catch {
    return { ok: false, reason: 'malformed' };
  }

  const params = url.searchParams;
  const signatures = params.getAll(SIGNATURE_PARAMS.signature);
  if (signatures.length === 0) return { ok: false, reason: 'missing' };
  const expires = params.getAll(SIGNATURE_PARAMS.expires);
  const methods = params.getAll(SIGNATURE_PARAMS.method);
  const [signature] = signatures;
  const [expiry] = expires;
  const [bound] = methods;
  if (
    signatures.length !== 1 ||
    expires.length !== 1 ||
    methods.length > 1 ||
    !SIGNATURE_PATTERN.test(signature!) ||
    !/^[0-9]{1,12}$/.test(expiry!) ||
    (bound !== undefined && !/^[A-Z]+$/.test(bound))
  ) {
    return { ok: false, reason: 'malformed' };
  }

  // Both are 43 ASCII characters (checked above and by construction): equal lengths, as
  // timingSafeEqual requires. Comparing the text rather than the decoded bytes also refuses the
  // other spellings base64url allows for the same bytes in the last character.
  const expected = computeSignature(key, url);
  if (!timingSafeEqual(Buffer.from(signature!, 'latin1'), Buffer.from(expected, 'latin1'))) {
    return { ok: false, reason: 'invalid' };
  }

  if ((options.now ?? Date.now)() >= Number(expiry) * 1000) return { ok: false, reason: 'expired' };

  if (bound !== undefined) {
    const method = (options.method ?? (request instanceof Request ? request.method : 'GET')).toUpperCase();
    // RFC 9110 §9.3.2: HEAD is GET without the content, so what GET may see, HEAD may too.
    if (method !== bound && !(method === 'HEAD' && bound === 'GET')) return { ok: false, reason: 'method' };
  }
  return { ok: true };
}
