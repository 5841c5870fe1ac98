import { timingSafeEqual } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../errors';
import { signUrl, type SignUrlOptions } from './sign-url';
import { verifySignedUrl, type VerifySignedUrlOptions } from './verify-signed-url';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const SECRET = 'test-secret-0123456789-abcdefghij';
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const now = () => NOW;

function sign(url: string, options: Partial<SignUrlOptions> = {}) {
  return signUrl(url, { secret: SECRET, now, ...options });
}

function verify(request: Request | URL | string, options: Partial<VerifySignedUrlOptions> = {}) {
  return verifySignedUrl(request, { secret: SECRET, now, ...options });
}

/** Edits a query parameter of a signed URL the way a client could. */
function edit(url: string, change: (params: URLSearchParams) => void) {
  const parsed = new URL(url, 'http://x');
  change(parsed.searchParams);
  return `${parsed.pathname}${parsed.search}`;
}

/** Moves a signed query onto another path, as a tamperer would. */
function withPath(url: string, path: string) {
  return `${path}${new URL(url, 'http://x').search}`;
}

const OK = { ok: true };
const fail = (reason: string) => ({ ok: false, reason });

describe('verifySignedUrl', () => {
  describe('with a URL signUrl made', () => {
    it('accepts it as a path, an absolute URL, a URL object and a Request', () => {
      const url = sign('/api/signed/a.txt');
      expect(verify(url)).toEqual(OK);
      expect(verify(`http://127.0.0.1:3000${url}`)).toEqual(OK);
      expect(verify(new URL(url, 'http://x'))).toEqual(OK);
      expect(verify(new Request(`http://x${url}`))).toEqual(OK);
    });

    it('accepts it on another host (the host is not signed: proxies change it)', () => {
      const url = sign('https://public.example/api/a.txt');
      expect(verify(url.replace('https://public.example', 'http://127.0.0.1:3000'))).toEqual(OK);
    });

    it('accepts it with its parameters in another order', () => {
      const url = sign('/a.txt?b=2&a=1');
      const { search } = new URL(url, 'http://x');
      const reversed = search.slice(1).split('&').reverse().join('&');
      expect(verify(`/a.txt?${reversed}`)).toEqual(OK);
    });

    it('accepts it until the second it expires, and not from then on', () => {
      const url = sign('/a.txt', { expiresIn: 60 });
      expect(verify(url, { now: () => NOW + 59_999 })).toEqual(OK);
      expect(verify(url, { now: () => NOW + 60_000 })).toEqual(fail('expired'));
      expect(verify(url, { now: () => NOW + 86_400_000 })).toEqual(fail('expired'));
    });

    it('compares signatures in constant time', () => {
      vi.mocked(timingSafeEqual).mockClear();
      verify(sign('/a.txt'));
      expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    });
  });

  describe('with names that need encoding', () => {
    // Signed from the first form, requested as the second: raw text a page builds a link from,
    // and the bytes a browser or curl sends.
    it.each([
      ['a space, raw vs %20', '/f/a b.txt', '/f/a%20b.txt'],
      ['a space, %20 vs raw', '/f/a%20b.txt', '/f/a b.txt'],
      ['non-ASCII, raw vs UTF-8 escapes', '/f/résumé.pdf', '/f/r%C3%A9sum%C3%A9.pdf'],
      ['non-ASCII, escapes in lower case', '/f/r%C3%A9sum%C3%A9.pdf', '/f/r%c3%a9sum%c3%a9.pdf'],
      ['CJK', '/f/中文 报告.pdf', '/f/%E4%B8%AD%E6%96%87%20%E6%8A%A5%E5%91%8A.pdf'],
      ['an emoji', '/f/😀.png', '/f/%F0%9F%98%80.png'],
      ['a plus, raw vs %2B', '/f/a+b.txt', '/f/a%2Bb.txt'],
      ['a percent that starts no escape vs %25', '/f/100%.txt', '/f/100%25.txt'],
      ['an encoded question mark', '/f/why%3F.txt', '/f/why%3f.txt'],
      ['an encoded hash', '/f/%231.txt', '/f/%231.txt'],
      ['sub-delimiters, raw vs encoded', "/f/(a)'b'!.txt", '/f/%28a%29%27b%27%21.txt'],
    ])('verifies %s', (_label, signedAs, requestedAs) => {
      const url = sign(signedAs);
      expect(verify(withPath(url, requestedAs))).toEqual(OK);
      expect(verify(new Request(`http://x${withPath(url, requestedAs)}`))).toEqual(OK);
    });

    it('verifies the URL it returns as a browser requests it', () => {
      const url = sign('/f/a b/é%3F.txt');
      expect(verify(new Request(new URL(url, 'http://127.0.0.1:3000')))).toEqual(OK);
    });

    it('tells a plus from a space in the path', () => {
      expect(verify(withPath(sign('/f/a+b.txt'), '/f/a%20b.txt'))).toEqual(fail('invalid'));
    });

    it('tells an encoded slash from a separator', () => {
      expect(verify(withPath(sign('/f/a%2Fb.txt'), '/f/a/b.txt'))).toEqual(fail('invalid'));
    });

    it('tells NFC from NFD: no Unicode normalisation, each verifies its own form only', () => {
      const nfc = '/f/\u00e9.txt';
      const nfd = '/f/e\u0301.txt';
      expect(verify(sign(nfc))).toEqual(OK);
      expect(verify(sign(nfd))).toEqual(OK);
      expect(verify(withPath(sign(nfc), nfd))).toEqual(fail('invalid'));
      expect(verify(withPath(sign(nfd), nfc))).toEqual(fail('invalid'));
    });

    it('reads + and %20 in the query alike, as the application does', () => {
      const url = sign('/f/a.txt?q=a+b');
      expect(verify(url.replace('q=a+b', 'q=a%20b'))).toEqual(OK);
      expect(verify(url.replace('q=a+b', 'q=a%2Bb'))).toEqual(fail('invalid'));
    });
  });

  describe('with a tampered URL', () => {
    const url = sign('/f/a.txt?user=7&user=8');

    it.each([
      ['another path', withPath(url, '/f/b.txt')],
      ['a path one level up', withPath(url, '/a.txt')],
      ['a trailing slash', withPath(url, '/f/a.txt/')],
      ['a later expiry', edit(url, (p) => p.set('expires', String(Number(p.get('expires')) + 1)))],
      ['an earlier expiry', edit(url, (p) => p.set('expires', String(Number(p.get('expires')) - 1)))],
      ['an added parameter', edit(url, (p) => p.append('admin', '1'))],
      ['an added empty parameter', edit(url, (p) => p.append('inline', ''))],
      ['a removed parameter', edit(url, (p) => p.delete('user'))],
      ['a changed value', edit(url, (p) => p.set('user', '9'))],
      ['the values of a repeated name swapped', url.replace('user=7&user=8', 'user=8&user=7')],
      ['an added method binding', edit(url, (p) => p.set('method', 'GET'))],
      ['another signature', edit(url, (p) => p.set('signature', 'A'.repeat(43)))],
      ['the signature in another case', edit(url, (p) => p.set('signature', swapCase(p.get('signature')!)))],
    ])('refuses %s as invalid', (_label, tampered) => {
      expect(verify(tampered)).toEqual(fail('invalid'));
    });

    it('refuses another secret as invalid', () => {
      expect(verify(url, { secret: 'another-secret-0123456789-abcdefgh' })).toEqual(fail('invalid'));
    });

    it('refuses a removed method binding as invalid', () => {
      const bound = sign('/f/a.txt', { method: 'HEAD' });
      expect(verify(edit(bound, (p) => p.delete('method')))).toEqual(fail('invalid'));
      expect(verify(edit(bound, (p) => p.set('method', 'GET')))).toEqual(fail('invalid'));
    });

    it('says invalid, not expired, for a tampered URL past its expiry', () => {
      const tampered = withPath(url, '/f/b.txt');
      expect(verify(tampered, { now: () => NOW + 7_200_000 })).toEqual(fail('invalid'));
    });
  });

  describe('with a method binding', () => {
    it('accepts GET and HEAD for a URL signed for GET', () => {
      const url = `http://x${sign('/a.txt', { method: 'GET' })}`;
      expect(verify(new Request(url))).toEqual(OK);
      expect(verify(new Request(url, { method: 'HEAD' }))).toEqual(OK);
      expect(verify(new Request(url, { method: 'POST' }))).toEqual(fail('method'));
    });

    it('refuses GET for a URL signed for HEAD', () => {
      const url = `http://x${sign('/a.txt', { method: 'HEAD' })}`;
      expect(verify(new Request(url, { method: 'HEAD' }))).toEqual(OK);
      expect(verify(new Request(url))).toEqual(fail('method'));
    });

    it('takes the method from the options over the Request, GET for a bare URL', () => {
      const url = sign('/a.txt', { method: 'PUT' });
      expect(verify(url)).toEqual(fail('method'));
      expect(verify(url, { method: 'put' })).toEqual(OK);
      expect(verify(new Request(`http://x${url}`), { method: 'PUT' })).toEqual(OK);
    });

    it('accepts any method without a binding', () => {
      const url = `http://x${sign('/a.txt')}`;
      for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) expect(verify(new Request(url, { method }))).toEqual(OK);
    });
  });

  describe('with missing or malformed parameters', () => {
    const url = sign('/a.txt', { method: 'GET' });
    const signature = new URL(url, 'http://x').searchParams.get('signature')!;

    it.each([
      ['no parameters', '/a.txt'],
      ['expires without a signature', edit(url, (p) => p.delete('signature'))],
      ['an unrelated query only', '/a.txt?download=1'],
    ])('says missing for %s', (_label, request) => {
      expect(verify(request)).toEqual(fail('missing'));
    });

    it.each([
      ['a signature without expires', edit(url, (p) => p.delete('expires'))],
      ['an empty signature', edit(url, (p) => p.set('signature', ''))],
      ['a signature one character short', edit(url, (p) => p.set('signature', signature.slice(1)))],
      ['a signature one character long', edit(url, (p) => p.set('signature', `${signature}A`))],
      ['a signature in base64 rather than base64url', edit(url, (p) => p.set('signature', `${signature.slice(1)}+`))],
      ['a repeated signature', edit(url, (p) => p.append('signature', signature))],
      ['a repeated expires', edit(url, (p) => p.append('expires', p.get('expires')!))],
      ['a repeated method', edit(url, (p) => p.append('method', 'GET'))],
      ['an expires that is not a number', edit(url, (p) => p.set('expires', 'tomorrow'))],
      ['a negative expires', edit(url, (p) => p.set('expires', '-1'))],
      ['a fractional expires', edit(url, (p) => p.set('expires', '1893499200.5'))],
      ['an absurdly large expires', edit(url, (p) => p.set('expires', '9'.repeat(20)))],
      ['a method in lower case', edit(url, (p) => p.set('method', 'get'))],
      ['a string that is no URL', 'not a url'],
    ])('says malformed for %s', (_label, request) => {
      expect(verify(request)).toEqual(fail('malformed'));
    });
  });

  describe('with a bad secret', () => {
    it('throws a configuration error rather than blaming the client', () => {
      expect(() => verify(sign('/a.txt'), { secret: 'short' })).toThrow(ConfigurationError);
      expect(() => verify(sign('/a.txt'), { secret: undefined as unknown as string })).toThrow(/missing/);
    });
  });
});

function swapCase(text: string) {
  return [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
}
