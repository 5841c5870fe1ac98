import { describe, expect, it } from 'vitest';
import { busyChunks, holdLimitMs, probeEventLoop } from './event-loop-probe.test-support';
import { iterableToStream } from './iterable-stream';
import { exactLength, sliceStream, splitStream } from './slice-stream';

/** A source that hands out `layout` chunks of the bytes 0, 1, 2, ... one per pull. */
function source(layout: readonly number[], onCancel?: () => void): ReadableStream<Uint8Array> {
  let next = 0;
  let index = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (index === layout.length) {
          controller.close();
          return;
        }
        const length = layout[index++]!;
        controller.enqueue(Uint8Array.from({ length }, () => next++));
      },
      cancel() {
        onCancel?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/** A source that never ends: 10-byte chunks forever. */
function endless(counter: { pulled: number; cancelled: boolean }): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        counter.pulled++;
        controller.enqueue(new Uint8Array(10));
      },
      cancel() {
        counter.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const bytes: number[] = [];
  for await (const chunk of stream) bytes.push(...chunk);
  return bytes;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const layouts: Array<{ layout: string; chunks: number[] }> = [
  { layout: 'one chunk of 10', chunks: [10] },
  { layout: 'chunks of 3, 3, 4', chunks: [3, 3, 4] },
  { layout: 'ten one-byte chunks', chunks: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
  { layout: 'empty chunks among 5 and 5', chunks: [0, 5, 0, 0, 5, 0] },
  { layout: 'chunks of 1 and 9', chunks: [1, 9] },
];

const spans: Array<{ start: number; end?: number }> = [
  { start: 0, end: 9 },
  { start: 0, end: 0 },
  { start: 9, end: 9 },
  { start: 2, end: 5 },
  { start: 3, end: 5 },
  { start: 3, end: 3 },
  { start: 5, end: 5 },
  { start: 1, end: 8 },
  { start: 0 },
  { start: 4 },
  { start: 9 },
];

const table = layouts.flatMap(({ layout, chunks }) => spans.map((span) => ({ layout, chunks, ...span })));

describe('sliceStream', () => {
  it.each(table)('passes exactly bytes $start..$end of $layout', async ({ chunks, start, end }) => {
    const expected = range(start, end ?? 9);
    expect(await readAll(sliceStream(source(chunks), start, end))).toEqual(expected);
  });

  it('passes nothing when start lies past the end of the source', async () => {
    expect(await readAll(sliceStream(source([3, 3]), 10, 20))).toEqual([]);
  });

  it('stops reading an endless source once end is passed, and cancels it', async () => {
    const counter = { pulled: 0, cancelled: false };
    const bytes = await readAll(sliceStream(endless(counter), 25, 34));
    expect(bytes).toHaveLength(10);
    expect(counter.pulled).toBeLessThanOrEqual(5);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(counter.cancelled).toBe(true);
  });

  it('cancels the source when its reader cancels', async () => {
    const counter = { pulled: 0, cancelled: false };
    const reader = sliceStream(endless(counter), 0).getReader();
    await reader.read();
    await reader.cancel();
    // The pipe behind pipeThrough passes the cancel upstream a few ticks later.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(counter.cancelled).toBe(true);
  });

  it('passes on an error of the source', async () => {
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('upstream broke'));
      },
    });
    await expect(readAll(sliceStream(failing, 0, 5))).rejects.toThrow('upstream broke');
  });
});

describe('exactLength', () => {
  it.each(layouts)('passes $layout through unchanged when it carries exactly the declared length', async ({ chunks }) => {
    expect(await readAll(exactLength(source(chunks), 10))).toEqual(range(0, 9));
  });

  it('passes an empty source declared as 0 bytes', async () => {
    expect(await readAll(exactLength(source([]), 0))).toEqual([]);
  });

  it.each([
    { what: 'one byte short', chunks: [3, 3, 3], length: 10 },
    { what: 'empty', chunks: [], length: 10 },
    { what: 'ending after an empty chunk', chunks: [5, 0], length: 6 },
  ])('errors when the source is shorter: $what', async ({ chunks, length }) => {
    await expect(readAll(exactLength(source(chunks), length))).rejects.toThrow(/ended at \d+ of its declared/);
  });

  it.each([
    { what: 'one byte long', chunks: [3, 3, 5], length: 10 },
    { what: 'long in its first chunk', chunks: [11], length: 10 },
    { what: 'any bytes when 0 were declared', chunks: [1], length: 0 },
  ])('errors when the source is longer: $what', async ({ chunks, length }) => {
    await expect(readAll(exactLength(source(chunks), length))).rejects.toThrow(/longer than its declared size/);
  });

  it('never passes on more than the declared number of bytes', async () => {
    const received: number[] = [];
    const reader = exactLength(source([4, 4, 4]), 10).getReader();
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          received.push(...value);
        }
      })(),
    ).rejects.toThrow();
    expect(received.length).toBeLessThanOrEqual(10);
  });

  it('cancels an endless source once it has run long', async () => {
    const counter = { pulled: 0, cancelled: false };
    await expect(readAll(exactLength(endless(counter), 25))).rejects.toThrow(/longer/);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(counter.cancelled).toBe(true);
    expect(counter.pulled).toBeLessThanOrEqual(5);
  });
});

