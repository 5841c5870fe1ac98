import { describe, expect, it } from 'vitest';
import { bytesOf, bytesStream } from './bytes-stream';

describe('bytesStream', () => {
  it('reads as one chunk holding the bytes, then ends', async () => {
    const bytes = Buffer.from('hello');
    const chunks: Uint8Array[] = [];
    for await (const chunk of bytesStream(bytes)) chunks.push(chunk);
    expect(chunks).toEqual([bytes]);
  });

  it('reads as an empty stream for no bytes', async () => {
    const reader = bytesStream(Buffer.alloc(0)).getReader();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });
});

describe('bytesOf', () => {
  it('gives the bytes behind a stream from bytesStream that nobody reads', () => {
    const bytes = Buffer.from('hello');
    expect(bytesOf(bytesStream(bytes))).toBe(bytes);
  });

  it('gives nothing once someone holds a reader: those bytes are theirs', () => {
    const stream = bytesStream(Buffer.from('hello'));
    stream.getReader();
    expect(bytesOf(stream)).toBeUndefined();
  });

  it('gives nothing for any other stream', () => {
    const other = new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
    expect(bytesOf(other)).toBeUndefined();
  });
});
