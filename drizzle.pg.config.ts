import { defineConfig } from 'drizzle-kit';

// Postgres's migrations (`npm run db:generate`), from db/schema-pg.ts, kept in step with
// SQLite's (drizzle.config.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema-pg.ts',
  out: './db/migrations-pg',
  dbCredentials: { url: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres' },
});
