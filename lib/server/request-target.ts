/**
 * Checks a request's method and target before Next sees them. Next answers several malformed
 * requests with 500 (a path with bad percent-encoding, TRACE, `OPTIONS *`) and turns an
 * absolute-form target into a redirect to the host it names; the kit's server answers those
 * itself, with a 4xx or 501, and hands Next only origin-form targets it can parse.
 */

/** The methods an App Router route can export (and so the only ones the app serves). */
export const SERVED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export type TargetCheck =
  /** Hand the request to the app, with this origin-form target. */
  | { kind: 'pass'; target: string }
  /** `OPTIONS *`: a question about the server as a whole (RFC 9110 §9.3.7). */
  | { kind: 'server-options' }
  | { kind: 'refuse'; status: 400 | 501; message: string };

/** What a request's framing asks of the server: go on, or refuse and close. */
export type FramingCheck = { kind: 'pass' } | { kind: 'refuse'; status: 400 | 505; message: string };

/**
 * Checks what Node's parser lets through in a request's framing: the HTTP version of the request
 * line, and the Host header. Node serves `HTTP/2.0` (or `HTTP/1.7`) as HTTP/1.1, and keeps the
 * first of two Host headers.
 *
 * - RFC 9110 §15.6.6: 505 for a major version the server does not support; the kit speaks 1.0
 *   and 1.1 on this port, so any other version gets 505 rather than an answer in a protocol the
 *   client did not ask for.
 * - RFC 9112 §3.2: a request with more than one Host header field is a 400 (two hosts are two
 *   routing decisions: a cache or proxy in front may have used the other one).
 *
 * `rawHeaders` is Node's flat `[name, value, name, value, ...]` list.
 */
export function checkRequestFraming(httpVersion: string, rawHeaders: readonly string[]): FramingCheck {
  if (httpVersion !== '1.1' && httpVersion !== '1.0') {
    return { kind: 'refuse', status: 505, message: `HTTP/${httpVersion} is not supported; use HTTP/1.1` };
  }
  let hosts = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) {
      return { kind: 'refuse', status: 400, message: 'More than one Host header' };
    }
  }
  return { kind: 'pass' };
}

const SERVED = new Set<string>(SERVED_METHODS);

/** Any `%` not followed by two hex digits (RFC 3986 §2.1). */
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/**
 * Whether a path's percent-encoding is well formed and decodes to UTF-8. `decodeURIComponent`
 * refuses overlong forms (`%C0%AF`), surrogates and truncated sequences (`%E4%B8`), as RFC 3629
 * §3 requires of a decoder.
 */
function decodablePath(path: string): boolean {
  if (BAD_PERCENT.test(path)) return false;
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decides what to do with a request line's method and target (RFC 9112 §3.2): origin-form goes
 * to the app once its path decodes; asterisk-form is for OPTIONS only; absolute-form is reduced
 * to its path and query and served by this origin, never sent on to the host it names (we are
 * not a proxy); authority-form is for CONNECT only, which we do not serve.
 */
export function checkRequestTarget(method: string, target: string): TargetCheck {
  // RFC 9110 §15.6.2: 501 for a method the server does not support for any resource.
  if (!SERVED.has(method)) return { kind: 'refuse', status: 501, message: `${method} is not supported` };

  if (target === '*') {
    if (method === 'OPTIONS') return { kind: 'server-options' };
    return { kind: 'refuse', status: 400, message: 'The asterisk-form target is for OPTIONS only' };
  }

  let originForm: string;
  if (target.startsWith('/')) {
    originForm = target;
  } else if (/^https?:\/\//i.test(target)) {
    // RFC 9112 §3.2.2: a server must accept absolute-form; what it names on another host is
    // not ours to reach, so only the path and query are kept.
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return { kind: 'refuse', status: 400, message: 'Invalid request target' };
    }
    // The WHATWG parser would have fixed bad escapes; the raw path is what must decode.
    const rawPath = target.replace(/^https?:\/\/[^/?#]*/i, '').replace(/[?#].*$/s, '') || '/';
    if (!decodablePath(rawPath)) return { kind: 'refuse', status: 400, message: 'Malformed percent-encoding in the path' };
    originForm = `${url.pathname}${url.search}`;
  } else {
    return { kind: 'refuse', status: 400, message: 'Invalid request target' };
  }

  // A fragment is never part of a request target (RFC 9112 §3.2).
  if (originForm.includes('#')) return { kind: 'refuse', status: 400, message: 'Invalid request target' };
  const queryAt = originForm.indexOf('?');
  const path = queryAt === -1 ? originForm : originForm.slice(0, queryAt);
  if (!decodablePath(path)) return { kind: 'refuse', status: 400, message: 'Malformed percent-encoding in the path' };
  return { kind: 'pass', target: originForm };
}
