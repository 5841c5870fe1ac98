/**
 * For tests: how long the event loop was held while `work` ran. A timer asks for a turn every
 * `everyMs`; its worst lateness is how long any other request of the process would have waited.
 * A chain of microtasks (a loop of awaits on resolved promises) never lets the timer in.
 */
export async function probeEventLoop<T>(
  work: () => Promise<T>,
  everyMs = 5,
): Promise<{ result: T; worstDelayMs: number; totalMs: number; ticks: number }> {
  let expected = performance.now() + everyMs;
  let worstDelayMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worstDelayMs = Math.max(worstDelayMs, now - expected);
    expected = now + everyMs;
    ticks++;
  }, everyMs);
  const started = performance.now();
  try {
    const result = await work();
    const totalMs = performance.now() - started;
    // The last stretch, from the last tick to the end of the work, counts too.
    worstDelayMs = Math.max(worstDelayMs, performance.now() - expected);
    return { result, worstDelayMs, totalMs, ticks };
  } finally {
    clearInterval(timer);
  }
}

/** A byte generator that spends `msPerChunk` of CPU time on each chunk, as a real generator would. */
export function* busyChunks(chunks: number, chunkSize: number, msPerChunk: number): Generator<Uint8Array> {
  for (let i = 0; i < chunks; i++) {
    const until = performance.now() + msPerChunk;
    while (performance.now() < until) {
      // Busy: the CPU time a generator spends making its bytes.
    }
    yield new Uint8Array(chunkSize).fill(i & 0xff);
  }
}

/**
 * The longest hold a probe tolerates for work that took `totalMs`: a quarter of it, at most
 * 400 ms. Generous, because a loaded 2-core machine can leave any process waiting for a CPU for
 * a good part of that; still far below the work's own length, which is what a loop that never
 * yields holds the event loop for.
 */
export function holdLimitMs(totalMs: number): number {
  return Math.min(400, totalMs / 4);
}
