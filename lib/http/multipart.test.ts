import { describe, it, expect } from 'vitest';
import { planMultipart, type MultipartPlan } from './multipart';
import type { ByteRange } from './range';

/** A fake file whose bytes include CR, LF, "-" and non-ASCII values. */
function fakeFile(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 37 + 13) % 256);
}

function assemble(plan: MultipartPlan, file: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const part of plan.parts) {
    chunks.push(part.head, file.subarray(part.range.start, part.range.end + 1));
  }
  chunks.push(plan.tail);
  const body = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

interface ParsedPart {
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A minimal multipart/byteranges reader (RFC 2046 §5.1.1), binary-safe through Latin-1. */
function parseMultipart(body: Uint8Array, contentType: string): ParsedPart[] {
  const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const text = new TextDecoder('latin1').decode(body);
  const segments = text.split(`\r\n--${boundary}`);
  if (segments.shift() !== '') throw new Error('unexpected preamble');
  if (segments.pop() !== '--\r\n') throw new Error('missing close delimiter');
  return segments.map((segment) => {
    if (!segment.startsWith('\r\n')) throw new Error('delimiter not followed by CRLF');
    const split = segment.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of segment.slice(2, split).split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const data = segment.slice(split + 4);
    return { headers, body: Uint8Array.from(data, (char) => char.charCodeAt(0)) };
  });
}

describe('planMultipart', () => {
  describe('with an injected boundary', () => {
    const plan = planMultipart(
      [
        { start: 0, end: 4 },
        { start: 10, end: 19 },
      ],
      100,
      'text/plain; charset=utf-8',
      'BOUNDARY',
    );
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

    it('announces multipart/byteranges with the boundary', () => {
      expect(plan.contentType).toBe('multipart/byteranges; boundary=BOUNDARY');
    });

    it('writes each part head with Content-Type and Content-Range', () => {
      expect(plan.parts.map((part) => decode(part.head))).toEqual([
        '\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-4/100\r\n\r\n',
        '\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 10-19/100\r\n\r\n',
      ]);
    });

    it('keeps the ranges, in order', () => {
      expect(plan.parts.map((part) => part.range)).toEqual([
        { start: 0, end: 4 },
        { start: 10, end: 19 },
      ]);
    });

    it('closes with the final delimiter', () => {
      expect(decode(plan.tail)).toBe('\r\n--BOUNDARY--\r\n');
    });

    it('computes the exact length', () => {
      const head = (range: string) =>
        `\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes ${range}/100\r\n\r\n`.length;
      expect(plan.length).toBe(head('0-4') + 5 + head('10-19') + 10 + '\r\n--BOUNDARY--\r\n'.length);
    });
  });

  describe('assembled with file bytes', () => {
    const cases: [string, ByteRange[], number][] = [
      ['two ranges', [{ start: 0, end: 9 }, { start: 50, end: 99 }], 100],
      ['ranges out of file order', [{ start: 900, end: 999 }, { start: 0, end: 0 }, { start: 500, end: 510 }], 1000],
      ['single-byte ranges', [{ start: 3, end: 3 }, { start: 7, end: 7 }], 8],
      ['a larger file (multi-digit Content-Range)', [{ start: 0, end: 1 }, { start: 12_345, end: 123_455 }], 123_456],
    ];

    it.each(cases)('gives exactly `length` bytes for %s', (_label, ranges, size) => {
      const plan = planMultipart(ranges, size, 'application/octet-stream');
      expect(assemble(plan, fakeFile(size)).byteLength).toBe(plan.length);
    });

    it.each(cases)('parses back to each part bytes and Content-Range for %s', (_label, ranges, size) => {
      const file = fakeFile(size);
      const plan = planMultipart(ranges, size, 'application/pdf');
      const parts = parseMultipart(assemble(plan, file), plan.contentType);
      expect(parts.map((part) => part.headers)).toEqual(
        ranges.map(({ start, end }) => ({
          'content-type': 'application/pdf',
          'content-range': `bytes ${start}-${end}/${size}`,
        })),
      );
      expect(parts.map((part) => part.body.byteLength)).toEqual(ranges.map(({ start, end }) => end - start + 1));
      ranges.forEach(({ start, end }, i) => {
        // Buffer#equals: a deep toEqual over 100k elements is needlessly slow.
        expect(Buffer.from(parts[i]?.body ?? []).equals(file.subarray(start, end + 1))).toBe(true);
      });
    });
  });

  describe('with the default boundary', () => {
    it('uses 24 random hex characters', () => {
      const plan = planMultipart([{ start: 0, end: 0 }], 1, 'text/plain');
      expect(plan.contentType).toMatch(/^multipart\/byteranges; boundary=[0-9a-f]{24}$/);
    });

    it('draws a new boundary each time', () => {
      const a = planMultipart([{ start: 0, end: 0 }], 1, 'text/plain').contentType;
      const b = planMultipart([{ start: 0, end: 0 }], 1, 'text/plain').contentType;
      expect(a).not.toBe(b);
    });
  });

  describe('with invalid input', () => {
    it.each<[string, () => unknown, ErrorConstructor]>([
      ['an empty boundary', () => planMultipart([{ start: 0, end: 0 }], 1, 'text/plain', ''), TypeError],
      ['a boundary longer than 70 chars', () => planMultipart([{ start: 0, end: 0 }], 1, 'text/plain', 'a'.repeat(71)), TypeError],
      ['a boundary with CRLF', () => planMultipart([{ start: 0, end: 0 }], 1, 'text/plain', 'a\r\nb'), TypeError],
      ['a boundary with a space', () => planMultipart([{ start: 0, end: 0 }], 1, 'text/plain', 'a b'), TypeError],
      ['a part type with CRLF', () => planMultipart([{ start: 0, end: 0 }], 1, 'text/plain\r\nX: y'), TypeError],
      ['no ranges', () => planMultipart([], 1, 'text/plain'), RangeError],
      ['a range past the size', () => planMultipart([{ start: 0, end: 10 }], 10, 'text/plain'), RangeError],
      ['a reversed range', () => planMultipart([{ start: 5, end: 4 }], 10, 'text/plain'), RangeError],
      ['a negative start', () => planMultipart([{ start: -1, end: 4 }], 10, 'text/plain'), RangeError],
      ['a fractional position', () => planMultipart([{ start: 0.5, end: 4 }], 10, 'text/plain'), RangeError],
    ])('refuses %s', (_label, call, error) => {
      expect(call).toThrow(error);
    });

    it('accepts a 70-char boundary made of RFC 2046 characters', () => {
      const boundary = `${'a'.repeat(66)}'+_.`;
      expect(planMultipart([{ start: 0, end: 0 }], 1, 'text/plain', boundary).contentType).toBe(
        `multipart/byteranges; boundary=${boundary}`,
      );
    });
  });
});
