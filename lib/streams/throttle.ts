/** A rate in bytes per second, and how many first bytes go out before it applies. */
export interface ThrottleRate {
  /** Bytes per second, > 0. */
  bytesPerSecond: number;
  /** Bytes sent at full speed before the rate applies (nginx's `limit_rate_after`). Default 0. */
  after?: number;
}

/** Time as the throttle sees it: real time by default, a fake one in tests. */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Resolves after `ms` milliseconds, or at once (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
};

/**
 * How far behind its schedule a body may fall and still catch up at full speed. Timers fire
 * late by a millisecond or so on every wake-up; without this slack each late wake-up would be
 * lost and the body would run slower than its rate. A client that stops reading for longer than
 * this gets back at most this much (1 s of the rate) in one burst, as with nginx's `limit_rate`.
 */
const CATCH_UP_MS = 1000;

/** At most this many pieces per second: a body is sent in pieces of a twentieth of its rate. */
const PIECES_PER_SECOND = 20;
/** The largest piece: at high rates, more wake-ups rather than bursts of megabytes. */
const MAX_PIECE = 256 * 1024;

/**
 * `stream` at most `bytesPerSecond`, after its first `after` bytes at full speed. The bytes are
 * passed on in pieces of about 1/20 s of the rate, each when the bytes sent since the rate
 * applied fit within the time elapsed since then: a 10 MB body at 1 MB/s ends 10 s after the
 * reader first asked for a limited byte. Nothing is read ahead: the source is read only when the reader wants bytes
 * and the previous chunk is sent, so a slow body holds one of the source's chunks at most
 * (backpressure reaches the source as without the limit). Cancelling the result cancels
 * `stream` at once, even while it waits.
 *
 * The result is an ordinary stream: it is never taken for an open file or bytes in memory by the
 * kit's server, so under that server too the bytes go out at this pace.
 */
export function throttle(stream: ReadableStream<Uint8Array>, rate: ThrottleRate, clock: Clock = realClock): ReadableStream<Uint8Array> {
  const { bytesPerSecond } = rate;
  const after = rate.after ?? 0;
  const pieceSize = Math.max(1, Math.min(MAX_PIECE, Math.floor(bytesPerSecond / PIECES_PER_SECOND)));
  const msPerByte = 1000 / bytesPerSecond;
  const reader = stream.getReader();
  const stop = new AbortController();
  /** Bytes passed on, and the rest of the chunk read last. */
  let sent = 0;
  let pending: Uint8Array | undefined;
  /** When the bytes passed on so far are due under the rate (set when the rate first applies). */
  let due: number | undefined;

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // One piece per pull: a pull that enqueued nothing would not be called again.
        while (!pending || pending.byteLength === 0) {
          const read = await reader.read();
          if (stop.signal.aborted) return;
          if (read.done) {
            controller.close();
            return;
          }
          pending = read.value;
        }
        let size: number;
        if (sent < after) {
          size = Math.min(pending.byteLength, after - sent);
        } else {
          size = Math.min(pending.byteLength, pieceSize);
          const now = clock.now();
          due = Math.max(due ?? now, now - CATCH_UP_MS) + size * msPerByte;
          if (due > now) await clock.sleep(due - now, stop.signal);
          if (stop.signal.aborted) return;
        }
        const piece = pending.subarray(0, size);
        pending = pending.subarray(size);
        sent += size;
        controller.enqueue(piece);
      },
      async cancel(reason) {
        stop.abort();
        pending = undefined;
        await reader.cancel(reason);
      },
    },
    // Nothing queued ahead of the reader: each piece is made when it is asked for.
    { highWaterMark: 0 },
  );
}
