import { isActiveContentType } from '../http/content-type';
import { handOverHeaders, offloadRulesFor } from '../offload/hand-over';
import type { ResolvedOffloadRule } from '../offload/rules';
import { decide, type Decision } from './decide';
import { LENGTH_HEADER, signedLength } from './handoff';
import { perRequest, type ResolvedOptions } from './options';
import { rateFor } from './rate-limit';
import type { Source } from './source';

/** Who sends the bytes of a delegated answer. */
export type Delegate = 'web server' | 'store';

/** Range and If-Range: whoever sends the bytes picks them (RFC 9110 §14.2, §13.1.5). */
const RANGE_HEADERS = ['range', 'if-range'];
/** The preconditions (RFC 9110 §13.1.1-§13.1.4). */
const PRECONDITION_HEADERS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];

/**
 * The request headers a delegated answer leaves to whoever sends the bytes, the one list both
 * modes use. The web server in front answers all of them from the file it has (304, 412, 206):
 * the app describes the whole file. The store a redirect leads to answers Range and If-Range
 * (a browser sends them again to the new location); the app answers the preconditions itself
 * from the validators it has, before any redirect (they come before Range, RFC 9110 §13.2.2).
 */
export function leftTo(delegate: Delegate): readonly string[] {
  return delegate === 'web server' ? [...RANGE_HEADERS, ...PRECONDITION_HEADERS] : RANGE_HEADERS;
}

/** `request` without the headers left to `delegate`; the request itself when it has none of them. */
function withoutHeadersLeftTo(request: Request, delegate: Delegate): Request {
  const left = leftTo(delegate);
  if (!left.some((name) => request.headers.has(name))) return request;
  const headers = new Headers(request.headers);
  for (const name of left) headers.delete(name);
  return new Request(request.url, { method: request.method, headers, signal: request.signal });
}

/**
 * A delivery policy's verdict for one request: the request the answer is decided for, and what
 * is made of that one decision.
 */
export interface Delegation {
  /** The request without the headers left to the web server or the store (`leftTo`). */
  readonly request: Request;
  /**
   * The delegated answer built from the decision for `request`; or, when the app sends the answer
   * itself after all, the decision to send (that one when it holds for the request as it came).
   */
  answer(decision: Decision): Promise<Response | Decision> | Response | Decision;
}

/**
 * The delegation step of `serve`, after the source is found and before anything is decided: the
 * route's delivery policy, asked once, from where the source's bytes live (`locate`). Offload
 * rules come first (the web server in front sends the file), then a redirect to a URL the
 * location can mint (`delivery: 'redirect'`, GET only: a presigned GET is not valid for HEAD);
 * otherwise `undefined`, and the app streams the bytes. Returns `undefined` at once, without a
 * promise, when no policy can apply (most routes), and for a source that cannot be located
 * (virtual content) or that relays an upstream's answer.
 */
export function delegate(request: Request, source: Source, options: ResolvedOptions): Promise<Delegation | undefined> | undefined {
  const rules = offloadRulesFor(options.offload);
  const redirect = options.redirectExpiresIn !== undefined && request.method === 'GET';
  if ((!rules && !redirect) || typeof source.locate !== 'function' || source.answered) return undefined;
  return located(request, source, options, rules, redirect);
}

async function located(
  request: Request,
  source: Source,
  options: ResolvedOptions,
  rules: readonly ResolvedOffloadRule[] | undefined,
  redirect: boolean,
): Promise<Delegation | undefined> {
  const location = await source.locate!();
  const offered = rules && (await handOverHeaders(rules, location));
  const handOver = offered && (await limitedHandOver(request, source, options, offered));
  if (offered && !handOver) return undefined;
  if (handOver) {
    const whole = withoutHeadersLeftTo(request, 'web server');
    return {
      request: whole,
      answer: (decision) => offloaded(decision, handOver, options) ?? inTheApp(request, whole, decision, source, options),
    };
  }
  const mint = location.redirectUrl;
  // A store's URL cannot carry the route's bandwidth limit: a limited download is streamed at it.
  if (redirect && mint && !(await rateFor(options.rateLimit, request, source))) {
    const whole = withoutHeadersLeftTo(request, 'store');
    return {
      request: whole,
      answer: async (decision) =>
        (await redirected(request, source, decision, options, (headers) => mint.call(location, headers, options.redirectExpiresIn!))) ??
        inTheApp(request, whole, decision, source, options),
    };
  }
  return undefined;
}

/**
 * The web server's hand-over with the route's bandwidth limit on it: nginx carries it as
 * X-Accel-Limit-Rate (the lower of it and the rule's own); Apache and lighttpd have no such
 * header, so the app streams that file at the limit (`undefined`).
 */
