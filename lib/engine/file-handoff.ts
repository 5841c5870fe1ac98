import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { takeFile, type TakenFile } from '../streams/file-stream';
import type { BodyReport, TrackedBody } from '../events/download-record';

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
  /** Set with `file` or `bytes` when a download listener watches the body: the server tells how it ended. */
  report?: BodyReport;
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
 * body, the stream of an open file nobody has read. Under the kit's server the Response is
 * marked so that, if and only if Next sends it, the server sends the file itself, from Node's
 * side, in reused buffers. Anyone else reading the Response gets its body as usual. Without the
 * kit's server (plain `next start`, a test calling the handler) the Response is returned
 * untouched.
 *
 * The file was opened and checked against the stat that decided the headers before this, so
 * the identity guarantee is unchanged; the server sends exactly `start..end` and breaks the
 * connection if the file ends early.
 */
export function offerBody(response: Response, body: ReadableStream<Uint8Array>, tracked?: TrackedBody): Response {
  const slot = freeSlot();
  if (!slot) return response;
  const token = mark(slot, response);
  // `body` is read by Next right after it has copied the headers (send-response.js): that read
  // of this very Response, while its private header is the one just written, is the claim.
  Object.defineProperty(response, 'body', {
    configurable: true,
    get(this: Response): ReadableStream<Uint8Array> | null {
      const own = bodyOf(this);
      if (!claimable(slot, token, this)) return own;
      // A stream someone has locked or read is theirs: takeFile gives nothing then.
      const file = takeFile(body);
      if (!file) return own;
      slot.file = file;
      slot.report = tracked?.handOff();
      return claimed(this);
    },
  });
  return response;
}

/**
 * The answer for a body already in memory (a small file read at once): `new Response(bytes)`,
 * except under the kit's server, where, when Next sends this Response, the server writes the
 * bytes with the headers in one write instead of Next piping a web stream (which costs more
 * than the rest of a small download). There the Response is made without a body, and one is
 * made from the bytes the moment anyone asks for it (`body`, `arrayBuffer()`, `text()`,
 * `clone()`...): making a web stream per small answer is a cost only a reader pays.
 */
export function bytesResponse(bytes: Uint8Array<ArrayBuffer>, init: { status: number; headers: Headers }, tracked?: TrackedBody): Response {
  const slot = freeSlot();
  if (!slot) return new Response(tracked?.stream ?? bytes, init);
  const response = new Response(null, init);
  const token = mark(slot, response);
  let real: Response | undefined;
  const withBody = (): Response =>
    (real ??= new Response(tracked?.stream ?? bytes, { status: response.status, statusText: response.statusText, headers: response.headers }));
  const read = (method: 'arrayBuffer' | 'blob' | 'bytes' | 'formData' | 'json' | 'text') => ({
    configurable: true,
    value: (...args: unknown[]) => (withBody()[method] as (...a: unknown[]) => unknown)(...args),
  });
  Object.defineProperties(response, {
    body: {
      configurable: true,
      get(this: Response): ReadableStream<Uint8Array> | null {
        const untouched = real === undefined || !(real.bodyUsed || bodyOf(real)?.locked);
        if (!untouched || !claimable(slot, token, this) || bytes.byteLength !== Number(this.headers.get('content-length'))) return withBody().body;
        slot.bytes = bytes;
        slot.report = tracked?.handOff();
        return claimed(this);
      },
    },
    bodyUsed: { configurable: true, get: () => real?.bodyUsed ?? false },
    arrayBuffer: read('arrayBuffer'),
    blob: read('blob'),
    bytes: read('bytes'),
    formData: read('formData'),
    json: read('json'),
    text: read('text'),
    clone: { configurable: true, value: () => withBody().clone() },
  });
  return response;
}

/** Names `response` in its private header: the token the server sees when Next copies its headers. */
function mark(slot: FileBodySlot, response: Response): string {
  const token = String((slot.offers = (slot.offers ?? 0) + 1));
  response.headers.set(BODY_HEADER, token);
  return token;
}

/**
 * Whether the server can take `response`'s body now: Next has just written this Response's
 * private header, nothing was taken yet, and the server accepts the length and coding it
 * announces. Asked once: the claim is this read or never.
 */
function claimable(slot: FileBodySlot, token: string, response: Response): boolean {
  if (slot.sending !== token || freeSlot() !== slot) return false;
  slot.sending = undefined;
  return slot.accepts?.(Number(response.headers.get('content-length')), response.headers.get('content-encoding')) ?? false;
}

/** Claimed: Next sends no body, and the server writes this one when Next ends the response. */
function claimed(response: Response): null {
  Object.defineProperty(response, 'body', { configurable: true, value: null });
  return null;
}
