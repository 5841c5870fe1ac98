import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { localDataDirectory } from './config';

/** The kit's signed links need a secret of at least this many bytes. */
const MIN_SECRET_BYTES = 32;
const WARNED = Symbol.for('next-downloadview.demo.local-secret-warned');

/**
 * The secret the demo signs download links with. DOWNLOAD_SECRET when it is set: every instance
 * that serves the same links (workers, machines behind one load balancer) must be given the same
 * one. Otherwise a secret generated once and kept in this machine's data folder
 * (`.download-secret`, mode 0600), so links outlive a restart, with one warning per process saying
 * that another machine would refuse them.
 */
export function downloadSecretFromEnvironment(env: Readonly<Record<string, string | undefined>> = process.env, log: (line: string) => void = console.warn): string {
  const configured = env.DOWNLOAD_SECRET;
  if (configured !== undefined && configured !== '') {
    if (Buffer.byteLength(configured) < MIN_SECRET_BYTES) {
      throw new Error(`DOWNLOAD_SECRET must be at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 48\`)`);
    }
    return configured;
  }
  const file = path.join(localDataDirectory(), '.download-secret');
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(path.dirname(file), { recursive: true });
    const fresh = randomBytes(MIN_SECRET_BYTES).toString('base64url');
    try {
      writeFileSync(file, fresh, { flag: 'wx', mode: 0o600 });
      secret = fresh;
    } catch {
      // Another process of this machine wrote it first: use theirs.
      secret = readFileSync(file, 'utf8').trim();
    }
  }
  // One line per process, whichever copy of this module (the start script's or the built app's) asks first.
  const flags = globalThis as typeof globalThis & { [WARNED]?: boolean };
  if (!flags[WARNED]) {
    flags[WARNED] = true;
    log(`DOWNLOAD_SECRET is not set: signed links use the secret generated on this machine in ${file}. Instances that serve the same links (other machines behind a load balancer) need one shared DOWNLOAD_SECRET.`);
  }
  return secret;
}
