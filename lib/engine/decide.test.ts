import { describe, expect, it } from 'vitest';
import { ACTIVE_CONTENT_POLICY, decide, type Decision } from './decide';
import { resolveOptions, type DownloadOptions } from './options';
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

  it('replaces a Last-Modified in the future with the time of the response (RFC 9110 §8.8.2.1)', () => {
    const before = Date.now();
    const decision = decideFor('GET', {}, { lastModified: new Date(Date.now() + 365 * 24 * 3600 * 1000) });
    const sent = Date.parse(decision.headers.get('last-modified')!);
    expect(sent).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(sent).toBeLessThanOrEqual(Date.now());
  });

  it('sends no Last-Modified for a date an HTTP-date cannot carry (a year past 9999)', () => {
    const decision = decideFor('GET', {}, { lastModified: new Date(Date.UTC(10000, 0, 1)) });
    expect(decision.headers.get('last-modified')).toBeNull();
    expect(decision.headers.get('etag')).toBe('"v1"');
  });

  it('keeps only etag and last-modified on a 412', () => {
    const decision = decideFor('GET', { 'if-match': '"v2"' });
    expect([...decision.headers.keys()].sort()).toEqual(['etag', 'last-modified']);
  });
});

describe('decide() with active content', () => {
  // As the demo's routes do: an attachment unless the link asks for `?inline`.
  const unlessInline = (request: Request) => !new URL(request.url).searchParams.has('inline');

  function headersFor(meta: Partial<Source>, options: DownloadOptions = {}, init: RequestInit & { url?: string } = {}): Headers {
    const request = new Request(init.url ?? 'http://x/f?inline', init);
    return decide(request, source(meta), resolveOptions({ attachment: unlessInline, ...options }, 'test')).headers;
  }

  const active: [string, Partial<Source>, DownloadOptions][] = [
    ['an SVG whose type is guessed from its name', { name: 'logo.svg' }, {}],
    ['an HTML file whose type is guessed from its name', { name: 'page.html' }, {}],
    ['an XHTML file', { name: 'page.xhtml' }, {}],
    ['an XML file', { name: 'feed.xml' }, {}],
    ['an MHTML file', { name: 'saved.mhtml' }, {}],
    ['a stored text/html type with a charset, in capitals', { name: 'a.bin', contentType: 'Text/HTML; charset=utf-8' }, {}],
    ['a stored SVG type with blanks around it', { name: 'a.bin', contentType: ' image/svg+xml ' }, {}],
    ['a harmless name with an active stored type', { name: 'a.png', contentType: 'image/svg+xml' }, {}],
    ['an explicit contentType option', { name: 'a.txt' }, { contentType: 'text/html' }],
    ['a contentType computed per request', { name: 'a.txt' }, { contentType: () => 'application/xhtml+xml' }],
    ['a type set by the route\'s own headers', { name: 'a.txt' }, { headers: { 'content-type': 'text/html' } }],
    ['a list of types ending in HTML set by the route\'s headers', { name: 'a.txt' }, { headers: { 'content-type': 'text/plain, text/html' } }],
    ['a filename option that renames a text file to .svg', { name: 'a.txt', contentType: undefined }, { filename: 'b.svg' }],
    ['an upstream\'s relayed type', { name: 'a', contentType: 'text/html;charset=UTF-8', answered: { status: 200 } }, {}],
    ['a sniffable stored type', { name: 'a.bin', contentType: 'unknown/unknown' }, {}],
  ];

  it.each(active)('makes %s an attachment with the sandbox policy, even when the route asks for inline', (_label, meta, options) => {
    const headers = headersFor(meta, options);
    expect(headers.get('content-disposition')).toMatch(/^attachment(;|$)/);
    expect(headers.get('content-security-policy')).toBe(ACTIVE_CONTENT_POLICY);
    expect(headers.get('x-content-type-options')).toBe('nosniff');
  });

  it.each(active)('with activeContent: \'sandbox\', keeps %s inline, under the sandbox policy', (_label, meta, options) => {
    const headers = headersFor(meta, { ...options, activeContent: 'sandbox' });
    expect(headers.get('content-disposition')).toMatch(/^inline(;|$)/);
    expect(headers.get('content-security-policy')).toBe(ACTIVE_CONTENT_POLICY);
  });

  it.each(active)('with activeContent: \'allow\', serves %s as the route says, without a policy', (_label, meta, options) => {
    const headers = headersFor(meta, { ...options, activeContent: 'allow' });
    expect(headers.get('content-disposition')).toMatch(/^inline(;|$)/);
    expect(headers.get('content-security-policy')).toBeNull();
  });

  it('keeps the name in the forced attachment', () => {
    expect(headersFor({ name: 'résumé.svg' }).get('content-disposition')).toBe(
      "attachment; filename=resume.svg; filename*=UTF-8''r%C3%A9sum%C3%A9.svg",
    );
  });

  it('puts the policy on an attachment too, where no inline was asked for', () => {
    const headers = headersFor({ name: 'a.html' }, {}, { url: 'http://x/f' });
    expect(headers.get('content-disposition')).toBe('attachment; filename=a.html');
    expect(headers.get('content-security-policy')).toBe(ACTIVE_CONTENT_POLICY);
  });

  it('overrides a Content-Disposition: inline set by the route\'s own headers', () => {
    const headers = headersFor({ name: 'a.svg' }, { headers: { 'content-disposition': 'inline' } });
    expect(headers.get('content-disposition')).toBe('attachment; filename=a.svg');
  });

  it('adds its policy to the route\'s own Content-Security-Policy, so that both apply', () => {
    const headers = headersFor({ name: 'a.svg' }, { headers: { 'content-security-policy': "frame-ancestors 'none'" } });
    expect(headers.get('content-security-policy')).toBe(`frame-ancestors 'none', ${ACTIVE_CONTENT_POLICY}`);
  });

  it.each<[string, Partial<Source>]>([
    ['a PDF', { name: 'a.pdf' }],
    ['an image', { name: 'a.png' }],
    ['plain text', { name: 'a.txt' }],
    ['JSON', { name: 'a.json' }],
    ['a script', { name: 'a.js' }],
    ['a file of unknown type (application/octet-stream)', { name: 'a.unknownext' }],
  ])('leaves %s inline without a policy', (_label, meta) => {
    const headers = headersFor(meta);
    expect(headers.get('content-disposition')).toMatch(/^inline(;|$)/);
    expect(headers.get('content-security-policy')).toBeNull();
  });

  it.each<[string, string, Record<string, string>, number]>([
    ['a 206', 'GET', { range: 'bytes=0-1' }, 206],
    ['a multipart 206', 'GET', { range: 'bytes=0-1,4-5' }, 206],
    ['a 416', 'GET', { range: 'bytes=50-' }, 416],
    ['a HEAD', 'HEAD', {}, 200],
  ])('applies to %s as well', (_label, method, requestHeaders, status) => {
    const decision = decide(
      new Request('http://x/f?inline', { method, headers: requestHeaders }),
      source({ name: 'a.svg' }),
      resolveOptions({ attachment: unlessInline }, 'test'),
    );
    expect(decision.status).toBe(status);
    expect(decision.headers.get('content-security-policy')).toBe(ACTIVE_CONTENT_POLICY);
    if (status !== 416) expect(decision.headers.get('content-disposition')).toMatch(/^attachment;/);
  });
});

