import { ConfigurationError } from '../errors';
import type { AuthorizeHook } from './signed';

/**
 * Combines `authorize` hooks: they run in order, and the first that refuses (returns `false` or
 * a Response, or throws) decides; the rest do not run. Put the cheap ones first, e.g. the
 * signature before a database lookup.
 *
 * @example
 * import { storageDownload } from 'next-downloadview';
 * import { allOf, signed } from 'next-downloadview/signing';
 * export const { GET, HEAD } = storageDownload({
 *   storage,
 *   path: (_request, params) => String(params.name),
 *   authorize: allOf(signed({ secret: process.env.DOWNLOAD_SECRET! }), async (request) => isLoggedIn(request)),
 * });
 */
export function allOf(...hooks: AuthorizeHook[]): AuthorizeHook {
  // With no hook, everything would pass: more likely a mistake than a wish.
  if (hooks.length === 0) throw new ConfigurationError('allOf: give at least one hook');
  hooks.forEach((hook, index) => {
    if (typeof hook !== 'function') throw new ConfigurationError(`allOf: hook ${index + 1} is not a function`);
  });
  return async (request, params) => {
    for (const hook of hooks) {
      const verdict = await hook(request, params);
      if (verdict === false || verdict instanceof Response) return verdict;
    }
    return undefined;
  };
}
