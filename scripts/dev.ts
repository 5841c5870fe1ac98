/**
 * `npm run dev`: the demo under `next-downloadview dev` (by its path in lib/dist: npm links a
 * workspace's bin before `prepare` builds it, so a fresh clone has no node_modules/.bin entry),
 * after filling the media folder and migrating and seeding the database as `npm start` does: a
 * fresh clone has neither, and the admin page answered 500 ("no such table: files") without them.
 * Arguments go on to the command: `npm run dev -- --port 4000`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { databaseTarget, mediaRoot } from '../db/config';
import { withMigratedDatabase } from '../db/index';
import { seedFileRows, seedMedia } from '../db/seed';

const root = path.resolve(import.meta.dirname, '..');
const media = mediaRoot();
process.env.MEDIA_ROOT = media;
const database = databaseTarget();
process.env.DATABASE_URL = database.dialect === 'sqlite' ? database.file : database.url;
await seedMedia(media);
await withMigratedDatabase(database, (db) => seedFileRows(db, media));

const cli = path.join(root, 'lib', 'dist', 'cli', 'main.js');
const child = spawn(process.execPath, [cli, 'dev', '--hostname', '127.0.0.1', '--port', '3000', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
