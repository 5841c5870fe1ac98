import { eventLoopTurn } from './event-loop-turn';

/**
 * Passes on exactly bytes `start..end` (inclusive) of `source`, reading and dropping what comes
 * before: a Range on content that cannot seek (a generator whose size is known).
 * When `end` is omitted, passes everything from `start` on. The source is read only as the
 * consumer pulls, and cancelled once `end` is passed or the consumer cancels.
 *
 * Dropping is CPU work with no I/O in between (a generator may make a megabyte per read), so
 * the skipping gives the event loop a turn every few milliseconds (`eventLoopTurn`): a far range
 * takes the time it takes without holding up the other requests of the process.
 */
export function sliceStream(
  source: ReadableStream<Uint8Array>,
  start: number,
  end?: number,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          const { done, value: chunk } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          const chunkStart = offset;
          offset += chunk.length;
          const from = Math.max(start - chunkStart, 0);
          const to = end === undefined ? chunk.length : Math.min(end + 1 - chunkStart, chunk.length);
          if (to > from) controller.enqueue(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
          if (end !== undefined && offset > end) {
            controller.close();
            await reader.cancel().catch(() => undefined);
            return;
          }
          if (to > from) return;
          await eventLoopTurn();
        }
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
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

/**
 * Splits one forward-only stream into one stream per range (inclusive, ascending and apart),
 * reading `source` once: a multipart answer of generated content then takes every part from a
 * single generation. The streams must be read in order; the bytes between ranges are dropped.
 * `source` is cancelled once every stream has ended or been cancelled, and a source that ends
 * before a range does errors that range's stream. Like `sliceStream`, dropping the bytes before
 * a range gives the event loop a turn every few milliseconds.
 */
export function splitStream(
  source: ReadableStream<Uint8Array>,
  ranges: readonly { start: number; end: number }[],
): ReadableStream<Uint8Array>[] {
  for (const [index, range] of ranges.entries()) {
    const previous = ranges[index - 1];
    if (range.end < range.start || (previous && range.start <= previous.end)) {
      throw new RangeError('splitStream: ranges must be ascending and apart');
    }
  }
  const reader = source.getReader();
  /** Read but not yet handed out, and the offset in `source` of its first byte. */
  let pending: Uint8Array = new Uint8Array(0);
  let offset = 0;
  let unfinished = ranges.length;
  const release = async () => {
    if (--unfinished === 0) await reader.cancel().catch(() => undefined);
  };
  if (unfinished === 0) void reader.cancel().catch(() => undefined);

  return ranges.map(({ start, end }) => {
    let wanted = start;
    let finished = false;
    const finish = async () => {
      if (finished) return;
      finished = true;
      await release();
    };
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            for (;;) {
              if (offset > wanted) throw new Error('splitStream: ranges read out of order');
              if (pending.length === 0 || offset + pending.length <= wanted) {
                offset += pending.length;
                const { done, value } = await reader.read();
                if (done) throw new Error(`content ended at byte ${offset}, before byte ${end}`);
                pending = value;
                await eventLoopTurn();
                continue;
              }
              const from = wanted - offset;
              const to = Math.min(pending.length, end + 1 - offset);
              const chunk = pending.subarray(from, to);
              pending = pending.subarray(to);
              offset += to;
              wanted += chunk.length;
              controller.enqueue(chunk);
              if (wanted > end) {
                await finish();
                controller.close();
              }
              return;
            }
          } catch (error) {
            await finish();
            throw error;
          }
        },
        async cancel() {
          await finish();
        },
      },
      { highWaterMark: 0 },
    );
  });
}
