import { describe, it, expect, vi, afterEach, beforeEach, type MockInstance } from 'vitest';
import { HttpError } from '../errors';
import { errorResponse } from './http-error';

let consoleError: MockInstance<typeof console.error>;
beforeEach(() => {
  consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => {
  consoleError.mockRestore();
});

describe('HttpError', () => {
  it('carries its status, message, headers and name', () => {
    const error = new HttpError(405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('HttpError');
    expect(error.status).toBe(405);
    expect(error.message).toBe('Method Not Allowed');
    expect(error.headers).toEqual({ Allow: 'GET, HEAD' });
  });

  it.each([
    [400, true],
    [404, true],
    [499, true],
    [500, false],
    [503, false],
  ])('sets expose for status %i to %s', (status, expose) => {
    expect(new HttpError(status, 'x').expose).toBe(expose);
  });

  it.each([[200], [304], [399], [600], [404.5], [Number.NaN]])('refuses status %s', (status) => {
    expect(() => new HttpError(status, 'x')).toThrow(RangeError);
  });
});

describe('errorResponse', () => {
  describe('with an HttpError', () => {
    it('answers its status with the message as plain text', async () => {
      const response = errorResponse(new HttpError(404, 'File not found'));
      expect(response.status).toBe(404);
      expect(await response.text()).toBe('File not found\n');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(consoleError).not.toHaveBeenCalled();
    });

    it('adds its own headers', () => {
      const response = errorResponse(
        new HttpError(416, 'Range Not Satisfiable', { 'Content-Range': 'bytes */100', 'Accept-Ranges': 'bytes' }),
      );
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */100');
      expect(response.headers.get('accept-ranges')).toBe('bytes');
    });

    it('lets its own Cache-Control replace no-store', () => {
      const response = errorResponse(new HttpError(404, 'Gone', { 'Cache-Control': 'max-age=60' }));
      expect(response.headers.get('cache-control')).toBe('max-age=60');
    });

    it.each([
      ['Content-Type', 'text/html'],
      ['content-length', '999'],
      ['Content-Encoding', 'gzip'],
      ['Transfer-Encoding', 'chunked'],
    ])('does not let its own %s corrupt the body', async (name, value) => {
      const response = errorResponse(new HttpError(400, 'Bad', { [name]: value }));
      expect(response.headers.get(name)).toBe(name.toLowerCase() === 'content-type' ? 'text/plain; charset=utf-8' : null);
      expect(await response.text()).toBe('Bad\n');
    });

    it('drops an invalid header instead of throwing', async () => {
      const response = errorResponse(new HttpError(400, 'Bad', { 'X-Bad': 'a\r\nSet-Cookie: x=1', 'X-Ok': '1' }));
      expect(response.status).toBe(400);
      expect(response.headers.get('x-bad')).toBeNull();
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(response.headers.get('x-ok')).toBe('1');
      expect(await response.text()).toBe('Bad\n');
    });

    it.each([
      ['CR LF', 'line one\r\nline two', 'line one line two\n'],
      ['a bare LF', 'a\nb', 'a b\n'],
      ['control characters', 'a\u0000\tb\u2028c', 'a b c\n'],
      ['surrounding blanks', '  spaced  ', 'spaced\n'],
      ['an empty message (reason phrase)', '', 'Not Found\n'],
      ['a message of only newlines (reason phrase)', '\r\n', 'Not Found\n'],
    ])('makes a single line of a message with %s', async (_label, message, body) => {
      expect(await errorResponse(new HttpError(404, message)).text()).toBe(body);
    });

    it('shortens a very long message', async () => {
      const body = await errorResponse(new HttpError(400, 'x'.repeat(5000))).text();
      expect(body).toBe(`${'x'.repeat(199)}…\n`);
    });

    it('hides the message of a 5xx behind the reason phrase, and logs it', async () => {
      const error = new HttpError(503, 'database at 10.0.0.5 refused the connection', { 'Retry-After': '30' });
      const response = errorResponse(error);
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('Service Unavailable\n');
      expect(response.headers.get('retry-after')).toBe('30');
      expect(consoleError).toHaveBeenCalledWith(error);
    });

    it('uses a generic phrase for a status without a known reason', async () => {
      expect(await errorResponse(new HttpError(599, 'secret')).text()).toBe('Server Error\n');
      expect(await errorResponse(new HttpError(499, '')).text()).toBe('Client Error\n');
    });
  });

  describe('with any other error', () => {
    it.each([
      ['an Error', new Error('ENOENT: /srv/secret/path.pdf')],
      ['a TypeError', new TypeError('cannot read x of undefined')],
      ['a thrown string', 'boom at /srv/secret'],
      ['undefined', undefined],
      ['an object with a status', { status: 404, message: 'not an HttpError' }],
    ])('answers a plain 500 that leaks nothing for %s, and logs it', async (_label, error) => {
      const response = errorResponse(error);
      expect(response.status).toBe(500);
      expect(await response.text()).toBe('Internal Server Error\n');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(consoleError).toHaveBeenCalledTimes(1);
      expect(consoleError).toHaveBeenCalledWith(error);
    });
  });
});
