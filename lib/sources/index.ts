/**
 * `next-downloadview/sources`: the sources behind the factories, and the stream helpers they
 * use, for a `sourceDownload` of your own that builds on them.
 *
 * @module
 */
export { pathSource, type PathSourceOptions } from './path-source';
export { checkRequestedPath } from '../fs/confine';
export { storageSource } from './storage-source';
export { httpSource, type HttpSource, type HttpSourceOptions } from './http-source';
export { virtualSource, type VirtualContent } from './virtual-source';
export type { SourceEtag, UpstreamAnswer } from '../engine/source';
export { openFileStream, openFile, fileStream, DEFAULT_CHUNK_SIZE, type FileBody, type OpenFile } from '../streams/file-stream';
export { FileChangedError } from '../errors';
export { iterableToStream, type Chunk } from '../streams/iterable-stream';
export type { PrecompressedEncoding, PrecompressedOption } from './precompressed';
