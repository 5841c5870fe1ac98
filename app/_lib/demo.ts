import { HttpError } from 'next-downloadview';
import { S3Storage } from 'next-downloadview/s3';
import { FileSystemStorage, type Storage } from 'next-downloadview/storage';
import { mediaRoot } from '@/db/config';
import { downloadSecretFromEnvironment } from '@/db/download-secret';

/** The media folder: MEDIA_ROOT on disk (the path, storage, signed and accel routes serve it). */
export const media = new FileSystemStorage(mediaRoot());

/**
 * Where the files table keeps its bytes: `FILES_STORAGE=s3://BUCKET/PREFIX` puts them in S3 (or
 * any S3-compatible server: AWS_ENDPOINT_URL_S3), with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_REGION, or without AWS_ACCESS_KEY_ID credentials from the AWS chain (a role's: container
 * endpoint, web identity, instance metadata), looked up at the first request; otherwise the
 * media folder.
 */
export const filesStorage: Storage = process.env.FILES_STORAGE ? S3Storage.fromUrl(process.env.FILES_STORAGE) : media;

/** How `/api/files/{id}` sends a file: FILES_DELIVERY=redirect redirects to S3; default streamed. */
export const filesDelivery: 'stream' | 'redirect' = process.env.FILES_DELIVERY === 'redirect' ? 'redirect' : 'stream';

/** What the admin shows of the storage and the delivery in use; never the credentials. */
export function storageDescription(): { kind: 'disk' | 's3'; location: string; endpoint?: string; delivery: 'stream' | 'redirect' } {
  if (filesStorage instanceof S3Storage) {
    const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    // Redirects need a URL of the storage's own; a storage without one streams.
    return { kind: 's3', location: `s3://${filesStorage.bucket}/${filesStorage.prefix}`, endpoint, delivery: filesDelivery };
  }
  return { kind: 'disk', location: process.env.MEDIA_ROOT || 'var/media', delivery: 'stream' };
}

let seeded: Promise<void> | undefined;

/**
 * On S3, the sample files the start script seeded into the media folder (and recorded in the
 * files table) are copied to the bucket once, so the seeded rows can be downloaded there too.
 * Files already in the bucket are left alone. Awaited before the files table is used.
 */
export function filesStorageReady(): Promise<void> {
  if (filesStorage === media) return Promise.resolve();
  seeded ??= (async () => {
    for await (const file of media.list()) {
      if (await filesStorage.exists(file.name)) continue;
      await filesStorage.save(file.name, await media.open(file.name)).catch((error: unknown) => {
        // Another instance copied it meanwhile.
        if (!(error instanceof HttpError && error.status === 409)) throw error;
      });
    }
  })().catch((error: unknown) => {
    seeded = undefined;
    console.error('demo: could not copy the sample files to S3', error);
  });
  return seeded;
}

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
 * Secret for signed links: DOWNLOAD_SECRET, shared by every instance that serves the same links,
 * or one generated on this machine and kept next to the database, so links stay valid across
 * restarts (db/download-secret.ts says so in the log).
 */
export function downloadSecret(): string {
  return (secret ??= downloadSecretFromEnvironment());
}
