import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from './options';
import { serve } from './serve';
import type { Source } from './source';
import { expectedOutcomes, type ModelOutcome } from '../http/rfc9110-model.test-support';

// A 206 as a client receives it: the engine's response to a random Range header on random
// bytes, read back from the wire, must be the slices RFC 9110 and the kit's choices allow
// (lib/http/rfc9110-model.test-support.ts), each with its Content-Type and Content-Range line, in a body exactly as
// long as the announced Content-Length. fast-check prints the seed of any failure.

// PROPERTY_RUNS=5000 for a longer hunt.
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const MTIME = new Date(Date.UTC(2024, 0, 15, 12, 0, 0));

type Reading = 'open' | 'openRanges' | 'sequential';

/**
 * A source of in-memory bytes that hands them out in chunks of the given sizes: opened once per
 * part, once for all parts, or once for all parts read forward only (generated content).
 */
function memorySource(bytes: Uint8Array, chunks: number[], contentType: string, reading: Reading): Source {
  const source: Source = {
    name: 'data.bin',
    contentType,
    size: bytes.byteLength,
    lastModified: MTIME,
    etag: 'v1',
    open(range) {
      const slice = range ? bytes.subarray(range.start, range.end + 1) : bytes;
      let offset = 0;
      let turn = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= slice.byteLength) return controller.close();
          const length = Math.max(1, chunks[turn++ % chunks.length]!);
          controller.enqueue(slice.slice(offset, offset + length));
          offset += length;
        },
      });
    },
  };
  if (reading === 'open') return source;
  return {
    ...source,
    sequential: reading === 'sequential',
    openRanges: async (ranges) => Promise.all(ranges.map((range) => source.open(range))),
  };
}

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Reads a multipart body per RFC 2046 §5.1.1: an optional preamble, then parts each opened by
 * a delimiter (CRLF "--" boundary, or "--" boundary at the very start) followed by optional
 * transport padding and CRLF, ended by the close delimiter and an optional epilogue.
 */
function readMultipart(body: Buffer, contentType: string): { parts: Part[]; epilogue: string } {
  const boundary = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const dash = `--${boundary?.[1] ?? boundary?.[2]}`;
  expect(boundary, `no boundary in ${contentType}`).not.toBeNull();
  const text = body.toString('latin1');
  let at = text.startsWith(dash) ? 0 : text.indexOf(`\r\n${dash}`);
  expect(at, 'no first delimiter').toBeGreaterThanOrEqual(0);
  at += text.startsWith(dash) && at === 0 ? dash.length : 2 + dash.length;
  const parts: Part[] = [];
  for (;;) {
    if (text.startsWith('--', at)) return { parts, epilogue: text.slice(at + 2) };
    const lineEnd = text.indexOf('\r\n', at);
    expect(/^[ \t]*$/.test(text.slice(at, lineEnd)), 'junk after a delimiter').toBe(true);
    const headersEnd = text.indexOf('\r\n\r\n', lineEnd);
    const headers: Record<string, string> = {};
    for (const line of text.slice(lineEnd + 2, headersEnd).split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = text.indexOf(`\r\n${dash}`, headersEnd + 4);
    expect(next, 'a part without a following delimiter').toBeGreaterThanOrEqual(0);
    parts.push({ headers, body: body.subarray(headersEnd + 4, next) });
    at = next + 2 + dash.length;
  }
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

const input = fc
  .integer({ min: 1, max: 3000 })
  .chain((size) =>
    fc.record({
      bytes: fc.uint8Array({ minLength: size, maxLength: size }),
      chunks: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 4 }),
      contentType: fc.constantFrom('application/pdf', 'text/plain', 'application/octet-stream'),
      reading: fc.constantFrom<Reading>('open', 'openRanges', 'sequential'),
      specs: fc.array(
        fc.oneof(
          fc.tuple(fc.nat(size + 2), fc.nat(40)).map(([start, length]) => `${start}-${start + length}`),
          fc.nat(size + 2).map((start) => `${start}-`),
          fc.nat(60).map((length) => `-${length}`),
        ),
        { minLength: 1, maxLength: 8 },
      ),
    }),
  );

describe('multipart/byteranges bodies (RFC 9110 §14.6) on the wire', () => {
  it('parse back into exactly the requested slices, with their Content-Range, at the announced length', async () => {
    await fc.assert(
      fc.asyncProperty(input, async ({ bytes, chunks, contentType, reading, specs }) => {
        const size = bytes.byteLength;
        const range = `bytes=${specs.join(',')}`;
        const source = memorySource(bytes, chunks, contentType, reading);
        const options = resolveOptions({}, 'property');
        const plain = await serve(new Request('http://x/data.bin', { method: 'HEAD' }), {}, () => source, options);
        const response = await serve(new Request('http://x/data.bin', { headers: { range } }), {}, () => source, options);
        const body = Buffer.from(await response.arrayBuffer());
        if (response.status === 200 || response.status === 206) {
          expect(response.headers.get('content-length')).toBe(String(body.byteLength));
        }

        let outcome: ModelOutcome;
        if (response.status === 206 && response.headers.get('content-type')!.startsWith('multipart/byteranges')) {
          const { parts, epilogue } = readMultipart(body, response.headers.get('content-type')!);
          expect(epilogue).toBe('\r\n');
          const ranges = parts.map(({ headers, body: part }): [number, number] => {
            expect(headers['content-type']).toBe(plain.headers.get('content-type'));
            const match = CONTENT_RANGE.exec(headers['content-range'] ?? '');
            expect(match, `Content-Range ${headers['content-range']}`).not.toBeNull();
            const [first, last, total] = [Number(match![1]), Number(match![2]), Number(match![3])];
            expect(total).toBe(size);
            expect(part.equals(bytes.subarray(first, last + 1)), `bytes of part ${first}-${last}`).toBe(true);
            return [first, last];
          });
          outcome = { status: 206, ranges, multipart: true };
        } else if (response.status === 206) {
          const match = CONTENT_RANGE.exec(response.headers.get('content-range') ?? '');
          expect(match).not.toBeNull();
          const [first, last] = [Number(match![1]), Number(match![2])];
          expect(body.equals(bytes.subarray(first, last + 1))).toBe(true);
          outcome = { status: 206, ranges: [[first, last]], multipart: false };
        } else {
          if (response.status === 200) expect(body.equals(bytes)).toBe(true);
          outcome = { status: response.status as 200 | 416 };
        }
        const allowed = expectedOutcomes(
          { size, etag: plain.headers.get('etag') ?? undefined, lastModified: plain.headers.get('last-modified') ?? undefined },
          { method: 'GET', headers: { range }, maxRanges: options.maxRanges },
        ).map((expected) =>
          // Content read forward only sends its parts in ascending order (§15.3.7.2 lets it:
          // a client reads each part's Content-Range).
          expected.status === 206 && expected.multipart && reading === 'sequential'
            ? { ...expected, ranges: [...expected.ranges].sort((a, b) => a[0] - b[0]) }
            : expected,
        );
        expect(allowed, `${range} on ${size} bytes gave ${JSON.stringify(outcome)}`).toContainEqual(outcome);
      }),
      { numRuns: RUNS },
    );
  });
});
