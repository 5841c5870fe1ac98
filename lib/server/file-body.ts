import type { IncomingMessage, ServerResponse } from 'node:http';
import { BODY_HEADER, fileBodySlots, type FileBodySlot } from '../engine/file-handoff';
import type { TakenFile } from '../streams/file-stream';
import type { BodyReport } from '../events/download-record';

// The engine's side of the hand-off, for the tests and callers that knew it here.
export { BODY_HEADER, bytesResponse, offerBody } from '../engine/file-handoff';

/**
 * Bytes per read of a file body the server sends itself. Each response holds at most two of
 * them (one being written to the socket, the next one read), so 20 slow clients hold 20 MiB.
 */
export const FILE_BODY_CHUNK = 512 * 1024;

/** Buffers kept for reuse across responses: at most this many (8 MiB), the rest is dropped. */
const POOL_SIZE = 16;
const pool: Buffer[] = [];

function borrow(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(FILE_BODY_CHUNK);
}

function giveBack(buffer: Buffer): void {
  if (pool.length < POOL_SIZE) pool.push(buffer);
}

/**
 * Runs `handle` for one request so that the engine can offer this server a body (`offerBody`).
 * When Next sends the very Response the body was offered with (a 200 or 206 of this GET, with
 * the length the server announces), Next gets no body to pipe and ends the response without
 * one; the server then writes the body itself: a file with positional reads into reused
 * buffers (no web stream, no fresh 1 MiB buffer per chunk for the garbage collector,
 * backpressure from the socket), a body already in memory in the response's one final write.
 * Whatever happens (another body written, an error page, the client gone), a file taken is
 * closed exactly once.
 */
export function withFileBodies<T>(req: IncomingMessage, res: ServerResponse, handle: () => T): T {
  const slot: FileBodySlot = { res };
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const setHeader = res.setHeader.bind(res);
  let sent = false;
  /** Whether anything was written before the end (a body other than the one handed over). */
  let written = false;
  const release = (): void => {
    const file = slot.file;
    if (file && !sent) {
      sent = true;
      file.close().catch(() => undefined);
      // Taken but never sent: the client went away first, or another body went out instead.
      slot.report?.(0, 'aborted');
    }
  };
  slot.accepts = (length, encoding) =>
    !res.headersSent &&
    !written &&
    req.method === 'GET' &&
    (res.statusCode === 200 || res.statusCode === 206) &&
    // The bytes go out as they are stored, so only under the length the server announces and
    // never under a Content-Encoding other than the stored one (a compressor in between).
    res.getHeader('content-length') === String(length) &&
    (res.getHeader('content-encoding') ?? null) === encoding;
  // The private header names the Response whose headers Next is copying now; it never reaches the wire.
  const naming = (name: string, value: unknown): boolean => {
    if (name.length !== BODY_HEADER.length || name.toLowerCase() !== BODY_HEADER) return false;
    if (!res.headersSent) slot.sending = String(Array.isArray(value) ? value[0] : value);
    return true;
  };
  res.setHeader = ((name: string, value: number | string | readonly string[]) => (naming(name, value) ? res : setHeader(name, value))) as typeof res.setHeader;
  const appendHeader = res.appendHeader?.bind(res);
  if (appendHeader) {
    res.appendHeader = ((name: string, value: string | readonly string[]) => (naming(name, value) ? res : appendHeader(name, value))) as typeof res.appendHeader;
  }
  res.write = ((...args: unknown[]) => {
    written = true;
    return write(...args);
  }) as typeof res.write;
  res.end = ((...args: unknown[]) => {
    const { file, bytes } = slot;
    if (!file && !bytes) return end(...args);
    const length = file ? file.end - file.start + 1 : bytes!.byteLength;
    const empty = args.length === 0 || args[0] === undefined || args[0] === null || typeof args[0] === 'function';
    if (sent || !empty || written || res.writableLength > 0 || res.getHeader('content-length') !== String(length)) {
      release();
      return end(...args);
    }
    sent = true;
    // A body in memory goes out with the headers, in one write.
    if (!file) {
      if (slot.report) reportBytes(res, bytes!.byteLength, slot.report);
      return end(bytes, ...args);
    }
    void writeFile(res, file, () => end(...args), slot.report);
    return res;
  }) as typeof res.end;
  res.once('close', release);
  return fileBodySlots().run(slot, handle);
}

/** Tells `report` how a body in memory ended, once the response closed: all of it went out, or none is known to have. */
function reportBytes(res: ServerResponse, length: number, report: BodyReport): void {
  res.once('close', () => (res.writableFinished ? report(length, 'completed') : report(0, 'aborted')));
}

/**
 * Writes `file` to `res`, then ends it; a short file or a failed read destroys the connection.
 * `report`, when given, learns how it ended once the response closed, with the bytes the socket
 * took (each write's callback).
 */
async function writeFile(res: ServerResponse, file: TakenFile, end: () => ServerResponse, report?: BodyReport): Promise<void> {
  let position = file.start;
  let written = 0;
  let failure: { error: unknown } | undefined;
  if (report) {
    res.once('close', () => {
      if (res.writableFinished) report(file.end - file.start + 1, 'completed');
      else if (failure) report(written, 'failed', failure.error);
      else report(written, 'aborted');
    });
  }
  const read = async (): Promise<{ buffer: Buffer; bytes: number } | undefined> => {
    if (position > file.end) return undefined;
    const buffer = borrow();
    const length = Math.min(buffer.length, file.end - position + 1);
    try {
      const { bytesRead } = await file.handle.read(buffer, 0, length, position);
      if (bytesRead === 0) throw new Error(`file ended ${file.end - position + 1} bytes early`);
      position += bytesRead;
      return { buffer, bytes: bytesRead };
    } catch (error) {
      giveBack(buffer);
      throw error;
    }
  };
  try {
    let next = read();
    for (;;) {
      const chunk = await next;
      if (!chunk) break;
      if (res.destroyed) {
        giveBack(chunk.buffer);
        return;
      }
      // The buffer goes back to the pool only once the socket has taken its bytes (the write
      // callback); until then nothing else can touch it. A write that never calls back leaves
      // its buffer to the garbage collector.
      const ok = res.write(chunk.buffer.subarray(0, chunk.bytes), (error) => {
        if (!error) written += chunk.bytes;
        giveBack(chunk.buffer);
      });
      // The next chunk is read while this one is being written; its failure is seen by the
      // `await next` above, and must not count as unhandled while the drain is awaited.
      next = read();
      next.catch(() => undefined);
      if (!ok && !(await drained(res))) {
        await next.then((rest) => rest && giveBack(rest.buffer)).catch(() => undefined);
        return;
      }
    }
    end();
  } catch (error) {
    // RFC 9112 §6.3: a message shorter than its Content-Length is incomplete; closing the
    // connection is how the client learns it.
    failure = { error };
    res.destroy(error as Error);
  } finally {
    await file.close().catch(() => undefined);
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