async function limitedHandOver(
  request: Request,
  source: Source,
  options: ResolvedOptions,
  handOver: Record<string, string>,
): Promise<Record<string, string> | undefined> {
  const rate = request.method === 'GET' ? await rateFor(options.rateLimit, request, source) : undefined;
  if (!rate) return handOver;
  if (!('x-accel-redirect' in handOver)) return undefined;
  const own = Number(handOver['x-accel-limit-rate'] ?? 0);
  const limit = Math.max(1, Math.round(rate.bytesPerSecond));
  return { ...handOver, 'x-accel-limit-rate': String(own > 0 ? Math.min(own, limit) : limit) };
}

/**
 * The decision for an answer the app sends itself after all. The one made for the delegate holds
 * when nothing was left out of the request, and when it is a 304 or 412: preconditions are
 * evaluated before Range (RFC 9110 §13.2.2). Otherwise (an inline active file asked for with a
 * Range) it is decided again, for the request as it came.
 */
function inTheApp(request: Request, decided: Request, decision: Decision, source: Source, options: ResolvedOptions): Decision {
  return decided === request || decision.status === 304 || decision.status === 412 ? decision : decide(request, source, options);
}

/** Whether a browser would run this answer's content as a document of the app's origin, inline. */
function activeInline(headers: Headers): boolean {
  return isActiveContentType(headers.get('content-type')) && !/^\s*attachment/i.test(headers.get('content-disposition') ?? '');
}

/**
 * Describe a body the offload response does not have. The web server sets its own for the
 * bytes it sends; the file's Content-Length copied onto the empty response is what broke
 * django-downloadview's.
 */
const FRAMING = ['content-length', 'content-range', 'accept-ranges', LENGTH_HEADER];

/**
 * The offload answer: a 200 with an empty body, the headers the route would send with the file
 * (Content-Type, Content-Disposition, Cache-Control, validators, the route's own headers and
 * cookies) without the file's length, and the rule's X-Accel-Redirect or X-Sendfile.
 */
function offloaded(decision: Decision, handOver: Record<string, string>, options: ResolvedOptions): Response | undefined {
  const { headers } = decision;
  // Active content shown inline depends on its Content-Security-Policy reaching the browser, and a
  // web server passes on only the headers its configuration copies: the app streams it itself.
  if (options.activeContent === 'sandbox' && activeInline(headers)) return undefined;
  for (const name of FRAMING) headers.delete(name);
  for (const [name, value] of Object.entries(handOver)) headers.set(name, value);
  // Under the kit's server the empty body goes out with `Content-Length: 0` rather than chunked:
  // nginx then keeps its connection to the app alive (after a chunked one it opens a new one
  // for every offloaded download).
  const empty = signedLength(0);
  if (empty) headers.set(LENGTH_HEADER, empty);
  return new Response(null, { status: 200, headers });
}

/** Headers that describe the file, not the redirect: the store sends its own. */
const REPRESENTATION = /^(content-|accept-ranges$|etag$|last-modified$|cache-control$|location$)/;

/**
 * The redirect for a GET, or `undefined` to answer in the app: a 304 or 412 from the validators
 * it already has, and active content shown inline (a URL cannot carry its
 * Content-Security-Policy).
 */
async function redirected(
  request: Request,
  source: Source,
  decision: Decision,
  options: ResolvedOptions,
  mint: (headers: Headers) => string | Promise<string>,
): Promise<Response | undefined> {
  const { headers } = decision;
  if (decision.status !== 200) return undefined;
  // An inline file that needs its Content-Security-Policy (or would get one) is sent by the app.
  const attachment = /^\s*attachment/i.test(headers.get('content-disposition') ?? '');
  if (!attachment && (headers.has('content-security-policy') || isActiveContentType(headers.get('content-type')))) return undefined;
  const url = await mint(headers);
  // RFC 9110 §15.4.8: 307 keeps the method, and browsers resend Range and If-Range to the new
  // location, so a resumed download resumes at the store. The redirect itself is never cached:
  // its URL expires and carries a signature.
  const redirect = new Headers({ location: url, 'cache-control': 'private, no-store', 'referrer-policy': 'no-referrer' });
  // The route's own headers (cookies, custom ones) go on the redirect, as on every answer.
  for (const [header, value] of new Headers(perRequest(options.headers, request, source) ?? undefined)) {
    if (!REPRESENTATION.test(header) && header !== LENGTH_HEADER) redirect.set(header, value);
  }
  return new Response(null, { status: 307, headers: redirect });
}