describe('decide() with Source.vary and Source.digests', () => {
  const SHA = Buffer.alloc(32, 7).toString('base64');
  const REPR = `sha-256=:${SHA}:`;

  it.each([
    ['200', {}, 200],
    ['206', { range: 'bytes=0-1' }, 206],
    ['multipart 206', { range: 'bytes=0-1, 4-5' }, 206],
    ['304', { 'if-none-match': '"v1"' }, 304],
    ['412', { 'if-match': '"other"' }, 412],
    ['416', { range: 'bytes=10-' }, 416],
  ] as const)('sends Vary on a %s', (_label, headers, status) => {
    const decision = decideFor('GET', headers, { vary: ['accept-encoding'] });
    expect(decision.status).toBe(status);
    expect(decision.headers.get('vary')).toBe('accept-encoding');
  });

  it('adds to a Vary of the route, once', () => {
    const request = new Request('http://x/a.txt');
    const withOrigin = decide(request, source({ vary: ['accept-encoding'] }), resolveOptions({ headers: { vary: 'Origin, Accept-Encoding' } }, 'test'));
    expect(withOrigin.headers.get('vary')).toBe('Origin, Accept-Encoding');
    const other = decide(request, source({ vary: ['accept-encoding'] }), resolveOptions({ headers: { vary: 'Origin' } }, 'test'));
    expect(other.headers.get('vary')).toBe('Origin, accept-encoding');
    const star = decide(request, source({ vary: ['accept-encoding'] }), resolveOptions({ headers: { vary: '*' } }, 'test'));
    expect(star.headers.get('vary')).toBe('*');
  });

  it.each([
    ['200', 'GET', {}, 200, REPR],
    ['HEAD', 'HEAD', {}, 200, REPR],
    ['206', 'GET', { range: 'bytes=0-1' }, 206, null],
    ['304', 'GET', { 'if-none-match': '"v1"' }, 304, null],
    ['416', 'GET', { range: 'bytes=10-' }, 416, null],
  ] as const)('sends Repr-Digest on a %s, and Content-Digest only with the whole content', (_label, method, headers, status, content) => {
    const decision = decideFor(method, headers, { digests: { 'sha-256': SHA } });
    expect(decision.status).toBe(status);
    expect(decision.headers.get('repr-digest')).toBe(REPR);
    expect(decision.headers.get('content-digest')).toBe(content);
  });

  it('sends no digest that is not of its algorithm\'s length, nor one beside an upstream\'s answer', () => {
    expect(decideFor('GET', {}, { digests: { 'sha-256': Buffer.alloc(20).toString('base64') } }).headers.get('repr-digest')).toBeNull();
    expect(decideFor('GET', {}, { digests: { 'sha-256': SHA }, answered: { status: 200 } }).headers.get('repr-digest')).toBeNull();
    expect(decideFor('GET', {}, { digests: { 'sha-256': SHA }, answered: { status: 200 } }).headers.get('content-digest')).toBeNull();
  });
});
