import { getTableName, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { getTableConfig as pgTableConfig } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig } from 'drizzle-orm/sqlite-core';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { dialectOf, MIGRATIONS_FOLDER, PG_MIGRATIONS_FOLDER, tablesOf, type DemoDatabase } from './index';
import * as pgSchema from './schema-pg';
import * as sqliteSchema from './schema-sqlite';
import { createTestDatabase, testDialects, type TestDatabase } from './testing/databases';

// The two dialects' schemas and migrations cannot drift apart: same tables, same columns with the
// same constraints, same row types, and each dialect's migrations make what its schema says.

interface TableShape {
  columns: string[];
  notNull: string[];
  primaryKey: string[];
  unique: string[];
  /** name: its columns in order */
  indexes: Record<string, string[]>;
  /** column -> table.column, and what a delete of the referenced row does */
  foreignKeys: string[];
}
type Shape = Record<string, TableShape>;

interface ConfigOf {
  name: string;
  columns: { name: string; notNull: boolean; primary: boolean; isUnique: boolean }[];
  indexes: { config: { name: string; columns: { name?: string }[] } }[];
  foreignKeys: { onDelete?: string; reference(): { columns: { name: string }[]; foreignTable: unknown; foreignColumns: { name: string }[] } }[];
}

function shapeOf(tables: Record<string, unknown>, config: (table: never) => ConfigOf): Shape {
  const shape: Shape = {};
  for (const table of Object.values(tables)) {
    const { name, columns, indexes, foreignKeys } = config(table as never);
    shape[name] = {
      columns: columns.map((column) => column.name),
      notNull: columns.filter((column) => column.notNull).map((column) => column.name),
      primaryKey: columns.filter((column) => column.primary).map((column) => column.name),
      unique: columns.filter((column) => column.isUnique).map((column) => column.name),
      indexes: Object.fromEntries(indexes.map((index) => [index.config.name, index.config.columns.map((column) => column.name ?? '?')])),
      foreignKeys: foreignKeys.map((key) => {
        const reference = key.reference();
        const target = getTableName(reference.foreignTable as never);
        return `${reference.columns.map((column) => column.name).join(',')} -> ${target}.${reference.foreignColumns.map((column) => column.name).join(',')} on delete ${key.onDelete ?? 'no action'}`;
      }),
    };
  }
  return shape;
}

describe('the SQLite and Postgres schemas', () => {
  it('have the same tables, column names, order and constraints', () => {
    const sqlite = shapeOf(sqliteSchema, sqliteTableConfig as never);
    const pg = shapeOf(pgSchema, pgTableConfig as never);
    expect(Object.keys(sqlite)).toEqual(['files', 'downloads']);
    expect(pg).toEqual(sqlite);
  });

  it('export the same table names under the same names', () => {
    expect(Object.keys(pgSchema).sort()).toEqual(Object.keys(sqliteSchema).sort());
    for (const key of Object.keys(sqliteSchema) as (keyof typeof sqliteSchema)[]) {
      expect(getTableName(pgSchema[key])).toBe(getTableName(sqliteSchema[key]));
    }
  });

  it('give the same row types', () => {
    expectTypeOf<typeof pgSchema.files.$inferSelect>().toEqualTypeOf<typeof sqliteSchema.files.$inferSelect>();
    expectTypeOf<typeof pgSchema.files.$inferInsert>().toEqualTypeOf<typeof sqliteSchema.files.$inferInsert>();
    expectTypeOf<typeof pgSchema.downloads.$inferSelect>().toEqualTypeOf<typeof sqliteSchema.downloads.$inferSelect>();
    expectTypeOf<typeof pgSchema.downloads.$inferInsert>().toEqualTypeOf<typeof sqliteSchema.downloads.$inferInsert>();
  });

  it('index the downloads log newest first, overall and per file, and keep it when a file row goes', () => {
    const { downloads } = shapeOf(sqliteSchema, sqliteTableConfig as never);
    expect(downloads?.indexes).toEqual({
      downloads_started_at_idx: ['started_at', 'id'],
      downloads_file_id_started_at_idx: ['file_id', 'started_at', 'id'],
    });
    expect(downloads?.foreignKeys).toEqual(['file_id -> files.id on delete set null']);
  });
});

describe.each(testDialects())('the migrations on %s', (dialect) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.dispose();
    database = undefined;
  });

  it('make every table and column of the schema, and no other', async () => {
    database = await createTestDatabase(dialect);
    const { db } = database;
    expect(dialectOf(db)).toBe(dialect);
    const tables = tablesOf(db);
    const expected = shapeOf(tables, (dialect === 'postgres' ? pgTableConfig : sqliteTableConfig) as never);
    const actual: Record<string, string[]> = {};
    if (dialect === 'postgres') {
      const result = await (db as unknown as NodePgDatabase).execute<{ table_name: string; column_name: string }>(
        sql`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      );
      for (const row of result.rows) (actual[row.table_name] ??= []).push(row.column_name);
    } else {
      const names = db.all<{ name: string }>(sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'`);
      for (const { name } of names) actual[name] = db.all<{ name: string }>(sql`SELECT name FROM pragma_table_info(${name})`).map((column) => column.name);
    }
    expect(actual).toEqual(Object.fromEntries(Object.entries(expected).map(([name, table]) => [name, table.columns])));
  });

  it('run again on a migrated database without change', async () => {
    database = await createTestDatabase(dialect);
    const { db } = database;
    const { files } = tablesOf(db);
    const now = new Date();
    await db.insert(files).values({ name: 'a', storagePath: 'a', size: 1, contentType: 'text/plain', sha256: 'x', createdAt: now, updatedAt: now });
    const { migrateDatabase } = await import('./index');
    await migrateDatabase(db);
    expect(await db.select().from(files)).toHaveLength(1);
  });
});

