/** How long a request's own loop may run before it lets the other requests of the process in. */
export const TURN_MS = 10;

/**
 * A pacer for a loop whose length grows with the data (rows of a table, entries of an archive):
 * `turn()` after each step is `undefined` while the loop is within its time slice (no await, not
 * even a microtask, on the common path), and a promise of the next turn of the event loop
 * (`setImmediate`, after pending I/O) once `sliceMs` have passed. Awaiting a resolved promise is not enough: a chain of microtasks never lets
 * timers or sockets run, so one request would hold every other one for as long as it loops.
 */
export function turns(sliceMs = TURN_MS): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}

/** Runs a computation written as steps (a generator that yields between steps) to its result at once. */
export function drain<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs a computation written as steps to its result, letting the event loop in every `sliceMs`. */
export async function inTurns<T>(steps: Generator<unknown, T>, sliceMs = TURN_MS): Promise<T> {
  const turn = turns(sliceMs);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    const wait = turn();
    if (wait) await wait;
  }
}
