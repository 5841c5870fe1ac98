import { describe, expect, it } from 'vitest';
import { decide, type Decision } from './decide';
import { resolveOptions } from './options';
import type { Source } from './source';

// decide() is pure: metadata and request in, status + headers + what to open out.
// These check the description it returns; serve.test.ts checks the responses built from it.

const MTIME = new Date(Date.UTC(2024, 0, 15, 12, 0, 0));

function source(meta: Partial<Source> = {}): Source {
  return {
    name: 'a.txt',
    size: 10,
    lastModified: MTIME,
    etag: 'v1',
    open: () => {
      throw new Error('decide must never open');
    },
    ...meta,
  };
}

function decideFor(method: string, headers: Record<string, string>, meta: Partial<Source> = {}): Decision {
  return decide(new Request('http://x/a.txt', { method, headers }), source(meta), resolveOptions({}, 'test'));
}

describe('decide(request, source, options)', () => {
  const rows: [string, string, Record<string, string>, Partial<Source>, number, Decision['body']][] = [
    ['sends the whole body to a plain GET', 'GET', {}, {}, 200, { kind: 'whole' }],
    ['sends the whole body to a plain HEAD (serve opens nothing for HEAD)', 'HEAD', {}, {}, 200, { kind: 'whole' }],
    ['sends one range to GET with a Range', 'GET', { range: 'bytes=2-4' }, {}, 206, { kind: 'range', range: { start: 2, end: 4 } }],
    ['ignores a Range on HEAD', 'HEAD', { range: 'bytes=2-4' }, {}, 200, { kind: 'whole' }],
    ['ignores a Range on unknown size', 'GET', { range: 'bytes=2-4' }, { size: undefined }, 200, { kind: 'whole' }],
    ['sends nothing for 304', 'GET', { 'if-none-match': '"v1"' }, {}, 304, { kind: 'none' }],
    ['sends nothing for 412', 'GET', { 'if-match': '"v2"' }, {}, 412, { kind: 'none' }],
    ['sends nothing for 416', 'GET', { range: 'bytes=10-' }, {}, 416, { kind: 'none' }],
  ];
  it.each(rows)('%s', (_label, method, headers, meta, status, body) => {
    const decision = decideFor(method, headers, meta);
    expect(decision.status).toBe(status);
    expect(decision.body).toEqual(body);
  });

  it('plans multipart parts in request order with an exact length', () => {
    const decision = decideFor('GET', { range: 'bytes=6-7,0-1' });
    expect(decision.status).toBe(206);
    if (decision.body.kind !== 'multipart') throw new Error(`expected multipart, got ${decision.body.kind}`);
    const { plan } = decision.body;
    expect(plan.parts.map((part) => part.range)).toEqual([{ start: 6, end: 7 }, { start: 0, end: 1 }]);
    const length = plan.parts.reduce((sum, part) => sum + part.head.length + part.range.end - part.range.start + 1, plan.tail.length);
    expect(plan.length).toBe(length);
    expect(decision.headers.get('content-length')).toBe(String(length));
    expect(decision.headers.get('content-type')).toBe(plan.contentType);
    expect(new TextDecoder().decode(plan.parts[0]!.head)).toContain('Content-Type: text/plain; charset=utf-8\r\n');
  });

  it('keeps only etag and last-modified on a 412', () => {
    const decision = decideFor('GET', { 'if-match': '"v2"' });
    expect([...decision.headers.keys()].sort()).toEqual(['etag', 'last-modified']);
  });
});
