/** How a download ended: see `DownloadEvent.outcome`. */
export type DownloadOutcome = 'completed' | 'aborted' | 'failed' | 'offloaded' | 'redirected' | 'no-body';

/**
 * What happened to one request a download route answered, told once its body ended or broke.
 *
 * - `completed`: every byte of the body went out (under the kit's server: was written to the
 *   socket; under `next start`: was taken by Next from the body stream).
 * - `aborted`: the client went away first; `bytesSent` says how far it got.
 * - `failed`: the source failed in the middle of the body (a read error, a file that shrank, an
 *   upstream that broke off); the connection was broken so the client sees the truncation, and
 *   `error` holds the cause.
 * - `offloaded`: a web server in front sends the file (X-Accel-Redirect, X-Sendfile): the app
 *   sent no bytes.
 * - `redirected`: the answer was a redirect to the store's own URL (`delivery: 'redirect'`).
 * - `no-body`: an answer without a download body: HEAD, 304, 412, 416, and every error answer
 *   (403, 404, 405, 500...), including one made by `authorize` or `notFound`.
 */
export interface DownloadEvent {
  /** The request URL's pathname. */
  route: string;
  request: Request;
  /** The route's params as the handler received them. */
  params: Record<string, string | string[] | undefined>;
  /** The source's download name; `undefined` when no source was found. */
  name: string | undefined;
  /** The source's whole size, when known. */
  size: number | undefined;
  status: number;
  /** The byte ranges sent, inclusive; `[]` for a whole body or no body. */
  ranges: { start: number; end: number }[];
  /** Body bytes written to the client (or handed to the server that writes them). */
  bytesSent: number;
  /** The body's announced length; `undefined` when the app sent no body or did not know its length. */
  expectedBytes: number | undefined;
  outcome: DownloadOutcome;
  startedAt: Date;
  /** From the handler's start to the body's end. */
  durationMs: number;
  /** Why the body broke, for `failed`. */
  error?: unknown;
}

/**
 * Receives download events. It is called after the response ended, on a later turn of the event
 * loop, and nothing waits for it: a slow listener delays no download and a throwing one changes
 * no answer. What it throws (or its promise rejects with) is logged with `console.error`, once
 * per distinct message.
 */
export type DownloadListener = (event: DownloadEvent) => void | Promise<void>;

/**
 * On `globalThis`, not in a module variable: Next may load the kit once per route bundle, and a
 * listener set in `instrumentation.ts` must reach them all.
 */
const LISTENER = Symbol.for('next-downloadview.download-listener');
const LOGGED = Symbol.for('next-downloadview.download-listener-errors');

type GlobalWithListener = typeof globalThis & { [LISTENER]?: DownloadListener; [LOGGED]?: Set<string> };

/**
 * Sets the process-wide download listener, which every download route calls (besides its own
 * `onDownload`), once per answered request. `undefined` removes it. A later call replaces it.
 *
 * @example
 * // instrumentation.ts
 * import { configureDownloadEvents } from 'next-downloadview/events';
 * export function register() {
 *   configureDownloadEvents((event) => {
 *     if (event.outcome === 'completed') console.log(`${event.route}: ${event.bytesSent} bytes in ${event.durationMs} ms`);
 *   });
 * }
 */
export function configureDownloadEvents(listener: DownloadListener | undefined): void {
  if (listener !== undefined && typeof listener !== 'function') {
    throw new TypeError('configureDownloadEvents: the listener must be a function or undefined');
  }
  (globalThis as GlobalWithListener)[LISTENER] = listener;
}

/** The listener set by `configureDownloadEvents`, if any. */
export function configuredDownloadListener(): DownloadListener | undefined {
  return (globalThis as GlobalWithListener)[LISTENER];
}

/** Distinct listener errors remembered for "once per message"; past this, the memory starts over. */
const LOGGED_MAX = 100;

/** Calls each listener with `event`; whatever one throws is logged, once per distinct message. */
export function deliver(event: DownloadEvent, listeners: readonly (DownloadListener | undefined)[]): void {
  for (const listener of listeners) {
    if (!listener) continue;
    try {
      const result = listener(event);
      if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, logListenerError);
    } catch (error) {
      logListenerError(error);
    }
  }
}

function logListenerError(error: unknown): void {
  const global = globalThis as GlobalWithListener;
  const logged = (global[LOGGED] ??= new Set());
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (logged.has(message)) return;
  if (logged.size >= LOGGED_MAX) logged.clear();
  logged.add(message);
  console.error('next-downloadview: a download listener failed (each distinct error is logged once)', error);
}
