import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { is } from 'drizzle-orm';
import { drizzle as drizzleSqlite, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { PgDatabase } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { databaseTarget, type DatabaseTarget } from './config';
import * as pgSchema from './schema-pg';
import * as sqliteSchema from './schema-sqlite';

/**
 * The demo's database, on SQLite or Postgres. It is typed as the SQLite one; db/schema.ts says
 * why that holds for the builders the demo uses.
 */
export type DemoDatabase = BetterSQLite3Database<typeof sqliteSchema>;
export type Dialect = DatabaseTarget['dialect'];

/** Folders of the SQL migrations drizzle-kit generates from schema-sqlite.ts and schema-pg.ts. */
export const MIGRATIONS_FOLDER = path.resolve(/* turbopackIgnore: true */ process.cwd(), 'db/migrations');
export const PG_MIGRATIONS_FOLDER = path.resolve(/* turbopackIgnore: true */ process.cwd(), 'db/migrations-pg');

/**
 * Key of the Postgres advisory lock held while migrating and seeding: instances that start
 * together against one database take turns, so the schema is created and the samples recorded
 * once.
 */
const MIGRATION_LOCK = 4_607_212_013;

interface Connection {
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** How to migrate and close each database opened here; on globalThis, like getDb's, for every copy of this module. */
const CONNECTIONS = Symbol.for('next-downloadview.demo.connections');
type Registry = typeof globalThis & { [CONNECTIONS]?: WeakMap<object, Connection> };
const connections = ((globalThis as Registry)[CONNECTIONS] ??= new WeakMap<object, Connection>());

/** getDb's databases by URL, on globalThis for the same reason. */
const SHARED = Symbol.for('next-downloadview.demo.databases');
type SharedHolder = typeof globalThis & { [SHARED]?: Map<string, DemoDatabase> };

function toTarget(where: string | DatabaseTarget): DatabaseTarget {
  return typeof where === 'string' ? databaseTarget(where) : where;
}

/**
 * How long a request waits for a connection (a server that is down or does not answer, or every
 * connection busy) and for a statement, before it fails instead of hanging: `connect_timeout`
 * (seconds) from the URL, else 10 s; statements 30 s on the server, 35 s on the client.
 */
function pgTimeouts(url: string): { connectionTimeoutMillis: number; statement_timeout: number; query_timeout: number } {
  let seconds = Number.NaN;
  try {
    seconds = Number(new URL(url).searchParams.get('connect_timeout') ?? Number.NaN);
  } catch {
    // pg reports the bad URL itself.
  }
  // statement_timeout is the server's own; query_timeout is the client's, for a server that stops
  // answering once connected (stopped, or a network that drops packets), which never enforces it.
  return {
    connectionTimeoutMillis: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000,
    statement_timeout: 30_000,
    query_timeout: 35_000,
  };
}

function pgPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10, ...pgTimeouts(url) });
  // An idle connection the server drops emits 'error' on the pool; unhandled, it ends the process.
  pool.on('error', (error) => console.error(`Postgres: idle connection lost: ${error.message}`));
  return pool;
}

/**
 * Ends the pool and waits until each of its connections has closed: `pool.end()` resolves once
 * it has asked them to, and a database dropped or a server stopped right after would cut them.
 */
async function endPool(pool: pg.Pool): Promise<void> {
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on('remove', () => {
      if (--open <= 0) resolve();
    });
  });
  await pool.end();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000).unref()))]);
  clearTimeout(timer);
}

/** Runs `then` on one connection that holds the migration lock. */
async function withMigrationLock<T>(client: pg.ClientBase, then: () => Promise<T>): Promise<T> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    return await then();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}

/**
 * Opens the database DATABASE_URL names, or `where`: a Postgres URL (a pool of connections) or
 * an SQLite file (created with its folder if missing).
 */
export function openDatabase(where: string | DatabaseTarget = databaseTarget()): DemoDatabase {
  const target = toTarget(where);
  if (target.dialect === 'postgres') {
    const pool = pgPool(target.url);
    const db = drizzlePg(pool, { schema: pgSchema });
    connections.set(db, {
      migrate: async () => {
        const client = await pool.connect();
        try {
          await withMigrationLock(client, () => migratePg(drizzlePg(client), { migrationsFolder: PG_MIGRATIONS_FOLDER }));
        } finally {
          client.release();
        }
      },
      close: () => endPool(pool),
    });
    return db as unknown as DemoDatabase;
  }
  mkdirSync(path.dirname(target.file), { recursive: true });
  const sqlite = new Database(target.file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  const db = drizzleSqlite(sqlite, { schema: sqliteSchema });
  connections.set(db, {
    migrate: async () => {
      migrateSqlite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    },
    close: async () => {
      sqlite.close();
    },
  });
  return db;
}

function connectionOf(db: DemoDatabase): Connection {
  const connection = connections.get(db);
  if (!connection) throw new Error('not a database openDatabase opened');
  return connection;
}

/** Which database `db` is on (any Drizzle database of the two dialects). */
export function dialectOf(db: DemoDatabase): Dialect {
  return is(db as unknown, PgDatabase) ? 'postgres' : 'sqlite';
}

/** The tables of `db`'s dialect, typed as db/schema.ts types them. */
export function tablesOf(db: DemoDatabase): typeof sqliteSchema {
  return dialectOf(db) === 'postgres' ? (pgSchema as unknown as typeof sqliteSchema) : sqliteSchema;
}

/** Brings the database schema up to date; safe to run on every start, and from several at once. */
export function migrateDatabase(db: DemoDatabase): Promise<void> {
  return connectionOf(db).migrate();
}

/** Closes it; if it was getDb's, the next getDb opens a new one. */
export function closeDatabase(db: DemoDatabase): Promise<void> {
  const shared = (globalThis as SharedHolder)[SHARED];
  for (const [key, value] of shared ?? []) if (value === db) shared!.delete(key);
  return connectionOf(db).close();
}

/**
 * Opens the database, migrates it, runs `then` on it (seeding), and closes it again: the start
 * script's connection is not the server's. On Postgres, `then` runs under the migration lock too,
 * so instances started together seed once.
 */
export async function withMigratedDatabase<T>(where: string | DatabaseTarget, then: (db: DemoDatabase) => Promise<T>): Promise<T> {
  const target = toTarget(where);
  if (target.dialect === 'postgres') {
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      return await withMigrationLock(client, async () => {
        const db = drizzlePg(client, { schema: pgSchema });
        await migratePg(db, { migrationsFolder: PG_MIGRATIONS_FOLDER });
        return then(db as unknown as DemoDatabase);
      });
    } finally {
      await client.end();
    }
  }
  const db = openDatabase(target);
  try {
    await migrateDatabase(db);
    return await then(db);
  } finally {
    await closeDatabase(db);
  }
}


/**
 * The server's one connection to DATABASE_URL's database (a pool on Postgres), opened on first
 * use. Kept on globalThis, by URL: should the bundler give two routes two copies of this module,
 * the process still holds one pool, not one per copy.
 */
export function getDb(): DemoDatabase {
  const target = databaseTarget();
  const key = target.dialect === 'postgres' ? target.url : target.file;
  const shared = ((globalThis as SharedHolder)[SHARED] ??= new Map());
  let db = shared.get(key);
  if (!db) shared.set(key, (db = openDatabase(target)));
  return db;
}
