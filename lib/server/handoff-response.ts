import { ServerResponse, type IncomingMessage } from 'node:http';
import {
  BODY_HEADER,
  enableHandoff,
  ENCODING_HEADER,
  handoffTargets,
  LENGTH_HEADER,
  verifiedEncoding,
  verifiedLength,
  type HandedBody,
  type HandoffTarget,
} from '../engine/handoff';
import type { BodyReport } from '../events/download-record';
import type { FileBody } from '../streams/file-stream';

/**
 * Bytes per read of a file body the server sends itself. Each response holds at most two of
 * them (one being written to the socket, the next one read), so 20 slow clients hold 20 MiB.
 */
export const HANDOFF_CHUNK = 512 * 1024;

/** Buffers kept for reuse across responses: at most this many (8 MiB), the rest is dropped. */
const POOL_SIZE = 16;
const pool: Buffer[] = [];

function borrow(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(HANDOFF_CHUNK);
}

function giveBack(buffer: Buffer): void {
  if (pool.length < POOL_SIZE) pool.push(buffer);
}

/** Bytes a `write`/`end` chunk adds to the body. */
function byteLength(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as Uint8Array).byteLength;
}

/**
 * The server side of the hand-off (see `lib/engine/handoff.ts`): a Node `ServerResponse` that
 * receives what Next 16 loses or slows down between a route handler and the socket.
 *
 * - **Length and coding.** A valid private length header becomes `Content-Length`, a valid
 *   private coding header `Content-Encoding` (the headers Next 16 drops from route responses);
 *   the private headers never reach the wire, and a `Content-Length` from anywhere else cannot
 *   replace the verified one. The body is held to that length: one that comes out shorter or
 *   longer destroys the connection instead of ending it, so a client never takes a partial body
 *   for a whole one (RFC 9112 §6.3).
 * - **Body.** Inside `run`, the engine can hand this response the body it answers with: an open
 *   file, or bytes in memory. When Next sends that very Response (it reads the body right after
 *   copying the private header that names it), Next gets no body to pipe and ends the response
 *   without one; this response then writes the file itself, with positional reads into reused
 *   buffers and the socket's backpressure, or the bytes with the headers in one write. A file
 *   handed over is closed exactly once, whatever happens (another body written, an error page,
 *   the client gone).
 *
 * The kit's server (`next-downloadview start`) uses it; a server of one's own can too.
 *
 * @example
 * import { createServer } from 'node:http';
 * import next from 'next';
 * import { HandoffResponse } from 'next-downloadview/server';
 *
 * const app = next({ dev: false });
 * const handle = app.getRequestHandler();
 * await app.prepare();
 * createServer({ ServerResponse: HandoffResponse }, (req, res) => (res as HandoffResponse).run(() => handle(req, res))).listen(3000);
 */
export class HandoffResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> implements HandoffTarget {
  /** The verified length: the body must come to exactly this many bytes. */
  #expected: number | undefined;
  /** Body bytes written so far (counted once a length is verified). */
  #counted = 0;
  /** Whether anything was written before the end (then no handed body can follow). */
  #wrote = false;
  /** The offer whose headers Next is writing now (its private header's value), until claimed. */
  #sending: string | undefined;
  #offers = 0;
  /** What unclaimed offers hold, released when the response closes. */
  #unclaimed: Map<string, () => void> | undefined;
  #body: HandedBody | undefined;
  #report: BodyReport | undefined;
  /** Whether the handed body went out, or was let go. */
  #settled = false;

