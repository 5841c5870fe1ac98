import { resolveOffloadRules, type OffloadRule, type ResolvedOffloadRules } from './rules';

/**
 * On `globalThis`, not in a module variable: Next may load the kit once per route bundle, and
 * a setting made in one (or in `instrumentation.ts`) must reach them all.
 */
const SETTING = Symbol.for('next-downloadview.offload');

type GlobalWithSetting = typeof globalThis & { [SETTING]?: ResolvedOffloadRules };

/**
 * Sets the offload rules of every download route that does not give its own `offload`. The
 * rules are checked now (a bad one throws a `ConfigurationError`) and read on each request, so
 * call it once at startup, before the first download: `instrumentation.ts`'s `register()`, or
 * a module your routes import. A later call replaces the rules; `false` turns offload off.
 *
 * @example
 * // instrumentation.ts
 * import { configureOffload } from 'next-downloadview/offload';
 * export function register() {
 *   configureOffload([
 *     { backend: 'nginx', source: '/srv/media/private', destination: '/_private/', options: { buffering: false } },
 *     { backend: 'nginx', source: '/srv/media', destination: '/_protected/' },
 *   ]);
 * }
 */
export function configureOffload(rules: readonly OffloadRule[] | false): void {
  (globalThis as GlobalWithSetting)[SETTING] = resolveOffloadRules(rules, 'configureOffload');
}

/** The rules set by `configureOffload`, or `undefined` when it was never called. */
export function configuredOffload(): ResolvedOffloadRules | undefined {
  return (globalThis as GlobalWithSetting)[SETTING];
}
