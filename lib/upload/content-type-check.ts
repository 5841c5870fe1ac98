import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import { charset } from 'mime-types';

/** How many first bytes `checkedContentType` looks at (what file-type needs for its signatures). */
export const SNIFF_BYTES = 4100;

const OCTET_STREAM = 'application/octet-stream';

/** Formats that are a ZIP archive inside: a sniffer may see only the ZIP in the first bytes. */
const ZIP_BASED = new Set([
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation',
  'application/epub+zip',
  'application/java-archive',
  'application/vnd.android.package-archive',
  'application/x-xpinstall',
  'application/vnd.google-earth.kmz',
]);

/** Formats stored in an OLE compound file (the old Office formats, MSI). */
const CFB_BASED = new Set(['application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint', 'application/x-msi', 'application/vnd.ms-outlook']);

/** MP4 files the name calls by another of the ISO media family's names. */
const MP4_FAMILY = new Set(['audio/mp4', 'video/x-m4v', 'audio/x-m4a']);

function isXml(type: string): boolean {
  return type === 'text/xml' || type === 'application/xml' || type.endsWith('+xml');
}

/** Types whose content is text: they have no signature, but must not hold binary bytes. */
function isTextual(type: string): boolean {
  return type.startsWith('text/') || type.endsWith('+json') || type.endsWith('+xml') || charset(type) !== false;
}

/**
 * Whether the bytes hold a byte no text has: the "binary data bytes" of WHATWG MIME Sniffing
 * §7.2 (controls other than tab, line feed, form feed, carriage return and escape).
 */
function looksBinary(head: Uint8Array): boolean {
  for (const byte of head) {
    if (byte <= 0x08 || byte === 0x0b || (byte >= 0x0e && byte <= 0x1a) || (byte >= 0x1c && byte <= 0x1f)) return true;
  }
  return false;
}

/** Whether a claimed type and the type the bytes show name the same file. */
function agrees(claimed: string, sniffed: string): boolean {
  if (claimed === sniffed) return true;
  if (sniffed === 'application/zip') return ZIP_BASED.has(claimed);
  if (sniffed === 'application/x-cfb') return CFB_BASED.has(claimed);
  if (sniffed === 'application/xml') return isXml(claimed);
  if (sniffed === 'video/mp4') return MP4_FAMILY.has(claimed);
  return false;
}

/**
 * The media type to store for an upload, from its first bytes (`SNIFF_BYTES` of them, fewer for
 * a shorter file) and the type it claims (from its name, or what the client declared):
 *
 * - bytes with a known signature (file-type's table: images, audio, video, PDF, archives,
 *   fonts, executables, XML...) give their type, unless the claim names the same file (a `.docx`
 *   that is a ZIP inside, an `.svg` that is XML);
 * - bytes without one keep a textual claim (`text/*`, JSON, XML, JavaScript) if they hold no
 *   binary byte, and any claim the signature table cannot check;
 * - everything else is `application/octet-stream`: a claim of a type that has a signature the
 *   bytes do not show (a `.png` that is really HTML), binary bytes claimed as text, no claim.
 *
 * The result is what the active-content guard of the downloads sees, so HTML cannot pass as
 * an image.
 *
 * @example
 * await checkedContentType(firstBytes, 'image/png') // 'image/png', or 'application/octet-stream' for HTML
 */
export async function checkedContentType(head: Uint8Array, claimed: string | undefined): Promise<string> {
  const claim = claimed?.split(';')[0]?.trim().toLowerCase() || undefined;
  const sample = head.subarray(0, SNIFF_BYTES);
  const sniffed = (await fileTypeFromBuffer(sample).catch(() => undefined))?.mime;
  if (sniffed) return claim && agrees(claim, sniffed) ? claim : sniffed;
  if (!claim || !/^[\w.+-]+\/[\w.+-]+$/.test(claim)) return OCTET_STREAM;
  if (isTextual(claim)) return looksBinary(sample) ? OCTET_STREAM : claim;
  return (supportedMimeTypes as ReadonlySet<string>).has(claim) ? OCTET_STREAM : claim;
}
