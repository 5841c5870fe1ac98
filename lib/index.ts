/**
 * next-downloadview: route-handler factories for file downloads in the Next.js App Router.
 *
 * Each factory takes one options object and returns `{ GET, HEAD, ... }` for a `route.ts`.
 */

// Factories
export { pathDownload, type PathDownloadOptions } from './factories/path-download';
export { virtualDownload, type VirtualDownloadOptions } from './factories/virtual-download';
export { storageDownload, type StorageDownloadOptions } from './factories/storage-download';
export { objectDownload, objectSource, type ObjectDownloadOptions, type ObjectFields } from './factories/object-download';
export { sendFile, type SendFileOptions } from './factories/send-file';
export { DEFAULT_REDIRECT_EXPIRES_IN, type Delivery, type DeliveryOptions, type RedirectingStorage, type RedirectUrlOptions } from './factories/delivery';
export { httpDownload, type HttpDownloadOptions } from './factories/http-download';

// Storage
export type { Storage, StoredFile, OpenOptions, SaveContent, SaveOptions } from './storage/storage';
export { NotFoundError } from './storage/storage';
export { FileSystemStorage, type FileSystemStorageOptions } from './storage/file-system-storage';
export { storageSource } from './sources/storage-source';
export {
  httpSource,
  resolveHttpSourceOptions,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  DEFAULT_MAX_REDIRECTS,
  type HttpSource,
  type HttpSourceOptions,
  type ResolvedHttpSourceOptions,
} from './sources/http-source';

// Uploads
export { receiveUpload, type ReceiveUploadOptions, type ReceivedUpload } from './upload/receive-upload';

// Building blocks for your own sources
export { serve, type LoadSource } from './engine/serve';
export { createHandlers, type DownloadHandlers, type HandlerContext, type RouteHandler } from './handlers';
export { resolveOptions, ConfigurationError, DEFAULT_CACHE_CONTROL } from './engine/options';
export type { DownloadOptions, PerRequest, ResolvedOptions, RouteParams } from './engine/options';
export type { ActiveContent } from './engine/options';
export { ACTIVE_CONTENT_POLICY } from './engine/decide';
export { isActiveContentType } from './http/content-type';
export { MAX_FILENAME_BYTES, truncateFilename } from './http/disposition';
export type { Source, SourceEtag, SourceMeta, UpstreamAnswer } from './engine/source';
export { pathSource, checkRequestedPath, type PathSourceOptions } from './sources/path-source';
export { virtualSource, type VirtualContent, type VirtualFile } from './sources/virtual-source';

// Streams
export { openFileStream, FileChangedError, DEFAULT_CHUNK_SIZE } from './streams/file-stream';
export { iterableToStream, type Chunk } from './streams/iterable-stream';

// Errors
export { HttpError, errorResponse } from './http/http-error';

// Request bodies, read with a bound (413 past it)
export { readBody, readJson, readText, declaredLength, DEFAULT_MAX_BODY_BYTES, type ReadBodyOptions } from './http/read-body';

// Signed URLs
export { signUrl, DEFAULT_EXPIRES_IN, type SignUrlOptions, type SignedMethod } from './signing/sign-url';
export { verifySignedUrl, type SignatureFailure, type SignatureVerdict, type VerifySignedUrlOptions } from './signing/verify-signed-url';
export { signed, type AuthorizeHook, type SignedOptions } from './signing/signed';
export { allOf } from './signing/all-of';
export { MIN_SECRET_BYTES, type SigningSecret } from './signing/signature';

// Test helpers (framework-neutral: they throw node:assert's AssertionError)
export { assertDownloadResponse, type DownloadExpectation } from './testing/assert-download-response';
export { assertOffloadResponse, type OffloadExpectation, type OffloadHeader } from './testing/assert-offload-response';
export { parseContentDisposition, type ParsedContentDisposition } from './testing/parse-content-disposition';

// Offload: hand the bytes to nginx (X-Accel-Redirect), Apache or lighttpd (X-Sendfile)
export { configureOffload } from './offload/configure-offload';
export { encodePathSegment, nginxHeaders, sendfileHeaders } from './offload/backends';
export type {
  ApacheOffloadOptions,
  ApacheOffloadRule,
  LighttpdOffloadRule,
  NginxOffloadOptions,
  NginxOffloadRule,
  OffloadBackend,
  OffloadRule,
  OffloadSource,
} from './offload/rules';
