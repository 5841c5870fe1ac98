import { AsyncLocalStorage } from 'node:async_hooks';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { fileStream, type FileBody } from '../streams/file-stream';
import { trackBody, trackBytes, type BodyReport, type TrackedBody } from '../events/download-record';

/*
 * The hand-off: how the engine and the kit's server (`HandoffResponse`) pass on what Next 16
 * would lose or slow down on its way from a route handler to the socket. Three private headers
 * carry it; the server consumes each of them, none reaches the wire, and without the server
 * none is set:
 *
 * - the length: Next 16 drops `Content-Length` from route-handler responses; the engine hands it
 *   over signed, and the server turns it back into `Content-Length` and holds the body to it;
 * - the coding: Next 16 drops `Content-Encoding` too (a file stored gzipped would reach the
 *   client as a gzip blob under its plain name); handed over signed the same way;
 * - the body: the engine hands the server an open file or bytes in memory, and the server sends
 *   them itself, from Node's side, instead of Next piping a web stream.
 */

/** The private header carrying the signed length. */
export const LENGTH_HEADER = 'x-downloadview-length';

const TOKEN = Symbol.for('next-downloadview.handoff-token');

type GlobalWithToken = typeof globalThis & { [TOKEN]?: Buffer };

/** Called by the server: from now on, the engine in this process hands lengths, codings and bodies over. */
export function enableHandoff(): void {
  (globalThis as GlobalWithToken)[TOKEN] ??= randomBytes(32);
}

function mac(token: Buffer, length: string): Buffer {
  return createHmac('sha256', token).update(length).digest().subarray(0, 16);
}

/**
 * Signed values by length, so that the lengths a server sends over and over (the same files)
 * cost a map lookup instead of an HMAC on each side. Bounded: cleared when full.
 */
const SIGNED = Symbol.for('next-downloadview.signed-lengths');
const SIGNED_MAX = 4096;

type GlobalWithSigned = typeof globalThis & { [SIGNED]?: { token: Buffer; values: Map<number, string> } };

function signedValues(token: Buffer): Map<number, string> {
  const global = globalThis as GlobalWithSigned;
  let cache = global[SIGNED];
  if (!cache || cache.token !== token) cache = global[SIGNED] = { token, values: new Map() };
  return cache.values;
}

/**
 * The private header's value for a length, or `undefined` when no kit server runs in this
 * process. It carries a MAC under a per-process secret, so a header a route sets by hand (or
 * copies from elsewhere) cannot make the server announce a length of its choosing.
 */
export function signedLength(length: number): string | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || !Number.isSafeInteger(length) || length < 0) return undefined;
  const values = signedValues(token);
  let signed = values.get(length);
  if (signed === undefined) {
    const value = String(length);
    signed = `${value}.${mac(token, value).toString('base64url')}`;
    if (values.size >= SIGNED_MAX) values.clear();
    values.set(length, signed);
  }
  return signed;
}

/** The length in a private header value, if it was made by `signedLength` in this process. */
export function verifiedLength(header: unknown): number | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || typeof header !== 'string') return undefined;
  const match = /^(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{22})$/.exec(header);
  if (!match) return undefined;
  const length = Number(match[1]);
  // A value this process signed and still remembers: compared in constant time, no HMAC.
  const known = signedValues(token).get(length);
  if (known !== undefined) return equalStrings(known, header) ? length : undefined;
  const expected = mac(token, match[1]!);
  const given = Buffer.from(match[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return length;
}

/** The private header carrying the signed `Content-Encoding`. */
export const ENCODING_HEADER = 'x-downloadview-encoding';

/** A `Content-Encoding` value: content-codings (RFC 9110 §8.4.1), tokens, comma-separated. */
const CODINGS = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:[ \t]*,[ \t]*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** The MAC of a coding; its own prefix, so that no signed length can pass for a coding. */
function encodingMac(token: Buffer, encoding: string): string {
  return mac(token, `content-encoding:${encoding}`).toString('base64url');
}

/** The private header's value for a `Content-Encoding`, or `undefined` when no kit server runs in this process. */
export function signedEncoding(encoding: string): string | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || !CODINGS.test(encoding)) return undefined;
  return `${encoding}/${encodingMac(token, encoding)}`;
}

