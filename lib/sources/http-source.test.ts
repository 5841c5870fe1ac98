import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, HttpError } from '../errors';
import { confinedSegment, httpSource, resolveHttpSourceOptions, type HttpSourceOptions } from './http-source';

// httpSource against an injected fetch: what it sends, and what it makes of each answer.
// The real wire (undici decoding gzip, stalls, timeouts on a socket) is in http-download.test.ts.

const ORIGIN = 'https://files.example.com';
const URL_ = `${ORIGIN}/exports/report.pdf`;

interface Call {
  url: string;
  method: string;
  redirect: RequestRedirect | undefined;
  signal: AbortSignal | null | undefined;
  headers: Headers;
}

/** A fetch that records each call and answers with `answer`. */
function fakeFetch(answer: (url: URL, call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const impl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const call: Call = {
      url: url.href,
      method: init?.method ?? 'GET',
      redirect: init?.redirect,
      signal: init?.signal,
      headers: new Headers(init?.headers),
    };
    calls.push(call);
    return answer(url, call);
  }) as typeof fetch;
  return { impl, calls };
}

/** A body that says whether it was cancelled. */
function trackedBody(text: string) {
  const state = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      // Left open: only a cancel ends it, like a large upstream body.
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

function request(headers: HeadersInit = {}, method = 'GET', signal?: AbortSignal) {
  return new Request('http://app.local/api/remote/report.pdf', { method, headers, signal });
}

async function failure(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

async function text(stream: ReadableStream<Uint8Array>) {
  return new Response(stream).text();
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('httpSource', () => {
  describe('the request it sends upstream', () => {
    it('forwards a single Range with its If-Range, and every conditional header, asking for identity', async () => {
      const { impl, calls } = fakeFetch(() => new Response('x'));
      await httpSource(
        request({
          range: 'bytes=0-99',
          'if-range': '"v1"',
          'if-match': '"v1"',
          'if-none-match': '"v0"',
          'if-modified-since': 'Wed, 21 Oct 2015 07:28:00 GMT',
          'if-unmodified-since': 'Thu, 22 Oct 2015 07:28:00 GMT',
        }),
        URL_,
        { fetch: impl },
      );
      expect(calls).toHaveLength(1);
      const [call] = calls;
      expect(call!.method).toBe('GET');
      expect(Object.fromEntries(call!.headers)).toEqual({
        'accept-encoding': 'identity',
        range: 'bytes=0-99',
        'if-range': '"v1"',
        'if-match': '"v1"',
        'if-none-match': '"v0"',
        'if-modified-since': 'Wed, 21 Oct 2015 07:28:00 GMT',
        'if-unmodified-since': 'Thu, 22 Oct 2015 07:28:00 GMT',
      });
    });

    it('forwards no other header: cookies and credentials stay here', async () => {
      const { impl, calls } = fakeFetch(() => new Response('x'));
      await httpSource(request({ cookie: 'session=1', authorization: 'Bearer t', 'x-forwarded-for': '1.2.3.4' }), URL_, {
        fetch: impl,
      });
      expect([...calls[0]!.headers.keys()]).toEqual(['accept-encoding']);
    });

    it('leaves out a multi-range Range and its If-Range (the whole file is a valid answer)', async () => {
      const { impl, calls } = fakeFetch(() => new Response('x'));
      await httpSource(request({ range: 'bytes=0-1,5-6', 'if-range': '"v1"' }), URL_, { fetch: impl });
      expect(calls[0]!.headers.has('range')).toBe(false);
      expect(calls[0]!.headers.has('if-range')).toBe(false);
    });

    it('sends HEAD for HEAD, without Range (range handling is for GET only)', async () => {
      const { impl, calls } = fakeFetch(() => new Response(null, { headers: { 'content-length': '5' } }));
      const source = await httpSource(request({ range: 'bytes=0-1', 'if-none-match': '"v0"' }, 'HEAD'), URL_, {
        fetch: impl,
      });
      expect(calls[0]!.method).toBe('HEAD');
      expect(calls[0]!.headers.has('range')).toBe(false);
      expect(calls[0]!.headers.get('if-none-match')).toBe('"v0"');
      expect(source.size).toBe(5);
    });

    it('follows no redirect by itself, and can be aborted', async () => {
      const { impl, calls } = fakeFetch(() => new Response('x'));
      await httpSource(request(), URL_, { fetch: impl });
      expect(calls[0]!.redirect).toBe('manual');
      expect(calls[0]!.signal).toBeInstanceOf(AbortSignal);
    });
  });

  describe('what it makes of a 200', () => {
    it('takes the metadata from the upstream headers', async () => {
      const { impl } = fakeFetch(
        () =>
          new Response('%PDF-', {
            headers: {
              'content-length': '5',
              'content-type': 'application/pdf',
              etag: '"abc"',
              'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT',
              'accept-ranges': 'bytes',
            },
          }),
      );
      const source = await httpSource(request(), URL_, { fetch: impl });
      expect(source).toMatchObject({
        name: 'report.pdf',
        size: 5,
        etag: '"abc"',
        contentType: 'application/pdf',
        ranges: true,
        answered: { status: 200 },
      });
      expect(source.lastModified?.toISOString()).toBe('2015-10-21T07:28:00.000Z');
      expect(source.encoding).toBeUndefined();
    });

    it('knows no length without Content-Length, and no ranges without Accept-Ranges: bytes', async () => {
      const { impl } = fakeFetch(() => new Response('abc', { headers: { 'accept-ranges': 'none' } }));
      const source = await httpSource(request(), URL_, { fetch: impl });
      expect(source.size).toBeUndefined();
      expect(source.ranges).toBe(false);
    });

    it('decodes the name from the final URL once: %C3%A9 is é, %2520 stays %20', async () => {
      const { impl } = fakeFetch(() => new Response('x'));
      const source = await httpSource(request(), `${ORIGIN}/a/r%C3%A9sum%C3%A9%20x%2520y.pdf`, { fetch: impl });
      expect(source.name).toBe('résumé x%20y.pdf');
    });

    it('takes the name from the upstream Content-Disposition when the URL has no last segment', async () => {
      const { impl } = fakeFetch(
        () => new Response('x', { headers: { 'content-disposition': `attachment; filename*=UTF-8''na%C3%AFve.csv` } }),
      );
      const source = await httpSource(request(), `${ORIGIN}/exports/`, { fetch: impl });
      expect(source.name).toBe('naïve.csv');
    });

    it('treats a body fetch decoded (gzip) as of unknown length, without encoding or ranges, with a weak ETag', async () => {
      const { impl } = fakeFetch(
        () =>
          new Response('decoded', {
            headers: { 'content-encoding': 'gzip', 'content-length': '3', etag: '"gz"', 'accept-ranges': 'bytes' },
          }),
      );
      const source = await httpSource(request(), URL_, { fetch: impl });
      expect(source.size).toBeUndefined();
      expect(source.encoding).toBeUndefined();
      expect(source.ranges).toBe(false);
      expect(source.etag).toEqual({ tag: '"gz"', weak: true });
    });

    it('answers 502 for a coding fetch does not decode, rather than relay bytes it cannot label', async () => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const body = trackedBody('zstd bytes');
      const { impl } = fakeFetch(() => new Response(body.stream, { headers: { 'content-encoding': 'zstd' } }));
      expect((await failure(httpSource(request(), URL_, { fetch: impl }))).status).toBe(502);
      expect(body.state.cancelled).toBe(true);
    });
  });

  describe('what it makes of other answers', () => {
    it('relays a 206 with its Content-Range, sized as the part', async () => {
      const { impl } = fakeFetch(
        () => new Response('abc', { status: 206, headers: { 'content-range': 'bytes 0-2/10', 'content-length': '3' } }),
      );
      const source = await httpSource(request({ range: 'bytes=0-2' }), URL_, { fetch: impl });
      expect(source.answered).toEqual({ status: 206, contentRange: 'bytes 0-2/10' });
      expect(source.size).toBe(3);
      expect(source.ranges).toBe(true);
    });

    it.each([
      ['nobody asked for a range', {}, { 'content-range': 'bytes 0-2/10' }],
      ['it has no Content-Range', { range: 'bytes=0-2' }, {}],
      ['its Content-Range is malformed', { range: 'bytes=0-2' }, { 'content-range': 'bytes 0-2' }],
      ['it is compressed (a slice of gzip cannot be decoded)', { range: 'bytes=0-2' }, { 'content-range': 'bytes 0-2/10', 'content-encoding': 'gzip' }],
    ])('answers 502 for a 206 when %s', async (_, requestHeaders: Record<string, string>, responseHeaders: Record<string, string>) => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const { impl } = fakeFetch(() => new Response('abc', { status: 206, headers: responseHeaders }));
      expect((await failure(httpSource(request(requestHeaders), URL_, { fetch: impl }))).status).toBe(502);
    });

    it('relays 304 and 412 with no size', async () => {
      for (const status of [304, 412] as const) {
        const { impl } = fakeFetch(() => new Response(null, { status, headers: { etag: '"v1"', 'content-length': '9' } }));
        const source = await httpSource(request({ 'if-none-match': '"v1"' }), URL_, { fetch: impl });
        expect(source.answered).toEqual({ status });
        expect(source.etag).toBe('"v1"');
        expect(source.size).toBeUndefined();
      }
    });

    it('relays 416 with a valid Content-Range, and drops a malformed one', async () => {
      const good = fakeFetch(() => new Response(null, { status: 416, headers: { 'content-range': 'bytes */10' } }));
      const bad = fakeFetch(() => new Response(null, { status: 416, headers: { 'content-range': 'bytes 0-1/x' } }));
      expect((await httpSource(request({ range: 'bytes=20-' }), URL_, { fetch: good.impl })).answered).toEqual({
        status: 416,
        contentRange: 'bytes */10',
      });
      expect((await httpSource(request({ range: 'bytes=20-' }), URL_, { fetch: bad.impl })).answered).toEqual({
        status: 416,
        contentRange: undefined,
      });
    });

    it.each([
      [404, 404],
      [410, 404],
      [400, 502],
      [401, 502],
      [403, 502],
      [429, 502],
      [500, 502],
      [503, 502],
      [204, 502],
      [300, 502],
    ])('maps an upstream %i to %i, and cancels its body', async (upstream, expected) => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const body = trackedBody('error page');
      const nullBody = upstream === 204;
      const { impl } = fakeFetch(() => new Response(nullBody ? null : body.stream, { status: upstream }));
      expect((await failure(httpSource(request(), URL_, { fetch: impl }))).status).toBe(expected);
      if (!nullBody) expect(body.state.cancelled).toBe(true);
    });
  });

  describe('the body', () => {
    it('is the upstream body, and can be opened once', async () => {
      const { impl } = fakeFetch(() => new Response('the bytes'));
      const source = await httpSource(request(), URL_, { fetch: impl });
      expect(await text(await source.open())).toBe('the bytes');
      expect(() => source.open()).toThrow(/already taken/);
    });

    it('is cancelled at once when the engine will not send it (HEAD, 304, 412, 416)', async () => {
      const cases: [number, string, HeadersInit][] = [
        [200, 'HEAD', {}],
        [304, 'GET', {}],
        [412, 'GET', {}],
        [416, 'GET', { 'content-range': 'bytes */10' }],
      ];
      for (const [status, method, headers] of cases) {
        const body = trackedBody('unwanted');
        // A Response refuses a body on 304; the upstream may still hold a stream open.
        const { impl } = fakeFetch(() => {
          const response = new Response(body.stream, { status: status === 304 ? 200 : status, headers });
          return status === 304 ? Object.defineProperty(response, 'status', { value: 304 }) : response;
        });
        await httpSource(request({}, method), URL_, { fetch: impl });
        expect(body.state.cancelled, `${method} ${status}`).toBe(true);
      }
    });

    it('is cancelled by discard() when it was never opened, and left alone once it was', async () => {
      const first = trackedBody('a');
      const source = await httpSource(request(), URL_, { fetch: fakeFetch(() => new Response(first.stream)).impl });
      await source.discard();
      expect(first.state.cancelled).toBe(true);
      expect(() => source.open()).toThrow(/discarded/);

      const second = trackedBody('b');
      const opened = await httpSource(request(), URL_, { fetch: fakeFetch(() => new Response(second.stream)).impl });
      const stream = await opened.open();
      await opened.discard();
      expect(second.state.cancelled).toBe(false);
      await stream.cancel();
      expect(second.state.cancelled).toBe(true);
    });
  });

  describe('HEAD against an upstream that refuses HEAD', () => {
    it('asks again with GET and cancels that body', async () => {
      const body = trackedBody('whole file');
      const { impl, calls } = fakeFetch((_, call) =>
        call.method === 'HEAD'
          ? new Response(null, { status: 405 })
          : new Response(body.stream, { headers: { 'content-length': '10', etag: '"v1"' } }),
      );
      const source = await httpSource(request({}, 'HEAD'), URL_, { fetch: impl });
      expect(calls.map((call) => call.method)).toEqual(['HEAD', 'GET']);
      expect(source).toMatchObject({ size: 10, etag: '"v1"', answered: { status: 200 } });
      expect(body.state.cancelled).toBe(true);
    });
  });

  describe('which URLs it fetches', () => {
    it.each([
      ['another origin', 'https://evil.example/exports/report.pdf', {}],
      ['another port', 'https://files.example.com:8443/exports/report.pdf', { allowedOrigins: [ORIGIN] }],
      ['another scheme', 'http://files.example.com/exports/report.pdf', { allowedOrigins: [ORIGIN] }],
      ['a file: URL', 'file:///etc/passwd', {}],
      ['credentials', 'https://user:pw@files.example.com/exports/report.pdf', {}],
      ['a path above base', `${ORIGIN}/private/key`, { base: `${ORIGIN}/exports/` }],
      ['a sibling of base that shares its prefix', `${ORIGIN}/exports-old/x`, { base: `${ORIGIN}/exports` }],
      ['not a URL', 'not a url', {}],
    ] as [string, string, HttpSourceOptions][])('answers 400 for %s, without fetching', async (_, url, options) => {
      const { impl, calls } = fakeFetch(() => new Response('x'));
      const allowed = { allowedOrigins: [ORIGIN], ...options, fetch: impl };
      expect((await failure(httpSource(request(), url, allowed))).status).toBe(400);
      expect(calls).toHaveLength(0);
    });

    it('fetches another origin only when it is listed', async () => {
      const { impl, calls } = fakeFetch(() => new Response('x'));
      await httpSource(request(), 'https://cdn.example.com/x', {
        base: `${ORIGIN}/exports/`,
        allowedOrigins: ['https://cdn.example.com'],
        fetch: impl,
      });
      expect(calls[0]!.url).toBe('https://cdn.example.com/x');
    });

    it('follows a relative redirect within the origin and names the file after the final URL', async () => {
      const { impl, calls } = fakeFetch((url) =>
        url.pathname === '/exports/latest'
          ? new Response(null, { status: 302, headers: { location: 'v2/r%C3%A9sum%C3%A9.pdf' } })
          : new Response('v2'),
      );
      const source = await httpSource(request(), `${ORIGIN}/exports/latest`, { fetch: impl });
      expect(calls.map((call) => call.url)).toEqual([`${ORIGIN}/exports/latest`, `${ORIGIN}/exports/v2/r%C3%A9sum%C3%A9.pdf`]);
      expect(source.name).toBe('résumé.pdf');
    });

    it.each([
      ['no Location', {}],
      ['a Location elsewhere', { location: 'https://evil.example/x' }],
      ['a javascript: Location', { location: 'javascript:alert(1)' }],
      ['a Location with credentials', { location: 'https://u:p@files.example.com/exports/x' }],
    ])('answers 502 for a redirect with %s, without following it', async (_, headers: Record<string, string>) => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const { impl, calls } = fakeFetch(() => new Response(null, { status: 302, headers }));
      expect((await failure(httpSource(request(), URL_, { fetch: impl }))).status).toBe(502);
      expect(calls).toHaveLength(1);
    });

    it('answers 502 after maxRedirects hops', async () => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const { impl, calls } = fakeFetch(
        (url) => new Response(null, { status: 307, headers: { location: `${url.pathname}x` } }),
      );
      expect((await failure(httpSource(request(), URL_, { fetch: impl, maxRedirects: 2 }))).status).toBe(502);
      expect(calls).toHaveLength(3);
    });
  });

  describe('when the upstream cannot be reached', () => {
    it('answers 502 for a network error', async () => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const impl = (async () => {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
      }) as typeof fetch;
      const error = await failure(httpSource(request(), URL_, { fetch: impl }));
      expect(error.status).toBe(502);
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('answers 504 after 30 seconds by default, not before', async () => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const hanging = ((_: unknown, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error));
        })) as typeof fetch;
      let settled: HttpError | undefined;
      const pending = failure(httpSource(request(), URL_, { fetch: hanging })).then((error) => (settled = error));
      await vi.advanceTimersByTimeAsync(29_999);
      expect(settled).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect((await pending).status).toBe(504);
    });

    it('gives up with 499 when the client has gone away', async () => {
      const client = new AbortController();
      const hanging = ((_: unknown, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error));
        })) as typeof fetch;
      const pending = failure(httpSource(request({}, 'GET', client.signal), URL_, { fetch: hanging, timeoutMs: 2_000 }));
      client.abort();
      expect((await pending).status).toBe(499);
    });
  });
});

