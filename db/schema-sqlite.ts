import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The demo's tables on SQLite. db/schema-pg.ts holds the same tables for Postgres; a test
 * (db/schema.test.ts) keeps the two in step, column for column.
 */

/** Files uploaded to the demo: the bytes live in the media storage under `storagePath`. */
export const files = sqliteTable('files', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  storagePath: text('storage_path').notNull().unique(),
  size: integer('size').notNull(),
  contentType: text('content_type').notNull(),
  sha256: text('sha256').notNull(),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  /** The CRC-32 of the bytes (unsigned, 0 to 2^32 - 1); null until it has been computed. */
  crc32: integer('crc32'),
});

/**
 * One row per download a demo route answered (written by the download-events listener, see
 * app/_lib/downloads.ts). `fileId` is the files row the route served, when it serves rows; it
 * becomes null when that row is deleted, so the log outlives the files it names.
 */
export const downloads = sqliteTable(
  'downloads',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The request URL's pathname. */
    route: text('route').notNull(),
    /** The download name of what was served; null when no file was found. */
    name: text('name'),
    fileId: integer('file_id').references(() => files.id, { onDelete: 'set null' }),
    status: integer('status').notNull(),
    bytesSent: integer('bytes_sent').notNull(),
    expectedBytes: integer('expected_bytes'),
    /** completed, aborted, failed, offloaded, redirected or no-body. */
    outcome: text('outcome').notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    durationMs: integer('duration_ms').notNull(),
  },
  (table) => [
    // The log newest first, and one file's downloads newest first (the admin page's counts and
    // latest aborted downloads).
    index('downloads_started_at_idx').on(table.startedAt, table.id),
    index('downloads_file_id_started_at_idx').on(table.fileId, table.startedAt, table.id),
  ],
);
