// content-disposition v2 ships `export function create` (CommonJS with
// __esModule) and no default export, so it is imported by name.
import { create } from 'content-disposition';

/**
 * C0 controls, DEL, C1 controls and the Unicode line/paragraph separators:
 * none belongs in a file name, and CR/LF would break a header.
 */
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/**
 * Bidirectional formatting characters: with U+202E a name like
 * "invoice\u202Efdp.exe" displays as "invoiceexe.pdf" in the save dialog.
 */
const BIDI_CONTROLS = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The longest file name, in UTF-8 bytes, that the kit sends or keeps: what
 * ext4, XFS, Btrfs, APFS and ZFS allow for one name (NAME_MAX), and within
 * NTFS's 255 UTF-16 units. It also keeps Content-Disposition near 1 KB.
 */
export const MAX_FILENAME_BYTES = 255;

/** An extension longer than this is part of the name, not something to keep whole. */
const MAX_EXTENSION_BYTES = 32;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Reduces a user- or storage-provided name to a file name a client can
 * safely save under: the last path segment (both `/` and `\`, since
 * Windows clients treat either as a separator), without control or
 * bidi-formatting characters, trimmed, and at most `MAX_FILENAME_BYTES`
 * UTF-8 bytes (cut as `truncateFilename` does, extension kept).
 * `.`, `..` and empty give `''`.
 *
 * Lone surrogates become U+FFFD, because they cannot be UTF-8 encoded
 * (encodeURIComponent throws on them).
 */
export function safeBasename(name: string): string {
  const segments = name.toWellFormed().split(/[/\\]/);
  const last = (segments[segments.length - 1] ?? '')
    .replace(CONTROL_CHARS, '')
    .replace(BIDI_CONTROLS, '')
    .trim();
  const bounded = truncateFilename(last, MAX_FILENAME_BYTES).trim();
  return bounded === '.' || bounded === '..' ? '' : bounded;
}

/**
 * Cuts `name` to at most `maxBytes` bytes of UTF-8, keeping its extension
 * (the last `.xyz` of the last path segment, up to 32 bytes) and cutting
 * the part before it. The cut falls between user-perceived characters
 * (grapheme clusters: an emoji sequence or a letter with its accents stays
 * whole), or between code points when one cluster alone is too long, so
 * the result is always valid UTF-8 and never splits a surrogate pair.
 * A name that fits is returned as it is (lone surrogates made U+FFFD).
 *
 * @example
 * truncateFilename('a very long report name.pdf', 12) // 'a very l.pdf'
 */
export function truncateFilename(name: string, maxBytes: number): string {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`truncateFilename: maxBytes must be a whole number >= 0, got ${maxBytes}`);
  }
  const text = name.toWellFormed();
  // One UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4).
  if (text.length * 3 <= maxBytes || utf8Length(text) <= maxBytes) return text;
  const segmentStart = Math.max(text.lastIndexOf('/'), text.lastIndexOf('\\')) + 1;
  const dot = text.lastIndexOf('.');
  if (dot > segmentStart) {
    const extension = text.slice(dot);
    const extensionBytes = utf8Length(extension);
    if (extensionBytes <= Math.min(MAX_EXTENSION_BYTES, Math.floor(maxBytes / 2))) {
      const stem = cutToBytes(text.slice(0, dot), maxBytes - extensionBytes).trimEnd();
      // Nothing left of the stem would turn the name into a dotfile: cut the whole name instead.
      if (stem.length > segmentStart) return stem + extension;
    }
  }
  return cutToBytes(text, maxBytes);
}

/** The longest prefix of `text` within `budget` UTF-8 bytes, cut between graphemes if it can be. */
function cutToBytes(text: string, budget: number): string {
  let used = 0;
  let end = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    const bytes = utf8Length(segment);
    if (used + bytes > budget) {
      // A cluster longer than what is left (a letter under hundreds of combining marks) is cut
      // between its code points, if nothing before it fits.
      return end > 0 ? text.slice(0, end) : cutCodePoints(text, budget);
    }
    used += bytes;
    end = index + segment.length;
  }
  return text;
}

function cutCodePoints(text: string, budget: number): string {
  let used = 0;
  let end = 0;
  for (const codePoint of text) {
    used += utf8Length(codePoint);
    if (used > budget) break;
    end += codePoint.length;
  }
  return text.slice(0, end);
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Latin letters that NFKD does not decompose, spelled the usual ASCII way. */
const LATIN_LIGATURES: Record<string, string> = {
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  ł: 'l',
  Ł: 'L',
  þ: 'th',
  Þ: 'Th',
  ı: 'i',
};
const LIGATURE_CHARS = new RegExp(`[${Object.keys(LATIN_LIGATURES).join('')}]`, 'g');
/**
 * Runs of what must not appear in the quoted-string `filename` parameter:
 * anything outside printable ASCII, plus `"` and `\` (which would need
 * escaping that some clients get wrong) and `%` (which some clients
 * percent-decode in `filename`, RFC 6266 Appendix D).
 */
const UNSAFE_RUNS = /[^\x20\x21\x23\x24\x26-\x5b\x5d-\x7e]+/g;
const ALNUM = /[A-Za-z0-9]/;
const ASCII_EXTENSION = /^[A-Za-z0-9]+$/;

/**
 * An ASCII-only stand-in for `name`, for the `filename` parameter that
 * clients without RFC 8187 support use (RFC 6266 §4.3, Appendix D).
 *
 * Accented Latin letters lose their accents (NFKD), other non-ASCII runs
 * become `_`. If nothing readable is left of the stem, `download` is used
 * so that `中文.txt` gives `download.txt` rather than `_.txt` or `.txt`.
 * The extension is kept when it is ASCII alphanumeric, since it is what
 * the client uses to pick an application.
 */
export function asciiFallback(name: string): string {
  const ascii = name
    .toWellFormed()
    .replace(CONTROL_CHARS, '')
    .replace(BIDI_CONTROLS, '')
    .replace(LIGATURE_CHARS, (char) => LATIN_LIGATURES[char] ?? char)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(UNSAFE_RUNS, '_')
    .trim();

  const dot = ascii.lastIndexOf('.');
  const extension = dot > 0 ? ascii.slice(dot + 1) : '';
  const hasExtension = ASCII_EXTENSION.test(extension);
  const stem = hasExtension ? ascii.slice(0, dot) : ascii;
  const safeStem = ALNUM.test(stem) ? stem : 'download';
  // NFKD can lengthen a name (`㎉` gives `kcal`): the fallback is bounded like the name itself.
  return truncateFilename(hasExtension ? `${safeStem}.${extension}` : safeStem, MAX_FILENAME_BYTES);
}

/**
 * Builds Content-Disposition (RFC 6266) for a download.
 *
 * Without a usable name, the bare type. Otherwise `filename` carries the
 * ASCII fallback and, whenever the real name differs from it (non-ASCII,
 * quotes, backslashes, `%`), `filename*` carries the real name in
 * RFC 8187 encoding (UTF-8, percent-encoded), which clients prefer
 * (RFC 6266 §4.3). The content-disposition package writes `filename` as a
 * bare token when it is one (`filename=report.pdf`), which RFC 6266 §4.1
 * allows, and as a quoted-string otherwise.
 *
 * The result only ever holds printable ASCII: no header injection, and no
 * raw UTF-8 for clients to decode as Latin-1.
 */
export function contentDispositionHeader(
  filename: string | undefined,
  type: 'attachment' | 'inline',
): string {
  const name = filename === undefined ? '' : safeBasename(filename);
  if (name === '') return create(undefined, { type });
  return create(name, { type, fallback: asciiFallback(name) });
}
