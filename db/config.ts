import path from 'node:path';

/**
 * Where the demo keeps its data. Paths are resolved against the working directory at run time;
 * the marker keeps the bundler from tracing the data folder into the build.
 */
export function mediaRoot(): string {
  return path.resolve(/* turbopackIgnore: true */ process.cwd(), process.env.MEDIA_ROOT || 'var/media');
}

/** True for a URL Postgres's client takes (`postgres://` or `postgresql://`, any case). */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(?:ql)?:\/\//i.test(url);
}

/** The database DATABASE_URL names: a Postgres URL, or else an SQLite file (`file:` optional). */
export type DatabaseTarget = { dialect: 'postgres'; url: string } | { dialect: 'sqlite'; file: string };

export function databaseTarget(url: string | undefined = process.env.DATABASE_URL): DatabaseTarget {
  if (isPostgresUrl(url)) return { dialect: 'postgres', url };
  // Anything else that looks like a URL would become an SQLite file named after it (the
  // `postgres:/...` file a mistyped URL used to make): refused instead.
  if (/^postgres(?:ql)?:/i.test(url ?? '')) throw new Error('DATABASE_URL: a Postgres URL starts with postgres:// or postgresql://');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url ?? '')?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'file') {
    throw new Error(`DATABASE_URL: the demo runs on SQLite (a file path) or Postgres (postgres://...), not ${scheme}://`);
  }
  return { dialect: 'sqlite', file: path.resolve(/* turbopackIgnore: true */ process.cwd(), (url || 'var/demo.db').replace(/^file:/, '')) };
}

/**
 * This machine's folder for the demo's own files: the SQLite file's folder, or `var/` under
 * Postgres. Nothing kept here is shared with other instances.
 */
export function localDataDirectory(): string {
  const target = databaseTarget();
  return target.dialect === 'sqlite' ? path.dirname(target.file) : path.resolve(/* turbopackIgnore: true */ process.cwd(), 'var');
}

/** The URL with its password hidden, for logs. */
export function describeDatabase(target: DatabaseTarget = databaseTarget()): string {
  if (target.dialect === 'sqlite') return `SQLite ${target.file}`;
  try {
    const url = new URL(target.url);
    if (url.password) url.password = '***';
    return `Postgres ${url.toString()}`;
  } catch {
    return 'Postgres (DATABASE_URL is not a valid URL)';
  }
}
