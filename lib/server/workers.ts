import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

/** Exit code of a worker whose configuration cannot work (no build, a bad port): retrying is useless (sysexits' EX_CONFIG). */
export const CONFIGURATION_EXIT_CODE = 78;

/** More worker processes than this is a typo, not a deployment. */
export const MAX_WORKERS = 256;

/**
 * How many workers `raw` asks for (`--workers`, `WORKERS`): `auto` is one per core
 * (`os.availableParallelism()`), else a whole number from 1 to MAX_WORKERS; `undefined` when not
 * given, `null` when it is not one of those.
 */
export function parseWorkerCount(raw: string | undefined): number | undefined | null {
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'auto') return availableParallelism();
  if (!/^[0-9]{1,4}$/.test(raw)) return null;
  const count = Number(raw);
  return count >= 1 && count <= MAX_WORKERS ? count : null;
}

/** What the primary sends its workers: begin the graceful stop, or end its grace period now. */
const STOP = 'next-downloadview:stop';
const ABORT = 'next-downloadview:abort';

/** Options of `superviseWorkers`: how many workers, and how the primary stops and reports. */
export interface SuperviseOptions {
  /** How many worker processes to keep running. */
  workers: number;
  /**
   * After a stop signal, how long (ms) the primary waits for the workers' own graceful stop
   * before it kills the rest. It should exceed their grace period plus cleanup. Default 20 000.
   */
  stopTimeoutMs?: number;
  /** A worker that dies before it listens counts as a crash at start; after this many in a row the primary gives up. Default 5. */
  maxStartCrashes?: number;
  /** Where the primary reports. Default `console.log` / `console.error`. */
  log?: (line: string) => void;
  /** Called once every worker listens, with how many there are. */
  onReady?: (address: string) => void;
}

/**
 * Runs in the cluster's primary: forks `workers` processes (each runs the same command and
 * serves the port; node:cluster hands connections to them in turn), replaces one that dies and
 * says so on one line, and on SIGTERM/SIGINT asks each to stop gracefully and exits once all have
 * gone (bounded by `stopTimeoutMs`). The primary itself serves nothing and never loads Next.
 * Resolves with the exit code the primary should end with.
 */
export function superviseWorkers(options: SuperviseOptions): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(line));
  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  const maxStartCrashes = options.maxStartCrashes ?? 5;
  const listening = new Set<Worker>();
  let startCrashes = 0;
  let stopping = false;
  let readyAnnounced = false;
  let exitCode = 0;

  return new Promise<number>((resolve) => {
    const finishWhenEmpty = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) resolve(exitCode);
    };

    const fork = () => {
      const worker = cluster.fork();
      worker.on('listening', (address) => {
        listening.add(worker);
        startCrashes = 0;
        if (!readyAnnounced && listening.size === options.workers) {
          readyAnnounced = true;
          options.onReady?.(`${address.address ?? '0.0.0.0'}:${address.port}`);
        }
      });
    };

    const stopAll = (signal: NodeJS.Signals | 'give up') => {
      const again = stopping;
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) {
        // A message rather than the signal: a terminal's Ctrl-C already reaches every worker
        // (one process group), and a second signal would cut their grace period short.
        if (worker && worker.isConnected()) worker.send(again ? ABORT : STOP);
      }
      if (again) return;
      if (signal !== 'give up') log(`${signal} received: stopping ${Object.keys(cluster.workers ?? {}).length} workers`);
      const timer = setTimeout(() => {
        for (const worker of Object.values(cluster.workers ?? {})) {
          if (!worker) continue;
          log(`worker ${worker.process.pid} did not stop within ${stopTimeoutMs} ms: killing it`);
          worker.process.kill('SIGKILL');
        }
      }, stopTimeoutMs);
      timer.unref();
      finishWhenEmpty();
    };

    cluster.on('exit', (worker, code, signal) => {
      const started = listening.delete(worker);
      if (stopping) return finishWhenEmpty();
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (code === CONFIGURATION_EXIT_CODE) {
        log(`worker ${worker.process.pid} exited (${how}): its configuration cannot work, so no replacement; stopping`);
        exitCode = 1;
        return stopAll('give up');
      }
      if (!started) startCrashes++;
      if (startCrashes >= maxStartCrashes) {
        log(`worker ${worker.process.pid} exited (${how}): ${startCrashes} workers in a row died before listening; giving up`);
        exitCode = 1;
        return stopAll('give up');
      }
      // Backoff: a worker that keeps dying at start is retried ever more slowly, never in a hot loop.
      const delay = startCrashes === 0 ? 0 : Math.min(100 * 2 ** startCrashes, 5_000);
      log(`worker ${worker.process.pid} exited (${how}): starting a replacement${delay ? ` in ${delay} ms` : ''}`);
      setTimeout(() => {
        if (!stopping) fork();
      }, delay);
    });

    process.on('SIGTERM', stopAll);
    process.on('SIGINT', stopAll);
    for (let i = 0; i < options.workers; i++) fork();
  });
}

/**
 * Runs in a worker: calls `stop` when the primary asks for the graceful stop and `abort` when it
 * asks again. Does nothing outside a cluster worker.
 */
export function followPrimary(stop: () => void, abort: () => void): void {
  if (!cluster.isWorker) return;
  process.on('message', (message) => {
    if (message === STOP) stop();
    else if (message === ABORT) abort();
  });
}
