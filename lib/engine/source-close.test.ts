import { describe, expect, it, vi } from 'vitest';
import { HttpError } from '../errors';
import { resolveOptions, type DownloadOptions } from './options';
import { serve } from './serve';
import type { Source } from './source';

// The engine owns a source's lifecycle: whatever the answer, it calls `close()` once, after the
// answer is decided, so no factory has to wrap its handlers to release what a source holds.

const bytes = new TextEncoder().encode('abcdefghijklmnopqrstuvwxyz');

function closingSource(meta: Partial<Source> = {}) {
  const close = vi.fn(async () => undefined);
  const source: Source = {
    name: 'letters.txt',
    size: bytes.length,
    etag: 'v1',
    open: () => new ReadableStream({ start: (c) => (c.enqueue(bytes), c.close()) }),
    close,
    ...meta,
  };
  return { source, close };
}

async function answer(source: Source, init: RequestInit = {}, options: DownloadOptions = {}) {
  const response = await serve(new Request('http://test/letters.txt', init), {}, () => source, resolveOptions(options, 'test'));
  await response.body?.cancel();
  return response;
}

describe('serve', () => {
  describe('closes the source once, after its answer', () => {
    it('on a HEAD, which opens nothing', async () => {
      const { source, close } = closingSource();
      expect((await answer(source, { method: 'HEAD' })).status).toBe(200);
      expect(close).toHaveBeenCalledTimes(1);
    });

    it('on a 304', async () => {
      const { source, close } = closingSource();
      expect((await answer(source, { headers: { 'if-none-match': '"v1"' } })).status).toBe(304);
      expect(close).toHaveBeenCalledTimes(1);
    });

    it('on a streamed 200, after the body was handed over', async () => {
      const { source, close } = closingSource();
      expect((await answer(source)).status).toBe(200);
      expect(close).toHaveBeenCalledTimes(1);
    });

    it('when an option callback throws after the source was found', async () => {
      const { source, close } = closingSource();
      const response = await answer(source, {}, {
        filename: () => {
          throw new HttpError(400, 'no name');
        },
      });
      expect(response.status).toBe(400);
      expect(close).toHaveBeenCalledTimes(1);
    });

    it('when open() fails, and the failure still becomes the answer', async () => {
      const { source, close } = closingSource({
        open: () => {
          throw new HttpError(404, 'Not Found');
        },
      });
      expect((await answer(source)).status).toBe(404);
      expect(close).toHaveBeenCalledTimes(1);
    });

    it('and a failing close() does not change the answer', async () => {
      const { source } = closingSource({
        close: () => {
          throw new Error('already gone');
        },
      });
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      expect((await answer(source)).status).toBe(200);
      expect(error).toHaveBeenCalledTimes(1);
      error.mockRestore();
    });
  });
});
