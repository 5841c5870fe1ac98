import { truncateFilename } from '../http/disposition';

// Double extensions kept together when a number is added: `backup (2).tar.gz`, not `backup.tar (2).gz`.
const EXTENSION = /(\.tar)?\.[^.\s]{1,10}$/i;

/**
 * Longest entry name in UTF-8 bytes. The ZIP format itself allows 65,535 (APPNOTE 4.4.10), but
 * the file systems an archive is extracted to take 255 bytes per name (ext4, XFS, APFS; NTFS 255
 * UTF-16 units): a longer entry cannot be extracted anywhere.
 */
export const MAX_ENTRY_NAME_BYTES = 255;

/** What an entry whose name has nothing left once made safe is called. */
export const FALLBACK_ENTRY_NAME = 'unnamed';

/**
 * Characters Windows refuses in a name (`<>:"/\|?*`, and control characters; Microsoft's
 * "Naming Files, Paths, and Namespaces"), and DEL. `/` and `\` would also make folders: an entry
 * `../x` or `/etc/x` would write outside the folder it is extracted to; `:` names an NTFS
 * alternate data stream for some extractors (`re:port.txt` writes a stream `port.txt` of `re`).
 */
// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const REFUSED = /[\u0000-\u001f\u007f<>:"/\\|?*]/g;

/**
 * Device names Windows reserves, whatever the extension and case (`CON`, `nul.txt`, `Com1.tar.gz`):
 * a file of that name cannot be created, and extracting it writes to the device. The same page
 * lists the superscript digits of COM and LPT, and CONIN$ / CONOUT$, as reserved too.
 */
const RESERVED = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$)$/i;

/** Windows drops trailing dots and spaces, so `report.` and `report` would be one file. */
const TRAILING = /[. ]+$/;

/**
 * `stem` + `tail` within `maxBytes` UTF-8 bytes: the stem is cut (between whole characters, by the
 * kit's `truncateFilename`) so that the tail (extension, number) stays; a tail that would leave no
 * room for a stem of its own is cut with the name instead.
 */
function fitName(stem: string, tail: string, maxBytes: number): string {
  const room = maxBytes - Buffer.byteLength(tail, 'utf8');
  if (room < maxBytes / 2) return truncateFilename(stem + tail, maxBytes).replace(TRAILING, '');
  return truncateFilename(stem, room).trimEnd() + tail;
}

/** `name` split into its stem and extension (`backup.tar.gz` -> `backup`, `.tar.gz`); a dotfile has no extension. */
function splitExtension(name: string): [stem: string, extension: string] {
  const extension = EXTENSION.exec(name)?.[0] ?? '';
  return extension && extension.length < name.length ? [name.slice(0, -extension.length), extension] : [name, ''];
}

/**
 * A file name that every common system can extract, deterministically (the same name always gives
 * the same result): no folder separators, no character Windows refuses (each becomes `_`), no
 * trailing dots or spaces, no reserved device name (`CON`, `nul.txt` become `_CON`, `_nul.txt`),
 * never empty ({@link FALLBACK_ENTRY_NAME}), and at most 255 UTF-8 bytes, cut in the stem so that
 * the extension stays. Uniqueness comes after, from {@link UniqueNames}, so two names that become
 * the same here still get two entries.
 */
export function entryName(name: string): string {
  const clean = name.normalize('NFC').replace(REFUSED, '_').trim().replace(TRAILING, '');
  if (clean === '') return FALLBACK_ENTRY_NAME;
  // The device is the part before the first dot, trailing spaces ignored (`CON .txt` is CON too).
  const device = clean.split('.', 1)[0]!.trimEnd();
  const safe = RESERVED.test(device) ? `_${clean}` : clean;
  const fitted = fitName(...splitExtension(safe), MAX_ENTRY_NAME_BYTES);
  return fitted === '' ? FALLBACK_ENTRY_NAME : fitted;
}

/**
 * Makes entry names unique: `name`, or `name (2)`, `name (3)`, ... before the extension,
 * whichever is not taken yet, within 255 UTF-8 bytes (a long stem is cut to make room for the
 * number). Names are compared case-insensitively: extracting `A.txt` and `a.txt` on macOS or
 * Windows would otherwise overwrite one with the other.
 *
 * Linear in the names it is given: each base name remembers the next number to try, so the 8,000th
 * `a.txt` is `a (8000).txt` at once instead of after trying 7,998 taken names (which made an
 * export of 8,000 same-named rows take seconds of CPU, every request of the process waiting).
 * The result depends only on the names and their order.
 */
export class UniqueNames {
  readonly #taken = new Set<string>();
  /** Next number to try, per base name (lower-cased). */
  readonly #next = new Map<string, number>();

  /** A name not given before (case-insensitively), for `name`; remembers it. */
  take(name: string): string {
    const [stem, extension] = splitExtension(name);
    const base = fitName(stem, extension, MAX_ENTRY_NAME_BYTES);
    const baseKey = base.toLowerCase();
    let candidate = base;
    if (this.#taken.has(baseKey)) {
      let n = this.#next.get(baseKey) ?? 2;
      do candidate = fitName(stem, ` (${n++})${extension}`, MAX_ENTRY_NAME_BYTES);
      while (this.#taken.has(candidate.toLowerCase()));
      this.#next.set(baseKey, n);
    }
    this.#taken.add(candidate.toLowerCase());
    return candidate;
  }
}
