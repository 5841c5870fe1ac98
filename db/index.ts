import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { databasePath } from './config';
import * as schema from './schema';

export type DemoDatabase = BetterSQLite3Database<typeof schema>;

/** Folder of the SQL migrations drizzle-kit generates from schema.ts. */
export const MIGRATIONS_FOLDER = path.resolve(/* turbopackIgnore: true */ process.cwd(), 'db/migrations');

/** Opens (creating it and its folder if missing) the SQLite database at `file`. */
export function openDatabase(file: string = databasePath()): DemoDatabase {
  mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  return drizzle(sqlite, { schema });
}

/** Brings the database schema up to date; safe to run on every start. */
export function migrateDatabase(db: DemoDatabase): void {
  migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
}

/**
 * Opens the database file, migrates it, runs `then` on it (seeding), and closes it again: the
 * start script's connection is not the server's.
 */
export async function withMigratedDatabase<T>(file: string, then: (db: DemoDatabase) => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file);
  try {
    const db = drizzle(sqlite, { schema });
    migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    return await then(db);
  } finally {
    sqlite.close();
  }
}

let shared: DemoDatabase | undefined;

/** The server's one connection, opened on first use. */
export function getDb(): DemoDatabase {
  shared ??= openDatabase();
  return shared;
}
