/**
 * `next-downloadview/drizzle`: `objectDownload` over a Drizzle table. Needs `drizzle-orm`
 * (an optional peer dependency): only this entry loads it.
 *
 * @module
 */
export { DATABASE_RETRY_AFTER_SECONDS, databaseUnavailable } from './database-unavailable';
export {
  drizzleGetObject,
  drizzleObjectDownload,
  type DrizzleGetObjectOptions,
  type DrizzleLookup,
  type DrizzleObjectDownloadOptions,
} from './drizzle-object-download';