  constructor(req: Request, options?: object) {
    // Node passes its options (highWaterMark, ...) as a second argument its types do not list.
    super(...([req, options] as unknown as [Request]));
    enableHandoff();
    this.once('close', () => this.#closed());
  }

  /**
   * Runs `handle` (the app's handler for this request) so that the engine can hand this
   * response the body of a GET. Other requests, and responses of other classes, need no `run`.
   */
  run<T>(handle: () => T): T {
    return this.req.method === 'GET' ? handoffTargets().run(this, handle) : handle();
  }

  /** @internal No body was handed over yet, and the response has not started. */
  get free(): boolean {
    return !this.#body && !this.headersSent && !this.destroyed;
  }

  /** @internal */
  nameOffer(unclaimed?: () => void): string {
    const token = String(++this.#offers);
    if (unclaimed) (this.#unclaimed ??= new Map()).set(token, unclaimed);
    return token;
  }

  /** @internal */
  accepts(token: string, announced: { length: number; encoding: string | null }): boolean {
    if (this.#sending !== token || !this.free) return false;
    this.#sending = undefined;
    // The bytes go out as they are stored: only under the length this response announces, and
    // never under a Content-Encoding other than the stored one (a compressor in between).
    const accepted =
      !this.#wrote &&
      this.req.method === 'GET' &&
      (this.statusCode === 200 || this.statusCode === 206) &&
      this.#expected === announced.length &&
      (this.getHeader('content-encoding') ?? null) === announced.encoding;
    if (accepted) this.#unclaimed?.delete(token);
    return accepted;
  }

  /** @internal */
  take(body: HandedBody, report?: BodyReport): void {
    this.#body = body;
    this.#report = report;
  }

  override setHeader(name: string, value: number | string | readonly string[]): this {
    return this.#private(name, value) ? this : super.setHeader(name, value);
  }

  override appendHeader(name: string, value: string | readonly string[]): this {
    return this.#private(name, value) ? this : super.appendHeader(name, value);
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    this.#wrote = true;
    if (this.#expected !== undefined && !this.#bodiless()) {
      this.#counted += byteLength(chunk, encoding);
      if (this.#counted > this.#expected) {
        this.destroy(new Error(`response body is longer than its Content-Length of ${this.#expected}`));
        return false;
      }
    }
    return super.write(chunk, encoding as BufferEncoding, callback as () => void);
  }

  override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    const body = this.#body;
    if (body && !this.#settled) {
      this.#settled = true;
      const empty = chunk === undefined || chunk === null || typeof chunk === 'function';
      const length = body.file ? body.file.end - body.file.start + 1 : body.bytes.byteLength;
      if (empty && !this.#wrote && this.writableLength === 0 && this.#expected === length) {
        const done = (typeof chunk === 'function' ? chunk : typeof encoding === 'function' ? encoding : callback) as (() => void) | undefined;
        if (body.bytes) {
          // A body in memory goes out with the headers, in one write.
          if (this.#report) this.#reportBytes(body.bytes.byteLength, this.#report);
          return this.#end(body.bytes, undefined, done);
        }
        void this.#sendFile(body.file, () => this.#end(undefined, undefined, done));
        return this;
      }
      this.#letGo();
    }
    return this.#end(chunk, encoding, callback);
  }

  /** `end`, held to the verified length. */
  #end(chunk: unknown, encoding: unknown, callback: unknown): this {
    if (this.#expected !== undefined && !this.#bodiless()) {
      this.#counted += byteLength(chunk, encoding);
      if (this.#counted !== this.#expected) {
        this.destroy(new Error(`response body is ${this.#counted} bytes, its Content-Length ${this.#expected}`));
        return this;
      }
    }
    return super.end(chunk, encoding as BufferEncoding, callback as () => void);
  }

  /** Whether `name` is a private header (consumed here) or a length that may not replace the verified one. */
  #private(name: string, value: unknown): boolean {
    const lower = name.toLowerCase();
    const first = Array.isArray(value) ? value[0] : value;
    if (lower === LENGTH_HEADER) {
      const length = verifiedLength(first);
      if (length !== undefined && !this.headersSent) {
        this.#expected = length;
        super.setHeader('content-length', String(length));
      }
      return true;
    }
    if (lower === ENCODING_HEADER) {
      const encoding = verifiedEncoding(first);
      if (encoding !== undefined && !this.headersSent) super.setHeader('content-encoding', encoding);
      return true;
    }
    if (lower === BODY_HEADER) {
      // Names the Response whose headers Next is copying now.
      if (!this.headersSent) this.#sending = String(first);
      return true;
    }
    return lower === 'content-length' && this.#expected !== undefined;
  }

  /** Statuses and methods whose responses never carry a body (RFC 9110 §6.4.1). */
  #bodiless(): boolean {
    const status = this.statusCode;
    return this.req.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  }

  /** A handed body that will not be sent (another body went out, the client left): its file is closed, its download aborted. */
  #letGo(): void {
    this.#settled = true;
    this.#body?.file?.close().catch(() => undefined);
    this.#report?.(0, 'aborted');
  }

