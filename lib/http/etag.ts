import { createHash } from 'node:crypto';

/**
 * An entity-tag (RFC 9110 §8.8.3). `opaque` is the opaque-tag WITHOUT its
 * double quotes; `weak` says whether it carried the `W/` prefix.
 */
export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** `"x"` or `W/"x"` (RFC 9110 §8.8.3). */
export function formatEntityTag(tag: EntityTag): string {
  return `${tag.weak ? 'W/' : ''}"${tag.opaque}"`;
}

/**
 * etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3). obs-text (%x80-FF) is
 * accepted when *parsing* request fields, because `Headers` exposes raw field
 * bytes as Latin-1 characters; we never *produce* it (see toEntityTag).
 */
function isEtagc(code: number): boolean {
  return code === 0x21 || (code >= 0x23 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

function isOws(char: string | undefined): boolean {
  return char === ' ' || char === '\t';
}

/** Reads one entity-tag starting exactly at `start`; returns it and the index after it. */
function readEntityTag(
  value: string,
  start: number,
): { tag: EntityTag; end: number } | undefined {
  // The weak indicator is case-sensitive: %s"W/" (RFC 9110 §8.8.3).
  const weak = value.startsWith('W/', start);
  const open = weak ? start + 2 : start;
  if (value[open] !== '"') return undefined;
  let index = open + 1;
  while (index < value.length && isEtagc(value.charCodeAt(index))) index++;
  if (value[index] !== '"') return undefined;
  return { tag: { weak, opaque: value.slice(open + 1, index) }, end: index + 1 };
}

/**
 * Parses a field value holding exactly one entity-tag (e.g. If-Range,
 * RFC 9110 §13.1.5), surrounding whitespace tolerated.
 */
export function parseEntityTag(value: string): EntityTag | undefined {
  const text = value.trim();
  const read = readEntityTag(text, 0);
  return read && read.end === text.length ? read.tag : undefined;
}

/**
 * Parses If-Match / If-None-Match (RFC 9110 §13.1.1, §13.1.2):
 * `"*" / #entity-tag`.
 *
 * A comma is a legal etagc, so the list cannot be split on commas: it is
 * scanned. Empty list elements and OWS are skipped (RFC 9110 §5.6.1). A
 * malformed member is skipped up to the next comma rather than voiding the
 * whole field, so that one bad tag cannot hide a matching one.
 */
export function parseEntityTagList(value: string): '*' | EntityTag[] {
  if (value.trim() === '*') return '*';

  const tags: EntityTag[] = [];
  let index = 0;
  while (index < value.length) {
    const char = value[index];
    if (char === ',' || isOws(char)) {
      index++;
      continue;
    }
    let resumeFrom = index;
    const read = readEntityTag(value, index);
    if (read) {
      let after = read.end;
      while (isOws(value[after])) after++;
      if (after === value.length || value[after] === ',') {
        tags.push(read.tag);
        index = after;
        continue;
      }
      // Do not resync inside the quoted part: it may contain commas.
      resumeFrom = read.end;
    }
    const comma = value.indexOf(',', resumeFrom);
    index = comma === -1 ? value.length : comma + 1;
  }
  return tags;
}

/** Strong comparison (RFC 9110 §8.8.3.2): both strong and identical. */
export function strongCompare(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** Weak comparison (RFC 9110 §8.8.3.2): identical opaque-tags, weakness ignored. */
export function weakCompare(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/** A whole opaque value made of visible ASCII etagc only (no obs-text): safe to emit. */
const ASCII_ETAGC_ONLY = /^[\x21\x23-\x7e]*$/;
const QUOTED_ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e]*)"$/;

/**
 * Normalises an etag supplied by a source (a storage backend, a database
 * column, user code) into an EntityTag that can always be emitted.
 *
 * - `"abc"` / `W/"abc"`: already an entity-tag, taken as such.
 * - `abc`: a bare value made of etagc only becomes the strong tag `"abc"`.
 * - anything else (quotes, spaces, controls, non-ASCII): replaced by the
 *   base64url SHA-256 of the value. It stays deterministic (same input, same
 *   tag, so revalidation keeps working) and cannot break the ETag field or
 *   smuggle a header. UTF-16 code units are hashed, so distinct JS strings
 *   (even with lone surrogates) never share a digest input.
 *
 * In the object form, `weak`, when given, overrides what the string said.
 */
export function toEntityTag(input: string | { tag: string; weak?: boolean }): EntityTag {
  if (typeof input === 'string') return fromSourceValue(input);
  const tag = fromSourceValue(input.tag);
  return input.weak === undefined ? tag : { weak: input.weak, opaque: tag.opaque };
}

function fromSourceValue(value: string): EntityTag {
  const quoted = QUOTED_ENTITY_TAG.exec(value);
  if (quoted) return { weak: quoted[1] !== undefined, opaque: quoted[2] ?? '' };
  if (ASCII_ETAGC_ONLY.test(value)) return { weak: false, opaque: value };
  return {
    weak: false,
    opaque: createHash('sha256').update(value, 'utf16le').digest('base64url'),
  };
}

/**
 * A strong validator for a file, shaped like nginx's `"<mtime hex>-<size hex>"`.
 * nginx uses whole seconds; we use whole milliseconds so that two writes
 * within the same second still change the tag, while the sub-millisecond
 * part (which some file systems do not keep stable) is dropped.
 */
export function fileEntityTag(size: number, mtimeMs: number): EntityTag {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`fileEntityTag: invalid size ${size}`);
  }
  if (!Number.isFinite(mtimeMs)) {
    throw new RangeError(`fileEntityTag: invalid mtime ${mtimeMs}`);
  }
  return { weak: false, opaque: `${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}` };
}
