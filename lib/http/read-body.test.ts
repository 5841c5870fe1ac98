import { describe, expect, it } from 'vitest';
import { HttpError } from '../errors';
import { DEFAULT_MAX_BODY_BYTES, declaredLength, readBody, readJson, readText } from './read-body';

const URL_ = 'http://x/api';

/** A streamed body (no Content-Length) that records how many chunks were pulled from it. */
function streamed(chunks: Uint8Array[]): { request: Request; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[pulled++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const request = new Request(URL_, { method: 'POST', body, duplex: 'half' } as RequestInit);
  return { request, pulled: () => pulled };
}

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 0;
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
}

describe('declaredLength', () => {
  it.each([
    [undefined, undefined],
    ['0', 0],
    ['1234', 1234],
    ['7, 7', 7],
  ])('reads Content-Length %s as %s', (header, expected) => {
    const headers = header === undefined ? undefined : { 'content-length': header };
    expect(declaredLength(new Request(URL_, { headers }))).toBe(expected);
  });

  it.each(['-1', '1.5', '0x10', '7, 8', '', '1e3', '9999999999999999'])('refuses Content-Length %j with 400', (header) => {
    expect(() => declaredLength(new Request(URL_, { headers: { 'content-length': header } }))).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });
});

describe('readBody', () => {
  it('returns the bytes of a body within the limit', async () => {
    const request = new Request(URL_, { method: 'POST', body: 'hello' });
    expect(new TextDecoder().decode(await readBody(request, { maxBytes: 5 }))).toBe('hello');
  });

  it('returns no bytes for a request without a body', async () => {
    expect((await readBody(new Request(URL_))).byteLength).toBe(0);
  });

  it('refuses a declared Content-Length over the limit with 413 before reading a byte', async () => {
    const declared = new Request(URL_, {
      method: 'POST',
      body: new Uint8Array(10),
      headers: { 'content-length': String(DEFAULT_MAX_BODY_BYTES + 1) },
    });
    const error = await readBody(declared).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(413);
    expect((error as HttpError).headers).toEqual({ connection: 'close' });
    expect(declared.bodyUsed).toBe(false);
  });

  it('refuses a streamed body with 413 as soon as it passes the limit, leaving the rest unread', async () => {
    const chunks = Array.from({ length: 100 }, () => new Uint8Array(1024));
    const { request, pulled } = streamed(chunks);
    expect(await status(readBody(request, { maxBytes: 4096 }))).toBe(413);
    // Five chunks pass the limit; a stream may pull one ahead (its high-water mark), no more.
    expect(pulled()).toBeLessThanOrEqual(6);
  });

  it('accepts a body of exactly the limit', async () => {
    const { request } = streamed([new Uint8Array(2048), new Uint8Array(2048)]);
    expect((await readBody(request, { maxBytes: 4096 })).byteLength).toBe(4096);
  });

  it('answers 400 when the body breaks off', async () => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('client went away'));
      },
    });
    const request = new Request(URL_, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(await status(readBody(request))).toBe(400);
  });

  it.each([-1, 1.5, NaN])('refuses a maxBytes of %d', async (maxBytes) => {
    await expect(readBody(new Request(URL_), { maxBytes })).rejects.toThrow(RangeError);
  });
});

describe('readText', () => {
  it('decodes UTF-8', async () => {
    expect(await readText(new Request(URL_, { method: 'POST', body: 'été' }))).toBe('été');
  });

  it('refuses bytes that are not UTF-8 with 400', async () => {
    const request = new Request(URL_, { method: 'POST', body: new Uint8Array([0x66, 0xc0, 0xaf]) });
    expect(await status(readText(request))).toBe(400);
  });
});

describe('readJson', () => {
  it('parses JSON', async () => {
    expect(await readJson(new Request(URL_, { method: 'POST', body: '{"path":"a.txt"}' }))).toEqual({ path: 'a.txt' });
  });

  it.each(['', '{', 'nope'])('refuses %j with 400', async (body) => {
    expect(await status(readJson(new Request(URL_, { method: 'POST', body })))).toBe(400);
  });

  it('refuses 24 MiB of JSON with 413 holding no more than the limit', async () => {
    const chunk = new TextEncoder().encode(`[${'1,'.repeat(32 * 1024)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 24 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const request = new Request(URL_, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(await status(readJson(request, { maxBytes: 4096 }))).toBe(413);
    expect(sent).toBeLessThanOrEqual(2 * chunk.byteLength);
  });
});
