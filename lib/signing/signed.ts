import type { DownloadOptions } from '../engine/options';
import { ConfigurationError, HttpError } from '../errors';
import { errorResponse } from '../http/http-error';
import { signingKey, type SigningSecret } from './signature';
import { verifySignedUrl, type SignatureFailure } from './verify-signed-url';

/** The `authorize` hook every factory takes. */
export type AuthorizeHook = NonNullable<DownloadOptions['authorize']>;

/** Options of `signed`. */
export interface SignedOptions {
  /**
   * The secret URLs are signed with, at least 32 bytes. A value is checked when `signed()` is
   * called, i.e. when the route module loads. A function is read on each request instead: use it
   * when the secret is not there at build time (`next build` imports route modules) or rotates;
   * a bad value then fails that request with a 500 (logged), never a pass.
   */
  secret: SigningSecret | (() => SigningSecret | undefined);
  /** Clock in milliseconds, like `Date.now` (for tests). */
  now?: () => number;
}

/** Short, client-safe reasons: enough to tell a stale link from a broken one, nothing more. */
const MESSAGES: Record<SignatureFailure, string> = {
  missing: 'Signature missing',
  malformed: 'Signature malformed',
  invalid: 'Signature invalid',
  expired: 'Signature expired',
  method: 'Signature not valid for this method',
};

/**
 * An `authorize` hook that lets through only URLs made by `signUrl` with the same secret, and
 * answers anything else with 403 and a one-line reason (`Signature expired`, ...) in the kit's
 * error style (text/plain, nosniff, no-store). It runs before the file is looked up, so a bad
 * link learns nothing about which files exist. Combine it with other checks through `allOf`.
 *
 * @example
 * // app/api/signed/[...path]/route.ts
 * import { pathDownload } from 'next-downloadview';
 * import { signed } from 'next-downloadview/signing';
 * export const { GET, HEAD } = pathDownload({
 *   root: process.env.MEDIA_ROOT!,
 *   authorize: signed({ secret: process.env.DOWNLOAD_SECRET! }),
 * });
 *
 * @example
 * // Secret read per request (not set at build time), plus a session check.
 * authorize: allOf(signed({ secret: () => process.env.DOWNLOAD_SECRET }), requireSession),
 */
export function signed(options: SignedOptions): AuthorizeHook {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('signed: expected an options object ({ secret })');
  }
  const { secret, now } = options;
  if (now !== undefined && typeof now !== 'function') throw new ConfigurationError('signed: now must be a function');
  if (typeof secret !== 'function') signingKey(secret, 'signed');

  return (request) => {
    const verdict = verifySignedUrl(request, { secret: typeof secret === 'function' ? secret()! : secret, now });
    return verdict.ok ? undefined : errorResponse(new HttpError(403, MESSAGES[verdict.reason]));
  };
}
