import { FileChangedError, HttpError } from '../errors';
import { errorResponse } from '../http/http-error';
import { ENCODING_HEADER, handOffBytes, handOffFile, handoffTarget, LENGTH_HEADER, signedEncoding, signedLength } from './handoff';
import { bytesOf, bytesStream } from '../streams/bytes-stream';
import { exactLength } from '../streams/slice-stream';
import { delegate } from './delegate';
import { noteBody, trackBody } from '../events/download-record';
import { throttle, type ThrottleRate } from '../streams/throttle';
import { rateFor } from './rate-limit';
import { decide, type Decision } from './decide';
import type { ResolvedOptions, RouteParams } from './options';
import type { Source } from './source';
import type { ByteRange } from '../http/range';

export const ALLOWED_METHODS = 'GET, HEAD';

/** Finds the source for a request; throws `HttpError` (404, 400, ...) when there is none. */
export type LoadSource = (request: Request, params: RouteParams) => Promise<Source> | Source;

/**
 * The one path every download takes: method -> authorize -> load metadata -> delegate -> decide
 * -> open. "Delegate" asks the route's delivery policy once, from where the source's bytes live:
 * the web server in front (offload rules) or the store (a redirect) may send them instead, and
 * that answer is built from the same single `decide()`. (A source located before it is
 * described, a proxied URL, has its metadata loaded only once nothing was delegated.) Errors
 * before the headers become a short plain-text response; errors after them abort the body,
 * which breaks the connection so the client sees the truncation. What Next throws to steer
 * a request (`redirect()`, `notFound()` in a hook, a prerender bail-out) is thrown on untouched.
 */
export async function serve(
  request: Request,
  params: RouteParams,
  load: LoadSource,
  options: ResolvedOptions,
): Promise<Response> {
  try {
    // A download always depends on the request's headers (Range, validators). Reading them
    // first tells Next, before any hook or lookup runs, that this route cannot be prerendered
    // at build time (with `cacheComponents` it throws its bail-out here, which passes on).
    request.headers.has('range');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      throw new HttpError(405, 'Method Not Allowed', { allow: ALLOWED_METHODS });
    }
    if (options.authorize) {
      const verdict = await options.authorize(request, params);
      if (verdict instanceof Response) return verdict;
      if (verdict === false) throw new HttpError(403, 'Forbidden');
    }
    // A file replaced between its stat and its open is looked up once more, so the headers
    // always describe the bytes that are sent.
    for (let attempt = 0; ; attempt++) {
      let source = await load(request, params);
      try {
        // Authorised and found: the web server or the store may send the bytes instead. Most
        // routes have no such policy, and pay no promise for asking.
        const delegating = delegate(request, source, options);
        const delegation = delegating && (await delegating);
        // Located before described (a proxied URL): described now that the app sends the bytes.
        if (!delegation && source.describe) source = await source.describe();
        // Decided once, for what the answer describes: the whole file when delegated.
        const decision = decide(delegation ? delegation.request : request, source, options);
        const answer = delegation ? await delegation.answer(decision) : decision;
        if (answer instanceof Response) return answer;
        return await respond(request, source, answer, options);
      } catch (error) {
        if (!(error instanceof FileChangedError) || attempt >= 1) throw error;
      } finally {
        if (typeof source.close === 'function') await closeSource(source);
      }
    }
  } catch (error) {
    if (error instanceof HttpError && error.status === 404 && options.notFound) {
      try {
        return await options.notFound(request, params);
      } catch (hookError) {
        return errorResponse(hookError);
      }
    }
    return errorResponse(error);
  }
}

/**
 * The source's lifecycle ends with the request's answer: a body `open()` handed over is the
 * response's to release; anything else the source holds (an upstream body never asked for,
 * because the answer was a HEAD, a 304 or an error) is released here, once. A failing close
 * cannot change an answer that is already decided.
 */
async function closeSource(source: Source): Promise<void> {
  if (typeof source.close !== 'function') return;
  try {
    await source.close();
  } catch (error) {
    console.error('next-downloadview: closing a source failed', error);
  }
}