describe('resolveHttpSourceOptions', () => {
  it('makes base a directory and allows its origin', () => {
    const resolved = resolveHttpSourceOptions({ base: `${ORIGIN}/exports`, allowedOrigins: ['https://cdn.example.com/'] });
    expect(resolved.base?.href).toBe(`${ORIGIN}/exports/`);
    expect(resolved.allowedOrigins).toEqual(['https://cdn.example.com', ORIGIN]);
    expect(resolved.timeoutMs).toBe(30_000);
    expect(resolved.maxRedirects).toBe(5);
  });

  it('gives the same result for resolved options', () => {
    const once = resolveHttpSourceOptions({ base: `${ORIGIN}/exports`, timeoutMs: 10 });
    expect(resolveHttpSourceOptions(once)).toEqual(once);
  });

  it.each([
    ['a base that is not a URL', { base: 'exports/' }],
    ['a base that is not http(s)', { base: 'ftp://files.example.com/' }],
    ['a base with a query', { base: `${ORIGIN}/x?token=1` }],
    ['a base with credentials', { base: 'https://u:p@files.example.com/' }],
    ['an empty allowedOrigins', { allowedOrigins: [] }],
    ['an allowed origin with a path', { allowedOrigins: [`${ORIGIN}/exports`] }],
    ['an allowed origin that is not http(s)', { allowedOrigins: ['file:///'] }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['a negative timeout', { timeoutMs: -1 }],
    ['a NaN timeout', { timeoutMs: Number.NaN }],
    ['a timeout setTimeout cannot hold', { timeoutMs: 2 ** 31 }],
    ['a negative maxRedirects', { maxRedirects: -1 }],
    ['a fractional maxRedirects', { maxRedirects: 1.5 }],
    ['a fetch that is not a function', { fetch: 'fetch' as unknown as typeof fetch }],
  ] as [string, HttpSourceOptions][])('refuses %s', (_, options) => {
    expect(() => resolveHttpSourceOptions(options)).toThrow(ConfigurationError);
  });
});

describe('confinedSegment', () => {
  it.each([
    ['report.pdf'],
    ['r%C3%A9sum%C3%A9.pdf'],
    ['100%25.txt'],
    ['...'],
    ['a..b'],
    ['%2e%2e%2e'],
  ])('accepts %s', (segment) => {
    expect(confinedSegment(segment)).toBe(true);
  });

  it.each([
    ['', 'an empty segment'],
    ['.', 'a dot'],
    ['..', 'a dot-dot'],
    ['%2e%2e', 'an encoded dot-dot'],
    ['%2E.', 'a half-encoded dot-dot'],
    ['%252e%252e', 'a double-encoded dot-dot'],
    ['..%2fx', 'an encoded slash'],
    ['..%252Fx', 'a double-encoded slash'],
    ['a\\b', 'a backslash'],
    ['..%5cx', 'an encoded backslash'],
    ['a%00b', 'an encoded NUL'],
    ['a%0d%0ab', 'encoded CR LF'],
    [`${'%25'.repeat(1)}${'25'.repeat(9)}2e`, 'nesting deeper than 8 decodings'],
  ])('refuses %s (%s)', (segment) => {
    expect(confinedSegment(segment)).toBe(false);
  });
});
