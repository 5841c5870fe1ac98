import type { ChildProcess } from 'node:child_process';
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

/** The cluster's message that hands a worker an accepted connection, and the worker's answer. */
interface NewConnection {
  cmd: 'NODE_CLUSTER';
  act: 'newconn';
  key: string;
  seq: number | string;
}
interface Acknowledgement {
  cmd: 'NODE_CLUSTER';
  ack: number | string;
  accepted?: boolean;
}

/** A connection's handle as the primary holds it while a worker has not taken it yet. */
interface ConnectionHandle {
  close(): void;
}

interface Handover {
  handle: ConnectionHandle;
  key: string;
  /** Sent by the supervisor (a hand-over redone), not by node:cluster: the supervisor closes its copy. */
  ours: boolean;
  /** How many workers it was sent to. */
  tries: number;
}

/** A connection refused by this many workers in a row (all of them stopping) is closed. */
const MAX_TRIES = 3;

function isNewConnection(message: unknown): message is NewConnection {
  const m = message as Partial<NewConnection> | null;
  return typeof m === 'object' && m !== null && m.cmd === 'NODE_CLUSTER' && m.act === 'newconn' && typeof m.key === 'string';
}

function isAcknowledgement(message: unknown): message is Acknowledgement {
  const m = message as Partial<Acknowledgement> | null;
  return typeof m === 'object' && m !== null && m.cmd === 'NODE_CLUSTER' && m.ack !== undefined;
}

/**
 * node:cluster's round-robin primary accepts each connection and sends it to a worker, keeping
 * its own copy of the socket until the worker answers that it took it. A worker killed before it
 * answers never does: the primary then holds the socket forever (CLOSE-WAIT once the client
 * gives up), and the client waits for an answer that never comes. This keeps, per worker, the
 * connections sent and not yet acknowledged, so that the supervisor can send each to another
 * worker when that one dies (`redeliver`). The worker answers before it reads a byte, so a
 * connection not acknowledged was never read: serving it elsewhere loses nothing.
 */
class Handovers {
  private readonly pending = new Map<Worker, Map<number | string, Handover>>();
  private next = 0;
  /** How many tries a hand-over the supervisor is sending has had, until its send is recorded. */
  private readonly tries = new Map<string, number>();

  /** `serving()`: the workers that listen now, the only ones that can take a connection. */
  constructor(private readonly serving: () => Iterable<Worker>) {}

  watch(worker: Worker): void {
    const child = worker.process as ChildProcess;
    const sent = new Map<number | string, Handover>();
    this.pending.set(worker, sent);
    const send = child.send.bind(child) as (...args: unknown[]) => boolean;
    child.send = ((message: unknown, handle?: unknown, ...rest: unknown[]) => {
      if (isNewConnection(message) && handle && typeof (handle as ConnectionHandle).close === 'function') {
        const ours = typeof message.seq === 'string';
        const tries = typeof message.seq === 'string' ? (this.tries.get(message.seq) ?? 1) : 1;
        if (typeof message.seq === 'string') this.tries.delete(message.seq);
        sent.set(message.seq, { handle: handle as ConnectionHandle, key: message.key, ours, tries });
      }
      return send(message, handle, ...rest);
    }) as typeof child.send;
    // node:cluster's own messages arrive as 'internalMessage' on the child process.
    child.on('internalMessage', (message: unknown) => {
      if (!isAcknowledgement(message)) return;
      const handover = sent.get(message.ack);
      if (!handover) return;
      sent.delete(message.ack);
      // node:cluster settles its own hand-overs; ours are settled here, as it would.
      if (!handover.ours) return;
      if (message.accepted) handover.handle.close();
      else this.deliver(handover, worker);
    });
  }

  /** Sends every connection `dead` did not take to a live worker, or closes it if none is left. */
  redeliver(dead: Worker): void {
    const sent = this.pending.get(dead);
    this.pending.delete(dead);
    for (const handover of sent?.values() ?? []) this.deliver(handover, dead);
  }

  private deliver(handover: Handover, not: Worker): void {
    let target: Worker | undefined;
    for (const worker of this.serving()) {
      if (worker !== not && worker.isConnected() && !worker.isDead()) target = worker;
    }
    if (!target || handover.tries >= MAX_TRIES) {
      // No worker to serve it: the client learns at once that the connection is closed.
      handover.handle.close();
      return;
    }
    // A string sequence number never collides with node:cluster's own (counted from 0).
    const seq = `next-downloadview:${this.next++}`;
    this.tries.set(seq, handover.tries + 1);
    const message: NewConnection = { cmd: 'NODE_CLUSTER', act: 'newconn', key: handover.key, seq };
    target.process.send(message, handover.handle as never);
  }
}

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
  const handovers = new Handovers(() => listening);
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
      handovers.watch(worker);
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
      handovers.redeliver(worker);
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