/** The coding in a private header value, if it was made by `signedEncoding` in this process. */
export function verifiedEncoding(header: unknown): string | undefined {
  const token = (globalThis as GlobalWithToken)[TOKEN];
  if (!token || typeof header !== 'string') return undefined;
  const at = header.lastIndexOf('/');
  if (at < 1) return undefined;
  const encoding = header.slice(0, at);
  if (!CODINGS.test(encoding)) return undefined;
  const given = Buffer.from(header.slice(at + 1), 'utf8');
  const expected = Buffer.from(encodingMac(token, encoding), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected) ? encoding : undefined;
}

/** Whether two strings of the same shape are equal, in time that does not depend on where they differ. */
function equalStrings(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** The private header naming an offered Response while Next copies its headers. */
export const BODY_HEADER = 'x-downloadview-body';

/** A body the server can send itself: bytes of an open file, or bytes already in memory. */
export type HandedBody = { file: FileBody; bytes?: undefined } | { bytes: Uint8Array; file?: undefined };

/**
 * The kit's server's side of the body hand-off, as the engine sees it: the response of the
 * request being answered (`HandoffResponse`). Reached through `handoffTargets()`, so that the
 * engine bundled into a route and the server, two module instances, meet on one object.
 */
export interface HandoffTarget {
  /** No body was handed over yet, and the response has not started. */
  readonly free: boolean;
  /**
   * A new token naming the next Response offered in this request (its private body header).
   * `unclaimed`, when given, is called once the response closed if that offer was never claimed
   * (the app sent another Response): what it holds is released then, not at garbage collection.
   */
  nameOffer(unclaimed?: () => void): string;
  /**
   * Asked when Next reads the body of the Response named `token`, right after copying its
   * headers: whether the server can send a body of `announced` length and coding itself. Yes
   * only for the Response whose headers it just wrote, and only when the response as it stands
   * (status, method, the length it announces, the coding) lets it send those bytes as they are.
   * Asked once per offer: the claim is this read or never.
   */
  accepts(token: string, announced: { length: number; encoding: string | null }): boolean;
  /** After `accepts`: the body is the server's to send once Next ends the response without one. */
  take(body: HandedBody, report?: BodyReport): void;
}

const TARGETS = Symbol.for('next-downloadview.handoff-targets');

type GlobalWithTargets = typeof globalThis & { [TARGETS]?: AsyncLocalStorage<HandoffTarget> };

/** The one store of this process: the server runs each GET inside its response (`run`). */
export function handoffTargets(): AsyncLocalStorage<HandoffTarget> {
  return ((globalThis as GlobalWithTargets)[TARGETS] ??= new AsyncLocalStorage<HandoffTarget>());
}

/** This request's server response, when the kit's server hosts it and it can still take a body. */
export function handoffTarget(): HandoffTarget | undefined {
  const target = handoffTargets().getStore();
  return target?.free ? target : undefined;
}

/** A body offered to the server: taken by it, or read as a web stream by anyone else, never both. */
interface Offer {
  body: HandedBody;
  /** Whether the body can still go to the server: nobody else has read it, and nothing took it. */
  readonly available: boolean;
  /** The server took the body. */
  taken(): void;
  /** The body as a stream, made the first time someone other than the server reads the Response. */
  stream(): ReadableStream<Uint8Array>;
}

/**
 * A Response for `body` that the kit's server sends itself when Next sends this very Response:
 * it is made without a body and named in the private header, and Next's read of `body` right
 * after it copied that header is the claim (send-response.js). Anyone else who reads it
 * (`body`, `arrayBuffer()`, `clone()`...: a route hashing, caching or re-wrapping it) gets the
 * body as a web stream, made only then, and the server takes nothing. `tracked` watches the body
 * for a download listener; the server reports to it instead when it takes the body.
 */
function offered(
  target: HandoffTarget,
  offer: Offer,
  length: number,
  init: { status: number; headers: Headers },
  tracked: TrackedBody | undefined,
  unclaimed?: () => void,
): Response {
  const response = new Response(null, init);
  const token = target.nameOffer(unclaimed);
  response.headers.set(BODY_HEADER, token);
  let real: Response | undefined;
  const withBody = (): Response =>
    (real ??= new Response(tracked?.stream ?? offer.stream(), { status: response.status, statusText: response.statusText, headers: response.headers }));
  const read = (method: 'arrayBuffer' | 'blob' | 'bytes' | 'formData' | 'json' | 'text') => ({
    configurable: true,
    value: (...args: unknown[]) => (withBody()[method] as (...a: unknown[]) => unknown)(...args),
  });
  Object.defineProperties(response, {
    body: {
      configurable: true,
      get(this: Response): ReadableStream<Uint8Array> | null {
        const announced = { length: Number(this.headers.get('content-length')), encoding: this.headers.get('content-encoding') };
        if (real !== undefined || !offer.available || announced.length !== length || !target.accepts(token, announced)) return withBody().body;
        // Claimed: Next sends no body, and the server writes this one when Next ends the response.
        offer.taken();
        target.take(offer.body, tracked?.handOff());
        Object.defineProperty(this, 'body', { configurable: true, value: null });
        return null;
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

/**
 * The answer for a body already in memory (a small file read at once). Under the kit's server,
 * when Next sends this Response the server writes the bytes with the headers in one write
 * (Next's piping of even 4 KiB through a web stream costs more than the rest of a small
 * download); anywhere else, or to any other reader, it is `new Response(bytes)`.
 */
export function handOffBytes(request: Request, bytes: Uint8Array<ArrayBuffer>, init: { status: number; headers: Headers }): Response {
  const target = handoffTarget();
  if (!target) {
    const tracked = trackBytes(request, bytes);
    return new Response(tracked?.stream ?? bytes, init);
  }
  let available = true;
  const offer: Offer = {
    body: { bytes },
    get available() {
      return available;
    },
    taken: () => (available = false),
    stream: () => {
      available = false;
      return new Response(bytes).body!;
    },
  };
  return offered(target, offer, bytes.byteLength, init, trackBody(request, offer.stream));
}

/**
 * The answer for bytes `file.start..file.end` of an open file, under the kit's server (the
 * engine opens the file this way only when `handoffTarget()` has a target): when Next sends this
 * Response, the server sends the file itself, with positional reads into reused buffers and the
 * socket's backpressure, and no web stream is ever made. To any other reader the body is the
 * file as a web stream. The file is closed exactly once: by the server once sent, by the stream,
 * or here when the client goes away before anyone took or read it.
 */
export function handOffFile(request: Request, target: HandoffTarget, file: FileBody, init: { status: number; headers: Headers }): Response {
  let state: 'offered' | 'taken' | 'read' = 'offered';
  let stream: ReadableStream<Uint8Array> | undefined;
  const offer: Offer = {
    body: { file },
    get available() {
      return state === 'offered';
    },
    taken: () => (state = 'taken'),
    stream: () => {
      // Read after the server took the file (a clone cached after the answer went out): the bytes
      // are the server's now, and an error says so rather than an empty body that looks whole.
      if (state === 'taken') return new ReadableStream({ start: (controller) => controller.error(new Error('the body was handed to the server, which sent it')) });
      state = 'read';
      return (stream ??= fileStream(file));
    },
  };
  const release = (): void => {
    if (state === 'offered') {
      state = 'read';
      file.close().catch(() => undefined);
    } else if (state === 'read' && stream && !stream.locked) {
      stream.cancel(request.signal.reason).catch(() => undefined);
    }
  };
  if (request.signal.aborted) release();
  else request.signal.addEventListener('abort', release, { once: true });
  return offered(target, offer, file.end - file.start + 1, init, trackBody(request, offer.stream), release);
}
