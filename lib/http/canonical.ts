/**
 * The canonical form a URL is signed in. Signer and verifier both reduce the URL to it, so two
 * spellings of the same request (`/a b/é.txt` built from raw text, `/a%20b/%C3%A9.txt` as a
 * browser sends it, `%c3%a9` in lower case) sign and verify identically, and two different
 * requests never share one.
 */

const encoder = new TextEncoder();
const ESCAPE = /%[0-9A-Fa-f]{2}/g;
/** RFC 3986 §2.3: the only characters that never need encoding. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Percent-decodes to bytes: each valid `%XX` is one byte, any other character (a `%` that starts
 * no escape included) stands for its own UTF-8 bytes. Working on bytes keeps it total: `%FF` or a
 * lone `%` never throws the way `decodeURIComponent` does.
 */
function decodeToBytes(text: string): number[] {
  const bytes: number[] = [];
  let last = 0;
  for (const match of text.matchAll(ESCAPE)) {
    bytes.push(...encoder.encode(text.slice(last, match.index)), Number.parseInt(match[0].slice(1), 16));
    last = match.index + 3;
  }
  bytes.push(...encoder.encode(text.slice(last)));
  return bytes;
}

/** Encodes every byte except the unreserved ASCII ones, as `%XX` in upper case (RFC 3986 §2.1). */
function encodeBytes(bytes: Iterable<number>): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * One path segment, decoded and re-encoded: `a b` and `a%20b` meet in `a%20b`; `é`, `%C3%A9` and
 * `%c3%a9` in `%C3%A9`. `+` is a literal plus in a path (RFC 3986; only form-encoded queries
 * read it as a space), so `a+b` and `a%2Bb` are one name and `a b` another.
 */
export function canonicalSegment(segment: string): string {
  return encodeBytes(decodeToBytes(segment));
}

/**
 * The path, segment by segment. Segments are split before decoding, so an encoded slash (`%2F`)
 * stays inside its segment and never becomes a separator. No Unicode normalisation: NFC `é` and
 * NFD `é` are different names on most file systems, so they are different URLs here too.
 */
export function canonicalPath(pathname: string): string {
  return pathname.split('/').map(canonicalSegment).join('/');
}

/**
 * The query as the application reads it (URLSearchParams: `+` is a space, escapes decoded),
 * minus `exclude`, sorted by name and re-encoded. The sort is stable: values of a repeated name
 * keep their order, because `searchParams.get()` reads the first one and swapping them must break
 * the signature.
 */
export function canonicalQuery(params: URLSearchParams, exclude: string): string {
  return [...params]
    .filter(([name]) => name !== exclude)
    .map(([name, value]) => [encodeBytes(encoder.encode(name)), encodeBytes(encoder.encode(value))] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}
