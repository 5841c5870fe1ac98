import { describe, expect, it } from 'vitest';
import type { ByteRange } from '../http/range';
import { FileChangedError } from '../errors';
import { resolveOptions } from './options';
import { serve } from './serve';
import type { Source } from './source';

const options = resolveOptions({}, 'test');
const content = Buffer.from('0123456789');

/** A source that records which of its read paths the engine took. */
function source(readSmall: Source['readSmall']): { source: Source; calls: string[] } {
  const calls: string[] = [];
  const stream = (bytes: Uint8Array) => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(bytes), c.close()) });
  return {
    calls,
    source: {
      name: 'digits.txt',
      size: content.length,
      etag: '"digits"',
      exact: true,
      readSmall: readSmall && ((range?: ByteRange) => (calls.push(`readSmall ${range ? `${range.start}-${range.end}` : 'all'}`), readSmall(range))),
      open(range) {
        calls.push(`open ${range ? `${range.start}-${range.end}` : 'all'}`);
        return stream(range ? content.subarray(range.start, range.end + 1) : content);
      },
    },
  };
}

const bytesOf = (range?: ByteRange) => Buffer.from(range ? content.subarray(range.start, range.end + 1) : content);

describe('serve with a source that reads small bodies at once (readSmall)', () => {
  it('sends the bytes readSmall gives and never opens a stream', async () => {
    const { source: s, calls } = source(bytesOf);
    const response = await serve(new Request('http://x/'), {}, () => s, options);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('0123456789');
    expect(calls).toEqual(['readSmall all']);
  });

  it('reads one range at once too, and a multipart answer still through the streams', async () => {
    const { source: s, calls } = source(bytesOf);
    const single = await serve(new Request('http://x/', { headers: { range: 'bytes=2-4' } }), {}, () => s, options);
    expect(single.status).toBe(206);
    expect(await single.text()).toBe('234');
    const multi = await serve(new Request('http://x/', { headers: { range: 'bytes=0-1,5-6' } }), {}, () => s, options);
    expect(multi.status).toBe(206);
    expect(await multi.text()).toContain('56');
    expect(calls).toEqual(['readSmall 2-4', 'open 0-1', 'open 5-6']);
  });

  it('streams with open when readSmall says the body is too large (undefined)', async () => {
    const { source: s, calls } = source(() => undefined);
    const response = await serve(new Request('http://x/'), {}, () => s, options);
    expect(await response.text()).toBe('0123456789');
    expect(calls).toEqual(['readSmall all', 'open all']);
  });

  it('never sends bytes of another length than the headers announce: it streams instead', async () => {
    const { source: s, calls } = source(() => Buffer.from('short'));
    const response = await serve(new Request('http://x/'), {}, () => s, options);
    expect(await response.text()).toBe('0123456789');
    expect(calls).toEqual(['readSmall all', 'open all']);
  });

  it('reads nothing for HEAD, 304 or 416', async () => {
    const { source: s, calls } = source(bytesOf);
    expect((await serve(new Request('http://x/', { method: 'HEAD' }), {}, () => s, options)).status).toBe(200);
    expect((await serve(new Request('http://x/', { headers: { 'if-none-match': '"digits"' } }), {}, () => s, options)).status).toBe(304);
    expect((await serve(new Request('http://x/', { headers: { range: 'bytes=50-' } }), {}, () => s, options)).status).toBe(416);
    expect(calls).toEqual([]);
  });

  it('looks the file up again when readSmall finds it changed since its stat', async () => {
    let loads = 0;
    const response = await serve(
      new Request('http://x/'),
      {},
      () => {
        loads++;
        return source(
          loads === 1
            ? () => {
                throw new FileChangedError('digits.txt');
              }
            : bytesOf,
        ).source;
      },
      options,
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('0123456789');
    expect(loads).toBe(2);
  });
});
