import { randomBytes } from 'node:crypto';
import type { ByteRange } from './range';

/**
 * Everything needed to stream a multipart/byteranges body (RFC 9110 §14.6)
 * without buffering it: write each part's `head`, then the bytes of its
 * `range`, then `tail`. `length` is the exact Content-Length of the result.
 */
export interface MultipartPlan {
  contentType: string;
  length: number;
  parts: { head: Uint8Array; range: ByteRange }[];
  tail: Uint8Array;
}

/**
 * An injected boundary must be a valid RFC 2046 §5.1.1 boundary (1 to 70
 * bchars) and also a token, so that it can stand unquoted in Content-Type.
 */
const BOUNDARY = /^[0-9A-Za-z'+_.-]{1,70}$/;

/**
 * Plans a multipart/byteranges body for `ranges` of a representation of
 * `size` bytes.
 *
 * Each part carries Content-Type and Content-Range (§14.6). Every
 * delimiter, the first one included, is written as CRLF "--" boundary: the
 * leading CRLF of the first part then forms an empty preamble, which RFC
 * 2046 §5.1.1 allows, and it keeps every part head identical in shape.
 *
 * The default boundary is 96 random bits in hex: it cannot be predicted by
 * whoever controls the file content, so it cannot be forged inside a part.
 */
export function planMultipart(
  ranges: ByteRange[],
  size: number,
  partContentType: string,
  boundary: string = randomBytes(12).toString('hex'),
): MultipartPlan {
  if (!BOUNDARY.test(boundary)) {
    throw new TypeError(`planMultipart: invalid boundary ${JSON.stringify(boundary)}`);
  }
  if (!/^[\t\x20-\x7e]+$/.test(partContentType)) {
    throw new TypeError('planMultipart: invalid part Content-Type');
  }
  if (ranges.length === 0) {
    throw new RangeError('planMultipart: no ranges');
  }

  const encoder = new TextEncoder();
  let length = 0;
  const parts = ranges.map((range) => {
    const { start, end } = range;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
      throw new RangeError(`planMultipart: range ${start}-${end} outside 0-${size - 1}`);
    }
    const head = encoder.encode(
      `\r\n--${boundary}\r\n` +
        `Content-Type: ${partContentType}\r\n` +
        `Content-Range: bytes ${start}-${end}/${size}\r\n` +
        '\r\n',
    );
    length += head.byteLength + (end - start + 1);
    return { head, range: { start, end } };
  });
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  length += tail.byteLength;

  return { contentType: `multipart/byteranges; boundary=${boundary}`, length, parts, tail };
}
