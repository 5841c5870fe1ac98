import { describe, expect, it } from 'vitest';
import { checkRequestFraming, checkRequestTarget, SERVED_METHODS } from './request-target';

describe('checkRequestTarget(method, target)', () => {
  describe('origin-form', () => {
    it.each([
      '/',
      '/api/storage/docs/guide.md',
      '/api/storage/caf%C3%A9.txt',
      '/api/storage/%E4%B8%AD%E6%96%87.txt',
      '/a%20b?x=%zz',
      '/api/files?x=1&y=%',
      '/%2e%2e/x',
      // Valid origin-form (empty segments); Next answers it with a same-origin redirect.
      '//evil.example/x',
    ])('passes %s unchanged', (target) => {
      expect(checkRequestTarget('GET', target)).toEqual({ kind: 'pass', target });
    });

    it.each([
      ['a lone %', '/api/storage/%'],
      ['% then one digit', '/api/storage/%4'],
      ['% then non-hex', '/api/storage/%zz'],
      ['an overlong slash (RFC 3629 §3)', '/api/storage/%C0%AF'],
      ['an overlong dot', '/api/storage/%C0%AE%C0%AE/x'],
      ['a truncated three-byte sequence', '/api/storage/%E4%B8'],
      ['a lone continuation byte', '/api/storage/%80'],
      ['an encoded surrogate', '/api/storage/%ED%A0%80'],
      ['a byte that is never UTF-8', '/api/storage/%FF'],
    ])('refuses %s with 400', (_, target) => {
      expect(checkRequestTarget('GET', target)).toMatchObject({ kind: 'refuse', status: 400 });
    });
  });

  describe('absolute-form (RFC 9112 §3.2.2)', () => {
    it.each([
      ['http://other-host/api/storage/a.txt', '/api/storage/a.txt'],
      ['HTTP://other-host:8080/x?y=1', '/x?y=1'],
      ['https://127.0.0.1', '/'],
      ['http://evil.example/%E4%B8%AD', '/%E4%B8%AD'],
      ['http://other-host//evil.example/x', '//evil.example/x'],
    ])('serves %s as the path %s on this origin', (target, path) => {
      expect(checkRequestTarget('GET', target)).toEqual({ kind: 'pass', target: path });
    });

    it.each(['http://other-host/%zz', 'http://other-host/%C0%AF', 'http://[::1/x', 'ftp://other-host/x'])(
      'refuses %s with 400',
      (target) => {
        expect(checkRequestTarget('GET', target)).toMatchObject({ kind: 'refuse', status: 400 });
      },
    );
  });

  describe('asterisk-form (RFC 9112 §3.2.4)', () => {
    it('is a question about the server for OPTIONS', () => {
      expect(checkRequestTarget('OPTIONS', '*')).toEqual({ kind: 'server-options' });
    });

    it.each(['GET', 'POST', 'DELETE'])('is refused with 400 for %s', (method) => {
      expect(checkRequestTarget(method, '*')).toMatchObject({ kind: 'refuse', status: 400 });
    });
  });

  describe('other targets', () => {
    it.each(['example.com:443', 'x', '', '?a=1', 'javascript:alert(1)'])('refuses %j with 400', (target) => {
      expect(checkRequestTarget('GET', target)).toMatchObject({ kind: 'refuse', status: 400 });
    });
  });

  describe('methods', () => {
    it.each(SERVED_METHODS)('passes %s, a method a route can export', (method) => {
      expect(checkRequestTarget(method, '/x')).toEqual({ kind: 'pass', target: '/x' });
    });

    it.each(['TRACE', 'CONNECT', 'TRACK', 'PROPFIND', 'MKCOL', 'PURGE', 'QUERY', 'get'])('answers %s with 501 (RFC 9110 §15.6.2)', (method) => {
      expect(checkRequestTarget(method, '/x')).toMatchObject({ kind: 'refuse', status: 501 });
    });
  });
});

describe('checkRequestFraming(httpVersion, rawHeaders)', () => {
  it.each(['1.1', '1.0'])('passes HTTP/%s with one Host header', (version) => {
    expect(checkRequestFraming(version, ['Host', 'x', 'Accept', '*/*'])).toEqual({ kind: 'pass' });
  });

  it.each(['2.0', '1.2', '0.9', '3.0'])('refuses HTTP/%s with 505 (RFC 9110 §15.6.6)', (version) => {
    expect(checkRequestFraming(version, ['Host', 'x'])).toMatchObject({ kind: 'refuse', status: 505 });
  });

  it('refuses two Host headers with 400, whatever their case (RFC 9112 §3.2)', () => {
    expect(checkRequestFraming('1.1', ['Host', 'a', 'X-Host', 'b', 'HOST', 'a'])).toMatchObject({ kind: 'refuse', status: 400 });
  });

  it('does not count a header that only ends in host', () => {
    expect(checkRequestFraming('1.1', ['Host', 'a', 'X-Forwarded-Host', 'b', 'Ghost', 'c'])).toEqual({ kind: 'pass' });
  });
});
