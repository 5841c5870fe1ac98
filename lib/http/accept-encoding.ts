/**
 * Content-coding negotiation (RFC 9110 §12.5.3): which of the codings a server holds a
 * representation in, or `identity` (none), a request's `Accept-Encoding` prefers.
 */

/** One `coding;q=…` entry of an Accept-Encoding field, lower-cased. */
interface Weighted {
  coding: string;
  q: number;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )   (RFC 9110 §12.4.2)
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** A field this long is not a browser's: it is read no further (a bounded parse). */
const MAX_FIELD = 4096;

/**
 * The entries of an Accept-Encoding value. An entry that is not `token [;q=qvalue]` is skipped
 * (RFC 9110 leaves invalid members to the recipient; ignoring one never makes a coding
 * acceptable that the client did not name). `x-gzip` is `gzip` (§8.4.1.3). The first entry for
 * a coding counts.
 */
function parseAcceptEncoding(field: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const member of field.slice(0, MAX_FIELD).split(',')) {
    const entry = parseMember(member);
    if (entry && !weights.has(entry.coding)) weights.set(entry.coding, entry.q);
  }
  return weights;
}

function parseMember(member: string): Weighted | undefined {
  const [rawCoding, ...params] = member.split(';');
  const token = rawCoding!.trim().toLowerCase();
  if (token === '' || !TOKEN.test(token)) return undefined;
  let q = 1;
  for (const param of params) {
    const equals = param.indexOf('=');
    if (equals < 0) return undefined;
    const name = param.slice(0, equals).trim().toLowerCase();
    const value = param.slice(equals + 1).trim();
    if (name !== 'q') continue;
    if (!QVALUE.test(value)) return undefined;
    q = Number(value);
  }
  return { coding: token === 'x-gzip' ? 'gzip' : token, q };
}

/**
 * The weight a request gives a coding: its own entry, else `*`'s, else none (`undefined`:
 * not listed). `identity` not listed and not excluded by `*;q=0` is acceptable (§12.5.3 rule 2).
 */
function weightOf(weights: Map<string, number>, coding: string): number | undefined {
  const own = weights.get(coding);
  if (own !== undefined) return own;
  return weights.get('*');
}

/**
 * Which of `offered` (the codings the server holds the representation in, best first) to send
 * for a request's Accept-Encoding, or `'identity'` for the bytes as they are, or `undefined`
 * when the request refuses all of them and identity too (`identity;q=0`, or `*;q=0` with no
 * entry for identity): the caller then sends identity anyway or a 406 (§12.5.3 lets it do either).
 *
 * - No Accept-Encoding: `identity`. §12.5.3 lets any coding go then, but a client that sent no
 *   field (curl, a script) most likely cannot decode one.
 * - An empty field: `identity` (§12.5.3: "does not want any content coding").
 * - A coding is acceptable when its own entry, or else `*`, gives it a non-zero q; a zero q
 *   refuses it (§12.4.2). The highest q wins; at equal q the order of `offered` decides.
 * - `identity` competes with its own q only when the request names it (or `*` covers it);
 *   otherwise it is taken only when no offered coding is acceptable.
 *
 * @example
 * selectEncoding('gzip, br;q=0.9', ['br', 'gzip']) // 'gzip'
 * selectEncoding('br;q=0, *', ['br', 'gzip'])      // 'gzip'
 * selectEncoding(null, ['br', 'gzip'])            // 'identity'
 */
export function selectEncoding(field: string | null | undefined, offered: readonly string[]): string | undefined {
  if (field === null || field === undefined) return 'identity';
  const weights = parseAcceptEncoding(field);
  let best: string | undefined;
  let bestQ = 0;
  for (const coding of offered) {
    const q = weightOf(weights, coding.toLowerCase());
    if (q !== undefined && q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  const identity = weights.get('identity') ?? weights.get('*');
  if (identity === 0) return best;
  // Named (or covered by `*`) with a higher weight than every coding: the client prefers the
  // bytes as they are.
  if (identity !== undefined && identity > bestQ) return 'identity';
  return best ?? 'identity';
}
