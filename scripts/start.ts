/**
 * `npm start`: builds the app if the build is missing or older than the sources, brings the
 * database schema up to date (SQLite, or Postgres for a postgres:// DATABASE_URL), seeds an empty
 * media folder, and serves on HOST:PORT
 * (default 127.0.0.1:3000). SKIP_BUILD=1 serves the build as it is; SHUTDOWN_GRACE_MS (default
 * 10000) is how long running requests get after SIGTERM/SIGINT. WORKERS=N (or auto, one per
 * core) serves with N processes on the one port, as `next-downloadview start --workers N`: this
 * process builds, migrates and seeds once, then supervises workers that only serve.
 */
import { spawnSync } from 'node:child_process';
import cluster from 'node:cluster';
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { databaseTarget, describeDatabase, mediaRoot } from '../db/config';
import { downloadSecretFromEnvironment } from '../db/download-secret';
import { withMigratedDatabase } from '../db/index';
import { SAMPLE_FILES, seedFileRows, seedMedia } from '../db/seed';
import nextConfig from '../next.config';

const root = path.resolve(import.meta.dirname, '..');
process.chdir(root);

const SOURCES = ['app', 'lib', 'db', 'public', 'next.config.ts', 'tsconfig.json', 'package-lock.json'];

/** Newest modification under `entry`; symlinks count as themselves and are never followed (a loop costs nothing). */
function newestMtime(entry: string, skip: readonly string[] = []): number {
  if (!existsSync(entry) || skip.includes(path.basename(entry))) return 0;
  const stats = lstatSync(entry);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const child of readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, child), skip));
  return newest;
}

/**
 * The demo imports the package by name, from its build in lib/dist: rebuild it first when
 * lib/ changed since (tests and build output are not sources of it).
 */
function buildPackageIfStale(): void {
  if (process.env.SKIP_BUILD === '1') return;
  const built = newestMtime(path.join(root, 'lib', 'dist'));
  // README.md there is a copy the build makes, not a source.
  const changed = newestMtime(path.join(root, 'lib'), ['dist', 'node_modules', 'README.md']);
  if (built >= changed) return;
  console.log('The package changed since its last build: building lib/.');
  const result = spawnSync(process.execPath, [path.join(root, 'lib', 'build.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Where next.config.ts puts this build: .next, or .next-bench for the bench's (BENCH_ROUTES=1). */
const distDir = nextConfig.distDir ?? '.next';

function buildIfStale(): void {
  // SKIP_BUILD=1 serves the build that is there (tests that build once, then start servers).
  if (process.env.SKIP_BUILD === '1') return;
  const buildId = path.join(root, distDir, 'BUILD_ID');
  const built = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
  const changed = Math.max(...SOURCES.map((entry) => newestMtime(path.join(root, entry))));
  if (built < changed) {
    console.log(built ? `Sources changed since the last build in ${distDir}: building.` : `No build in ${distDir} yet: building.`);
    nextBuild(process.env);
  }
  // The kit's startServer looks for a build in .next before it lets Next read the config: the
  // bench's build elsewhere needs the demo's to exist as well (built once, on a fresh clone).
  if (distDir !== '.next' && !existsSync(path.join(root, '.next', 'BUILD_ID'))) {
    console.log('No build in .next yet (the server looks for it): building the demo as well.');
    nextBuild({ ...process.env, BENCH_ROUTES: '' });
  }
}

function nextBuild(env: NodeJS.ProcessEnv): void {
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'next'), ['build'], { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** HOST, PORT and SHUTDOWN_GRACE_MS as the server takes them. */
function serverOptions() {
  const hostname = process.env.HOST || '127.0.0.1';
  const port = Number(process.env.PORT || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got ${process.env.PORT}`);
  const grace = process.env.SHUTDOWN_GRACE_MS ? Number(process.env.SHUTDOWN_GRACE_MS) : undefined;
  if (grace !== undefined && (!Number.isSafeInteger(grace) || grace < 0)) throw new Error(`SHUTDOWN_GRACE_MS must be a number of milliseconds, got ${process.env.SHUTDOWN_GRACE_MS}`);
  return { dir: root, hostname, port, gracePeriodMs: grace };
}

/** A worker of WORKERS=N: the primary has built, migrated and seeded; this one only serves. */
async function serveAsWorker(): Promise<void> {
  const { startServer } = await import('next-downloadview/server');
  const options = serverOptions();
  await startServer(options);
  console.log(`Worker ${process.pid} listening on http://${options.hostname}:${options.port}`);
}

async function main(): Promise<void> {
  if (cluster.isWorker) return serveAsWorker();
  // Next reads NODE_ENV to pick its production behaviour; `next build` inherits it too.
  Object.assign(process.env, { NODE_ENV: 'production' });
  process.env.MEDIA_ROOT = mediaRoot();
  // DATABASE_URL: a postgres:// URL is used as it is; anything else is an SQLite file, made
  // absolute so the server finds it whatever its working directory.
  const database = databaseTarget();
  process.env.DATABASE_URL = database.dialect === 'sqlite' ? database.file : database.url;
  buildPackageIfStale();
  buildIfStale();
  // Loaded after the build above, so the server runs the package as it was just built.
  const { FileSystemStorage } = await import('next-downloadview/storage');
  const { MAX_WORKERS, parseWorkerCount, startServer, superviseWorkers } = await import('next-downloadview/server');

  const media = process.env.MEDIA_ROOT;
  const stale = await new FileSystemStorage(media).removeStaleTemporaryFiles();
  if (stale.length > 0) console.log(`Removed ${stale.length} temporary files left by interrupted uploads`);
  const created = await seedMedia(media);
  if (created.length > 0) console.log(`Seeded ${created.length} sample files into ${media}`);
  // Sample text files get .br and .gz siblings where compression pays (logs/access.log; the
  // others are a few bytes), which /api/path and /api/storage send to a client that accepts them.
  const { precompress } = await import('./precompress.mjs');
  const compressed = await precompress(media, { files: SAMPLE_FILES.map((sample) => sample.name) });
  if (compressed.length > 0) console.log(`Precompressed ${compressed.join(', ')}`);
  console.log(`Database: ${describeDatabase(database)}`);
  const rows = await withMigratedDatabase(database, (db) => seedFileRows(db, media));
  if (rows > 0) console.log(`Recorded ${rows} sample files in the database`);
  // A short DOWNLOAD_SECRET stops the start here rather than failing each signed link; a secret
  // generated on this machine is said so now, not at the first link.
  downloadSecretFromEnvironment();

  const options = serverOptions();
  const workers = parseWorkerCount(process.env.WORKERS);
  if (workers === null) throw new Error(`WORKERS must be auto or a whole number from 1 to ${MAX_WORKERS}, got ${process.env.WORKERS}`);
  if (workers !== undefined && workers > 1) {
    // The workers re-run this file (cluster.fork) with the environment set up above.
    const code = await superviseWorkers({
      workers,
      // Their grace period, the cleanup after it (5 s), and room to exit.
      stopTimeoutMs: (options.gracePeriodMs ?? 10_000) + 10_000,
      onReady: () => console.log(`Ready on http://${options.hostname}:${options.port} (${workers} workers)`),
    });
    process.exit(code);
  }
  await startServer(options);
  console.log(`Ready on http://${options.hostname}:${options.port}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
