import { AssertionError } from 'node:assert';
import { createHash } from 'node:crypto';
import { parseDigestField, type DigestAlgorithm } from '../http/digest';
import { contentTypeMatches, describeBytes, firstDifference, Mismatches, readBody, readDisposition } from './mismatches';

/** What `assertDownloadResponse` checks; only the fields given are checked (and `status`, always). */
export interface DownloadExpectation {
  /** Default 200. */
  status?: number;
  /** The name a browser saves under: `filename*` (RFC 8187) when present, else `filename`. */
  filename?: string;
  /** The plain `filename=` parameter, the fallback for clients without RFC 8187. */
  filenameAscii?: string;
  disposition?: 'attachment' | 'inline';
  /**
   * `text/csv` compares the media type only; `text/csv; charset=utf-8` the whole header (case and
   * spaces normalised); a RegExp is matched against the whole header.
   */
  contentType?: string | RegExp;
  /** The exact body; a string is compared as its UTF-8 bytes. */
  body?: string | Uint8Array;
  /** SHA-256 of the body, in hex. */
  bodySha256?: string;
  /** The Content-Length header. */
  contentLength?: number;
  /** `true`: a well-formed ETag is present; `false`: none; a string: exactly this one. */
  etag?: boolean | string;
  /**
   * `Repr-Digest` (RFC 9530). `true`: present with a SHA-256 or SHA-512, and on a 200 with a
   * body equal to the hash of the body read (a 206, 304 or HEAD is checked for its form only); a `Content-Digest`, when present, is checked against the body of
   * any status. `false`: none. A string: exactly this value.
   */
  reprDigest?: boolean | string;
}

/** RFC 9110 §8.8.3 entity-tag. */
const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

/**
 * Asserts that a Response is the download you expect, like django-downloadview's
 * `assert_download_response`. Works under any test runner: on a mismatch it throws an
 * `AssertionError` (node:assert) listing every field that differs, expected against actual.
 * Content-Disposition is parsed here, both forms, the way a browser reads it. The body is read
 * only when `body` or `bodySha256` is asked for, and from a clone: the response stays readable.
 *
 * @example
 * import { assertDownloadResponse } from 'next-downloadview/testing';
 *
 * it('downloads the report', async () => {
 *   const response = await GET(new Request('http://x/api/files/7'), { params: Promise.resolve({ id: '7' }) });
 *   await assertDownloadResponse(response, {
 *     filename: 'résumé.pdf',
 *     filenameAscii: 'resume.pdf',
 *     disposition: 'attachment',
 *     contentType: 'application/pdf',
 *     bodySha256: 'e3b0c442...',
 *   });
 * });
 */
