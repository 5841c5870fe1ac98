import { describe, expect, it } from 'vitest';
import { virtualDownload } from '../factories/virtual-download';
import { ConfigurationError } from '../errors';
import { cacheHeaders, type CachePolicy } from './cache-policy';

describe('cacheHeaders(policy)', () => {
  it.each<[string, CachePolicy, string]>([
    ['nothing: private and revalidated', {}, 'private, no-cache, no-transform'],
    ['a max age', { maxAge: 600 }, 'private, max-age=600, no-transform'],
    ['public, versioned files', { public: true, maxAge: 31_536_000, immutable: true }, 'public, max-age=31536000, immutable, no-transform'],
    ['a CDN lifetime', { public: true, maxAge: 60, sMaxAge: 3600 }, 'public, max-age=60, s-maxage=3600, no-transform'],
    ['stale while revalidating', { maxAge: 60, staleWhileRevalidate: 30 }, 'private, max-age=60, stale-while-revalidate=30, no-transform'],
    ['no-store, which wins over the rest', { noStore: true, public: true, maxAge: 60 }, 'no-store, no-transform'],
    ['a zero max age', { maxAge: 0 }, 'private, max-age=0, no-transform'],
  ])('%s', (_label, policy, expected) => {
    expect(cacheHeaders(policy, 'test').cacheControl).toBe(expected);
  });

  it('gives Expires only when asked, as now + maxAge', () => {
    expect(cacheHeaders({ maxAge: 60 }, 'test').expiresIn).toBeUndefined();
    expect(cacheHeaders({ maxAge: 60, expires: true }, 'test').expiresIn).toBe(60);
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown switch', { maxage: 5 }, /unknown cache switch "maxage"/],
    ['a negative age', { maxAge: -1 }, /maxAge must be a whole number/],
    ['a fractional age', { maxAge: 1.5 }, /maxAge must be a whole number/],
    ['an age given as text', { maxAge: '60' }, /maxAge must be a whole number/],
    ['a flag that is not a boolean', { public: 'yes' }, /public must be true or false/],
    ['s-maxage on a private answer', { sMaxAge: 60 }, /set public too/],
    ['not an object', 'max-age=60', /cache must be an object/],
  ])('refuses %s', (_label, policy, message) => {
    expect(() => cacheHeaders(policy as CachePolicy, 'test')).toThrow(ConfigurationError);
    expect(() => cacheHeaders(policy as CachePolicy, 'test')).toThrow(message);
  });
});

describe('the cache option of a factory', () => {
  const file = { name: 'a.txt', content: 'hello', lastModified: new Date('2026-01-01T00:00:00Z') };

  it('sets Cache-Control and Expires on 200 and on 304', async () => {
    const { GET } = virtualDownload({ file, cache: { public: true, maxAge: 3600, expires: true } });
    const before = Date.now();
    const ok = await GET(new Request('http://test/a.txt'));
    expect(ok.headers.get('cache-control')).toBe('public, max-age=3600, no-transform');
    const expires = Date.parse(ok.headers.get('expires')!);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_600_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3_600_000);
    const fresh = await GET(new Request('http://test/a.txt', { headers: { 'if-none-match': ok.headers.get('etag')! } }));
    expect(fresh.status).toBe(304);
    expect(fresh.headers.get('cache-control')).toBe('public, max-age=3600, no-transform');
    expect(fresh.headers.get('expires')).toBe(ok.headers.get('expires'));
  });

  it('takes a function of the request and the file, and the default where it returns nothing', async () => {
    const { GET } = virtualDownload({
      file: ({ url }: Request) => ({ ...file, name: new URL(url).searchParams.get('name') ?? 'a.txt' }),
      cache: (_request, source) => (source.name?.endsWith('.js') ? { public: true, maxAge: 31_536_000, immutable: true } : undefined),
    });
    expect((await GET(new Request('http://test/x?name=app.3f9a.js'))).headers.get('cache-control')).toBe('public, max-age=31536000, immutable, no-transform');
    expect((await GET(new Request('http://test/x?name=a.txt'))).headers.get('cache-control')).toBe('private, no-cache, no-transform');
  });

  it('is checked when the route loads, and excludes cacheControl', () => {
    expect(() => virtualDownload({ file, cache: { maxAge: -5 } })).toThrow(/cache.maxAge/);
    expect(() => virtualDownload({ file, cache: { maxAge: 5 }, cacheControl: 'no-store' })).toThrow(/not both/);
  });

  it('keeps the default when neither is given, and the raw string when cacheControl is', async () => {
    expect((await virtualDownload({ file }).GET(new Request('http://test/a.txt'))).headers.get('cache-control')).toBe('private, no-cache, no-transform');
    expect((await virtualDownload({ file, cacheControl: 'public, max-age=5' }).GET(new Request('http://test/a.txt'))).headers.get('cache-control')).toBe(
      'public, max-age=5, no-transform',
    );
  });
});
