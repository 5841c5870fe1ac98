/**
 * Integrity fields (RFC 9530): `Repr-Digest` and `Content-Digest` carry a hash of the
 * representation (or of the content actually sent); `Want-Repr-Digest` and `Want-Content-Digest`
 * say which algorithms a client prefers.
 */

/** The algorithms the kit sends: the two RFC 9530 §5 registers as active. */
export type DigestAlgorithm = 'sha-256' | 'sha-512';

/** Known hashes of a representation, each the standard base64 of the raw digest (as the field carries it). */
export type Digests = Partial<Record<DigestAlgorithm, string>>;

const LENGTHS: Record<DigestAlgorithm, number> = { 'sha-256': 32, 'sha-512': 64 };
/** Strongest first: the order used when a client states no preference between them. */
const ALGORITHMS: readonly DigestAlgorithm[] = ['sha-512', 'sha-256'];
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX = /^[0-9a-fA-F]+$/;
const MAX_FIELD = 1024;

/** Whether `value` is the standard base64 of a digest of `algorithm`'s length. */
export function isDigestValue(algorithm: DigestAlgorithm, value: unknown): value is string {
  if (typeof value !== 'string' || !BASE64.test(value) || value.length % 4 !== 0) return false;
  return Buffer.from(value, 'base64').length === LENGTHS[algorithm];
}

/**
 * The base64 form of a hex digest (a stored `sha256` column), or `undefined` when `hex` is not
 * a digest of that algorithm's length.
 *
 * @example
 * digestFromHex('sha-256', 'e3b0c442…b855') // '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='
 */
export function digestFromHex(algorithm: DigestAlgorithm, hex: unknown): string | undefined {
  if (typeof hex !== 'string' || hex.length !== LENGTHS[algorithm] * 2 || !HEX.test(hex)) return undefined;
  return Buffer.from(hex, 'hex').toString('base64');
}

/**
 * The preferences of a `Want-Repr-Digest` / `Want-Content-Digest` value (RFC 9530 §4): a
 * dictionary of algorithm keys to integers 0-10, 0 meaning "not acceptable", higher meaning
 * more preferred. Members that are not `key=integer` in that range are skipped.
 */
export function parseWantDigest(field: string): Map<string, number> {
  const preferences = new Map<string, number>();
  for (const member of field.slice(0, MAX_FIELD).split(',')) {
    const match = /^\s*([a-z*][a-z0-9_.*-]*)=([0-9]{1,2})(?:;[^,]*)?\s*$/.exec(member);
    if (!match) continue;
    const weight = Number(match[2]);
    if (weight > 10) continue;
    // RFC 8941 §4.2.2: a key given twice keeps its last value.
    preferences.set(match[1]!, weight);
  }
  return preferences;
}

/**
 * Which known digests to send for a request. Without a `Want-…` field, every one that is known
 * (the server may send them unasked, RFC 9530 §3). With one, the known algorithm the client
 * prefers most, the stronger at equal preference; none when it wants only algorithms whose
 * digest is not known, or refuses them all (a preference of 0).
 */
export function selectDigests(want: string | null | undefined, known: Digests | undefined): DigestAlgorithm[] {
  const available = ALGORITHMS.filter((algorithm) => isDigestValue(algorithm, known?.[algorithm]));
  if (want === null || want === undefined) return available.reverse();
  const preferences = parseWantDigest(want);
  let best: DigestAlgorithm | undefined;
  let bestWeight = 0;
  for (const algorithm of available) {
    const weight = preferences.get(algorithm) ?? 0;
    if (weight > bestWeight) {
      best = algorithm;
      bestWeight = weight;
    }
  }
  return best ? [best] : [];
}

/** A `Repr-Digest` / `Content-Digest` value: `sha-256=:<base64>:` members (RFC 9530 §2, RFC 8941 byte sequences). */
export function formatDigestField(digests: Digests, algorithms: readonly DigestAlgorithm[]): string | undefined {
  const members = algorithms.filter((algorithm) => digests[algorithm] !== undefined).map((algorithm) => `${algorithm}=:${digests[algorithm]}:`);
  return members.length ? members.join(', ') : undefined;
}

/**
 * The digests of a `Repr-Digest` / `Content-Digest` value, for a client that checks what it
 * received. Unknown algorithms and malformed members are skipped.
 */
export function parseDigestField(field: string): Digests {
  const digests: Digests = {};
  for (const member of field.slice(0, 4 * MAX_FIELD).split(',')) {
    const match = /^\s*(sha-256|sha-512)=:([A-Za-z0-9+/=]*):\s*$/.exec(member);
    if (match && isDigestValue(match[1] as DigestAlgorithm, match[2])) digests[match[1] as DigestAlgorithm] = match[2];
  }
  return digests;
}