  #closed(): void {
    // Taken but never sent: the client went away first.
    if (this.#body && !this.#settled) this.#letGo();
    const unclaimed = this.#unclaimed;
    this.#unclaimed = undefined;
    if (unclaimed) for (const release of unclaimed.values()) release();
  }

  /** Tells `report` how a body in memory ended, once the response closed: all of it went out, or none is known to have. */
  #reportBytes(length: number, report: BodyReport): void {
    this.once('close', () => (this.writableFinished ? report(length, 'completed') : report(0, 'aborted')));
  }

  /**
   * Writes `file`, then `finish`es; a short file or a failed read destroys the connection. The
   * report, when there is one, learns how it ended once the response closed, with the bytes the
   * socket took (each write's callback).
   */
  async #sendFile(file: FileBody, finish: () => void): Promise<void> {
    const progress = { position: file.start, written: 0, failure: undefined as { error: unknown } | undefined };
    const report = this.#report;
    if (report) {
      this.once('close', () => {
        if (this.writableFinished) report(file.end - file.start + 1, 'completed');
        else if (progress.failure) report(progress.written, 'failed', progress.failure.error);
        else report(progress.written, 'aborted');
      });
    }
    try {
      if (await this.#writeChunks(file, progress)) finish();
    } catch (error) {
      // RFC 9112 §6.3: a message shorter than its Content-Length is incomplete; closing the
      // connection is how the client learns it.
      progress.failure = { error };
      this.destroy(error as Error);
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  /** Reads `file` in pooled chunks and writes them, one read ahead; `false` when the client went away. */
  async #writeChunks(file: FileBody, progress: { position: number; written: number }): Promise<boolean> {
    const read = async (): Promise<{ buffer: Buffer; bytes: number } | undefined> => {
      if (progress.position > file.end) return undefined;
      const buffer = borrow();
      const length = Math.min(buffer.length, file.end - progress.position + 1);
      try {
        const { bytesRead } = await file.handle.read(buffer, 0, length, progress.position);
        if (bytesRead === 0) throw new Error(`file ended ${file.end - progress.position + 1} bytes early`);
        progress.position += bytesRead;
        return { buffer, bytes: bytesRead };
      } catch (error) {
        giveBack(buffer);
        throw error;
      }
    };
    let next = read();
    for (;;) {
      const chunk = await next;
      if (!chunk) return true;
      if (this.destroyed) {
        giveBack(chunk.buffer);
        return false;
      }
      // The buffer goes back to the pool only once the socket has taken its bytes (the write
      // callback); until then nothing else can touch it. A write that never calls back leaves
      // its buffer to the garbage collector.
      const ok = this.write(chunk.buffer.subarray(0, chunk.bytes), (error?: Error | null) => {
        if (!error) progress.written += chunk.bytes;
        giveBack(chunk.buffer);
      });
      // The next chunk is read while this one is written; its failure is seen by the `await
      // next` above, and must not count as unhandled while the drain is awaited.
      next = read();
      next.catch(() => undefined);
      if (!ok && !(await drained(this))) {
        await next.then((rest) => rest && giveBack(rest.buffer)).catch(() => undefined);
        return false;
      }
    }
  }
}

/** Resolves `true` on 'drain', `false` if the response closes first (the client went away). */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = (): void => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = (): void => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
