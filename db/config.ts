import path from 'node:path';

/**
 * Where the demo keeps its data. Paths are resolved against the working directory at run time;
 * the marker keeps the bundler from tracing the data folder into the build.
 */
export function mediaRoot(): string {
  return path.resolve(/* turbopackIgnore: true */ process.cwd(), process.env.MEDIA_ROOT || 'var/media');
}

export function databasePath(): string {
  const url = process.env.DATABASE_URL || 'var/demo.db';
  return path.resolve(/* turbopackIgnore: true */ process.cwd(), url.replace(/^file:/, ''));
}
