/**
 * next-downloadview: route-handler factories for file downloads in the Next.js App Router.
 *
 * Each factory takes one options object and returns `{ GET, HEAD, ... }` for a `route.ts`.
 */

// Factories
export { pathDownload, type PathDownloadOptions } from './factories/path-download';
export { virtualDownload, type VirtualDownloadOptions } from './factories/virtual-download';

// Building blocks for your own sources
export { serve, type LoadSource } from './engine/serve';
export { createHandlers, type DownloadHandlers, type HandlerContext, type RouteHandler } from './handlers';
export { resolveOptions, ConfigurationError, DEFAULT_CACHE_CONTROL } from './engine/options';
export type { DownloadOptions, PerRequest, ResolvedOptions, RouteParams } from './engine/options';
export type { Source, SourceEtag, SourceMeta } from './engine/source';
export { pathSource, checkRequestedPath, type PathSourceOptions } from './sources/path-source';
export { virtualSource, type VirtualContent, type VirtualFile } from './sources/virtual-source';

// Streams
export { openFileStream, FileChangedError, DEFAULT_CHUNK_SIZE } from './streams/file-stream';
export { iterableToStream, type Chunk } from './streams/iterable-stream';

// Errors
export { HttpError } from './http/http-error';
