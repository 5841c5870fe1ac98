import { resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import { ConfigurationError } from '../errors';
import type { Source } from '../engine/source';
import { createHandlers, type DownloadHandlers } from './handlers';
import { virtualSource, type VirtualFile } from '../sources/virtual-source';

export interface VirtualDownloadOptions extends DownloadOptions {
  /**
   * The file: fixed, or made per request (throw `HttpError(400, ...)` for bad input). Its
   * `content` may itself be a function, called only when a body is sent.
   */
  file: VirtualFile | ((request: Request, params: RouteParams) => VirtualFile | Promise<VirtualFile>);
}

/**
 * Serves content that is in memory or generated (django-downloadview's VirtualDownloadView):
 * strings (sent as UTF-8, measured in bytes), bytes, Blobs, ReadableStreams, sync or async
 * iterables. Generated content streams as it is made, with backpressure.
 *
 * @example
 * // app/hello/route.ts
 * export const { GET, HEAD } = virtualDownload({ file: { name: 'hello-world.txt', content: 'Hello world!\n' } });
 *
 * @example
 * // A generated export: nothing runs for HEAD or 304.
 * export const { GET, HEAD } = virtualDownload({
 *   file: () => ({
 *     name: 'report.csv',
 *     content: async function* () { yield 'id,name\n'; for await (const row of rows()) yield `${row.id},${row.name}\n`; },
 *   }),
 * });
 */
export function virtualDownload(options: VirtualDownloadOptions): DownloadHandlers {
  const resolved = resolveOptions(options, 'virtualDownload');
  const { file } = options;
  if (typeof file === 'function') {
    return createHandlers(async (request, params) => virtualSource(await file(request, params)), resolved);
  }
  if (file === null || typeof file !== 'object' || !('content' in file)) {
    throw new ConfigurationError('virtualDownload: file must be a VirtualFile ({ content, name, ... }) or a function returning one');
  }
  if (isOneShot(file.content)) {
    throw new ConfigurationError('virtualDownload: a stream or generator can be read once only; give `content: () => ...` to make one per request');
  }
  // Fixed content is measured and hashed once, at module load.
  let source: Source;
  try {
    source = virtualSource(file);
  } catch (error) {
    throw new ConfigurationError(`virtualDownload: ${(error as Error).message}`);
  }
  return createHandlers(() => source, resolved);
}

function isOneShot(content: VirtualFile['content']): boolean {
  if (content instanceof ReadableStream) return true;
  if (typeof content !== 'object' || content === null) return false;
  const iterable = content as unknown as Partial<Iterable<unknown> & AsyncIterable<unknown>>;
  // A generator object is its own iterator: once read, it is empty.
  const self: unknown = content;
  return iterable[Symbol.iterator]?.() === self || iterable[Symbol.asyncIterator]?.() === self;
}
