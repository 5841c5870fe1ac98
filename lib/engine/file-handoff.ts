import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { takeFile, type TakenFile } from '../streams/file-stream';

/**
 * The file-body hand-off between the engine and the kit's server: the server opens a slot for
 * each request it hosts (`fileBodySlots().run`), and the engine puts a file it is about to
 * stream there instead (`sendFileBody`). The store is kept on `globalThis`: Next bundles the
 * engine into each route, a module instance apart from the server's, and both must see one store.
 */
export interface FileBodySlot {
  res: ServerResponse;
  file?: TakenFile;
  /** A body already in memory (a small file read at once), sent by the server in one write. */
  bytes?: Uint8Array;
}

const STORE = Symbol.for('next-downloadview.file-body');

type GlobalWithSlots = typeof globalThis & { [STORE]?: AsyncLocalStorage<FileBodySlot> };

/** The one store of this process. */
export function fileBodySlots(): AsyncLocalStorage<FileBodySlot> {
  return ((globalThis as GlobalWithSlots)[STORE] ??= new AsyncLocalStorage<FileBodySlot>());
}

/** This request's slot, if the kit's server hosts it and no body was handed over or sent yet. */
function freeSlot(): FileBodySlot | undefined {
  const slot = fileBodySlots().getStore();
  return !slot || slot.file || slot.bytes || slot.res.headersSent || slot.res.destroyed ? undefined : slot;
}

/**
 * Called by the engine with the body stream of a 200 or 206 it is about to return: when the
 * kit's server hosts this request and the stream is a file nobody has read, the server takes
 * the open file and sends its bytes itself, from Node's side, and the engine answers with no
 * body. `false` otherwise (plain `next start`, a test calling the handler): the engine sends the
 * stream as usual.
 *
 * The file was opened and checked against the stat that decided the headers before this, so
 * the identity guarantee is unchanged; the server sends exactly `start..end` and breaks the
 * connection if the file ends early.
 */
export function sendFileBody(stream: ReadableStream<Uint8Array>): boolean {
  const slot = freeSlot();
  if (!slot) return false;
  const file = takeFile(stream);
  if (!file) return false;
  slot.file = file;
  return true;
}

/**
 * The same hand-off for a body the engine already holds in memory (a small file read in one
 * go): the server writes it with the response's end, where Next would pipe it through a web
 * stream, which costs more than the whole rest of a small download. `false` when no kit server
 * hosts the request: the engine then answers with the bytes as the body.
 */
export function sendBytesBody(bytes: Uint8Array): boolean {
  const slot = freeSlot();
  if (!slot) return false;
  slot.bytes = bytes;
  return true;
}