describe('splitStream', () => {
  it('gives each range from one pass over the source, whatever the chunk layout', async () => {
    let cancelled = 0;
    const parts = splitStream(source([3, 1, 7, 2, 20], () => cancelled++), [
      { start: 1, end: 2 },
      { start: 4, end: 11 },
      { start: 30, end: 32 },
    ]);
    expect(await readAll(parts[0]!)).toEqual(range(1, 2));
    expect(await readAll(parts[1]!)).toEqual(range(4, 11));
    expect(await readAll(parts[2]!)).toEqual(range(30, 32));
    expect(cancelled).toBe(1);
  });

  it('errors the range the source ends before', async () => {
    const [first, second] = splitStream(source([10]), [{ start: 0, end: 1 }, { start: 8, end: 12 }]);
    expect(await readAll(first!)).toEqual([0, 1]);
    await expect(readAll(second!)).rejects.toThrow(/ended/);
  });

  it('stops the source once every range is done or cancelled', async () => {
    const counter = { pulled: 0, cancelled: false };
    const [first, second] = splitStream(endless(counter), [{ start: 0, end: 4 }, { start: 100, end: 104 }]);
    expect(await readAll(first!)).toHaveLength(5);
    expect(counter.cancelled).toBe(false);
    await second!.cancel();
    expect(counter.cancelled).toBe(true);
  });

  it('refuses ranges that are not ascending and apart', () => {
    expect(() => splitStream(source([10]), [{ start: 5, end: 6 }, { start: 0, end: 1 }])).toThrow(RangeError);
    expect(() => splitStream(source([10]), [{ start: 0, end: 5 }, { start: 5, end: 6 }])).toThrow(RangeError);
  });
});

describe('skipping to a far range of generated content', () => {
  // 800 chunks of 64 KiB that cost 1 ms of CPU each: skipping to the last one is 0.8 s of work
  // with no I/O in it. Before the skipping took turns, a timer waited for all of it.
  const CHUNKS = 800;
  const SIZE = 64 * 1024;
  const generated = () => iterableToStream(busyChunks(CHUNKS, SIZE, 1));
  const last = (CHUNKS - 1) * SIZE;

  /** The probe's bounds: generous for a busy 2-core machine, far below the work's own length. */
  function expectNotHeld({ worstDelayMs, totalMs }: { worstDelayMs: number; totalMs: number }) {
    expect(totalMs).toBeGreaterThan(CHUNKS * 0.9);
    expect(worstDelayMs).toBeLessThan(holdLimitMs(totalMs));
  }

  it('sliceStream lets timers and other requests run while it drops the bytes before the range', async () => {
    const probe = await probeEventLoop(() => readAll(sliceStream(generated(), last + 10, last + 19)));
    expect(probe.result).toEqual(Array.from({ length: 10 }, () => (CHUNKS - 1) & 0xff));
    expectNotHeld(probe);
  });

  it('splitStream lets timers and other requests run while it drops the bytes between ranges', async () => {
    const probe = await probeEventLoop(async () => {
      const parts = splitStream(generated(), [{ start: 0, end: 0 }, { start: last, end: last + 1 }]);
      return [await readAll(parts[0]!), await readAll(parts[1]!)];
    });
    expect(probe.result).toEqual([[0], [(CHUNKS - 1) & 0xff, (CHUNKS - 1) & 0xff]]);
    expectNotHeld(probe);
  });

  it('stops skipping, and cancels the source, when the client goes away mid-skip', async () => {
    let made = 0;
    let cancelled = false;
    const endlessBusy = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const until = performance.now() + 1;
          while (performance.now() < until) {
            // CPU time per chunk, as a generator spends.
          }
          made++;
          controller.enqueue(new Uint8Array(SIZE));
        },
        cancel() {
          cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
    const reader = sliceStream(endlessBusy, Number.MAX_SAFE_INTEGER - 10).getReader();
    const read = reader.read();
    // A timer can fire during the skip only because the skip takes turns.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await reader.cancel(new Error('client went away'));
    expect(await read).toEqual({ done: true, value: undefined });
    expect(cancelled).toBe(true);
    const madeAtCancel = made;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(made).toBeLessThanOrEqual(madeAtCancel + 1);
  });

  it('lets timers run while eight streams skip at once', async () => {
    const probe = await probeEventLoop(() => Promise.all(Array.from({ length: 8 }, () => readAll(sliceStream(iterableToStream(busyChunks(100, SIZE, 1)), 99 * SIZE, 99 * SIZE)))));
    expect(probe.result.every((bytes) => bytes.length === 1 && bytes[0] === 99)).toBe(true);
    expect(probe.totalMs).toBeGreaterThan(8 * 100 * 0.9);
    expect(probe.worstDelayMs).toBeLessThan(holdLimitMs(probe.totalMs));
  });
});
