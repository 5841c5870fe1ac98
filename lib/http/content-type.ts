import { charset as knownCharset, lookup } from 'mime-types';

const FALLBACK_TYPE = 'application/octet-stream';
const DEFAULT_CHARSET = 'utf-8';

// media-type = type "/" subtype parameters (RFC 9110 §8.3.1), type and
// subtype being tokens (§5.6.2). Parameters, if any, must stay printable
// (HTAB, SP, VCHAR): a candidate with CR/LF or other controls is not a
// media type and could not be sent as a field value anyway (§5.5).
const MEDIA_TYPE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\/([!#$%&'*+.^_`|~0-9A-Za-z-]+)([\t\x20-\x7e]*)$/;
const EMPTY_PARAMETERS = /^[ \t]*;?[ \t]*$/;
const PARAMETERS = /^[ \t]*;/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Picks the Content-Type of a download (RFC 9110 §8.3): the explicit
 * option, else what the source says, else a guess from the file name's
 * extension, else `application/octet-stream` (§8.3: a sender that does not
 * know the type should use it, so clients do not sniff).
 *
 * A candidate that is not a syntactically valid media type is skipped,
 * so that a bad value stored with a file cannot break the response.
 *
 * The type/subtype is lower-cased (it is case-insensitive, §8.3.1);
 * parameters already present are kept as given. Otherwise a charset is
 * added to textual types only — `text/*`, types mime-db knows a charset for
 * (application/json, application/javascript…), and `+json`/`+xml` — since a
 * charset on image/png or application/pdf means nothing. The charset is
 * `input.charset` when it is a valid token, else utf-8.
 */
export function resolveContentType(input: {
  explicit?: string;
  source?: string;
  name?: string;
  charset?: string;
}): string {
  const candidates = [input.explicit, input.source, typeFromName(input.name), FALLBACK_TYPE];
  for (const candidate of candidates) {
    const match = candidate === undefined ? null : MEDIA_TYPE.exec(candidate.trim());
    if (!match) continue;
    const mediaType = `${match[1]}/${match[2]}`.toLowerCase();
    const rest = match[3] ?? '';
    if (!EMPTY_PARAMETERS.test(rest)) {
      // Only `;` may follow the subtype; `text/plain x` is not a media type.
      if (!PARAMETERS.test(rest)) continue;
      return `${mediaType}${rest}`;
    }
    if (!isTextual(mediaType)) return mediaType;
    const charset = input.charset !== undefined && TOKEN.test(input.charset) ? input.charset : DEFAULT_CHARSET;
    return `${mediaType}; charset=${charset}`;
  }
  return FALLBACK_TYPE;
}

/**
 * mime-types' lookup() also takes a bare extension, so a file called
 * `json` would be guessed as application/json: only a real extension (a
 * dot after the first character of the last path segment) is looked up.
 */
export function typeFromName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const basename = name.split(/[/\\]/).pop() ?? '';
  const dot = basename.lastIndexOf('.');
  if (dot <= 0) return undefined;
  return lookup(basename.slice(dot + 1)) || undefined;
}

function isTextual(mediaType: string): boolean {
  return (
    mediaType.startsWith('text/') ||
    mediaType.endsWith('+json') ||
    mediaType.endsWith('+xml') ||
    knownCharset(mediaType) !== false
  );
}

/**
 * Media types a browser renders as a document that can run script, when a response with one of
 * them is opened (navigated to) rather than embedded:
 *
 * - HTML: `text/html`.
 * - XML, any flavour: `text/xml`, `application/xml`, `text/xsl` (Chromium renders it as XML) and
 *   every `+xml` type (`image/svg+xml`, `application/xhtml+xml`, RSS, Atom, MathML, KML...). An
 *   XML document runs `<script>` elements in the XHTML or SVG namespace, event attributes and an
 *   `<?xml-stylesheet?>` XSLT that outputs HTML, whatever its root element.
 *   `text/mathml`, `application/xml-dtd` and the external-parsed-entity types are XML too.
 * - Documents made of parts whose own types decide: `multipart/x-mixed-replace` (each part is
 *   rendered as its type says), MHTML (`multipart/related`, `message/rfc822`), which some
 *   browsers render as the HTML it holds.
 * - Types that tell the browser to sniff (WHATWG MIME Sniffing §7.1, "rules for identifying an
 *   unknown MIME type"): `unknown/unknown`, `application/unknown`, `*\/*`, and a missing or
 *   unparsable Content-Type; sniffing may find HTML in them.
 * - `application/x-shockwave-flash`, for the browsers that still run a Flash player.
 *
 * Not in the list: scripts (`text/javascript`, `application/json`), which a browser shows as text
 * when opened and runs only when a page of the origin already loads them; `application/pdf`,
 * which browsers render in their own viewer, outside the origin's DOM; images, audio, video,
 * `text/plain` and `text/css`, which `X-Content-Type-Options: nosniff` keeps from being sniffed
 * as anything else.
 */
const ACTIVE_TYPES = new Set([
  'text/html',
  'text/xml',
  'application/xml',
  'text/xsl',
  'text/mathml',
  'application/xml-dtd',
  'text/xml-external-parsed-entity',
  'application/xml-external-parsed-entity',
  'multipart/x-mixed-replace',
  'multipart/related',
  'message/rfc822',
  'unknown/unknown',
  'application/unknown',
  '*/*',
  'application/x-shockwave-flash',
]);

const ESSENCE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * Whether a Content-Type value (as sent, parameters and all) makes a browser render a document
 * that can run script: see `ACTIVE_TYPES` above. Case, parameters and surrounding blanks do not
 * matter (`Text/HTML; charset=utf-8`, ` image/svg+xml `). A value with several comma-separated
 * types counts as active if any of them is (the Fetch standard's "extract a MIME type" takes the
 * last valid one); a missing value, or one in which no type parses, counts as active since the
 * browser would sniff it.
 *
 * @example
 * isActiveContentType('image/svg+xml; charset=utf-8') // true
 * isActiveContentType('application/pdf')              // false
 */
export function isActiveContentType(contentType: string | null | undefined): boolean {
  if (contentType === null || contentType === undefined) return true;
  let parsed = false;
  for (const entry of contentType.split(',')) {
    const essence = (entry.split(';')[0] ?? '').trim().toLowerCase();
    if (!ESSENCE.test(essence)) continue;
    parsed = true;
    if (ACTIVE_TYPES.has(essence) || essence.endsWith('+xml')) return true;
  }
  return !parsed;
}
