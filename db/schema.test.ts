import { getTableName, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { getTableConfig as pgTableConfig } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig } from 'drizzle-orm/sqlite-core';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { dialectOf, tablesOf } from './index';
import * as pgSchema from './schema-pg';
import * as sqliteSchema from './schema-sqlite';
import { createTestDatabase, testDialects, type TestDatabase } from './testing/databases';

// The two dialects' schemas and migrations cannot drift apart: same tables, same columns with the
// same constraints, same row types, and each dialect's migrations make what its schema says.

type Shape = Record<string, { columns: string[]; notNull: string[]; primaryKey: string[]; unique: string[] }>;

function shapeOf(tables: Record<string, unknown>, config: (table: never) => { name: string; columns: { name: string; notNull: boolean; primary: boolean; isUnique: boolean }[] }): Shape {
  const shape: Shape = {};
  for (const table of Object.values(tables)) {
    const { name, columns } = config(table as never);
    shape[name] = {
      columns: columns.map((column) => column.name),
      notNull: columns.filter((column) => column.notNull).map((column) => column.name),
      primaryKey: columns.filter((column) => column.primary).map((column) => column.name),
      unique: columns.filter((column) => column.isUnique).map((column) => column.name),
    };
  }
  return shape;
}

describe('the SQLite and Postgres schemas', () => {
  it('have the same tables, column names, order and constraints', () => {
    const sqlite = shapeOf(sqliteSchema, sqliteTableConfig as never);
    const pg = shapeOf(pgSchema, pgTableConfig as never);
    expect(Object.keys(sqlite)).toEqual(['files']);
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
