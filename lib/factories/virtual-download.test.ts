import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, HttpError } from '../errors';
import type { VirtualContent, VirtualFile } from '../sources/virtual-source';
import { busyChunks, holdLimitMs, probeEventLoop } from '../streams/event-loop-probe';
import { virtualDownload, type VirtualDownloadOptions } from './virtual-download';

const encoder = new TextEncoder();

function get(options: VirtualDownloadOptions, headers: HeadersInit = {}, url = 'http://x/export') {
  return virtualDownload(options).GET(new Request(url, { headers }), { params: Promise.resolve({}) });
}

async function bytes(response: Response) {
  return new Uint8Array(await response.arrayBuffer());
}

async function text(response: Response) {
  return new TextDecoder().decode(await response.arrayBuffer());
}

function streamOf(...chunks: string[]) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('virtualDownload', () => {
  describe('with each kind of content', () => {
    const known: [string, VirtualContent, Uint8Array][] = [
      ['a string, as UTF-8 measured in bytes', 'héllo', encoder.encode('héllo')],
      ['a Uint8Array', new Uint8Array([0, 1, 2, 255]), new Uint8Array([0, 1, 2, 255])],
      ['an ArrayBuffer', new Uint8Array([9, 8, 7]).buffer, new Uint8Array([9, 8, 7])],
      ['a Blob', new Blob(['blob ', 'data']), encoder.encode('blob data')],
      ['an empty string', '', new Uint8Array()],
    ];
    it.each(known)('serves %s with its Content-Length and Accept-Ranges: bytes', async (_label, content, expected) => {
      const response = await get({ file: { name: 'out.bin', content } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(expected.length));
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      expect(await bytes(response)).toEqual(expected);
    });

    it('measures the string héllo as 6 bytes', async () => {
      const response = await get({ file: { name: 'h.txt', content: 'héllo' } });
      expect(response.headers.get('content-length')).toBe('6');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    });

    const generated: [string, () => VirtualFile['content'], string][] = [
      ['a sync iterable (an array, readable again)', () => ['one ', 'two ', encoder.encode('three')], 'one two three'],
      ['a reusable sync iterable object', () => ({ *[Symbol.iterator]() { yield 'x'; yield 'y'; } }), 'xy'],
      ['an async generator function', () => async function* () { yield 'a'; yield encoder.encode('b'); yield 'c'; }, 'abc'],
      ['a sync generator function', () => function* () { yield 'g1'; yield 'g2'; }, 'g1g2'],
      ['a ReadableStream factory', () => () => streamOf('str', 'eam'), 'stream'],
      ['an async factory of a string', () => async () => 'later', 'later'],
    ];
    it.each(generated)('serves %s, twice, without Content-Length unless sized', async (_label, make, expected) => {
      const route = virtualDownload({ file: { name: 'gen.txt', content: make() } });
      for (let round = 0; round < 2; round++) {
        const response = await route.GET(new Request('http://x/'));
        expect(response.status).toBe(200);
        expect(await text(response)).toBe(expected);
      }
    });

    it('sends no Content-Length and Accept-Ranges: none for a generator without a size', async () => {
      const response = await get({ file: { name: 'gen.txt', content: async function* () { yield 'abc'; } } });
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.headers.get('accept-ranges')).toBe('none');
      expect(await text(response)).toBe('abc');
    });

    it('ignores a Range on a generator without a size', async () => {
      const response = await get({ file: { name: 'gen.txt', content: async function* () { yield 'abcdef'; } } }, { range: 'bytes=0-1' });
      expect(response.status).toBe(200);
      expect(await text(response)).toBe('abcdef');
    });

    it('sends Content-Length for a generator with a size', async () => {
      const response = await get({ file: { name: 'gen.txt', size: 3, content: async function* () { yield 'a'; yield 'bc'; } } });
      expect(response.headers.get('content-length')).toBe('3');
      expect(await text(response)).toBe('abc');
    });

    it('serves a Range of a sized generator by skipping the bytes before it', async () => {
      const content = async function* () { yield 'abc'; yield 'def'; yield 'ghi'; };
      const response = await get({ file: { name: 'gen.txt', size: 9, content } }, { range: 'bytes=2-6' });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe('bytes 2-6/9');
      expect(await text(response)).toBe('cdefg');
    });

    it('serves several ranges of a sized generator', async () => {
      const content = vi.fn(async function* () { yield 'abcdefghi'; });
      const response = await get({ file: { name: 'gen.txt', size: 9, content } }, { range: 'bytes=0-1,7-8' });
      expect(response.status).toBe(206);
      const body = await text(response);
      expect(body).toMatch(/Content-Range: bytes 0-1\/9\r\n\r\nab\r\n/);
      expect(body).toMatch(/Content-Range: bytes 7-8\/9\r\n\r\nhi\r\n/);
    });

    describe('on a far Range of a generator that costs CPU time', () => {
      // 800 chunks of 64 KiB at 1 ms of CPU each; the Range asks for the end: 0.8 s of skipping
      // with no I/O in it, which once held every other request of the process.
      const SIZE = 64 * 1024;
      const file = { name: 'gen.bin', size: 800 * SIZE, content: () => busyChunks(800, SIZE, 1) };

      it.each([
        ['one range', `bytes=${799 * SIZE}-${799 * SIZE + 3}`],
        ['several ranges', `bytes=0-0,${799 * SIZE}-${799 * SIZE + 3}`],
      ])('lets a concurrent request be answered while it skips (%s)', async (_label, range) => {
        const tiny = virtualDownload({ file: { name: 'tiny.txt', content: 'tiny' } });
        const latencies: number[] = [];
        let stop = false;
        // A second request every 10 ms while the first one runs, each answered and read whole.
        const others = (async () => {
          while (!stop) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            const started = performance.now();
            const response = await tiny.GET(new Request('http://x/tiny.txt'), { params: Promise.resolve({}) });
            expect(await text(response)).toBe('tiny');
            latencies.push(performance.now() - started);
          }
        })();
        const probe = await probeEventLoop(async () => {
          const response = await get({ file }, { range });
          expect(response.status).toBe(206);
          return bytes(response);
        });
        stop = true;
        await others;
        expect(probe.result.length).toBeGreaterThanOrEqual(4);
        expect(probe.totalMs).toBeGreaterThan(720);
        expect(probe.worstDelayMs).toBeLessThan(holdLimitMs(probe.totalMs));
        expect(latencies.length).toBeGreaterThan(5);
        expect(Math.max(...latencies)).toBeLessThan(holdLimitMs(probe.totalMs));
      });
    });

    it('serves a Range of a string in bytes, not characters', async () => {
      const response = await get({ file: { name: 'h.txt', content: 'héllo' } }, { range: 'bytes=1-2' });
      expect(response.headers.get('content-range')).toBe('bytes 1-2/6');
      expect(await bytes(response)).toEqual(encoder.encode('é'));
    });

    it('serves a Range of a Blob', async () => {
      const response = await get({ file: { name: 'b.txt', content: new Blob(['blob data']) } }, { range: 'bytes=-4' });
      expect(response.status).toBe(206);
      expect(await text(response)).toBe('data');
    });

    it('sends the first bytes of a generator before it finishes', async () => {
      let finish!: () => void;
      const gate = new Promise<void>((resolve) => (finish = resolve));
      const response = await get({
        file: {
          name: 'slow.txt',
          content: async function* () {
            yield 'first line\n';
            await gate;
            yield 'last line\n';
          },
        },
      });
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toBe('first line\n');
      finish();
      const rest: string[] = [];
      for (let next = await reader.read(); !next.done; next = await reader.read()) rest.push(new TextDecoder().decode(next.value));
      expect(rest.join('')).toBe('last line\n');
    });
  });

  describe('when the client goes away', () => {
    const rows: [string, number | undefined, Record<string, string>][] = [
      ['an unsized generator', undefined, {}],
      ['a sized generator', 1e9, {}],
      ['a range of a sized generator', 1e9, { range: 'bytes=10-100000000' }],
    ];
    it.each(rows)('stops %s and runs its finally block when the body is cancelled', async (_label, size, headers) => {
      let finished = false;
      let yielded = 0;
      const content = async function* () {
        try {
          for (;;) {
            yielded++;
            yield 'x'.repeat(1000);
          }
        } finally {
          finished = true;
        }
      };
      const response = await get({ file: { name: 'endless.txt', size, content } }, headers);
      const reader = response.body!.getReader();
      await reader.read();
      await reader.cancel();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(finished).toBe(true);
      const after = yielded;
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(yielded).toBe(after);
    });

    it('stops a sized generator once the range is sent, without running it to the end', async () => {
      let finished = false;
      const content = async function* () {
        try {
          for (;;) yield 'abcdefghij';
        } finally {
          finished = true;
        }
      };
      const response = await get({ file: { name: 'endless.txt', size: 1e12, content } }, { range: 'bytes=5-14' });
      expect(response.status).toBe(206);
      expect(await text(response)).toBe('fghijabcde');
      expect(finished).toBe(true);
    });
  });

  describe('with content that is a function', () => {
    const content = () => vi.fn(async function* () { yield 'abc'; });

    it('calls it once for a GET', async () => {
      const fn = content();
      await text(await get({ file: { name: 'g.txt', etag: 'g1', content: fn } }));
      expect(fn).toHaveBeenCalledTimes(1);
    });

    const noBody: [string, string, HeadersInit, number][] = [
      ['HEAD', 'HEAD', {}, 200],
      ['a 304', 'GET', { 'if-none-match': '"g1"' }, 304],
      ['a HEAD answered 304', 'HEAD', { 'if-none-match': '"g1"' }, 304],
      ['a 412', 'GET', { 'if-match': '"other"' }, 412],
      ['a 416', 'GET', { range: 'bytes=10-20' }, 416],
    ];
    it.each(noBody)('never calls it for %s', async (_label, method, headers, status) => {
      const fn = content();
      const route = virtualDownload({ file: { name: 'g.txt', etag: 'g1', size: 3, content: fn } });
      const response = await route[method as 'GET' | 'HEAD'](new Request('http://x/', { method, headers }));
      expect(response.status).toBe(status);
      expect(await text(response)).toBe('');
      expect(fn).not.toHaveBeenCalled();
    });

    it('answers HEAD with the headers of GET', async () => {
      const route = virtualDownload({ file: { name: 'g.txt', etag: 'g1', size: 3, content: content() } });
      const viaGet = await route.GET(new Request('http://x/'));
      await viaGet.arrayBuffer();
      const viaHead = await route.HEAD(new Request('http://x/', { method: 'HEAD' }));
      expect(viaHead.status).toBe(200);
      expect([...viaHead.headers]).toEqual([...viaGet.headers]);
    });
  });

  describe('with a file made per request', () => {
    it('builds the file from the request', async () => {
      const route = virtualDownload({
        file: (request) => ({ name: 'greeting.txt', content: `hi ${new URL(request.url).searchParams.get('name')}` }),
      });
      const response = await route.GET(new Request('http://x/?name=ann'));
      expect(await text(response)).toBe('hi ann');
      expect(response.headers.get('content-length')).toBe('6');
    });

    it('answers the status of an HttpError it throws', async () => {
      const route = virtualDownload({
        file: () => {
          throw new HttpError(400, 'count must be a whole number');
        },
      });
      const response = await route.GET(new Request('http://x/'));
      expect(response.status).toBe(400);
      expect(await text(response)).toContain('count must be a whole number');
    });

    it('may give a fresh generator object each time', async () => {
      const route = virtualDownload({ file: () => ({ name: 'g.txt', content: (function* () { yield 'fresh'; })() }) });
      expect(await text(await route.GET(new Request('http://x/')))).toBe('fresh');
      expect(await text(await route.GET(new Request('http://x/')))).toBe('fresh');
    });
  });

  describe('when the content does not match its declared size', () => {
    it('makes reading the body reject when a generator yields fewer bytes than its size', async () => {
      const response = await get({ file: { name: 'g.txt', size: 10, content: async function* () { yield 'short'; } } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('10');
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('makes reading the body reject when a generator yields more bytes than its size', async () => {
      const response = await get({ file: { name: 'g.txt', size: 2, content: async function* () { yield 'too long'; } } });
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('makes reading the body reject when a generator yields something that is not text or bytes', async () => {
      const content = async function* () {
        yield 'ok';
        yield 42 as unknown as string;
      };
      const response = await get({ file: { name: 'g.txt', content } });
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('makes reading the body reject when a generator throws midway', async () => {
      const response = await get({
        file: {
          name: 'g.txt',
          content: async function* () {
            yield 'partial';
            throw new Error('query failed');
          },
        },
      });
      expect(response.status).toBe(200);
      await expect(response.arrayBuffer()).rejects.toThrow();
    });
  });

  describe('validators and headers', () => {
    it('gives fixed content a strong ETag that is the same on every request and every route', async () => {
      const route = virtualDownload({ file: { name: 'a.txt', content: 'same' } });
      const first = (await route.GET(new Request('http://x/'))).headers.get('etag');
      const second = (await route.GET(new Request('http://x/'))).headers.get('etag');
      const other = (await get({ file: { name: 'b.txt', content: encoder.encode('same') } })).headers.get('etag');
      expect(first).toMatch(/^"[\x21\x23-\x7e]+"$/);
      expect(second).toBe(first);
      expect(other).toBe(first);
    });

    it('changes the ETag when the content changes', async () => {
      const one = (await get({ file: { name: 'a.txt', content: 'one' } })).headers.get('etag');
      const two = (await get({ file: { name: 'a.txt', content: 'two' } })).headers.get('etag');
      expect(one).not.toBeNull();
      expect(two).not.toBe(one);
    });

    it('answers 304 to its own content ETag', async () => {
      const route = virtualDownload({ file: { name: 'a.txt', content: 'same' } });
      const etag = (await route.GET(new Request('http://x/'))).headers.get('etag')!;
      const response = await route.GET(new Request('http://x/', { headers: { 'if-none-match': etag } }));
      expect(response.status).toBe(304);
    });

    it('uses the given etag, lastModified, contentType, charset and encoding', async () => {
      const response = await get({
        file: {
          name: 'data.csv.gz',
          content: new Uint8Array([31, 139]),
          etag: { tag: 'rev-7', weak: true },
          lastModified: new Date(Date.UTC(2024, 0, 15, 12, 0, 0)),
          contentType: 'text/csv',
          charset: 'iso-8859-1',
          encoding: 'gzip',
        },
      });
      expect(response.headers.get('etag')).toBe('W/"rev-7"');
      expect(response.headers.get('last-modified')).toBe('Mon, 15 Jan 2024 12:00:00 GMT');
      expect(response.headers.get('content-type')).toBe('text/csv; charset=iso-8859-1');
      expect(response.headers.get('content-encoding')).toBe('gzip');
    });

    it('sends no ETag for generated content without one', async () => {
      const response = await get({ file: { name: 'g.txt', content: async function* () { yield 'x'; } } });
      expect(response.headers.get('etag')).toBeNull();
    });
  });

  describe('with a configuration that cannot work', () => {
    const rows: [string, () => unknown][] = [
      ['a fixed ReadableStream (readable once only)', () => ({ content: streamOf('x') })],
      ['a sync generator object', () => ({ content: (function* () { yield 'x'; })() })],
      ['an async generator object', () => ({ content: (async function* () { yield 'x'; })() })],
      ['a file that is not an object', () => 'hello'],
      ['a file without content', () => ({ name: 'a.txt' })],
    ];
    it.each(rows)('throws a ConfigurationError at creation for %s', (_label, make) => {
      expect(() => virtualDownload({ file: make() as VirtualFile })).toThrow(ConfigurationError);
    });

    it.each([-1, 1.5, Number.NaN])('throws a ConfigurationError at creation for a size of %s', (size) => {
      expect(() => virtualDownload({ file: { content: async function* () { yield 'x'; }, size } })).toThrow(ConfigurationError);
    });

    it('throws a ConfigurationError at creation for a bad maxRanges', () => {
      expect(() => virtualDownload({ file: { content: 'x' }, maxRanges: 0 })).toThrow(ConfigurationError);
    });
  });
});
