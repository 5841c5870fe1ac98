import { bytesStream } from '../streams/bytes-stream';
import { configuredDownloadListener, deliver, type DownloadEvent, type DownloadListener, type DownloadOutcome } from './download-event';

/** How a body the server sends itself ended: told by the server once, when the response closed. */
export type BodyReport = (bytesSent: number, outcome: 'completed' | 'aborted' | 'failed', error?: unknown) => void;

/** A body watched for its end: the stream the Response carries, and the way to hand it to a server. */
export interface TrackedBody {
  stream: ReadableStream<Uint8Array>;
  /**
   * The server takes the body and sends it itself: the stream then reports nothing (reading or
   * cancelling it is no longer the download), and the server calls the report instead.
   */
  handOff(): BodyReport;
}

/** One request under way: what its event will say. */
interface DownloadRecord {
  request: Request;
  params: DownloadEvent['params'];
  listeners: (DownloadListener | undefined)[];
  startedAt: Date;
  started: number;
  source?: { name?: string | undefined; size?: number | undefined };
  status?: number;
  ranges: DownloadEvent['ranges'];
  expectedBytes?: number;
  /** Whether the answer has a body whose end makes the event. */
  tracked: boolean;
  settled: boolean;
}

/**
 * Requests being answered by a route with a listener. Keyed by the Request object itself, which
 * the engine receives unchanged from the handler: no step in between needs to pass it on.
 */
const records = new WeakMap<Request, DownloadRecord>();

/**
 * Runs one answer of a download route and tells the listeners about it: at once (on a later turn)
 * for an answer without a body, or once the body the engine tracks (`trackBody`) ended. When
 * neither the route nor the process has a listener, nothing is recorded. What `run` throws (Next's
 * `redirect()` from a hook, say) passes through, and no event is told: the route did not answer.
 */
export function observeDownload(
  request: Request,
  params: DownloadEvent['params'],
  onDownload: DownloadListener | undefined,
  run: () => Promise<Response>,
): Promise<Response> {
  const global = configuredDownloadListener();
  // Without a listener the answer is returned as it is, without one more promise in between.
  if (!onDownload && !global) return run();
  return recorded(request, params, [onDownload, global], run);
}

async function recorded(
  request: Request,
  params: DownloadEvent['params'],
  listeners: (DownloadListener | undefined)[],
  run: () => Promise<Response>,
): Promise<Response> {
  const record: DownloadRecord = {
    request,
    params,
    listeners,
    startedAt: new Date(),
    started: performance.now(),
    ranges: [],
    tracked: false,
    settled: false,
  };
  records.set(request, record);
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    records.delete(request);
    throw error;
  }
  if (!record.tracked) settle(record, response.status, answerOutcome(response, record), 0);
  return response;
}

/** The web servers' hand-off headers (nginx, Apache's mod_xsendfile, lighttpd). */
const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-lighttpd-send-file'];

/** What an answer without a tracked body was: the file handed to a web server or a store, or no body. */
function answerOutcome(response: Response, record: DownloadRecord): DownloadOutcome {
  const headers = response.headers;
  if (OFFLOAD_HEADERS.some((name) => headers.has(name))) return 'offloaded';
  // A redirect made after the file was found is delivery by redirect; one made before it (a
  // login page from `authorize`) is an answer like a 403.
  if (response.status >= 300 && response.status < 400 && headers.has('location') && record.source) return 'redirected';
  return 'no-body';
}

/**
 * `load` that also notes, for the request's event, which file was found (the last one, when a
 * file that changed is looked up again). Costs nothing on a route without listeners.
 */
export function noticingSource<P, S extends { name?: string | undefined; size?: number | undefined }>(
  load: (request: Request, params: P) => S | Promise<S>,
): (request: Request, params: P) => S | Promise<S> {
  return (request, params) => {
    const record = records.get(request);
    if (!record) return load(request, params);
    return Promise.resolve(load(request, params)).then((source) => {
      record.source = source;
      return source;
    });
  };
}

/** Notes the body the engine is about to send: its status, ranges and announced length. */
export function noteBody(request: Request, status: number, ranges: DownloadEvent['ranges'], expectedBytes: number | undefined): void {
  const record = records.get(request);
  if (!record) return;
  record.status = status;
  record.ranges = ranges.map(({ start, end }) => ({ start, end }));
  record.expectedBytes = expectedBytes;
}

/**
 * The request's body, watched: `undefined` when nobody listens (the body is sent as it is).
 * Bytes are counted as the reader takes them (one chunk at a time: the watching stream holds
 * none ahead), the end of the body is `completed`, a cancel (the client went away, Next cancels
 * the body) `aborted`, a read error `failed`.
 */
export function trackBody(request: Request, body: ReadableStream<Uint8Array> | (() => ReadableStream<Uint8Array>)): TrackedBody | undefined {
  const record = records.get(request);
  if (!record || record.tracked || record.settled) return undefined;
  record.tracked = true;
  const status = record.status ?? 200;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  // A body given as a function is made only when read (or cancelled): a body the server takes is never made.
  let inner = typeof body === 'function' ? undefined : body;
  const source = (): ReadableStream<Uint8Array> => (inner ??= (body as () => ReadableStream<Uint8Array>)());
  let sent = 0;
  let handedOff = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= source().getReader();
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (error) {
          if (!handedOff) settle(record, status, 'failed', sent, error);
          throw error;
        }
        if (read.done) {
          controller.close();
          if (!handedOff) settle(record, status, 'completed', sent);
          return;
        }
        sent += read.value.byteLength;
        controller.enqueue(read.value);
      },
      async cancel(reason) {
        if (!handedOff) settle(record, status, 'aborted', sent);
        // A body handed to the server and never made as a stream has nothing to cancel.
        if (reader) await reader.cancel(reason);
        else if (inner || !handedOff) await source().cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  // A body whose client left before anyone read it is dropped unread by Next: it ended there.
  const signal = request.signal;
  const dropped = (): void => {
    if (!stream.locked) stream.cancel(signal.reason).catch(() => undefined);
  };
  if (signal.aborted) queueMicrotask(dropped);
  else signal.addEventListener('abort', dropped, { once: true });
  return {
    stream,
    handOff: () => {
      handedOff = true;
      return (bytesSent, outcome, error) => settle(record, status, outcome, bytesSent, error);
    },
  };
}

/** `trackBody` for a body already in memory; makes no stream when nobody listens. */
export function trackBytes(request: Request, bytes: Uint8Array<ArrayBuffer>): TrackedBody | undefined {
  return records.has(request) ? trackBody(request, bytesStream(bytes)) : undefined;
}

/** Tells the listeners, once per request, on a later turn: nothing the listener does reaches the answer. */
function settle(record: DownloadRecord, status: number, outcome: DownloadOutcome, bytesSent: number, error?: unknown): void {
  if (record.settled) return;
  record.settled = true;
  records.delete(record.request);
  const withBody = outcome === 'completed' || outcome === 'aborted' || outcome === 'failed';
  const event: DownloadEvent = {
    route: pathnameOf(record.request.url),
    request: record.request,
    params: record.params,
    name: record.source?.name,
    size: record.source?.size,
    status,
    ranges: withBody ? record.ranges : [],
    bytesSent,
    expectedBytes: withBody ? record.expectedBytes : undefined,
    outcome,
    startedAt: record.startedAt,
    durationMs: performance.now() - record.started,
  };
  if (outcome === 'failed') event.error = error;
  setImmediate(() => deliver(Object.freeze(event), record.listeners));
}

function pathnameOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
