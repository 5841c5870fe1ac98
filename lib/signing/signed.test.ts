import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../errors';
import { pathDownload } from '../factories/path-download';
import { virtualDownload } from '../factories/virtual-download';
import { signUrl, type SignUrlOptions } from './sign-url';
import { signed, type SignedOptions } from './signed';

const SECRET = 'test-secret-0123456789-abcdefghij';
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const now = () => NOW;

function sign(url: string, options: Partial<SignUrlOptions> = {}) {
  return `http://127.0.0.1:3000${signUrl(url, { secret: SECRET, now, ...options })}`;
}

function hook(options: Partial<SignedOptions> = {}) {
  return signed({ secret: SECRET, now, ...options });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('signed', () => {
  describe('as an authorize hook', () => {
    it('lets a valid signed request through', async () => {
      expect(await hook()(new Request(sign('/a.txt')), {})).toBeUndefined();
    });

    it.each([
      ['missing', 'http://x/a.txt', 'Signature missing'],
      ['malformed', 'http://x/a.txt?signature=abc', 'Signature malformed'],
      ['invalid', sign('/a.txt').replace('/a.txt', '/b.txt'), 'Signature invalid'],
      ['expired', sign('/a.txt', { expiresIn: 1, now: () => NOW - 5_000 }), 'Signature expired'],
    ])('answers 403 "%s" in the kit error style', async (_reason, url, message) => {
      const answer = await hook()(new Request(url), {});
      expect(answer).toBeInstanceOf(Response);
      const response = answer as Response;
      expect(response.status).toBe(403);
      expect(await response.text()).toBe(`${message}\n`);
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('cache-control')).toBe('no-store');
    });

    it('answers 403 for a method the URL is not signed for', async () => {
      const url = sign('/a.txt', { method: 'HEAD' });
      const response = (await hook()(new Request(url), {})) as Response;
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('Signature not valid for this method\n');
      expect(await hook()(new Request(url, { method: 'HEAD' }), {})).toBeUndefined();
    });
  });

  describe('with its configuration', () => {
    it('throws at creation for a short secret', () => {
      expect(() => signed({ secret: 'too short' })).toThrow(ConfigurationError);
      expect(() => signed({ secret: 'too short' })).toThrow(/signed: the signing secret must be at least 32 bytes/);
    });

    it('throws at creation for a missing secret, e.g. an unset environment variable', () => {
      expect(() => signed({ secret: process.env.NO_SUCH_VARIABLE_FOR_THIS_TEST as string })).toThrow(/missing/);
      expect(() => signed(undefined as unknown as SignedOptions)).toThrow(ConfigurationError);
    });

    it('reads a secret function on each request, not at creation', async () => {
      const secret = vi.fn(() => SECRET);
      const check = signed({ secret, now });
      expect(secret).not.toHaveBeenCalled();
      expect(await check(new Request(sign('/a.txt')), {})).toBeUndefined();
      expect(await check(new Request(sign('/a.txt')), {})).toBeUndefined();
      expect(secret).toHaveBeenCalledTimes(2);
    });

    it('fails the request, never passes it, when a secret function gives nothing usable', () => {
      const check = signed({ secret: () => undefined, now });
      expect(() => check(new Request(sign('/a.txt')), {})).toThrow(ConfigurationError);
    });
  });

  describe('on a factory', () => {
    it('serves a signed request and refuses an unsigned one before the file is looked up', async () => {
      const file = vi.fn(() => ({ name: 'report.txt', content: 'the report\n' }));
      const { GET } = virtualDownload({ file, authorize: hook() });
      const ok = await GET(new Request(sign('/api/report')), { params: {} });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('the report\n');
      expect(file).toHaveBeenCalledTimes(1);

      const refused = await GET(new Request('http://x/api/report'), { params: {} });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toBe('Signature missing\n');
      expect(file).toHaveBeenCalledTimes(1);
    });

    it('answers HEAD for a URL signed for GET', async () => {
      const { HEAD } = virtualDownload({ file: { name: 'r.txt', content: 'abc' }, authorize: hook() });
      const response = await HEAD(new Request(sign('/r', { method: 'GET' }), { method: 'HEAD' }), { params: {} });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('3');
    });

    it('answers 500 and logs, never the file, when a secret function gives nothing', async () => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => {});
      const { GET } = virtualDownload({ file: { name: 'r.txt', content: 'abc' }, authorize: signed({ secret: () => '' }) });
      const response = await GET(new Request(sign('/r')), { params: {} });
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('abc');
      expect(error).toHaveBeenCalled();
    });

    describe('pathDownload with names that need encoding', () => {
      let root: string;
      beforeEach(async () => {
        root = await mkdtemp(path.join(os.tmpdir(), 'signed-'));
        await writeFile(path.join(root, 'my résumé (final)+1.txt'), 'CV\n');
      });
      afterEach(async () => {
        await rm(root, { recursive: true, force: true });
      });

      it('serves a spaced, non-ASCII name signed from its raw text', async () => {
        const name = 'my résumé (final)+1.txt';
        const url = sign(`/api/signed/${encodeURIComponent(name)}`);
        const { GET } = pathDownload({ root, authorize: hook() });
        const response = await GET(new Request(url), { params: Promise.resolve({ path: [name] }) });
        expect(response.status).toBe(200);
        expect(await response.text()).toBe('CV\n');
      });

      it('refuses the same signature for another file', async () => {
        const url = sign(`/api/signed/${encodeURIComponent('other.txt')}`).replace('other.txt', 'my%20r%C3%A9sum%C3%A9%20(final)%2B1.txt');
        const { GET } = pathDownload({ root, authorize: hook() });
        const response = await GET(new Request(url), { params: Promise.resolve({ path: ['my résumé (final)+1.txt'] }) });
        expect(response.status).toBe(403);
        expect(await response.text()).toBe('Signature invalid\n');
      });
    });
  });
});
