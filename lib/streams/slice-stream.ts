/**
 * Passes on exactly bytes `start..end` (inclusive) of `source`, reading and dropping what comes
 * before: a Range on content that cannot seek (a generator whose size is known).
 * When `end` is omitted, passes everything from `start` on.
 */
export function sliceStream(
  source: ReadableStream<Uint8Array>,
  start: number,
  end?: number,
): ReadableStream<Uint8Array> {
  let offset = 0;
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const chunkStart = offset;
        offset += chunk.length;
        const from = Math.max(start - chunkStart, 0);
        const to = end === undefined ? chunk.length : Math.min(end + 1 - chunkStart, chunk.length);
        if (to > from) controller.enqueue(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
        if (end !== undefined && offset > end) controller.terminate();
      },
    }),
  );
}

/**
 * Errors the stream unless it carries exactly `length` bytes. A response announced with a
 * Content-Length must never end short (the client would take a truncated file for a whole one)
 * nor run long (the extra bytes would corrupt the next response on a kept-alive connection).
 */
export function exactLength(source: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > length) {
          controller.error(new Error(`content is longer than its declared size of ${length} bytes`));
          return;
        }
        controller.enqueue(chunk);
      },
      flush(controller) {
        if (seen !== length) {
          controller.error(new Error(`content ended at ${seen} of its declared ${length} bytes`));
        }
      },
    }),
  );
}
