/**
 * How long, per turn of the event loop, the process spends on work that only drops bytes
 * (skipping to a far range of generated content) before it lets sockets and timers run.
 */
export const SKIP_SLICE_MS = 5;

let sliceStart = performance.now();
let waiting: Promise<void> | undefined;

/**
 * Lets the event loop run once the current time slice is spent: `undefined` (go on) while less
 * than `SKIP_SLICE_MS` have passed since the last turn, else a promise of the next turn
 * (`setImmediate`, after pending I/O). Awaiting a resolved promise is not enough: a chain of
 * microtasks never lets a timer or a socket in, so one request skipping 900 MB of generated
 * text held every other request of the process for a second.
 *
 * The slice is shared by every caller in the process, not one per stream: eight requests
 * skipping at once take one slice per turn between them, not eight, so the latency they add to
 * other requests does not grow with their number.
 */
export function eventLoopTurn(): Promise<void> | undefined {
  if (performance.now() - sliceStart < SKIP_SLICE_MS) return undefined;
  return (waiting ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      waiting = undefined;
      sliceStart = performance.now();
      resolve();
    }),
  ));
}
