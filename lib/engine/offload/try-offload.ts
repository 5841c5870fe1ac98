import { decide } from '../decide';
import type { ResolvedOptions } from '../options';
import type { Source } from '../source';
import { isActiveContentType } from '../../http/content-type';
import { LENGTH_HEADER, signedLength } from '../length-handoff';
import { rateFor } from '../rate-limit';
import { offloadHeaders } from './backends';
import { configuredOffload } from './configure-offload';
import { matchOffloadRule } from './rules';

/**
 * Request headers the web server answers from the file it has (RFC 9110 §13, §14): the app
 * neither answers 304, 412 nor 206 on an offloaded route, it describes the whole file.
 */
const LEFT_TO_THE_SERVER = ['range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];

/**
 * Describe a body the offload response does not have. The web server sets its own for the
 * bytes it sends; the file's Content-Length copied onto the empty response is what broke
 * django-downloadview's.
 */
const FRAMING = ['content-length', 'content-range', 'accept-ranges', LENGTH_HEADER];

/**
 * The engine's offload step, run after `authorize` and after the source is found, before any
 * decision about conditional or Range headers: if a rule covers where the source's bytes live,
 * the answer is a 200 with an empty body, the headers the route would send with the file
 * (Content-Type, Content-Disposition, Cache-Control, validators, the route's own headers and
 * cookies) without the file's length, and the rule's X-Accel-Redirect or X-Sendfile. Otherwise
 * `undefined` (at once, without a promise, when no rule can apply), and the engine streams the
 * file itself.
 *
 * The rules are the route's `offload`, else those of `configureOffload`. A source without
 * `locate` (virtual content) or one that relays an upstream's answer is never offloaded.
 */
export function tryOffload(request: Request, source: Source, options: ResolvedOptions): Promise<Response | undefined> | undefined {
  // Decided synchronously: a route with no rule (most downloads) pays no promise for this step.
  const rules = options.offload ?? configuredOffload();
  if (!rules || rules.length === 0 || typeof source.locate !== 'function' || source.answered) return undefined;
  return offloaded(request, source, options, rules);
}

async function offloaded(
  request: Request,
  source: Source,
  options: ResolvedOptions,
  rules: Exclude<ResolvedOptions['offload'], false | undefined>,
): Promise<Response | undefined> {
  const match = await matchOffloadRule(rules, await source.locate!());
  if (!match) return undefined;
  const offload = offloadHeaders(match);
  if (!offload) return undefined;
  // The route's bandwidth limit travels to nginx as X-Accel-Limit-Rate (the lower of it and the
  // rule's own); Apache and lighttpd have no such header, so the app streams that file at the limit.
  const rate = request.method === 'GET' ? await rateFor(options.rateLimit, request, source) : undefined;
  if (rate) {
    if (match.rule.backend !== 'nginx') return undefined;
    const own = Number(offload['x-accel-limit-rate'] ?? 0);
    const limit = Math.max(1, Math.round(rate.bytesPerSecond));
    offload['x-accel-limit-rate'] = String(own > 0 ? Math.min(own, limit) : limit);
  }

  const whole = new Headers(request.headers);
  for (const name of LEFT_TO_THE_SERVER) whole.delete(name);
  const { headers } = decide(new Request(request.url, { method: request.method, headers: whole }), source, options);
  // Active content shown inline depends on its Content-Security-Policy reaching the browser, and a
  // web server passes on only the headers its configuration copies: the app streams it itself.
  if (
    options.activeContent === 'sandbox' &&
    isActiveContentType(headers.get('content-type')) &&
    !/^\s*attachment/i.test(headers.get('content-disposition') ?? '')
  ) {
    return undefined;
  }
  for (const name of FRAMING) headers.delete(name);
  for (const [name, value] of Object.entries(offload)) headers.set(name, value);
  // Under the kit's server the empty body goes out with `Content-Length: 0` rather than chunked:
  // nginx then keeps its connection to the app alive (after a chunked one it opens a new one
  // for every offloaded download).
  const empty = signedLength(0);
  if (empty) headers.set(LENGTH_HEADER, empty);
  return new Response(null, { status: 200, headers });
}
