/**
 * What the package resolves to under the Edge runtime (the `edge-light` export condition):
 * a module that fails as it loads, with one line that names the fix. Without it, Next fails
 * first on the kit's `node:fs` imports ("Native module not found: node:fs/promises"), at build
 * time or on the first request, with nothing that says why.
 *
 * It declares every name the Node entries export, so that a route's imports resolve and the
 * module gets to run.
 *
 * @internal
 * @module
 */
import { ConfigurationError as NodeOnlyError } from './errors';

const message =
  "next-downloadview needs the Node.js runtime: remove `export const runtime = 'edge'` from this route (Node.js is the default)";

function nodeOnly(): never {
  throw new NodeOnlyError(message);
}

nodeOnly();

// Root
export const ConfigurationError = nodeOnly;
export const HttpError = nodeOnly;
export const errorResponse = nodeOnly;
export const withErrorResponses = nodeOnly;
export const httpDownload = nodeOnly;
export const objectDownload = nodeOnly;
export const pathDownload = nodeOnly;
export const sendFile = nodeOnly;
export const sourceDownload = nodeOnly;
export const storageDownload = nodeOnly;
export const virtualDownload = nodeOnly;
// /storage
export const FileSystemStorage = nodeOnly;
export const NotFoundError = nodeOnly;
export const DEFAULT_REDIRECT_EXPIRES_IN = 0;
// /s3
export const S3Storage = nodeOnly;
export const presignUrl = nodeOnly;
export const signHeaders = nodeOnly;
export const fromContainerCredentials = nodeOnly;
export const fromEnvironment = nodeOnly;
export const fromInstanceMetadata = nodeOnly;
export const fromWebIdentity = nodeOnly;
// /sources
export const DEFAULT_CHUNK_SIZE = 0;
export const FileChangedError = nodeOnly;
export const checkRequestedPath = nodeOnly;
export const httpSource = nodeOnly;
export const iterableToStream = nodeOnly;
export const openFileStream = nodeOnly;
export const openFile = nodeOnly;
export const fileStream = nodeOnly;
export const pathSource = nodeOnly;
export const storageSource = nodeOnly;
export const virtualSource = nodeOnly;
// /signing
export const DEFAULT_EXPIRES_IN = 0;
export const MIN_SECRET_BYTES = 0;
export const allOf = nodeOnly;
export const signUrl = nodeOnly;
export const signed = nodeOnly;
export const verifySignedUrl = nodeOnly;
// /offload
export const configureOffload = nodeOnly;
export const encodePathSegment = nodeOnly;
export const nginxHeaders = nodeOnly;
export const sendfileHeaders = nodeOnly;
export const ACTIVE_CONTENT_POLICY = '';
// /events
export const configureDownloadEvents = nodeOnly;
// /upload
export const receiveUpload = nodeOnly;
export const uploadRoute = nodeOnly;
export const uploadSummary = nodeOnly;
export const checkedContentType = nodeOnly;
export const SNIFF_BYTES = 0;
// /drizzle
export const DATABASE_RETRY_AFTER_SECONDS = 0;
export const databaseUnavailable = nodeOnly;
export const drizzleGetObject = nodeOnly;
export const drizzleObjectDownload = nodeOnly;
// /server
export const HandoffResponse = nodeOnly;
export const startServer = nodeOnly;
export const superviseWorkers = nodeOnly;
export const followPrimary = nodeOnly;
export const parseWorkerCount = nodeOnly;
export const MAX_WORKERS = 0;
export const CONFIGURATION_EXIT_CODE = 0;
// /zip
export const zipDownload = nodeOnly;
export const zipSource = nodeOnly;
export const entryName = nodeOnly;
export const UniqueNames = nodeOnly;
export const CHECK_CONCURRENCY = 0;
export const MAX_ENTRY_NAME_BYTES = 0;
export const FALLBACK_ENTRY_NAME = '';
