import { bigint, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The demo's tables on Postgres, the same as db/schema-sqlite.ts's (db/schema.test.ts checks it).
 * Ids and sizes are 64-bit like SQLite's integers: a 32-bit `integer` would refuse files over
 * 2 GiB, and a larger id from a URL would be an error from the server instead of "no such row".
 * Times keep milliseconds, as SQLite's `timestamp_ms` columns do.
 */

/** Files uploaded to the demo: the bytes live in the media storage under `storagePath`. */
export const files = pgTable('files', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull(),
  storagePath: text('storage_path').notNull().unique(),
  size: bigint('size', { mode: 'number' }).notNull(),
  contentType: text('content_type').notNull(),
  sha256: text('sha256').notNull(),
  createdAt: timestamp('created_at', { mode: 'date', precision: 3, withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { mode: 'date', precision: 3, withTimezone: true }).notNull(),
  /**
   * The CRC-32 of the bytes (unsigned, 0 to 2^32 - 1); null until it has been computed. 64-bit:
   * Postgres's `integer` is signed and would refuse half of all CRCs.
   */
  crc32: bigint('crc32', { mode: 'number' }),
});

/** One row per download a demo route answered, as in db/schema-sqlite.ts. */
export const downloads = pgTable(
  'downloads',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    route: text('route').notNull(),
    name: text('name'),
    fileId: bigint('file_id', { mode: 'number' }).references(() => files.id, { onDelete: 'set null' }),
    status: integer('status').notNull(),
    bytesSent: bigint('bytes_sent', { mode: 'number' }).notNull(),
    expectedBytes: bigint('expected_bytes', { mode: 'number' }),
    outcome: text('outcome').notNull(),
    startedAt: timestamp('started_at', { mode: 'date', precision: 3, withTimezone: true }).notNull(),
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull(),
  },
  (table) => [
    index('downloads_started_at_idx').on(table.startedAt, table.id),
    index('downloads_file_id_started_at_idx').on(table.fileId, table.startedAt, table.id),
  ],
);
