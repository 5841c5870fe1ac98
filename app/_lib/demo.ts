import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { FileSystemStorage } from 'next-downloadview/storage';
import { databasePath, mediaRoot } from '@/db/config';

/** The demo's one storage: MEDIA_ROOT on disk. */
export const media = new FileSystemStorage(mediaRoot());

/** Largest upload accepted, from MAX_UPLOAD_BYTES; default 100 MiB. */
export function maxUploadBytes(): number {
  const value = Number(process.env.MAX_UPLOAD_BYTES || 100 * 1024 * 1024);
  return Number.isSafeInteger(value) && value > 0 ? value : 100 * 1024 * 1024;
}

/** Where `/api/remote/` fetches from: UPSTREAM_URL, default the demo's own storage route. */
export function upstreamUrl(): string {
  const port = process.env.PORT || '3000';
  return process.env.UPSTREAM_URL || `http://127.0.0.1:${port}/api/storage/`;
}

let secret: string | undefined;

/**
 * Secret for signed links: DOWNLOAD_SECRET, or one generated on first use and kept next to the
 * database, so links stay valid across restarts.
 */
export function downloadSecret(): string {
  if (secret) return secret;
  if (process.env.DOWNLOAD_SECRET) return (secret = process.env.DOWNLOAD_SECRET);
  const file = path.join(path.dirname(databasePath()), '.download-secret');
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(path.dirname(file), { recursive: true });
    const fresh = randomBytes(32).toString('base64url');
    try {
      writeFileSync(file, fresh, { flag: 'wx', mode: 0o600 });
      secret = fresh;
    } catch {
      secret = readFileSync(file, 'utf8').trim();
    }
  }
  return secret;
}