/** The indexes each table has in the database itself, by name, with their columns in order. */
async function indexesIn(db: DemoDatabase, dialect: string): Promise<Record<string, Record<string, string[]>>> {
  const found: Record<string, Record<string, string[]>> = {};
  if (dialect === 'postgres') {
    const result = await (db as unknown as NodePgDatabase).execute<{ table_name: string; index_name: string; column_name: string }>(sql`
      SELECT t.relname AS table_name, i.relname AS index_name, a.attname AS column_name
      FROM pg_index x
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position)
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE n.nspname = 'public' AND NOT x.indisprimary AND NOT x.indisunique
      ORDER BY t.relname, i.relname, k.position`);
    for (const row of result.rows) ((found[row.table_name] ??= {})[row.index_name] ??= []).push(row.column_name);
  } else {
    const indexes = db.all<{ tbl_name: string; name: string }>(sql`SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'`);
    for (const { tbl_name, name } of indexes) {
      (found[tbl_name] ??= {})[name] = db.all<{ name: string }>(sql`SELECT name FROM pragma_index_info(${name}) ORDER BY seqno`).map((column) => column.name);
    }
  }
  return found;
}

/** A copy of a dialect's migrations folder holding only its first `count` migrations. */
async function firstMigrations(dialect: string, count: number): Promise<string> {
  const from = dialect === 'postgres' ? PG_MIGRATIONS_FOLDER : MIGRATIONS_FOLDER;
  const to = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
  await mkdir(path.join(to, 'meta'));
  const journal = JSON.parse(await readFile(path.join(from, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  journal.entries = journal.entries.slice(0, count);
  await writeFile(path.join(to, 'meta/_journal.json'), JSON.stringify(journal));
  for (const { tag } of journal.entries) await copyFile(path.join(from, `${tag}.sql`), path.join(to, `${tag}.sql`));
  return to;
}

describe.each(testDialects())('the downloads log and the files crc32 column on %s', (dialect) => {
  let database: TestDatabase | undefined;
  let folder: string | undefined;
  afterEach(async () => {
    await database?.dispose();
    database = undefined;
    if (folder) await rm(folder, { recursive: true, force: true });
    folder = undefined;
  });

  const at = new Date('2026-12-08T00:00:00.123Z');
  const fileRow = { name: 'a.txt', storagePath: 'a.txt', size: 3, contentType: 'text/plain', sha256: 'x', createdAt: at, updatedAt: at };
  const downloadRow = { route: '/api/files/1', name: 'a.txt', status: 200, bytesSent: 3, expectedBytes: 3, outcome: 'completed', startedAt: at, durationMs: 4 };

  it('are made by the migrations with the schema\'s indexes', async () => {
    database = await createTestDatabase(dialect);
    const indexes = await indexesIn(database.db, dialect);
    expect(indexes.downloads).toEqual({
      downloads_file_id_started_at_idx: ['file_id', 'started_at', 'id'],
      downloads_started_at_idx: ['started_at', 'id'],
    });
  });

  it('come to a database made by the first migration, keeping its rows, crc32 null', async () => {
    database = await createTestDatabase(dialect, { migrate: false });
    const { db } = database;
    folder = await firstMigrations(dialect, 1);
    if (dialect === 'postgres') await migratePg(db as never, { migrationsFolder: folder });
    else migrateSqlite(db, { migrationsFolder: folder });
    const insert = sql`INSERT INTO files (name, storage_path, size, content_type, sha256, created_at, updated_at) VALUES ('old.txt', 'old.txt', 5, 'text/plain', 'y', ${at}, ${at})`;
    if (dialect === 'postgres') await (db as unknown as NodePgDatabase).execute(insert);
    else db.run(sql`INSERT INTO files (name, storage_path, size, content_type, sha256, created_at, updated_at) VALUES ('old.txt', 'old.txt', 5, 'text/plain', 'y', ${at.getTime()}, ${at.getTime()})`);
    const { migrateDatabase } = await import('./index');
    await migrateDatabase(db);
    const { files, downloads } = tablesOf(db);
    const rows = await db.select().from(files);
    expect(rows).toMatchObject([{ name: 'old.txt', size: 5, crc32: null }]);
    expect(await db.select().from(downloads)).toEqual([]);
  });

  it('hold every unsigned 32-bit CRC', async () => {
    database = await createTestDatabase(dialect);
    const { db } = database;
    const { files } = tablesOf(db);
    const [row] = await db.insert(files).values({ ...fileRow, crc32: 0xffffffff }).returning();
    expect(row!.crc32).toBe(4294967295);
    const [read] = await db.select().from(files).where(eq(files.id, row!.id));
    expect(read!.crc32).toBe(4294967295);
  });

  it('keep a download when its file row is deleted, without its file id', async () => {
    database = await createTestDatabase(dialect);
    const { db } = database;
    const { files, downloads } = tablesOf(db);
    const [file] = await db.insert(files).values(fileRow).returning();
    await db.insert(downloads).values({ ...downloadRow, fileId: file!.id });
    await db.delete(files).where(eq(files.id, file!.id));
    expect(await db.select().from(downloads)).toMatchObject([{ ...downloadRow, fileId: null, expectedBytes: 3, startedAt: at }]);
  });

  it('refuse a download naming a file row that does not exist', async () => {
    database = await createTestDatabase(dialect);
    const { db } = database;
    const { downloads } = tablesOf(db);
    await expect(db.insert(downloads).values({ ...downloadRow, fileId: 999 })).rejects.toThrow();
  });
});
