import { describe, expect, it } from 'vitest';
import { throttle, type Clock } from './throttle';

/**
 * A clock whose time moves only when the throttle sleeps (by exactly what it asked, plus `late`
 * ms, as a busy event loop fires timers late) or when the test says so (`pass`): the reader
 * below reads as fast as it can, so what it sees is the throttle's own pacing.
 */
function fakeClock(late = 0) {
  let time = 0;
  const sleeps: number[] = [];
  const clock: Clock & { pass(ms: number): void; sleeps: number[] } = {
    now: () => time,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      if (!signal.aborted) time += ms + late;
    },
    pass: (ms) => {
      time += ms;
    },
    sleeps,
  };
  return clock;
}

/** A clock whose sleeps end only when aborted: for cancelling a body that waits. */
function stoppedClock(): Clock & { waiting: number } {
  const clock = {
    waiting: 0,
    now: () => 0,
    sleep: (_ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        clock.waiting++;
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
  return clock;
}

/** `size` bytes of a pattern, handed out in chunks of `chunk` bytes; counts how often it was pulled. */
function source(size: number, chunk: number) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31) % 251;
  const state = { pulls: 0, cancelled: undefined as unknown, bytes };
  let at = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        state.pulls++;
        if (at >= size) return controller.close();
        controller.enqueue(bytes.subarray(at, Math.min(size, at + chunk)));
        at += chunk;
      },
      cancel(reason) {
        state.cancelled = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

/** Reads every piece, noting the clock's time after each. */
async function readTimed(stream: ReadableStream<Uint8Array>, clock: Clock) {
  const pieces: Array<{ at: number; size: number }> = [];
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    chunks.push(read.value);
    pieces.push({ at: clock.now(), size: read.value.byteLength });
  }
  return { pieces, body: Buffer.concat(chunks), end: clock.now() };
}

const MB = 1_000_000;

describe('throttle', () => {
  it('sends 10 MB at 1 MB/s in 10 s, every byte in order', async () => {
    const clock = fakeClock();
    const { stream, state } = source(10 * MB, 1024 * 1024);
    const { body, end } = await readTimed(throttle(stream, { bytesPerSecond: MB }, clock), clock);
    expect(body.equals(state.bytes)).toBe(true);
    expect(end).toBeCloseTo(10_000, 6);
  });

  it('never has sent more than the rate allows at any moment', async () => {
    const clock = fakeClock();
    const { stream } = source(3 * MB, 1024 * 1024);
    const { pieces } = await readTimed(throttle(stream, { bytesPerSecond: MB }, clock), clock);
    let total = 0;
    for (const piece of pieces) {
      total += piece.size;
      expect(total).toBeLessThanOrEqual((piece.at / 1000) * MB + 1e-6);
    }
  });

  it('sends pieces of a twentieth of the rate, not the source chunks of 1 MiB', async () => {
    const clock = fakeClock();
    const { stream } = source(MB, 1024 * 1024);
    const { pieces } = await readTimed(throttle(stream, { bytesPerSecond: MB }, clock), clock);
    expect(Math.max(...pieces.map((piece) => piece.size))).toBe(MB / 20);
    expect(pieces).toHaveLength(20);
  });

  it('sends the first `after` bytes at once, then the rest at the rate', async () => {
    const clock = fakeClock();
    const { stream, state } = source(3 * MB, 64 * 1024);
    const { pieces, body, end } = await readTimed(throttle(stream, { bytesPerSecond: MB, after: MB }, clock), clock);
    expect(body.equals(state.bytes)).toBe(true);
    const atOnce = pieces.filter((piece) => piece.at === 0).reduce((sum, piece) => sum + piece.size, 0);
    expect(atOnce).toBe(MB);
    expect(end).toBeCloseTo(2000, 6);
  });

  it('cuts a source chunk that straddles the allowance where the allowance ends', async () => {
    const clock = fakeClock();
    const { stream } = source(1000, 1000);
    const { pieces } = await readTimed(throttle(stream, { bytesPerSecond: 100, after: 300 }, clock), clock);
    expect(pieces[0]).toEqual({ at: 0, size: 300 });
    expect(pieces.slice(1).every((piece) => piece.size === 5)).toBe(true);
    expect(pieces.at(-1)!.at).toBeCloseTo(7000, 6);
  });

  it('keeps the rate when every timer fires late: the lateness is caught up', async () => {
    const clock = fakeClock(3);
    const { stream } = source(5 * MB, 1024 * 1024);
    const { end } = await readTimed(throttle(stream, { bytesPerSecond: MB }, clock), clock);
    // 100 sleeps, each 3 ms late: only the last one's lateness remains.
    expect(end).toBeGreaterThanOrEqual(5000);
    expect(end).toBeLessThanOrEqual(5003);
  });

  it('after a reader pauses, sends at most one second of the rate at once, then paces again', async () => {
    const clock = fakeClock();
    const { stream } = source(5 * MB, 1024 * 1024);
    const reader = throttle(stream, { bytesPerSecond: MB }, clock).getReader();
    await reader.read();
    clock.pass(10_000);
    const paused = clock.now();
    let burst = 0;
    for (;;) {
      const read = await reader.read();
      if (clock.now() > paused) break;
      burst += read.value!.byteLength;
    }
    expect(burst).toBeLessThanOrEqual(MB);
    expect(burst).toBeGreaterThanOrEqual(MB - MB / 20);
    await reader.cancel();
  });

  it('reads nothing ahead: the source is pulled only when its last chunk is sent', async () => {
    const clock = fakeClock();
    const { stream, state } = source(4 * MB, MB);
    const reader = throttle(stream, { bytesPerSecond: MB }, clock).getReader();
    expect(state.pulls).toBe(0);
    for (let i = 0; i < 20; i++) await reader.read();
    expect(state.pulls).toBe(1);
    await reader.read();
    expect(state.pulls).toBe(2);
    await reader.cancel();
  });

  it('cancels the source at once when the body is cancelled while it waits', async () => {
    const clock = stoppedClock();
    const { stream, state } = source(MB, MB);
    const reader = throttle(stream, { bytesPerSecond: 1000 }, clock).getReader();
    const pending = reader.read();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(clock.waiting).toBe(1);
    await reader.cancel('client left');
    expect(state.cancelled).toBe('client left');
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('passes a failing source on as an error of the body', async () => {
    const clock = fakeClock();
    const failing = new ReadableStream<Uint8Array>({
      pull() {
        throw new Error('disk gone');
      },
    });
    await expect(readTimed(throttle(failing, { bytesPerSecond: MB }, clock), clock)).rejects.toThrow('disk gone');
  });

  it('ends at once on an empty source, and skips empty chunks', async () => {
    const clock = fakeClock();
    const chunks = [new Uint8Array(0), new Uint8Array([1, 2]), new Uint8Array(0)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const { pieces, body } = await readTimed(throttle(stream, { bytesPerSecond: 40 }, clock), clock);
    expect([...body]).toEqual([1, 2]);
    expect(pieces.map((piece) => piece.size)).toEqual([2]);
    expect((await readTimed(throttle(source(0, 1).stream, { bytesPerSecond: 1 }, clock), clock)).body.byteLength).toBe(0);
  });

  it('sends one byte at a time below 20 bytes per second', async () => {
    const clock = fakeClock();
    const { stream } = source(10, 10);
    const { pieces, end } = await readTimed(throttle(stream, { bytesPerSecond: 5 }, clock), clock);
    expect(pieces.every((piece) => piece.size === 1)).toBe(true);
    expect(end).toBeCloseTo(2000, 6);
  });
});
