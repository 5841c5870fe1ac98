import { decide } from '../engine/decide';
import { ConfigurationError, perRequest, type ResolvedOptions } from '../engine/options';
import type { LoadSource } from '../engine/serve';
import type { Source } from '../engine/source';
import { isActiveContentType } from '../http/content-type';
import { tryOffload } from '../engine/offload/try-offload';
import { rateFor } from '../engine/rate-limit';
import { LENGTH_HEADER } from '../engine/length-handoff';
import type { Storage } from '../storage/storage';

/**
 * How a storage's file reaches the client:
 * - `'stream'` (default): through the app, with every header decided by the kit;
 * - `'redirect'`: a 307 to a short-lived URL of the storage itself (an S3 presigned GET) that
 *   answers with the same Content-Disposition, Content-Type and Cache-Control. The app then
 *   sends no bytes; the store answers Range and conditional requests.
 */
export type Delivery = 'stream' | 'redirect';

/** What a redirect URL makes the storage answer with (S3's `response-*` parameters). */
export interface RedirectUrlOptions {
  expiresIn: number;
  contentDisposition?: string;
  contentType?: string;
  cacheControl?: string;
  contentEncoding?: string;
}

/**
 * A storage that can mint a URL answering with headers of the caller's choice, e.g.
 * `S3Storage.presignedUrl`. Redirect delivery needs it; `url()` alone cannot carry the file
 * name, so a storage with only `url()` keeps streaming.
 */
export interface RedirectingStorage extends Storage {
  /** A short-lived URL of the file `name` that answers with the headers in `options`. */
  presignedUrl(name: string, options: RedirectUrlOptions): string | Promise<string>;
}

/** How a factory that reads a storage sends the file: streamed, or by a redirect. */
export interface DeliveryOptions {
  /** `'stream'` (default) or `'redirect'`: see `Delivery`. */
  delivery?: Delivery;
  /** Lifetime of a redirect URL in seconds. Default 60: long enough to follow, too short to share. */
  redirectExpiresIn?: number;
}

/** Default lifetime of a redirect URL, in seconds. */
export const DEFAULT_REDIRECT_EXPIRES_IN = 60;

/**
 * Request headers the storage answers itself once the client follows the redirect (RFC 9110
 * §13, §14): the redirect is decided for the whole file.
 */
const LEFT_TO_THE_STORE = ['range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];

/** Headers that describe the file, not the redirect: the store sends its own. */
const REPRESENTATION = /^(content-|accept-ranges$|etag$|last-modified$|cache-control$|location$)/;

/** Which storage name each source of a factory reads, for its redirect URL. */
const storageNames = new WeakMap<Source, string>();

/** Notes that `source` is the file `name` of the factory's storage. */
export function rememberStorageName<S extends Source>(source: S, name: string): S {
  storageNames.set(source, name);
  return source;
}

export function checkDeliveryOptions(options: DeliveryOptions, factory: string): Required<DeliveryOptions> {
  const delivery = options.delivery ?? 'stream';
  if (delivery !== 'stream' && delivery !== 'redirect') {
    throw new ConfigurationError(`${factory}: delivery must be 'stream' or 'redirect', got ${JSON.stringify(options.delivery)}`);
  }
  const expiresIn = options.redirectExpiresIn ?? DEFAULT_REDIRECT_EXPIRES_IN;
  // S3 presigned URLs live 1 s to 7 days.
  if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > 604_800) {
    throw new ConfigurationError(`${factory}: redirectExpiresIn must be a whole number of seconds, 1..604800, got ${String(options.redirectExpiresIn)}`);
  }
  return { delivery, redirectExpiresIn: expiresIn };
}

function canRedirect(storage: Storage): storage is RedirectingStorage {
  return typeof (storage as Partial<RedirectingStorage>).presignedUrl === 'function';
}

/**
 * The engine's inputs for a route whose storage may deliver by redirect. The redirect step runs
 * inside `authorize`, after the route's own check, so the order of `serve` stays: method ->
 * authorize -> existence (the storage's stat: 404 and the `notFound` hook as usual) -> offload
 * rules (they still win) -> redirect. The source found there is handed to `serve` when the file
 * is streamed after all, so the storage is asked once.
 */
export function withDelivery(
  load: LoadSource,
  options: ResolvedOptions,
  storage: Storage,
  delivery: Required<DeliveryOptions>,
): { load: LoadSource; options: ResolvedOptions } {
  if (delivery.delivery !== 'redirect' || !canRedirect(storage)) return { load, options };
  const found = new WeakMap<Request, Source>();
  return {
    options: {
      ...options,
      authorize: async (request, params) => {
        if (options.authorize) {
          const verdict = await options.authorize(request, params);
          if (verdict instanceof Response || verdict === false) return verdict;
        }
        const source = await load(request, params);
        found.set(request, source);
        const offloaded = await tryOffload(request, source, options);
        if (offloaded) return offloaded;
        return (await redirectTo(request, source, storage, options, delivery.redirectExpiresIn)) ?? true;
      },
    },
    load: async (request, params) => {
      const source = found.get(request);
      // Only the first attempt: after a FileChangedError the file is looked up again.
      found.delete(request);
      return source ?? load(request, params);
    },
  };
}

/**
 * The redirect for a GET, or `undefined` to stream. HEAD is answered by the app (a presigned
 * GET is not valid for HEAD, and HEAD reads nothing anyway). 304, 412 and 416 are answered by
 * the app from the validators it already has. Active content shown inline under the sandbox
 * policy is streamed: a presigned URL cannot carry Content-Security-Policy; so is a download
 * with a bandwidth limit.
 */
async function redirectTo(
  request: Request,
  source: Source,
  storage: RedirectingStorage,
  options: ResolvedOptions,
  expiresIn: number,
): Promise<Response | undefined> {
  const name = storageNames.get(source);
  if (request.method !== 'GET' || name === undefined) return undefined;
  const verdict = decide(request, source, options);
  if (verdict.body.kind === 'none') return undefined;
  // A store's URL cannot carry the route's bandwidth limit: a limited download is streamed at it.
  if (await rateFor(options.rateLimit, request, source)) return undefined;

  const whole = new Headers(request.headers);
  for (const header of LEFT_TO_THE_STORE) whole.delete(header);
  const { headers } = decide(new Request(request.url, { method: 'GET', headers: whole }), source, options);
  const disposition = headers.get('content-disposition') ?? undefined;
  if ((headers.has('content-security-policy') || isActiveContentType(headers.get('content-type'))) && !/^\s*attachment/i.test(disposition ?? '')) {
    return undefined;
  }
  const url = await storage.presignedUrl(name, {
    expiresIn,
    contentDisposition: disposition,
    contentType: headers.get('content-type') ?? undefined,
    cacheControl: headers.get('cache-control') ?? undefined,
    contentEncoding: headers.get('content-encoding') ?? undefined,
  });
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
