import path from 'node:path';
import type { NginxOffloadOptions, OffloadMatch } from './rules';

/**
 * One file name as a URI path segment: every byte of its UTF-8 form except the unreserved
 * characters (RFC 3986 §2.3) becomes `%XX`. nginx, lighttpd and mod_xsendfile 1.0 decode it
 * once, back to the name (`espacé .txt` <- `espac%C3%A9%20.txt`); `?`, `#`, `%` and `;` stay
 * part of the name instead of starting a query, a fragment or an escape.
 */
export function encodePathSegment(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * nginx's headers: `X-Accel-Redirect: <uri>` and the X-Accel-* options that are set.
 *
 * @example
 * nginxHeaders('/_protected/a%20b.txt', { buffering: false, expires: 'off' })
 * // -> { 'x-accel-redirect': '/_protected/a%20b.txt', 'x-accel-buffering': 'no', 'x-accel-expires': 'off' }
 */
export function nginxHeaders(uri: string, options: NginxOffloadOptions = {}): Record<string, string> {
  const headers: Record<string, string> = { 'x-accel-redirect': uri };
  if (options.buffering !== undefined) headers['x-accel-buffering'] = options.buffering ? 'yes' : 'no';
  if (options.limitRate !== undefined) headers['x-accel-limit-rate'] = String(options.limitRate);
  if (options.expires !== undefined) headers['x-accel-expires'] = expiresValue(options.expires);
  if (options.charset !== undefined) headers['x-accel-charset'] = options.charset;
  return headers;
}

/** `off`, seconds, or `@<unix seconds>` for a point in time (nginx's X-Accel-Expires forms). */
function expiresValue(expires: number | 'off' | Date): string {
  if (expires === 'off') return 'off';
  if (expires instanceof Date) return `@${Math.floor(expires.getTime() / 1000)}`;
  return String(expires);
}

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const UNSENDABLE = /[\u0000-\u001f\u007f]|[ \t]$/;

/**
 * `X-Sendfile: <path>` for Apache's mod_xsendfile and lighttpd, or `undefined` when the path
 * cannot travel in the header (then the app streams the file itself).
 *
 * Encoded, each segment is percent-encoded (lighttpd, mod_xsendfile 1.0 with XSendFileUnescape).
 * Literal (mod_xsendfile 0.12), the path's UTF-8 bytes go out as they are: a header value is a
 * byte string, so each byte is one character of it. A control character or a trailing space
 * (header values are trimmed) cannot be sent literally.
 */
export function sendfileHeaders(file: string, encoded: boolean): Record<string, string> | undefined {
  if (encoded) return { 'x-sendfile': file.split('/').map(encodePathSegment).join('/') };
  if (UNSENDABLE.test(file)) return undefined;
  return { 'x-sendfile': Buffer.from(file, 'utf8').toString('latin1') };
}

/** The headers that hand a matched file to its rule's web server, or `undefined` if it cannot be. */
export function offloadHeaders(match: OffloadMatch): Record<string, string> | undefined {
  const { rule } = match;
  try {
    if (rule.backend === 'nginx') {
      const below =
        match.kind === 'file'
          ? match.segments.map(encodePathSegment).join('/')
          : `${match.path}${match.query ? `?${match.query}` : ''}`;
      return nginxHeaders(`${rule.destination}/${below}`, rule.nginx);
    }
    // URL sources are refused for these backends when the rule is configured.
    if (match.kind !== 'file') return undefined;
    return sendfileHeaders(path.join(rule.destination ?? match.directory, ...match.segments), rule.encoded);
  } catch (error) {
    // A name that is not valid Unicode (a lone surrogate) has no UTF-8 form to encode.
    if (error instanceof URIError) return undefined;
    throw error;
  }
}
