/**
 * `next-downloadview/testing`: assertions for tests of download routes. They throw
 * `node:assert`'s `AssertionError`, so they work with vitest, jest and `node:test`.
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