async function respond(request: Request, source: Source, decision: Decision, options: ResolvedOptions): Promise<Response> {
  const { status, headers, body } = decision;
  passLengthOn(headers);
  if (request.method === 'HEAD' || body.kind === 'none') {
    return new Response(null, { status, headers });
  }
  noteBody(request, status, sentRanges(decision), headers.has('content-length') ? Number(headers.get('content-length')) : undefined);
  // Most routes have no limit, or a fixed one: only a function's answer is awaited.
  const chosen = rateFor(options.rateLimit, request, source);
  const rate = limitOf(chosen instanceof Promise ? await chosen : chosen, headers);
  switch (body.kind) {
    case 'whole': {
      const bytes = await source.readSmall?.();
      if (bytes && (source.size === undefined || bytes.byteLength === source.size)) return bytesAnswer(request, bytes, status, headers, rate);
      const handed = handedFile(request, source, undefined, status, headers, rate);
      if (handed) return handed;
      const stream = await source.open();
      return answer(request, counted(source, stream, source.size), status, headers, rate);
    }
    case 'range': {
      const bytes = await source.readSmall?.(body.range);
      if (bytes && bytes.byteLength === body.range.end - body.range.start + 1) return bytesAnswer(request, bytes, status, headers, rate);
      const handed = handedFile(request, source, body.range, status, headers, rate);
      if (handed) return handed;
      const stream = await source.open(body.range);
      return answer(request, counted(source, stream, body.range.end - body.range.start + 1), status, headers, rate);
    }
    case 'multipart': {
      // Content that reads forward only sends its parts in ascending order (RFC 9110
      // §15.3.7.2: a client reads each part's Content-Range); the length is the same.
      const plan = source.sequential
        ? { ...body.plan, parts: [...body.plan.parts].sort((a, b) => a.range.start - b.range.start) }
        : body.plan;
      // Opened before the headers go out, so a missing file is still a 404; with openRanges,
      // once for every part, so all of them come from the version that decided the headers.
      const ranges = plan.parts.map((part) => part.range);
      const opened = source.openRanges
        ? await source.openRanges(ranges)
        : [await source.open(ranges[0]!)];
      if (source.openRanges && opened.length !== ranges.length) {
        await Promise.all(opened.map((stream) => stream.cancel().catch(() => undefined)));
        throw new Error(`openRanges gave ${opened.length} streams for ${ranges.length} ranges`);
      }
      return answer(request, multipartStream(source, plan, opened), status, headers, rate);
    }
  }
}

/** The route's limit for a body, or none when the whole body fits in the allowance sent at full speed. */
function limitOf(rate: ThrottleRate | undefined, headers: Headers): ThrottleRate | undefined {
  const length = headers.get('content-length');
  return rate && (length === null || Number(length) > (rate.after ?? 0)) ? rate : undefined;
}

/**
 * Under the kit's server, for a source with a local file and a body paced by nobody: the open
 * file, handed to the server to send itself (no web stream is made); otherwise `undefined`, and
 * the body is streamed.
 */
function handedFile(
  request: Request,
  source: Source,
  range: ByteRange | undefined,
  status: number,
  headers: Headers,
  rate: ThrottleRate | undefined,
): Promise<Response> | undefined {
  // Decided without a promise: a download that is streamed (plain `next start`) awaits nothing more.
  if (rate || !source.openFile || !headers.has(LENGTH_HEADER)) return undefined;
  const target = handoffTarget();
  return target && source.openFile(range).then((file) => handOffFile(request, target, file, { status, headers }));
}

/**
 * A response with a body that is released when the client goes away before anyone reads it.
 * Next cancels a body it is piping when the client disconnects, but one whose client left
 * before the piping began is dropped unread and uncancelled (pipeToNodeResponse returns early
 * on a destroyed response): without this, its open file stays open until garbage collection.
 */
function answer(request: Request, body: ReadableStream<Uint8Array>, status: number, headers: Headers, rate?: ThrottleRate): Response {
  // A limited body is paced by the app under any server: a plain stream, never handed off.
  if (rate) body = throttle(body, rate);
  // A body already in memory holds nothing open: sent as bytes, it skips the stream machinery.
  const bytes = bytesOf(body);
  if (bytes) return bytesAnswer(request, bytes, status, headers);
  // With a download listener, the Response carries the body watched for its end.
  const sent = trackBody(request, body)?.stream ?? body;
  const response = new Response(sent, { status, headers });
  const release = () => {
    if (!sent.locked) sent.cancel(request.signal.reason).catch(() => undefined);
  };
  if (request.signal.aborted) release();
  else request.signal.addEventListener('abort', release, { once: true });
  return response;
}