export async function assertDownloadResponse(response: Response, expected: DownloadExpectation = {}): Promise<void> {
  if (!(response instanceof Response)) {
    throw new AssertionError({ message: `assertDownloadResponse: expected a Response, got ${typeof response}` });
  }
  const mismatches = new Mismatches();
  const status = expected.status ?? 200;
  mismatches.check('status', response.status === status, status, response.status);

  if (expected.filename !== undefined || expected.filenameAscii !== undefined || expected.disposition !== undefined) {
    const disposition = readDisposition(response, mismatches);
    if (disposition) {
      if (expected.disposition !== undefined) {
        mismatches.check('disposition', disposition.type === expected.disposition, expected.disposition, disposition.type);
      }
      const ascii = disposition.parameters.filename;
      if (expected.filename !== undefined) {
        const hint =
          disposition.parameters['filename*'] !== undefined && expected.filename === ascii
            ? 'that is the ASCII fallback; filename* wins, check the fallback with filenameAscii'
            : undefined;
        mismatches.check('filename', disposition.filename === expected.filename, expected.filename, disposition.filename, hint);
      }
      if (expected.filenameAscii !== undefined) {
        mismatches.check('filename (ASCII fallback)', ascii === expected.filenameAscii, expected.filenameAscii, ascii);
      }
    }
  }

  const contentType = response.headers.get('content-type');
  if (expected.contentType !== undefined) {
    mismatches.check('Content-Type', contentTypeMatches(expected.contentType, contentType), expected.contentType, contentType);
  }

  if (expected.contentLength !== undefined) {
    const header = response.headers.get('content-length');
    const length = header !== null && /^[0-9]+$/.test(header) ? Number(header) : header;
    mismatches.check('Content-Length', length === expected.contentLength, expected.contentLength, header);
  }

  if (expected.etag !== undefined) {
    const etag = response.headers.get('etag');
    if (expected.etag === true) {
      const actual = etag === null ? '(absent)' : JSON.stringify(etag);
      mismatches.checkDescribed('ETag', etag !== null && ENTITY_TAG.test(etag), 'a well-formed entity-tag', actual);
    } else if (expected.etag === false) {
      mismatches.check('ETag', etag === null, null, etag);
    } else {
      mismatches.check('ETag', etag === expected.etag, expected.etag, etag);
    }
  }

  if (expected.reprDigest !== undefined) await checkDigests(response, expected.reprDigest, mismatches);

  if (expected.body !== undefined || expected.bodySha256 !== undefined) {
    const body = await readBody(response, mismatches);
    if (body && expected.body !== undefined) {
      const want = typeof expected.body === 'string' ? new TextEncoder().encode(expected.body) : expected.body;
      const same = want.byteLength === body.byteLength && firstDifference(want, body) === body.byteLength;
      mismatches.checkDescribed(
        'body',
        same,
        describeBytes(want),
        describeBytes(body),
        same ? undefined : `first difference at byte ${firstDifference(want, body)}`,
      );
    }
    if (body && expected.bodySha256 !== undefined) {
      const digest = createHash('sha256').update(body).digest('hex');
      const want = expected.bodySha256.toLowerCase();
      mismatches.check('body SHA-256', digest === want, want, digest);
    }
  }

  mismatches.throwIfAny('Download response does not match', 'assertDownloadResponse', assertDownloadResponse);
}

const HASHES: Record<DigestAlgorithm, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/** Repr-Digest (and any Content-Digest) against the bytes the response carries. */
async function checkDigests(response: Response, expected: boolean | string, mismatches: Mismatches): Promise<void> {
  const field = response.headers.get('repr-digest');
  if (expected === false) return mismatches.check('Repr-Digest', field === null, null, field);
  if (typeof expected === 'string') return mismatches.check('Repr-Digest', field === expected, expected, field);
  const digests = field === null ? {} : parseDigestField(field);
  const known = Object.keys(digests) as DigestAlgorithm[];
  if (known.length === 0) {
    mismatches.checkDescribed('Repr-Digest', false, 'a sha-256 or sha-512 digest', field === null ? '(absent)' : JSON.stringify(field));
    return;
  }
  const content = response.headers.get('content-digest');
  // Only a 200 carries the whole representation; a 206 or 304 has a part of it or nothing.
  if (response.status !== 200 && content === null) return;
  const body = await readBody(response, mismatches);
  // A HEAD's answer: the length of a body it does not carry.
  if (!body || (body.byteLength === 0 && Number(response.headers.get('content-length')) > 0)) return;
  const hash = (algorithm: DigestAlgorithm) => createHash(HASHES[algorithm]).update(body).digest('base64');
  if (response.status === 200) {
    for (const algorithm of known) {
      mismatches.check(`Repr-Digest ${algorithm} of the body`, digests[algorithm] === hash(algorithm), hash(algorithm), digests[algorithm]);
    }
  }
  if (content !== null) {
    const sent = parseDigestField(content);
    for (const algorithm of Object.keys(sent) as DigestAlgorithm[]) {
      mismatches.check(`Content-Digest ${algorithm} of the body`, sent[algorithm] === hash(algorithm), hash(algorithm), sent[algorithm]);
    }
  }
}
