import type { IncomingMessage, ServerResponse } from 'node:http';
import { ENCODING_HEADER, LENGTH_HEADER, verifiedEncoding, verifiedLength } from '../engine/length-handoff';

// The hand-off's token belongs to the engine, which signs lengths; the server only reads them.
export {
  enableLengthHeader,
  ENCODING_HEADER,
  LENGTH_HEADER,
  signedEncoding,
  signedLength,
  verifiedEncoding,
  verifiedLength,
} from '../engine/length-handoff';

/** Statuses whose responses never carry a body (RFC 9110 §6.4.1). */
function bodiless(req: IncomingMessage, res: ServerResponse): boolean {
  return req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 || (res.statusCode >= 100 && res.statusCode < 200);
}

/**
 * Makes `res` turn a valid private length header into `Content-Length` and a valid private
 * coding header into `Content-Encoding` (the representation headers Next 16 drops from route
 * responses), and guards the length: the private headers are always removed; if the body written does not come to exactly that many
 * bytes, the connection is destroyed rather than ended, so a client never takes a short or
 * long body for a whole one.
 */
export function restoreContentLength(req: IncomingMessage, res: ServerResponse): void {
  let expected: number | undefined;
  let written = 0;
  const setHeader = res.setHeader.bind(res);
  const appendHeader = res.appendHeader?.bind(res);
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;

  const intercept = (name: string, value: unknown): boolean => {
    const lower = name.toLowerCase();
    if (lower === LENGTH_HEADER) {
      const length = verifiedLength(Array.isArray(value) ? value[0] : value);
      if (length !== undefined && !res.headersSent) {
        expected = length;
        setHeader('content-length', String(length));
      }
      return true;
    }
    if (lower === ENCODING_HEADER) {
      const encoding = verifiedEncoding(Array.isArray(value) ? value[0] : value);
      if (encoding !== undefined && !res.headersSent) setHeader('content-encoding', encoding);
      return true;
    }
    // A length from anywhere else may not replace the verified one.
    return lower === 'content-length' && expected !== undefined;
  };

  res.setHeader = (name: string, value: number | string | readonly string[]) => (intercept(name, value) ? res : setHeader(name, value));
  if (appendHeader) {
    res.appendHeader = (name: string, value: string | readonly string[]) => (intercept(name, value) ? res : appendHeader(name, value));
  }

  const count = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    written += typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array).byteLength;
  };

  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (expected !== undefined && !bodiless(req, res)) {
      count(chunk, rest[0]);
      if (written > expected) {
        res.destroy(new Error(`response body is longer than its Content-Length of ${expected}`));
        return false;
      }
    }
    return write(chunk, ...rest);
  }) as typeof res.write;

  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (expected !== undefined && !bodiless(req, res)) {
      count(chunk, rest[0]);
      if (written !== expected) {
        res.destroy(new Error(`response body is ${written} bytes, its Content-Length ${expected}`));
        return res;
      }
    }
    return end(chunk, ...rest);
  }) as typeof res.end;
}
