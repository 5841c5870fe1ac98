import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { takeFile, type TakenFile } from '../streams/file-stream';

/**
 * The body hand-off between the engine and the kit's server. The server opens a slot for each
 * request it hosts (`fileBodySlots().run`); the engine answers with an ordinary Response that
 * carries its body, as under any server, and offers that body to the server (`offerBody`). The
 * server takes it only when Next sends that very Response: the Response names itself in a
 * private header, which the server sees (and drops) while Next copies the headers to the wire,
 * and Next's read of `response.body` right after is what hands the body over. Code that reads
 * the Response itself (to hash, cache or re-wrap it) reads every byte, and a Response the app
 * built from another one's headers sends its own body.
 *
 * The store is kept on `globalThis`: Next bundles the engine into each route, a module instance
 * apart from the server's, and both must see one store.
 */
export interface FileBodySlot {
  res: ServerResponse;
  /** The offer whose headers Next is writing now (the private header's value), until claimed. */
  sending?: string;
  /** How many bodies were offered in this request (each offer's token is its number). */
  offers?: number;
  /**
   * Set by the server: whether it can send a body of `length` bytes, stored under `encoding`
   * (the Response's Content-Encoding, `null` for none), for the response as it stands (status,
   * method, announced length and coding). Asked at the moment Next reads the body.
   */
  accepts?: (length: number, encoding: string | null) => boolean;
  /** The open file the server sends once Next ends the response without a body. */
  file?: TakenFile;
  /** A body already in memory (a small file read at once), sent by the server in one write. */
  bytes?: Uint8Array;
}

/** The private header naming an offered Response; the kit's server consumes it, it never reaches the wire. */
export const BODY_HEADER = 'x-downloadview-body';

const STORE = Symbol.for('next-downloadview.file-body');

type GlobalWithSlots = typeof globalThis & { [STORE]?: AsyncLocalStorage<FileBodySlot> };

/** The one store of this process. */
export function fileBodySlots(): AsyncLocalStorage<FileBodySlot> {
  return ((globalThis as GlobalWithSlots)[STORE] ??= new AsyncLocalStorage<FileBodySlot>());
}

/** This request's slot, if the kit's server hosts it and no body was claimed or sent yet. */
function freeSlot(): FileBodySlot | undefined {
  const slot = fileBodySlots().getStore();
  return !slot || slot.file || slot.bytes || slot.res.headersSent || slot.res.destroyed ? undefined : slot;
}

/** Response's own `body` getter; looked up on first use (touching `Response` loads undici, and node:assert with it). */
let bodyGetter: (() => ReadableStream<Uint8Array> | null) | undefined;

function bodyOf(response: Response): ReadableStream<Uint8Array> | null {
  bodyGetter ??= Object.getOwnPropertyDescriptor(Response.prototype, 'body')!.get as () => ReadableStream<Uint8Array> | null;
  return bodyGetter.call(response);
}

/**
 * Called by the engine with a 200 or 206 Response it is about to return and that Response's
 * body (the stream of an open file nobody has read, or bytes in memory). Under the kit's server
 * the Response is marked so that, if and only if Next sends it, the server sends the body
 * itself, from Node's side: an open file in reused buffers, bytes with the headers in one
 * write. Anyone else reading the Response gets its body as usual. Without the kit's server
 * (plain `next start`, a test calling the handler) the Response is returned untouched.
 *
 * The file was opened and checked against the stat that decided the headers before this, so
 * the identity guarantee is unchanged; the server sends exactly `start..end` and breaks the
 * connection if the file ends early.
 */
export function offerBody(response: Response, body: ReadableStream<Uint8Array> | Uint8Array): Response {
  const slot = freeSlot();
  if (!slot) return response;
  const token = String((slot.offers = (slot.offers ?? 0) + 1));
  response.headers.set(BODY_HEADER, token);
  // `body` is read by Next right after it has copied the headers (send-response.js): that read
  // of this very Response, while its private header is the one just written, is the claim.
  Object.defineProperty(response, 'body', {
    configurable: true,
    get(this: Response): ReadableStream<Uint8Array> | null {
      const own = bodyOf(this);
      if (slot.sending !== token || freeSlot() !== slot) return own;
      slot.sending = undefined;
      // The server sends exactly the length this Response announces, or lets Next send the body.
      const length = Number(this.headers.get('content-length'));
      if (!slot.accepts?.(length, this.headers.get('content-encoding'))) return own;
      if (body instanceof Uint8Array) {
        if (this.bodyUsed || body.byteLength !== length) return own;
        slot.bytes = body;
      } else {
        // A stream someone has locked or read is theirs: takeFile gives nothing then.
        const file = takeFile(body);
        if (!file) return own;
        slot.file = file;
      }
      // Claimed: Next sends no body, and the server writes this one when Next ends the response.
      Object.defineProperty(this, 'body', { configurable: true, value: null });
      return null;
    },
  });
  return response;
}
