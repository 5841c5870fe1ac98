import { ConfigurationError } from '../errors';
import type { ResolvedOptions } from '../engine/options';
import { DEFAULT_REDIRECT_EXPIRES_IN } from '../storage/storage';

/**
 * How a storage's file reaches the client:
 * - `'stream'` (default): through the app, with every header decided by the kit;
 * - `'redirect'`: a 307 to a short-lived URL of the storage itself (an S3 presigned GET) that
 *   answers with the same Content-Disposition, Content-Type and Cache-Control. The app then
 *   sends no bytes; the store answers Range and conditional requests.
 */
export type Delivery = 'stream' | 'redirect';

/** How a factory that reads a storage sends the file: streamed, or by a redirect. */
export interface DeliveryOptions {
  /** `'stream'` (default) or `'redirect'`: see `Delivery`. */
  delivery?: Delivery;
  /** Lifetime of a redirect URL in seconds. Default 60: long enough to follow, too short to share. */
  redirectExpiresIn?: number;
}

/**
 * Checks a factory's delivery options once, when the route module loads, and sets them on its
 * resolved options: with `'redirect'`, the engine's delegation step answers a GET with a redirect
 * to the URL the storage mints for the file (when it can mint one), else the file is streamed.
 */
export function applyDelivery(resolved: ResolvedOptions, options: DeliveryOptions, factory: string): ResolvedOptions {
  const delivery = options.delivery ?? 'stream';
  if (delivery !== 'stream' && delivery !== 'redirect') {
    throw new ConfigurationError(`${factory}: delivery must be 'stream' or 'redirect', got ${JSON.stringify(options.delivery)}`);
  }
  const expiresIn = options.redirectExpiresIn ?? DEFAULT_REDIRECT_EXPIRES_IN;
  // S3 presigned URLs live 1 s to 7 days.
  if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > 604_800) {
    throw new ConfigurationError(`${factory}: redirectExpiresIn must be a whole number of seconds, 1..604800, got ${String(options.redirectExpiresIn)}`);
  }
  // Set, not spread: a route's offload rules may be a getter checked at the first request.
  if (delivery === 'redirect') resolved.redirectExpiresIn = expiresIn;
  return resolved;
}