/**
 * A body already in memory, the Response's body. Under the kit's server, when its length is
 * announced and Next sends this Response, the server writes it with the headers (Next's
 * web-stream piping of even 4 KiB costs more than the rest of the download).
 */
function bytesAnswer(request: Request, bytes: Uint8Array<ArrayBuffer>, status: number, headers: Headers, rate?: ThrottleRate): Response {
  // A limited body is paced by the app under any server: a plain stream, never handed off.
  if (rate) return answer(request, bytesStream(bytes), status, headers, rate);
  return handOffBytes(request, bytes, { status, headers });
}

/** The byte ranges a body answer sends, for its download event. */
function sentRanges(decision: Decision): { start: number; end: number }[] {
  const { body } = decision;
  if (body.kind === 'range') return [body.range];
  if (body.kind === 'multipart') return body.plan.parts.map((part) => part.range);
  return [];
}

/**
 * Next 16 drops Content-Length and Content-Encoding from route handlers; under the kit's server
 * each travels in a private, signed header that the server turns back into the real one.
 */
function passLengthOn(headers: Headers): void {
  const length = headers.get('content-length');
  if (length !== null) {
    const signed = signedLength(Number(length));
    if (signed) headers.set(LENGTH_HEADER, signed);
  }
  const encoding = headers.get('content-encoding');
  if (encoding !== null) {
    const signed = signedEncoding(encoding);
    if (signed) headers.set(ENCODING_HEADER, signed);
    else warnEncodingDropped(encoding);
  }
}

let warned = false;

/** Once per process: without the kit's server, Next sends a stored coding's bytes without saying so. */
function warnEncodingDropped(encoding: string): void {
  if (warned || process.env.NEXT_RUNTIME === 'edge') return;
  warned = true;
  console.warn(
    `next-downloadview: a file stored with Content-Encoding "${encoding}" is sent without that header: Next 16 drops ` +
      'Content-Encoding from route responses. Serve the app with the kit\'s server (`next-downloadview start`), which restores it.',
  );
}

function counted(source: Source, stream: ReadableStream<Uint8Array>, length: number | undefined) {
  return length === undefined || source.exact ? stream : exactLength(stream, length);
}

/**
 * The parts of a multipart body, each counted against its range. `opened` holds a stream for
 * every part (one opening of the source) or for the first part only (the others are opened in
 * turn). Whatever ends the body, the streams it did not finish are cancelled, which releases
 * the one open file.
 */
function multipartStream(
  source: Source,
  plan: Extract<Decision['body'], { kind: 'multipart' }>['plan'],
  opened: ReadableStream<Uint8Array>[],
): ReadableStream<Uint8Array> {
  let current: ReadableStream<Uint8Array> | undefined;
  let next = 0;
  async function* parts(): AsyncGenerator<Uint8Array> {
    try {
      for (const [index, part] of plan.parts.entries()) {
        yield part.head;
        const stream = opened[index] ?? (await source.open(part.range));
        next = index + 1;
        current = counted(source, stream, part.range.end - part.range.start + 1);
        // A reader, not `for await`: web streams are async-iterable only with `dom.asynciterable`,
        // which a default Next tsconfig does not have.
        const reader = current.getReader();
        try {
          for (let read = await reader.read(); !read.done; read = await reader.read()) yield read.value;
        } finally {
          reader.releaseLock();
        }
        current = undefined;
      }
      yield plan.tail;
    } finally {
      await current?.cancel().catch(() => undefined);
      await releaseUnread();
    }
  }
  const releaseUnread = () => Promise.all(opened.slice(next).map((stream) => stream.cancel().catch(() => undefined)));
  const iterator = parts();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const result = await iterator.next();
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    },
    async cancel() {
      await iterator.return(undefined);
      // A generator cancelled before its first step never runs its finally block.
      await releaseUnread();
    },
  });
}
