import { offloadHeaders } from './backends';
import { configuredOffload } from './configure-offload';
import { matchOffloadRule, type OffloadLocation, type ResolvedOffloadRule, type ResolvedOffloadRules } from './rules';

/**
 * What the engine asks of offload, and all it asks: which rules a route follows, and the headers
 * that hand a located file to the web server. Rules, backends and their checks stay behind it.
 */

/**
 * The rules a route follows: its own (`offload`), else those set by `configureOffload`;
 * `undefined` when there are none (`false`, an empty list, or never configured), so a route
 * without rules skips the step without a promise.
 */
export function offloadRulesFor(own: ResolvedOffloadRules | undefined): readonly ResolvedOffloadRule[] | undefined {
  const rules = own ?? configuredOffload();
  return rules && rules.length > 0 ? rules : undefined;
}

/**
 * The web server's headers for bytes at `location` (X-Accel-Redirect and its options, or
 * X-Sendfile), from the first rule that covers it; `undefined` when none does, or when the
 * matched name cannot travel in the header (then the app sends the bytes itself).
 */
export async function handOverHeaders(
  rules: readonly ResolvedOffloadRule[],
  location: OffloadLocation,
): Promise<Record<string, string> | undefined> {
  const match = await matchOffloadRule(rules, location);
  return match && offloadHeaders(match);
}
