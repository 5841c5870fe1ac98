import { ConfigurationError } from '../errors';
import type { ThrottleRate } from '../streams/throttle';
import type { Source, SourceMeta } from './source';

/**
 * A download's bandwidth limit: `bytesPerSecond` once its first `after` bytes (default 0) have
 * gone out at full speed, as nginx's `limit_rate` and `limit_rate_after`.
 */
export interface RateLimit {
  /** Bytes per second, > 0 (`1_000_000` is 1 MB/s). */
  bytesPerSecond: number;
  /** Bytes of each answer sent at full speed before the limit applies. Default 0. */
  after?: number;
}

/**
 * The `rateLimit` option: bytes per second, a `RateLimit`, or a function of the request and the
 * file choosing one per download (`undefined`: no limit), e.g. from the user's plan.
 */
export type RateLimitOption =
  | number
  | RateLimit
  | ((request: Request, source: SourceMeta) => number | RateLimit | undefined | Promise<number | RateLimit | undefined>);

/** The option after its checks at load: a fixed rate, or a function whose answers are checked per request. */
export type ResolvedRateLimit =
  | ThrottleRate
  | ((request: Request, source: SourceMeta) => ThrottleRate | undefined | Promise<ThrottleRate | undefined>);

const KEYS = new Set(['bytesPerSecond', 'after']);

/** Checks one limit; throws a `ConfigurationError` saying what is wrong with it. */
function checkedRate(value: unknown, where: string): ThrottleRate {
  const shape = `give bytes per second > 0, { bytesPerSecond, after }, or ${'`undefined`'} for no limit`;
  if (typeof value === 'number') value = { bytesPerSecond: value };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`${where} must be a number, an object or a function: ${shape}`, { detail: `got ${String(value)}` });
  }
  for (const key of Object.keys(value)) {
    if (!KEYS.has(key)) throw new ConfigurationError(`${where}: unknown field "${key}" (the fields are bytesPerSecond, after)`);
  }
  const { bytesPerSecond, after = 0 } = value as RateLimit;
  if (typeof bytesPerSecond !== 'number' || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
    throw new ConfigurationError(`${where}: bytesPerSecond must be a finite number > 0 (${shape})`, { detail: `got ${String(bytesPerSecond)}` });
  }
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new ConfigurationError(`${where}: after must be a whole number of bytes >= 0`, { detail: `got ${String(after)}` });
  }
  return after === 0 ? { bytesPerSecond } : { bytesPerSecond, after };
}

/**
 * Checks the route's `rateLimit` when the module loads: a fixed limit now, a function's answers
 * at each request (a wrong one answers `500 Server misconfigured` and is logged once).
 */
export function resolveRateLimit(option: RateLimitOption | undefined, factory: string): ResolvedRateLimit | undefined {
  if (option === undefined) return undefined;
  const where = `${factory}: rateLimit`;
  if (typeof option !== 'function') return checkedRate(option, where);
  return (request, source) => {
    const chosen = option(request, source);
    const check = (value: number | RateLimit | undefined) => (value === undefined ? undefined : checkedRate(value, `${factory}: the limit rateLimit returned`));
    return isPromise(chosen) ? chosen.then(check) : check(chosen);
  };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** Each source's limit, asked once however many steps of its request need it. */
const chosenRates = new WeakMap<Source, ThrottleRate | undefined | Promise<ThrottleRate | undefined>>();

/**
 * The limit for this request's body, or `undefined` for none. The route's function is called at
 * most once per request (per source: a file looked up again after it changed is asked again),
 * and only for a GET whose bytes are sent or delegated: a HEAD, a 304 or an error the app
 * answers itself never calls it.
 */
export function rateFor(
  limit: ResolvedRateLimit | undefined,
  request: Request,
  source: Source,
): ThrottleRate | undefined | Promise<ThrottleRate | undefined> {
  if (limit === undefined || typeof limit !== 'function') return limit;
  if (chosenRates.has(source)) return chosenRates.get(source);
  const chosen = limit(request, source);
  chosenRates.set(source, chosen);
  return chosen;
}
