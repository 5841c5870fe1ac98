import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

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
});
