/**
 * `next-downloadview/signing`: expiring signed links, and an `authorize` hook that checks them.
 *
 * @example
 * import { signUrl, signed } from 'next-downloadview/signing';
 * const url = signUrl('/downloads/report.pdf', { secret: process.env.DOWNLOAD_SECRET!, expiresIn: 600 });
 * export const { GET, HEAD } = storageDownload({ storage, authorize: signed({ secret: () => process.env.DOWNLOAD_SECRET }) });
 *
 * @module
 */
export { signUrl, DEFAULT_EXPIRES_IN, type SignUrlOptions, type SignedMethod } from './sign-url';
export { verifySignedUrl, type SignatureFailure, type SignatureVerdict, type VerifySignedUrlOptions } from './verify-signed-url';
export { signed, type AuthorizeHook, type SignedOptions } from './signed';
export { allOf } from './all-of';
export { MIN_SECRET_BYTES, type SigningSecret } from './signature';
