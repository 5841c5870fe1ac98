import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { iterableToStream, type Chunk } from './iterable-stream';
import { readChunks, readBytes as readAll } from '../helpers.test-support';

function* syncGenerator(items: readonly Chunk[]): Generator<Chunk> {
  yield* items;
}

async function* asyncGenerator(items: readonly Chunk[]): AsyncGenerator<Chunk> {
  for (const item of items) yield item;
}

async function* slowAsyncGenerator(items: readonly Chunk[]): AsyncGenerator<Chunk> {
  for (const item of items) {
    await sleep(1);
    yield item;
  }
}

/** Each way of handing the same items to iterableToStream. */
const shapes: Array<{ shape: string; make: (items: readonly Chunk[]) => Iterable<Chunk> | AsyncIterable<Chunk> }> = [
  { shape: 'an array', make: (items) => [...items] },
  { shape: 'a sync generator', make: syncGenerator },
  { shape: 'an async generator', make: asyncGenerator },
  { shape: 'an async generator that pauses between items', make: slowAsyncGenerator },
];

const inputs: Array<{ name: string; items: Chunk[]; bytes: number[] }> = [
  { name: 'nothing', items: [], bytes: [] },
  { name: 'one string', items: ['abc'], bytes: [0x61, 0x62, 0x63] },
  { name: 'several strings', items: ['a', 'b', 'c'], bytes: [0x61, 0x62, 0x63] },
  { name: 'empty strings around one byte', items: ['', 'a', ''], bytes: [0x61] },
  { name: 'only empty items', items: ['', new Uint8Array(0), ''], bytes: [] },
  { name: 'a two-byte UTF-8 character', items: ['é'], bytes: [0xc3, 0xa9] },
  { name: 'three-byte UTF-8 characters', items: ['中文'], bytes: [0xe4, 0xb8, 0xad, 0xe6, 0x96, 0x87] },
  { name: 'a character outside the BMP', items: ['😀'], bytes: [0xf0, 0x9f, 0x98, 0x80] },
  {
    name: 'a surrogate pair split across two yields',
    items: ['a\uD83D', '\uDE00b'],
    bytes: [0x61, 0xf0, 0x9f, 0x98, 0x80, 0x62],
  },
  { name: 'bytes, passed through unchanged', items: [new Uint8Array([0, 255, 10, 13])], bytes: [0, 255, 10, 13] },
  { name: 'a Buffer', items: [Buffer.from([1, 2, 3])], bytes: [1, 2, 3] },
  {
    name: 'strings and bytes mixed',
    items: ['x', new Uint8Array([0xff]), 'é', new Uint8Array([0])],
    bytes: [0x78, 0xff, 0xc3, 0xa9, 0],
  },
  { name: 'a NUL character', items: ['\u0000'], bytes: [0] },
];

const table = shapes.flatMap(({ shape, make }) => inputs.map((input) => ({ shape, make, ...input })));

