const BYTES = Symbol('next-downloadview.bytes');

type BytesStream = ReadableStream<Uint8Array> & { [BYTES]?: Uint8Array<ArrayBuffer> };

/**
 * A stream of bytes already in memory, which says so: the engine then answers with the bytes
 * themselves (`new Response(bytes)`), the cheapest body a route handler can give, instead of
 * piping a stream through the framework. Anyone else reads it as an ordinary one-chunk stream.
 */
export function bytesStream(bytes: Uint8Array<ArrayBuffer>): ReadableStream<Uint8Array> {
  const stream: BytesStream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
  stream[BYTES] = bytes;
  return stream;
}

/**
 * The bytes behind a stream made by `bytesStream`, if nothing has read it yet (a locked stream
 * is someone's: its bytes are theirs to read), else `undefined`.
 */
export function bytesOf(stream: ReadableStream<Uint8Array>): Uint8Array<ArrayBuffer> | undefined {
  return stream.locked ? undefined : (stream as BytesStream)[BYTES];
}
