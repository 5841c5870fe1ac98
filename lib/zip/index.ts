/**
 * `next-downloadview/zip`: a ZIP archive of files from any storage or source, made as it is sent,
 * served by the same engine as every download (Range, If-Range, conditional requests, HEAD).
 *
 * @example
 * // app/exports/files.zip/route.ts
 * import { zipDownload } from 'next-downloadview/zip';
 * export const { GET, HEAD } = zipDownload({
 *   filename: 'files.zip',
 *   storage,
 *   entries: async () => (await listFiles()).map((file) => ({ name: file.name, path: file.key, size: file.size, crc32: file.crc32 })),
 * });
 *
 * @module
 */
export { zipDownload, zipSource, CHECK_CONCURRENCY, type ZipDownloadOptions, type ZipEntry, type ZipEntries } from './zip-download';
export { entryName, UniqueNames, MAX_ENTRY_NAME_BYTES, FALLBACK_ENTRY_NAME } from './entry-name';
