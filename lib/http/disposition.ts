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
 * Reduces a user- or storage-provided name to a file name a client can
 * safely save under: the last path segment (both `/` and `\`, since
 * Windows clients treat either as a separator), without control or
 * bidi-formatting characters, trimmed. `.`, `..` and empty give `''`.
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
  return last === '.' || last === '..' ? '' : last;
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
  return hasExtension ? `${safeStem}.${extension}` : safeStem;
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
