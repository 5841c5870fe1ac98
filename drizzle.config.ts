import { defineConfig } from 'drizzle-kit';

// SQLite's migrations (`npm run db:generate`); drizzle.pg.config.ts makes Postgres's from
// db/schema-pg.ts. Change both schemas together: db/schema.test.ts fails when they differ.
export default defineConfig({
  dialect: 'sqlite',
  schema: './db/schema-sqlite.ts',
  out: './db/migrations',
  dbCredentials: { url: process.env.DATABASE_URL && !/^postgres(?:ql)?:\/\//i.test(process.env.DATABASE_URL) ? process.env.DATABASE_URL : 'var/demo.db' },
});
