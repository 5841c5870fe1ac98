import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

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
});
