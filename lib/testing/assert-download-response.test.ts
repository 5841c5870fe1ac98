import { AssertionError } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { virtualDownload } from '../factories/virtual-download';
import { contentDispositionHeader } from '../http/disposition';
import { assertDownloadResponse } from './assert-download-response';

const RESUME = `attachment; filename="resume.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`;

function download(body: BodyInit | null, headers: HeadersInit = {}, status = 200) {
  return new Response(body, { status, headers });
}

const report = () =>
  download('hello, world\n', {
    'content-type': 'text/plain; charset=utf-8',
    'content-disposition': 'attachment; filename=report.txt',
    'content-length': '13',
    etag: '"d-abc"',
  });

describe('assertDownloadResponse', () => {
  describe('when the response matches', () => {
    it('passes with every field checked', async () => {
      await expect(
        assertDownloadResponse(report(), {
          status: 200,
          filename: 'report.txt',
          filenameAscii: 'report.txt',
          disposition: 'attachment',
          contentType: 'text/plain; charset=UTF-8',
          body: 'hello, world\n',
          bodySha256: createHash('sha256').update('hello, world\n').digest('hex'),
          contentLength: 13,
          etag: '"d-abc"',
        }),
      ).resolves.toBeUndefined();
    });

    it('checks only the status (200) when nothing else is asked', async () => {
      await expect(assertDownloadResponse(download(null))).resolves.toBeUndefined();
      await expect(assertDownloadResponse(download(null, {}, 206))).rejects.toThrow('status: expected 200, got 206');
    });

    it('passes on what a kit factory answers', async () => {
      const { GET } = virtualDownload({ file: { name: 'résumé.txt', content: 'CV\n' } });
      const response = await GET(new Request('http://x/cv'), { params: {} });
      await assertDownloadResponse(response, {
        filename: 'résumé.txt',
        filenameAscii: 'resume.txt',
        disposition: 'attachment',
        contentType: 'text/plain',
        body: 'CV\n',
        contentLength: 3,
        etag: true,
      });
    });

    it('leaves the body readable', async () => {
      const response = report();
      await assertDownloadResponse(response, { body: 'hello, world\n' });
      expect(await response.text()).toBe('hello, world\n');
    });

    it('does not read the body when no body check is asked', async () => {
      const pull = vi.fn();
      const response = download(new ReadableStream({ pull }, { highWaterMark: 0 }), {
        'content-disposition': 'attachment; filename=a.txt',
      });
      await assertDownloadResponse(response, { filename: 'a.txt' });
      expect(pull).not.toHaveBeenCalled();
      expect(response.bodyUsed).toBe(false);
    });
  });

  describe('when it does not match', () => {
    it('throws an AssertionError from node:assert, with expected and actual', async () => {
      const error = await assertDownloadResponse(download(null, {}, 404)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AssertionError);
      expect(error).toMatchObject({ expected: { status: 200 }, actual: { status: 404 } });
    });

    it('lists every difference in one message', async () => {
      const response = download('x', { 'content-type': 'text/html', 'content-disposition': 'inline; filename=b.txt' }, 404);
      await expect(
        assertDownloadResponse(response, { filename: 'a.txt', disposition: 'attachment', contentType: 'text/plain' }),
      ).rejects.toThrow(
        [
          'Download response does not match:',
          '  - status: expected 200, got 404',
          '  - disposition: expected "attachment", got "inline"',
          '  - filename: expected "a.txt", got "b.txt"',
          '  - Content-Type: expected "text/plain", got "text/html"',
        ].join('\n'),
      );
    });

    it('fails on another status', async () => {
      await expect(assertDownloadResponse(report(), { status: 206 })).rejects.toThrow('status: expected 206, got 200');
    });

    describe('on the file name', () => {
      it('fails on another UTF-8 name (filename*)', async () => {
        await expect(assertDownloadResponse(download(null, { 'content-disposition': RESUME }), { filename: 'résume.pdf' })).rejects.toThrow(
          'filename: expected "résume.pdf", got "résumé.pdf"',
        );
      });

      it('takes filename* over filename, and says so when the fallback was expected', async () => {
        const response = download(null, { 'content-disposition': RESUME });
        await expect(assertDownloadResponse(response, { filename: 'résumé.pdf' })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(response, { filename: 'resume.pdf' })).rejects.toThrow(
          'filename: expected "resume.pdf", got "résumé.pdf" (that is the ASCII fallback; filename* wins',
        );
      });

      it('fails on another ASCII fallback', async () => {
        const response = download(null, { 'content-disposition': RESUME });
        await expect(assertDownloadResponse(response, { filenameAscii: 'resume.pdf' })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(response, { filenameAscii: 'r_sum_.pdf' })).rejects.toThrow(
          'filename (ASCII fallback): expected "r_sum_.pdf", got "resume.pdf"',
        );
      });

      it('fails when a non-ASCII name has no filename* (only the fallback)', async () => {
        const response = download(null, { 'content-disposition': 'attachment; filename="resume.pdf"' });
        await expect(assertDownloadResponse(response, { filename: 'résumé.pdf' })).rejects.toThrow(
          'filename: expected "résumé.pdf", got "resume.pdf"',
        );
      });

      it('fails when there is no filename at all', async () => {
        await expect(
          assertDownloadResponse(download(null, { 'content-disposition': 'attachment' }), { filename: 'a.txt', filenameAscii: 'a.txt' }),
        ).rejects.toThrow(/filename: expected "a\.txt", got \(absent\)\n.*filename \(ASCII fallback\): expected "a\.txt", got \(absent\)/);
      });

      it('fails when Content-Disposition is absent', async () => {
        await expect(assertDownloadResponse(download(null), { filename: 'a.txt' })).rejects.toThrow(
          'Content-Disposition: the header is absent',
        );
      });

      it('fails on a header a browser would misread', async () => {
        const response = download(null, { 'content-disposition': 'attachment; filename=my report.pdf' });
        await expect(assertDownloadResponse(response, { filename: 'my report.pdf' })).rejects.toThrow(
          /Content-Disposition: .*expected ";" at position 24/,
        );
      });

      it.each(['résumé.pdf', 'my "best" report.pdf', '100% done.txt', '中文.txt'])(
        "passes on the kit's header for %s",
        async (name) => {
          const response = download(null, { 'content-disposition': contentDispositionHeader(name, 'inline') });
          await expect(assertDownloadResponse(response, { filename: name, disposition: 'inline' })).resolves.toBeUndefined();
        },
      );
    });

    it('fails on inline for attachment, and the other way round', async () => {
      const inline = download(null, { 'content-disposition': 'inline; filename=a.pdf' });
      await expect(assertDownloadResponse(inline, { disposition: 'attachment' })).rejects.toThrow(
        'disposition: expected "attachment", got "inline"',
      );
      await expect(assertDownloadResponse(report(), { disposition: 'inline' })).rejects.toThrow(
        'disposition: expected "inline", got "attachment"',
      );
    });

    describe('on the content type', () => {
      it('compares the media type alone when no parameter is given', async () => {
        await expect(assertDownloadResponse(report(), { contentType: 'TEXT/plain' })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(report(), { contentType: 'text/csv' })).rejects.toThrow(
          'Content-Type: expected "text/csv", got "text/plain; charset=utf-8"',
        );
      });

      it('compares the whole header when a parameter is given', async () => {
        await expect(assertDownloadResponse(report(), { contentType: 'text/plain;charset=utf-8' })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(report(), { contentType: 'text/plain; charset=iso-8859-1' })).rejects.toThrow(
          'Content-Type: expected "text/plain; charset=iso-8859-1", got "text/plain; charset=utf-8"',
        );
      });

      it('matches a RegExp against the whole header', async () => {
        await expect(assertDownloadResponse(report(), { contentType: /charset=utf-8/ })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(report(), { contentType: /^application\// })).rejects.toThrow(
          'Content-Type: expected /^application\\//, got "text/plain; charset=utf-8"',
        );
      });

      it('fails when the header is absent', async () => {
        await expect(assertDownloadResponse(download(null), { contentType: 'text/plain' })).rejects.toThrow(
          'Content-Type: expected "text/plain", got (absent)',
        );
      });
    });

    describe('on the body', () => {
      it('fails on other text, showing both and where they differ', async () => {
        await expect(assertDownloadResponse(report(), { body: 'hello world\n' })).rejects.toThrow(
          'body: expected 12 bytes "hello world\\n", got 13 bytes "hello, world\\n" (first difference at byte 5)',
        );
      });

      it('fails on bytes that differ only at the end, shown in hex', async () => {
        const response = download(new Uint8Array([0, 1, 2, 255]));
        await expect(assertDownloadResponse(response, { body: new Uint8Array([0, 1, 2, 255]) })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(response, { body: new Uint8Array([0, 1, 2, 254]) })).rejects.toThrow(
          'body: expected 4 bytes <00 01 02 fe>, got 4 bytes <00 01 02 ff> (first difference at byte 3)',
        );
      });

      it('fails on a truncated body', async () => {
        await expect(assertDownloadResponse(download('hello'), { body: 'hello, world' })).rejects.toThrow(
          'first difference at byte 5',
        );
      });

      it('compares a string body as UTF-8 bytes', async () => {
        await expect(assertDownloadResponse(download(new Uint8Array([0xc3, 0xa9])), { body: 'é' })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(download(new Uint8Array([0xe9])), { body: 'é' })).rejects.toThrow(
          'body: expected 2 bytes "é", got 1 byte <e9>',
        );
      });

      it('fails on another SHA-256, and accepts it in upper case', async () => {
        const digest = createHash('sha256').update('hello, world\n').digest('hex');
        await expect(assertDownloadResponse(report(), { bodySha256: digest.toUpperCase() })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(report(), { bodySha256: '0'.repeat(64) })).rejects.toThrow(
          `body SHA-256: expected "${'0'.repeat(64)}", got "${digest}"`,
        );
      });

      it('fails, rather than crash, when the body was already read', async () => {
        const response = report();
        await response.text();
        await expect(assertDownloadResponse(response, { body: 'hello, world\n' })).rejects.toThrow(
          'body: already read; assert before reading the body, or on a clone',
        );
      });
    });

    it('fails on another Content-Length, or none', async () => {
      await expect(assertDownloadResponse(report(), { contentLength: 12 })).rejects.toThrow(
        'Content-Length: expected 12, got "13"',
      );
      await expect(assertDownloadResponse(download(null), { contentLength: 0 })).rejects.toThrow(
        'Content-Length: expected 0, got (absent)',
      );
    });

    describe('on the ETag', () => {
      it('fails on a missing or malformed one when one is expected', async () => {
        await expect(assertDownloadResponse(report(), { etag: true })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(download(null), { etag: true })).rejects.toThrow(
          'ETag: expected a well-formed entity-tag, got (absent)',
        );
        await expect(assertDownloadResponse(download(null, { etag: 'd-abc' }), { etag: true })).rejects.toThrow(
          'ETag: expected a well-formed entity-tag, got "d-abc"',
        );
      });

      it('fails on one when none is expected', async () => {
        await expect(assertDownloadResponse(download(null), { etag: false })).resolves.toBeUndefined();
        await expect(assertDownloadResponse(report(), { etag: false })).rejects.toThrow('ETag: expected (absent), got "\\"d-abc\\""');
      });

      it('tells a weak tag from a strong one', async () => {
        await expect(assertDownloadResponse(report(), { etag: 'W/"d-abc"' })).rejects.toThrow(
          'ETag: expected "W/\\"d-abc\\"", got "\\"d-abc\\""',
        );
      });
    });

    it('fails on something that is not a Response', async () => {
      await expect(assertDownloadResponse({ status: 200 } as Response)).rejects.toThrow(AssertionError);
      await expect(assertDownloadResponse({ status: 200 } as Response)).rejects.toThrow('expected a Response, got object');
    });
  });
});

describe('assertDownloadResponse with reprDigest', () => {
  const TEXT = 'checked bytes\n';
  const sha256 = createHash('sha256').update(TEXT).digest('base64');
  const field = `sha-256=:${sha256}:`;
  const served = (headers: HeadersInit = {}) =>
    virtualDownload({ file: { name: 'a.txt', content: TEXT } }).GET(new Request('http://x/a.txt', { headers }), { params: Promise.resolve({}) });

  it('passes a 200 whose Repr-Digest and Content-Digest are the body\'s', async () => {
    await assertDownloadResponse(await served(), { reprDigest: true, body: TEXT });
    await assertDownloadResponse(await served(), { reprDigest: field });
  });

  it('passes a 206 or a HEAD on the form of the field alone', async () => {
    await assertDownloadResponse(await served({ range: 'bytes=0-3' }), { status: 206, reprDigest: true });
    const head = await virtualDownload({ file: { name: 'a.txt', content: TEXT } }).HEAD(new Request('http://x/a.txt', { method: 'HEAD' }), { params: Promise.resolve({}) });
    await assertDownloadResponse(head, { reprDigest: true });
  });

  it('fails a digest that is not the body\'s, naming the algorithm', async () => {
    const wrong = createHash('sha256').update('other bytes').digest('base64');
    await expect(assertDownloadResponse(download(TEXT, { 'repr-digest': `sha-256=:${wrong}:` }), { reprDigest: true })).rejects.toThrow(/Repr-Digest sha-256 of the body/);
    await expect(
      assertDownloadResponse(download(TEXT, { 'repr-digest': field, 'content-digest': `sha-256=:${wrong}:` }), { reprDigest: true }),
    ).rejects.toThrow(/Content-Digest sha-256 of the body/);
  });

  it('fails a missing or malformed field, and one that should be absent', async () => {
    await expect(assertDownloadResponse(download(TEXT), { reprDigest: true })).rejects.toThrow(/Repr-Digest/);
    await expect(assertDownloadResponse(download(TEXT, { 'repr-digest': 'md5=:abc=:' }), { reprDigest: true })).rejects.toThrow(/Repr-Digest/);
    await expect(assertDownloadResponse(await served(), { reprDigest: false })).rejects.toThrow(/Repr-Digest/);
    await assertDownloadResponse(download(TEXT), { reprDigest: false });
  });

  it('leaves the body readable', async () => {
    const response = await served();
    await assertDownloadResponse(response, { reprDigest: true });
    expect(await response.text()).toBe(TEXT);
  });
});
