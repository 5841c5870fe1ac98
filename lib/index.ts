/**
 * next-downloadview: route-handler factories for file downloads in the Next.js App Router.
 *
 * Each factory takes one options object and returns `{ GET, HEAD, ... }` for a `route.ts`:
 * Content-Type, an RFC 6266 Content-Disposition, ETag and Last-Modified with conditional
 * requests, byte ranges and streaming, decided once by one engine. Everything else is a subpath:
 * `/storage`, `/drizzle`, `/signing`, `/offload`, `/upload`, `/testing`, `/server`, `/sources`, `/zip`,
 * `/http`.
 *
 * @example
 * // app/media/[...path]/route.ts
 * import { pathDownload } from 'next-downloadview';
 * export const { GET, HEAD } = pathDownload({ root: process.env.MEDIA_ROOT! });
 *
 * @module
 */

// Factories
export { pathDownload, type PathDownloadOptions } from './factories/path-download';
export { storageDownload, type StorageDownloadOptions } from './factories/storage-download';
export { objectDownload, type ObjectDownloadOptions, type ObjectFields } from './factories/object-download';
export { httpDownload, type HttpDownloadOptions } from './factories/http-download';
export { virtualDownload, type VirtualDownloadOptions } from './factories/virtual-download';
export { sendFile, type SendFileOptions } from './factories/send-file';

// Your own source: describe the file, give its bytes, the engine does the rest
export { sourceDownload, type SourceDownloadOptions } from './factories/source-download';
export type { Source, SourceMeta } from './engine/source';
export type { VirtualFile } from './sources/virtual-source';
export type { ByteRange } from './http/range';

// What every factory takes and returns
export type { ActiveContent, DownloadOptions, RouteParams } from './engine/options';
export type { CachePolicy } from './engine/cache-policy';
export type { Delivery, DeliveryOptions } from './factories/delivery';
export type { DownloadHandlers } from './factories/handlers';

// Errors
export { HttpError, ConfigurationError } from './errors';
export { errorResponse, withErrorResponses } from './http/http-error';
