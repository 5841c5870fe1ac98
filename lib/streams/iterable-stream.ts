/** A piece of generated content: text is sent as UTF-8. */
export type Chunk = string | Uint8Array;

/** Coalescing target: many tiny yields (a line each) would cost a promise and a write per line. */
export const DEFAULT_COALESCE_SIZE = 64 * 1024;

const encoder = new TextEncoder();

/**
 * Encodes chunks to bytes. Text is UTF-8; a surrogate pair split across two yields (a string
 * cut with `.slice()`) is joined again instead of becoming two U+FFFD.
 */
class ChunkEncoder {
  #highSurrogate = '';

  encode(chunk: Chunk): Uint8Array {
    if (typeof chunk !== 'string') {
      if (!(chunk instanceof Uint8Array)) throw new TypeError('generated content must yield strings or Uint8Arrays');
      return this.#highSurrogate ? concatTwo(this.flush(), chunk) : chunk;
    }
    let text = this.#highSurrogate + chunk;
    this.#highSurrogate = '';
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#highSurrogate = text.slice(-1);
      text = text.slice(0, -1);
    }
    return encoder.encode(text);
  }

  /** What is held back at the end: a lone high surrogate, sent as U+FFFD. */
  flush(): Uint8Array {
    const rest = this.#highSurrogate;
    this.#highSurrogate = '';
    return encoder.encode(rest);
  }
}

function concatTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  return concat([a, b], a.length + b.length);
}

/** The bytes gathered for one chunk. */
class Batch {
  readonly #parts: Uint8Array[] = [];
  length = 0;

  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#parts.push(bytes);
    this.length += bytes.length;
  }

  /** Sends what was gathered, if anything. */
  send(controller: ReadableStreamDefaultController<Uint8Array>): void {
    if (this.length > 0) controller.enqueue(concat(this.#parts, this.length));
  }

  /** The iterable is done: sends the rest, with what the encoder held back, and closes. */
  finish(controller: ReadableStreamDefaultController<Uint8Array>, chunks: ChunkEncoder): void {
    this.add(chunks.flush());
    this.send(controller);
    controller.close();
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Streams a sync or async iterable with backpressure: the iterator is advanced only when the
 * consumer pulls, so a generator runs no further ahead than one chunk.
 *
 * Small yields are coalesced up to `coalesceSize` bytes, but a generator that pauses (a slow
 * query, a timer) does not hold back what it already produced: whatever is buffered is flushed
 * as soon as the next item is not ready within the same turn of the event loop.
 * Cancelling the stream (client gone) calls the iterator's `return()`, so `finally` blocks run.
 */
export function iterableToStream(
  iterable: Iterable<Chunk> | AsyncIterable<Chunk>,
  coalesceSize = DEFAULT_COALESCE_SIZE,
): ReadableStream<Uint8Array> {
  if (!(Symbol.asyncIterator in iterable)) return syncIterableToStream(iterable, coalesceSize);
  const iterator = iterable[Symbol.asyncIterator]();
  const chunks = new ChunkEncoder();
  let pending: Promise<IteratorResult<Chunk>> | undefined;

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const batch = new Batch();
        // One timer per chunk, not per item, started when the first item is in: the items that
        // settle within that turn of the event loop are coalesced; once it has passed, an item
        // that is not ready flushes what is buffered.
        let turn: Promise<undefined> | undefined;
        for (;;) {
          const next = pending ?? iterator.next();
          pending = undefined;
          const result = turn === undefined ? await next : await Promise.race([next, turn]);
          if (result === undefined) {
            pending = next;
            break;
          }
          if (result.done) {
            batch.finish(controller, chunks);
            return;
          }
          const bytes = await encodeOrStop(chunks, result.value, iterator);
          if (bytes.length === 0) continue;
          turn ??= nextTurn();
          batch.add(bytes);
          if (batch.length >= coalesceSize) break;
        }
        batch.send(controller);
      },
      async cancel(reason) {
        await iterator.return?.(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function syncIterableToStream(iterable: Iterable<Chunk>, coalesceSize: number): ReadableStream<Uint8Array> {
  const iterator = iterable[Symbol.iterator]();
  const chunks = new ChunkEncoder();
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const batch = new Batch();
        while (batch.length < coalesceSize) {
          const result = iterator.next();
          if (result.done) {
            batch.finish(controller, chunks);
            return;
          }
          let bytes: Uint8Array;
          try {
            bytes = chunks.encode(result.value);
          } catch (error) {
            // The stream errors and can no longer be cancelled: end the generator here, so its
            // `finally` blocks (cursors, handles) run.
            iterator.return?.();
            throw error;
          }
          batch.add(bytes);
        }
        batch.send(controller);
      },
      cancel(reason) {
        iterator.return?.(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

async function encodeOrStop(
  chunks: ChunkEncoder,
  value: Chunk,
  iterator: AsyncIterator<Chunk>,
): Promise<Uint8Array> {
  try {
    return chunks.encode(value);
  } catch (error) {
    // The stream errors and can no longer be cancelled: end the generator here, so its
    // `finally` blocks (cursors, handles) run.
    await iterator.return?.();
    throw error;
  }
}

function nextTurn(): Promise<undefined> {
  return new Promise((resolve) => setImmediate(() => resolve(undefined)));
}