describe('iterableToStream', () => {
  describe('bytes', () => {
    it.each(table)('streams $name from $shape as exactly the UTF-8 bytes', async ({ make, items, bytes }) => {
      const out = await readAll(iterableToStream(make(items)));
      expect([...out]).toEqual(bytes);
    });

    it('never enqueues an empty chunk', async () => {
      for (const { make } of shapes) {
        const chunks = await readChunks(iterableToStream(make(['', 'a', '', '', 'b', ''])));
        for (const chunk of chunks) expect(chunk.length).toBeGreaterThan(0);
      }
    });
  });

  describe('coalescing', () => {
    for (const { shape, make } of shapes.slice(0, 3)) {
      it(`gathers 1000 one-byte yields from ${shape} into chunks of at least coalesceSize`, async () => {
        const chunks = await readChunks(iterableToStream(make(Array.from({ length: 1000 }, () => 'x')), 100));
        expect(chunks.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(1000);
        for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(100);
        expect(chunks.length).toBeLessThanOrEqual(10);
      });
    }

    it('passes an item larger than coalesceSize through whole', async () => {
      const big = new Uint8Array(1000).fill(7);
      const chunks = await readChunks(iterableToStream(asyncGenerator(['a', big, 'b']), 100));
      expect(Buffer.concat(chunks).length).toBe(1002);
      expect(chunks.some((chunk) => chunk.length >= 1000)).toBe(true);
    });

    it('gathers the items a generator produces together after a pause', async () => {
      async function* batch() {
        await sleep(20); // a slow query ...
        for (let i = 0; i < 1000; i++) yield 'x'; // ... then many rows at once
      }
      const chunks = await readChunks(iterableToStream(batch(), 100));
      expect(chunks.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(1000);
      for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(100);
    });
  });

  describe('with an async generator that pauses', () => {
    it('gets its first chunk out before the generator finishes', async () => {
      let finished = false;
      async function* slow() {
        yield 'first';
        await sleep(50);
        yield 'second';
        await sleep(50);
        yield 'third';
        finished = true;
      }
      const reader = iterableToStream(slow(), 64 * 1024).getReader();
      const started = Date.now();
      const first = await reader.read();
      expect(Buffer.from(first.value!).toString()).toBe('first');
      expect(finished).toBe(false);
      expect(Date.now() - started).toBeLessThan(45);
      await reader.cancel();
    });

    it('flushes what is buffered when the next item is not ready', async () => {
      async function* bursts() {
        yield 'a';
        yield 'b';
        await sleep(50);
        yield 'c';
      }
      const chunks = await readChunks(iterableToStream(bursts(), 64 * 1024));
      expect(chunks.map((chunk) => Buffer.from(chunk).toString())).toEqual(['ab', 'c']);
    });
  });

  describe('backpressure', () => {
    it('does not let an async generator run more than about coalesceSize ahead of a reader that stops', async () => {
      let produced = 0;
      async function* endless() {
        for (;;) {
          produced += 10;
          yield 'x'.repeat(10);
        }
      }
      const reader = iterableToStream(endless(), 100).getReader();
      const first = await reader.read();
      expect(first.value!.length).toBeGreaterThanOrEqual(100);
      await sleep(50);
      expect(produced).toBeLessThanOrEqual(first.value!.length + 10);
      await reader.cancel();
    });

    it('does not let a sync generator run more than coalesceSize ahead of a reader that stops', async () => {
      let produced = 0;
      function* endless() {
        for (;;) {
          produced += 10;
          yield 'x'.repeat(10);
        }
      }
      const reader = iterableToStream(endless(), 100).getReader();
      const first = await reader.read();
      expect(first.value!.length).toBe(100);
      await sleep(50);
      expect(produced).toBe(100);
      await reader.cancel();
    });

    it('does not start the generator before anyone reads', async () => {
      let started = false;
      async function* lazy() {
        started = true;
        yield 'x';
      }
      const stream = iterableToStream(lazy());
      await sleep(20);
      expect(started).toBe(false);
      await stream.cancel();
    });
  });

  describe('on cancel', () => {
    it("runs an async generator's finally block", async () => {
      let cleaned = false;
      async function* gen() {
        try {
          for (;;) yield 'x'.repeat(10);
        } finally {
          cleaned = true;
        }
      }
      const reader = iterableToStream(gen(), 100).getReader();
      await reader.read();
      await reader.cancel();
      expect(cleaned).toBe(true);
    });

    it("runs a sync generator's finally block", async () => {
      let cleaned = false;
      function* gen() {
        try {
          for (;;) yield 'x'.repeat(10);
        } finally {
          cleaned = true;
        }
      }
      const reader = iterableToStream(gen(), 100).getReader();
      await reader.read();
      await reader.cancel();
      expect(cleaned).toBe(true);
    });

    it("runs an async generator's finally block when cancelled while an item is pending", async () => {
      let cleaned = false;
      async function* gen() {
        try {
          yield 'a';
          await sleep(30);
          yield 'b';
          await sleep(10_000);
          yield 'never';
        } finally {
          cleaned = true;
        }
      }
      const reader = iterableToStream(gen(), 100).getReader();
      expect(Buffer.from((await reader.read()).value!).toString()).toBe('a');
      await reader.cancel();
      expect(cleaned).toBe(true);
    });
  });

  describe('when the iterable misbehaves', () => {
    it.each([
      { what: 'a number', bad: 42 },
      { what: 'null', bad: null },
      { what: 'an object', bad: { length: 1 } },
      { what: 'an ArrayBuffer', bad: new ArrayBuffer(1) },
    ])('errors the stream when an async generator yields $what', async ({ bad }) => {
      async function* gen() {
        yield 'ok';
        yield bad as unknown as Chunk;
      }
      await expect(readAll(iterableToStream(gen()))).rejects.toBeInstanceOf(TypeError);
    });

    it('errors the stream when a sync generator yields a number', async () => {
      function* gen() {
        yield 'ok';
        yield 42 as unknown as Chunk;
      }
      await expect(readAll(iterableToStream(gen()))).rejects.toBeInstanceOf(TypeError);
    });

    it('errors the stream with the error an async generator throws', async () => {
      async function* gen() {
        yield 'ok';
        throw new Error('query failed');
      }
      await expect(readAll(iterableToStream(gen()))).rejects.toThrow('query failed');
    });

    it('errors the stream with the error a sync generator throws', async () => {
      function* gen(): Generator<Chunk> {
        yield 'ok';
        throw new Error('boom');
      }
      await expect(readAll(iterableToStream(gen()))).rejects.toThrow('boom');
    });

    it("runs an async generator's finally block when one of its yields is refused", async () => {
      let cleaned = false;
      async function* gen() {
        try {
          yield 'ok';
          yield 42 as unknown as Chunk;
          yield 'more';
        } finally {
          cleaned = true;
        }
      }
      await expect(readAll(iterableToStream(gen()))).rejects.toBeInstanceOf(TypeError);
      expect(cleaned).toBe(true);
    });

    it("runs a sync generator's finally block when one of its yields is refused", async () => {
      let cleaned = false;
      function* gen() {
        try {
          yield 'ok';
          yield 42 as unknown as Chunk;
          yield 'more';
        } finally {
          cleaned = true;
        }
      }
      await expect(readAll(iterableToStream(gen()))).rejects.toBeInstanceOf(TypeError);
      expect(cleaned).toBe(true);
    });
  });
});
