import { isPostgresUrl } from './config';
import * as pg from './schema-pg';
import * as sqlite from './schema-sqlite';

/**
 * The demo's tables for the database DATABASE_URL names, chosen when this module is first
 * loaded: Postgres's for a `postgres://` or `postgresql://` URL, SQLite's otherwise.
 *
 * Both dialects' tables have the same columns and give the same row types (db/schema.test.ts
 * checks both), and the demo only uses the query builders the two share, awaited (select,
 * insert/delete with `returning`, where, orderBy, limit). So the tables are typed as SQLite's,
 * and the tests of the code that uses them run on both databases.
 */
const postgres = isPostgresUrl(process.env.DATABASE_URL);

export const files: typeof sqlite.files = postgres ? (pg.files as unknown as typeof sqlite.files) : sqlite.files;

export const downloads: typeof sqlite.downloads = postgres ? (pg.downloads as unknown as typeof sqlite.downloads) : sqlite.downloads;

export type FileRow = typeof sqlite.files.$inferSelect;
export type NewFileRow = typeof sqlite.files.$inferInsert;
export type DownloadRow = typeof sqlite.downloads.$inferSelect;
export type NewDownloadRow = typeof sqlite.downloads.$inferInsert;
