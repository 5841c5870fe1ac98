import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { closeDatabase, migrateDatabase, openDatabase, type DemoDatabase, type Dialect } from '../index';

/**
 * The dialects this run can test: SQLite always, Postgres when the globalSetup
 * (db/testing/postgres-setup.ts) started one. Use with `describe.each(testDialects())`.
 */
export function testDialects(): Dialect[] {
  return inject('postgresUrl') ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface TestDatabase {
  db: DemoDatabase;
  /** What DATABASE_URL would be to reach it. */
  url: string;
  /** Closes it and removes it. */
  dispose(): Promise<void>;
}

async function admin<T>(then: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = inject('postgresUrl');
  if (!url) throw new Error('no Postgres in this run');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await then(client);
  } finally {
    await client.end();
  }
}

/**
 * An empty database of `dialect` of its own (a new SQLite file, or a new database in the run's
 * Postgres), so that test files running at once never see each other's rows; migrated unless
 * `migrate: false`.
 */
export async function createTestDatabase(dialect: Dialect, { migrate = true } = {}): Promise<TestDatabase> {
  let url: string;
  let drop: () => Promise<void>;
  if (dialect === 'postgres') {
    const name = `test_${randomBytes(8).toString('hex')}`;
    await admin((client) => client.query(`CREATE DATABASE ${name}`));
    const target = new URL(inject('postgresUrl')!);
    target.pathname = `/${name}`;
    url = target.toString();
    drop = () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'test-db-'));
    url = path.join(dir, 'demo.db');
    drop = () => rm(dir, { recursive: true, force: true });
  }
  const db = openDatabase(url);
  try {
    if (migrate) await migrateDatabase(db);
  } catch (error) {
    await closeDatabase(db);
    await drop();
    throw error;
  }
  return {
    db,
    url,
    dispose: async () => {
      await closeDatabase(db);
      await drop();
    },
  };
}
