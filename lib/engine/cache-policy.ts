import { ConfigurationError } from '../errors';
import type { SourceMeta } from './source';

/**
 * How long and where a download may be reused (RFC 9111 §5.2.2), in switches rather than a header
 * string. Without `maxAge` a cached copy is revalidated before each use (`no-cache`: a cheap 304).
 */
export interface CachePolicy {
  /** Seconds a copy stays fresh (`max-age`). Omitted: revalidate every time (`no-cache`). */
  maxAge?: number;
  /** Seconds a shared cache (a CDN) keeps it fresh (`s-maxage`); only with `public`. */
  sMaxAge?: number;
  /** Shared caches may store it (`public`). Default `false`: `private`, only the user's browser. */
  public?: boolean;
  /** The content at this URL never changes (`immutable`): a versioned or hashed file name. */
  immutable?: boolean;
  /** Seconds a stale copy may still be used while it is revalidated (`stale-while-revalidate`). */
  staleWhileRevalidate?: number;
  /** Never stored anywhere (`no-store`): every other switch is ignored. */
  noStore?: boolean;
  /** Also send `Expires` (now + `maxAge`), for HTTP/1.0 caches. */
  expires?: boolean;
}

/** A policy for every download of the route, or one chosen per request and file. */
export type CacheOption = CachePolicy | ((request: Request, source: SourceMeta) => CachePolicy | undefined);

/** The headers a policy gives: Cache-Control, and Expires when asked. */
export interface CacheHeaders {
  cacheControl: string;
  /** Seconds from the response to its Expires date. */
  expiresIn?: number;
}

const KEYS = new Set(['maxAge', 'sMaxAge', 'public', 'immutable', 'staleWhileRevalidate', 'noStore', 'expires']);

function seconds(value: unknown, name: string, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new ConfigurationError(`${where}: cache.${name} must be a whole number of seconds >= 0, got ${String(value)}`);
  }
  return value as number;
}

function flag(value: unknown, name: string, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ConfigurationError(`${where}: cache.${name} must be true or false`);
  return value;
}

/**
 * Cache-Control (and Expires) for a policy. `no-transform` is always there: a proxy that
 * recompressed a download would make its Content-Range and Content-Length lie. Throws a
 * `ConfigurationError` for a switch that is unknown or of the wrong type.
 */
export function cacheHeaders(policy: CachePolicy, where: string): CacheHeaders {
  if (policy === null || typeof policy !== 'object') throw new ConfigurationError(`${where}: cache must be an object or a function`);
  for (const key of Object.keys(policy)) {
    if (!KEYS.has(key)) throw new ConfigurationError(`${where}: unknown cache switch "${key}" (known: ${[...KEYS].join(', ')})`);
  }
  const maxAge = seconds(policy.maxAge, 'maxAge', where);
  const sMaxAge = seconds(policy.sMaxAge, 'sMaxAge', where);
  const staleWhileRevalidate = seconds(policy.staleWhileRevalidate, 'staleWhileRevalidate', where);
  const shared = flag(policy.public, 'public', where);
  const immutable = flag(policy.immutable, 'immutable', where);
  const expires = flag(policy.expires, 'expires', where);
  if (flag(policy.noStore, 'noStore', where)) return { cacheControl: 'no-store, no-transform' };
  if (sMaxAge !== undefined && !shared) throw new ConfigurationError(`${where}: cache.sMaxAge applies to shared caches: set public too`);
  const parts = [shared ? 'public' : 'private', maxAge === undefined ? 'no-cache' : `max-age=${maxAge}`];
  if (sMaxAge !== undefined) parts.push(`s-maxage=${sMaxAge}`);
  if (staleWhileRevalidate !== undefined) parts.push(`stale-while-revalidate=${staleWhileRevalidate}`);
  if (immutable) parts.push('immutable');
  parts.push('no-transform');
  return { cacheControl: parts.join(', '), expiresIn: expires ? (maxAge ?? 0) : undefined };
}

/**
 * The route's cache headers, checked once at load: a fixed policy (or the raw `cacheControl`
 * string) becomes its headers now; a function is called per request and its policy checked then.
 */
export function resolveCache(
  cache: CacheOption | undefined,
  cacheControl: string,
  where: string,
): CacheHeaders | ((request: Request, source: SourceMeta) => CacheHeaders) {
  if (cache === undefined) return { cacheControl };
  if (typeof cache === 'function') {
    const fallback = { cacheControl };
    return (request, source) => {
      const policy = cache(request, source);
      return policy === undefined ? fallback : cacheHeaders(policy, where);
    };
  }
  return cacheHeaders(cache, where);
}
