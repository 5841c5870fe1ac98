import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors';
import { DEFAULT_CACHE_CONTROL, perRequest, resolveOptions, type DownloadOptions } from './options';

describe('resolveOptions(options, factory)', () => {
  it('defaults Cache-Control to private, no-cache, no-transform and maxRanges to 16', () => {
    const resolved = resolveOptions({}, 'test');
    expect(DEFAULT_CACHE_CONTROL).toBe('private, no-cache, no-transform');
    expect(resolved.cacheControl).toBe('private, no-cache, no-transform');
    expect(resolved.maxRanges).toBe(16);
  });

  const cacheControls: [string, string, string][] = [
    ['appends no-transform to a custom value', 'public, max-age=60', 'public, max-age=60, no-transform'],
    ['appends no-transform to no-store', 'no-store', 'no-store, no-transform'],
    ['keeps a value that has no-transform first', 'no-transform, max-age=5', 'no-transform, max-age=5'],
    ['keeps a value that has no-transform last', 'private, no-transform', 'private, no-transform'],
    ['keeps a value that has No-Transform in another case', 'public, No-Transform', 'public, No-Transform'],
    ['makes an empty value just no-transform', '', 'no-transform'],
    ['does not take no-transformation for no-transform', 'x-no-transformation', 'x-no-transformation, no-transform'],
  ];
  it.each(cacheControls)('%s', (_label, cacheControl, expected) => {
    expect(resolveOptions({ cacheControl }, 'test').cacheControl).toBe(expected);
  });

  it('defaults activeContent to attachment, and keeps sandbox and allow', () => {
    expect(resolveOptions({}, 'test').activeContent).toBe('attachment');
    for (const activeContent of ['attachment', 'sandbox', 'allow'] as const) {
      expect(resolveOptions({ activeContent }, 'test').activeContent).toBe(activeContent);
    }
  });

  it('keeps the other options as given', () => {
    const authorize = () => true;
    const resolved = resolveOptions({ attachment: false, filename: 'a.txt', authorize, maxRanges: 3 }, 'test');
    expect(resolved).toMatchObject({ attachment: false, filename: 'a.txt', authorize, maxRanges: 3 });
  });

  const bad: [string, DownloadOptions, RegExp][] = [
    ['maxRanges of 0', { maxRanges: 0 }, /maxRanges/],
    ['a negative maxRanges', { maxRanges: -1 }, /maxRanges/],
    ['a fractional maxRanges', { maxRanges: 1.5 }, /maxRanges/],
    ['a NaN maxRanges', { maxRanges: Number.NaN }, /maxRanges/],
    ['an authorize that is not a function', { authorize: true as unknown as DownloadOptions['authorize'] }, /authorize/],
    ['a notFound that is not a function', { notFound: 'nope' as unknown as DownloadOptions['notFound'] }, /notFound/],
    ['a modifiedSince that is not a function', { modifiedSince: 1 as unknown as DownloadOptions['modifiedSince'] }, /modifiedSince/],
    ['a Cache-Control with a line break', { cacheControl: 'private\r\nSet-Cookie: a=b' }, /cacheControl/],
    ['an unknown activeContent', { activeContent: 'inline' as unknown as DownloadOptions['activeContent'] }, /activeContent/],
    ['an activeContent in capitals', { activeContent: 'ALLOW' as unknown as DownloadOptions['activeContent'] }, /activeContent/],
    ['an activeContent that is a boolean', { activeContent: true as unknown as DownloadOptions['activeContent'] }, /activeContent/],
  ];
  it.each(bad)('throws a ConfigurationError naming the factory for %s', (_label, options, message) => {
    expect(() => resolveOptions(options, 'myFactory')).toThrow(ConfigurationError);
    expect(() => resolveOptions(options, 'myFactory')).toThrow(/^myFactory: /);
    expect(() => resolveOptions(options, 'myFactory')).toThrow(message);
  });
});

describe('resolveOptions with fixed extra headers', () => {
  // STYLE §7: bad configuration fails when the route module is loaded, not as a 500 on every request.
  const rows: [string, HeadersInit][] = [
    ['a header name with a space', { 'x bad': '1' }],
    ['a header value with a line break', { 'x-note': 'a\r\nSet-Cookie: b=c' }],
  ];
  it.each(rows)('throws a ConfigurationError for %s', (_label, headers) => {
    expect(() => resolveOptions({ headers }, 'myFactory')).toThrow(ConfigurationError);
  });

  it('accepts valid fixed headers', () => {
    expect(() => resolveOptions({ headers: { 'x-robots-tag': 'noindex' } }, 'myFactory')).not.toThrow();
  });
});

describe('perRequest(value, request, source)', () => {
  const request = new Request('http://x/a?b=1');

  it('returns a fixed value as it is', () => {
    expect(perRequest('a.txt', request, { name: 'x' })).toBe('a.txt');
    expect(perRequest(false, request, { name: 'x' })).toBe(false);
  });

  it('calls a function with the request and the source', () => {
    expect(perRequest((r: Request, s) => `${new URL(r.url).search}|${s.name}`, request, { name: 'x' })).toBe('?b=1|x');
  });
});
