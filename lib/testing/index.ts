/**
 * `next-downloadview/testing`: what a test of a download route needs. Assertions that throw
 * `node:assert`'s `AssertionError` (so they work with vitest, jest and `node:test`), an in-memory
 * storage, and a throwaway media folder that the app's `MEDIA_ROOT` points at.
 *
 * @example
 * import { assertDownloadResponse } from 'next-downloadview/testing';
 * await assertDownloadResponse(response, { filename: 'résumé.pdf', contentType: 'application/pdf' });
 *
 * @module
 */
export { assertDownloadResponse, type DownloadExpectation } from './assert-download-response';
export { assertOffloadResponse, type OffloadExpectation, type OffloadHeader } from './assert-offload-response';
export { parseContentDisposition, type ParsedContentDisposition } from './parse-content-disposition';
export { MemoryStorage, type MemoryFiles } from './memory-storage';
export { temporaryMediaRoot, type TemporaryMediaRoot, type TemporaryMediaRootOptions } from './temporary-media-root';
