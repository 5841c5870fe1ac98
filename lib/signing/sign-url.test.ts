import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors';
import { DEFAULT_EXPIRES_IN, signUrl, type SignUrlOptions } from './sign-url';
import { verifySignedUrl } from './verify-signed-url';

const SECRET = 'test-secret-0123456789-abcdefghij'; // 33 bytes
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0); // 1893499200 s
const now = () => NOW;

function sign(url: string | URL, options: Partial<SignUrlOptions> = {}) {
  return signUrl(url, { secret: SECRET, now, ...options });
}

function query(url: string) {
  return new URL(url, 'http://x').searchParams;
}

describe('signUrl', () => {
  describe('the URL it returns', () => {
    it('adds expires (Unix seconds, one hour ahead by default) and a base64url signature', () => {
      const params = query(sign('/api/signed/a.txt'));
      expect(DEFAULT_EXPIRES_IN).toBe(3600);
      expect(params.get('expires')).toBe(String(NOW / 1000 + 3600));
      expect(params.get('signature')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(params.has('method')).toBe(false);
    });

    it('keeps a path relative', () => {
      expect(sign('/api/signed/a.txt')).toMatch(/^\/api\/signed\/a\.txt\?expires=\d+&signature=[\w-]{43}$/);
    });

    it('keeps an absolute URL absolute, with its origin', () => {
      expect(sign('https://files.example:8443/api/a.txt')).toMatch(
        /^https:\/\/files\.example:8443\/api\/a\.txt\?expires=\d+&signature=[\w-]{43}$/,
      );
      expect(sign(new URL('http://x/a.txt'))).toMatch(/^http:\/\/x\/a\.txt\?expires=/);
    });

    it('keeps the query as written and the fragment', () => {
      expect(sign('/a.txt?q=a%20b&x=1#top')).toMatch(/^\/a\.txt\?q=a%20b&x=1&expires=\d+&signature=[\w-]{43}#top$/);
    });

    it('percent-encodes the path the way it is signed', () => {
      expect(sign('/files/a b/é.txt')).toMatch(/^\/files\/a%20b\/%C3%A9\.txt\?/);
      expect(sign('/files/100%.txt')).toMatch(/^\/files\/100%25\.txt\?/);
      expect(sign('/files/a+b.txt')).toMatch(/^\/files\/a%2Bb\.txt\?/);
    });

    it('adds method when bound, in upper case', () => {
      expect(query(sign('/a.txt', { method: 'GET' })).get('method')).toBe('GET');
      expect(query(sign('/a.txt', { method: 'head' as 'HEAD' })).get('method')).toBe('HEAD');
    });

    it('gives the same URL for the same input and a different one per secret', () => {
      expect(sign('/a.txt')).toBe(sign('/a.txt'));
      expect(sign('/a.txt')).not.toBe(sign('/a.txt', { secret: `${SECRET}-other` }));
    });
  });

  describe('the expiry', () => {
    it('is expiresIn seconds ahead, rounded up to the second', () => {
      expect(query(sign('/a', { expiresIn: 60 })).get('expires')).toBe(String(NOW / 1000 + 60));
      expect(query(sign('/a', { expiresIn: 60, now: () => NOW + 1 })).get('expires')).toBe(String(NOW / 1000 + 61));
    });

    it('is expiresAt, rounded down to the second', () => {
      expect(query(sign('/a', { expiresAt: new Date(NOW + 90_999) })).get('expires')).toBe(String(NOW / 1000 + 90));
    });

    it('may be long when asked explicitly', () => {
      const year = 365 * 24 * 3600;
      expect(query(sign('/a', { expiresIn: 10 * year })).get('expires')).toBe(String(NOW / 1000 + 10 * year));
    });

    it.each([
      ['zero', { expiresIn: 0 }, /positive number of seconds/],
      ['negative', { expiresIn: -5 }, /positive number of seconds/],
      ['infinite (no unlimited signature)', { expiresIn: Infinity }, /no unlimited signature/],
      ['NaN', { expiresIn: Number.NaN }, /positive number of seconds/],
      ['beyond any date', { expiresIn: 1e300 }, /too far/],
      ['an expiresAt in the past', { expiresAt: new Date(NOW - 1000) }, /in the future/],
      ['an expiresAt now', { expiresAt: new Date(NOW) }, /in the future/],
    ])('refuses an expiry that is %s', (_label, options, message) => {
      expect(() => sign('/a', options)).toThrow(RangeError);
      expect(() => sign('/a', options)).toThrow(message);
    });

    it('refuses expiresIn and expiresAt together', () => {
      expect(() => sign('/a', { expiresIn: 60, expiresAt: new Date(NOW + 60_000) })).toThrow(/not both/);
    });

    it('refuses an invalid Date', () => {
      expect(() => sign('/a', { expiresAt: new Date('nope') })).toThrow(/valid Date/);
    });
  });

  describe('the URL it takes', () => {
    it.each(['expires', 'signature', 'method'])('refuses one that already has %s', (name) => {
      expect(() => sign(`/a.txt?${name}=1`)).toThrow(new RegExp(`already has a "${name}" parameter`));
    });

    it.each([
      ['a path without its leading slash', 'files/a.txt'],
      ['a scheme-relative URL', '//evil.example/a.txt'],
      ['a backslash scheme-relative URL', '/\\evil.example/a.txt'],
      ['an empty string', ''],
    ])('refuses %s', (_label, url) => {
      expect(() => sign(url)).toThrow(/absolute URL or a path starting with "\/"/);
    });

    it('refuses a method it cannot bind', () => {
      expect(() => sign('/a', { method: 'BREW' as 'GET' })).toThrow(/method must be/);
    });
  });

  describe('the secret', () => {
    it('is required to be at least 32 bytes', () => {
      expect(() => sign('/a', { secret: 'x'.repeat(31) })).toThrow(ConfigurationError);
      expect(() => sign('/a', { secret: 'x'.repeat(31) })).toThrow(/at least 32 bytes, got 31/);
      expect(() => sign('/a', { secret: 'x'.repeat(32) })).not.toThrow();
    });

    it('is measured in UTF-8 bytes, not characters', () => {
      expect(() => sign('/a', { secret: 'é'.repeat(16) })).not.toThrow();
      expect(() => sign('/a', { secret: 'é'.repeat(15) })).toThrow(/got 30/);
    });

    it('may be bytes', () => {
      expect(() => sign('/a', { secret: new Uint8Array(32).fill(7) })).not.toThrow();
      expect(() => sign('/a', { secret: new Uint8Array(16) })).toThrow(/got 16/);
    });

    it('points at the configuration when it is missing', () => {
      expect(() => sign('/a', { secret: undefined as unknown as string })).toThrow(/missing.*DOWNLOAD_SECRET/);
      expect(() => sign('/a', { secret: '' })).toThrow(ConfigurationError);
    });

    it('signs URLs that verify with the same secret only', () => {
      const url = sign('/a.txt');
      expect(verifySignedUrl(url, { secret: SECRET, now })).toEqual({ ok: true });
      expect(verifySignedUrl(url, { secret: `${SECRET}!`, now })).toEqual({ ok: false, reason: 'invalid' });
    });
  });
});
