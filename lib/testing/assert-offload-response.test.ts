import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import { assertOffloadResponse } from './assert-offload-response';

const RESUME = `attachment; filename="resume.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`;

function offload(headers: Record<string, string>, body: BodyInit | null = null, status = 200) {
  return new Response(body, { status, headers });
}

const accel = (extra: Record<string, string> = {}) =>
  offload({
    'x-accel-redirect': '/_protected/my%20r%C3%A9sum%C3%A9.pdf',
    'x-accel-buffering': 'no',
    'x-accel-limit-rate': '1048576',
    'x-accel-expires': 'off',
    'x-accel-charset': 'utf-8',
    'content-type': 'application/pdf',
    'content-disposition': RESUME,
    ...extra,
  });

describe('assertOffloadResponse', () => {
  describe('when the response matches', () => {
    it('passes with every field checked', async () => {
      await expect(
        assertOffloadResponse(accel(), {
          redirect: '/_protected/my%20r%C3%A9sum%C3%A9.pdf',
          header: 'X-Accel-Redirect',
          status: 200,
          buffering: 'no',
          limitRate: 1048576,
          expires: 'off',
          charset: 'UTF-8',
          filename: 'résumé.pdf',
          contentType: 'application/pdf',
        }),
      ).resolves.toBeUndefined();
    });

    it('takes the expected URI raw or encoded, in either case of hex', async () => {
      for (const redirect of ['/_protected/my résumé.pdf', '/_protected/my%20r%c3%a9sum%c3%a9.pdf']) {
        await expect(assertOffloadResponse(accel(), { redirect })).resolves.toBeUndefined();
      }
    });

    it('accepts a Content-Length of 0 and an empty body', async () => {
      const response = offload({ 'x-accel-redirect': '/_protected/a.txt', 'content-length': '0' }, '');
      await expect(assertOffloadResponse(response, { redirect: '/_protected/a.txt' })).resolves.toBeUndefined();
    });

    it('compares an X-Sendfile path exactly', async () => {
      const response = offload({ 'x-sendfile': '/srv/media/a b.txt' });
      await expect(assertOffloadResponse(response, { header: 'X-Sendfile', redirect: '/srv/media/a b.txt' })).resolves.toBeUndefined();
      await expect(assertOffloadResponse(response, { header: 'X-Sendfile', redirect: '/srv/media/a%20b.txt' })).rejects.toThrow(
        'X-Sendfile: expected "/srv/media/a%20b.txt", got "/srv/media/a b.txt"',
      );
    });

    it('compares an X-Sendfile2 path decoded, and its range when given', async () => {
      const response = offload({ 'x-sendfile2': '/srv/media/a%20b.txt 0-99' });
      await expect(assertOffloadResponse(response, { header: 'X-Sendfile2', redirect: '/srv/media/a b.txt' })).resolves.toBeUndefined();
      await expect(assertOffloadResponse(response, { header: 'X-Sendfile2', redirect: '/srv/media/a b.txt 0-99' })).resolves.toBeUndefined();
      await expect(assertOffloadResponse(response, { header: 'X-Sendfile2', redirect: '/srv/media/a b.txt 0-9' })).rejects.toThrow(
        'X-Sendfile2: expected "/srv/media/a b.txt 0-9", got "/srv/media/a%20b.txt 0-99"',
      );
    });
  });

  describe('when it does not match', () => {
    it('throws an AssertionError listing every difference', async () => {
      const response = offload({ 'x-accel-redirect': '/_protected/b.txt', 'content-length': '5' }, 'bytes', 200);
      const error = await assertOffloadResponse(response, { redirect: '/_protected/a.txt', buffering: 'no' }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(AssertionError);
      expect((error as Error).message).toBe(
        [
          'Offload response does not match:',
          '  - X-Accel-Redirect: expected "/_protected/a.txt", got "/_protected/b.txt"',
          '  - X-Accel-Buffering: expected "no", got (absent)',
          '  - Content-Length: expected (absent) or "0", got "5" (the web server sets the file\'s own)',
          '  - body: expected empty, got 5 bytes "bytes"',
        ].join('\n'),
      );
    });

    it('fails on another status', async () => {
      await expect(assertOffloadResponse(accel(), { redirect: '/_protected/my résumé.pdf', status: 206 })).rejects.toThrow(
        'status: expected 206, got 200',
      );
    });

    it('fails on another URI', async () => {
      await expect(assertOffloadResponse(accel(), { redirect: '/_protected/my resume.pdf' })).rejects.toThrow(
        'X-Accel-Redirect: expected "/_protected/my resume.pdf", got "/_protected/my%20r%C3%A9sum%C3%A9.pdf"',
      );
    });

    it('tells a plus from a space in the URI', async () => {
      const response = offload({ 'x-accel-redirect': '/_protected/a+b.txt' });
      await expect(assertOffloadResponse(response, { redirect: '/_protected/a%2Bb.txt' })).resolves.toBeUndefined();
      await expect(assertOffloadResponse(response, { redirect: '/_protected/a b.txt' })).rejects.toThrow('X-Accel-Redirect');
    });

    it.each([
      ['a raw space', '/_protected/a b.txt'],
      ['a raw Latin-1 character', '/_protected/\u00e9.txt'],
      ['a % that starts no escape', '/_protected/100%.txt'],
    ])('fails on a URI that is not percent-encoded: %s', async (_label, uri) => {
      await expect(assertOffloadResponse(offload({ 'x-accel-redirect': uri }), { redirect: uri })).rejects.toThrow(
        /X-Accel-Redirect: expected .*, got .* \(not percent-encoded\)/,
      );
    });

    it('fails when the offload header is absent, naming the one that is set', async () => {
      await expect(assertOffloadResponse(offload({}), { redirect: '/a' })).rejects.toThrow(
        'X-Accel-Redirect: expected "/a", got (absent)',
      );
      await expect(assertOffloadResponse(offload({ 'x-sendfile': '/srv/a' }), { redirect: '/a' })).rejects.toThrow(
        'X-Accel-Redirect: expected "/a", got (absent) (X-Sendfile is set instead)',
      );
    });

    it.each([
      ['buffering', { buffering: 'yes' as const }, 'X-Accel-Buffering: expected "yes", got "no"'],
      ['limitRate', { limitRate: 1024 }, 'X-Accel-Limit-Rate: expected "1024", got "1048576"'],
      ['limitRate 0', { limitRate: 0 }, 'X-Accel-Limit-Rate: expected "0", got "1048576"'],
      ['expires', { expires: 60 }, 'X-Accel-Expires: expected "60", got "off"'],
      ['charset', { charset: 'iso-8859-1' }, 'X-Accel-Charset: expected "iso-8859-1", got "utf-8"'],
      ['filename', { filename: 'resume.pdf' }, 'filename: expected "resume.pdf", got "résumé.pdf"'],
      ['contentType', { contentType: 'application/octet-stream' }, 'Content-Type: expected "application/octet-stream", got "application/pdf"'],
    ])('fails on another %s', async (_label, option, message) => {
      await expect(assertOffloadResponse(accel(), { redirect: '/_protected/my résumé.pdf', ...option })).rejects.toThrow(message);
    });

    it('fails on an X-Accel option that is absent', async () => {
      const response = offload({ 'x-accel-redirect': '/_protected/a.txt' });
      await expect(assertOffloadResponse(response, { redirect: '/_protected/a.txt', expires: 'off' })).rejects.toThrow(
        'X-Accel-Expires: expected "off", got (absent)',
      );
    });

    it('reads yes, no and off in any case', async () => {
      const response = offload({ 'x-accel-redirect': '/a', 'x-accel-buffering': 'No', 'x-accel-expires': 'OFF' });
      await expect(assertOffloadResponse(response, { redirect: '/a', buffering: 'no', expires: 'off' })).resolves.toBeUndefined();
    });

    it('fails when the file Content-Length was copied onto the response', async () => {
      await expect(assertOffloadResponse(accel({ 'content-length': '1048576' }), { redirect: '/_protected/my résumé.pdf' })).rejects.toThrow(
        'Content-Length: expected (absent) or "0", got "1048576"',
      );
    });

    it('fails when the response has a body', async () => {
      const response = offload({ 'x-accel-redirect': '/a' }, new Uint8Array([0x25, 0x50, 0x44, 0x46]));
      await expect(assertOffloadResponse(response, { redirect: '/a' })).rejects.toThrow('body: expected empty, got 4 bytes "%PDF"');
    });

    it('requires the redirect to be given', async () => {
      await expect(assertOffloadResponse(accel(), {} as { redirect: string })).rejects.toThrow(/redirect is required/);
    });
  });
});

describe('assertOffloadResponse with X-Sendfile paths', () => {
  const offload = (value: string) => new Response(null, { headers: { 'X-Sendfile': value } });

  it('matches a percent-encoded path (lighttpd, mod_xsendfile 1.0) against the plain name', async () => {
    await expect(
      assertOffloadResponse(offload('/srv/media/r%C3%A9sum%C3%A9%20x.pdf'), { header: 'X-Sendfile', redirect: '/srv/media/résumé x.pdf' }),
    ).resolves.toBeUndefined();
  });

  it('matches the raw UTF-8 bytes mod_xsendfile 0.12 takes literally', async () => {
    const raw = Buffer.from('/srv/media/résumé.pdf', 'utf8').toString('latin1');
    await expect(assertOffloadResponse(offload(raw), { header: 'X-Sendfile', redirect: '/srv/media/résumé.pdf' })).resolves.toBeUndefined();
  });

  it('fails for another file', async () => {
    await expect(assertOffloadResponse(offload('/srv/media/other.pdf'), { header: 'X-Sendfile', redirect: '/srv/media/résumé.pdf' })).rejects.toThrow(
      /X-Sendfile/,
    );
  });
});

describe('assertOffloadResponse with a Date for X-Accel-Expires', () => {
  it('expects the @<unix seconds> form', async () => {
    const response = new Response(null, { headers: { 'X-Accel-Redirect': '/p/a', 'X-Accel-Expires': '@1800000000' } });
    await expect(assertOffloadResponse(response, { redirect: '/p/a', expires: new Date(1_800_000_000_000) })).resolves.toBeUndefined();
    await expect(assertOffloadResponse(response, { redirect: '/p/a', expires: new Date(1_700_000_000_000) })).rejects.toThrow(/X-Accel-Expires/);
  });
});
