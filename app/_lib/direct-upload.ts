import { randomUUID } from 'node:crypto';
import { lookup } from 'mime-types';
import { HttpError } from 'next-downloadview';
import { safeBasename } from 'next-downloadview/http';
import type { PresignedPut, S3Storage } from 'next-downloadview/s3';
import { checkedContentType, SNIFF_BYTES } from 'next-downloadview/upload';
import type { DemoDatabase } from '@/db';
import { files, type FileRow } from '@/db/schema';

/**
 * Uploads straight from the browser to the bucket, in two steps around the browser's PUT:
 *
 * 1. `startDirectUpload` checks the declared name, size and SHA-256 and presigns a PUT of exactly
 *    that file under `pending/` (the store refuses any other length, bytes or headers);
 * 2. `completeDirectUpload` looks at what arrived (size, the SHA-256 S3 checked, the first bytes'
 *    type), copies it to its final name under `uploads/` with the checked type, removes the
 *    pending object and records the row.
 *
 * A PUT never completed leaves an object under `pending/`: a lifecycle rule on that prefix (see
 * the README) or `sweepPendingUploads` removes it.
 */

/** Where presigned uploads land until they are completed. */
export const PENDING_PREFIX = 'pending/';

/** How long a presigned upload URL is valid, in seconds. */
const UPLOAD_URL_SECONDS = 15 * 60;

const PENDING_KEY = /^pending\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.[a-z0-9]{1,10})?$/;

/** What the browser declares of the file it is about to upload. */
export interface DirectUploadRequest {
  name: string;
  size: number;
  /** Hex SHA-256 the browser computed; S3 checks the bytes against it. */
  sha256: string;
  type?: string;
}

/** What the browser needs to upload: the presigned PUT, and the key to complete afterwards. */
export interface DirectUploadTicket extends PresignedPut {
  key: string;
}

/** A JSON body's fields, checked: 400 with a line that says which is wrong. */
export function parseDirectUploadRequest(body: unknown, maxBytes: number): DirectUploadRequest {
  const { name, size, sha256, type } = (body ?? {}) as Record<string, unknown>;
  if (typeof name !== 'string' || name.length > 1000) throw new HttpError(400, 'name must be the file name (at most 1000 characters)');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new HttpError(400, 'size must be the file size in bytes');
  if (size > maxBytes) throw new HttpError(413, `File is larger than the limit of ${maxBytes} bytes`);
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(sha256)) throw new HttpError(400, 'sha256 must be the hex SHA-256 of the file');
  if (type !== undefined && typeof type !== 'string') throw new HttpError(400, 'type must be a media type');
  return { name, size, sha256: sha256.toLowerCase(), type };
}

/** The type the name claims, else the one the browser declared, if it is a media type. */
function claimedType(name: string, declared: string | undefined): string | undefined {
  const fromName = lookup(name);
  if (fromName) return fromName;
  return declared && /^[\w.+-]+\/[\w.+-]+$/.test(declared) ? declared.toLowerCase() : undefined;
}

/** Step 1: a presigned PUT of this one file under `pending/`. */
export async function startDirectUpload(request: DirectUploadRequest, storage: S3Storage): Promise<DirectUploadTicket> {
  // A basename without NUL or control characters, as for uploads through the app (Postgres text cannot hold NUL).
  const clientName = safeBasename(request.name);
  // Generated, never the client's name; a plain extension is kept (as storageNameFor does).
  const extension = /\.[A-Za-z0-9]{1,10}$/.exec(clientName)?.[0].toLowerCase() ?? '';
  const key = `${PENDING_PREFIX}${randomUUID()}${extension}`;
  const put = await storage.presignedPut(key, {
    size: request.size,
    sha256: request.sha256,
    contentType: claimedType(clientName, request.type) ?? 'application/octet-stream',
    // Header values are ASCII: the name travels percent-encoded.
    metadata: { name: encodeURIComponent(clientName).slice(0, 1500) },
    expiresIn: UPLOAD_URL_SECONDS,
  });
  return { ...put, key };
}

/** Step 2: checks the uploaded object, moves it to its final name with its checked type, and records it. */
export async function completeDirectUpload(key: unknown, storage: S3Storage, db: DemoDatabase, maxBytes: number): Promise<FileRow> {
  if (typeof key !== 'string' || !PENDING_KEY.test(key)) throw new HttpError(400, 'key must be the key startDirectUpload gave');
  let object;
  try {
    object = await storage.stat(key);
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) throw new HttpError(409, 'Nothing was uploaded under that key (or it was completed already)');
    throw error;
  }
  if (object.size > maxBytes) {
    await storage.delete(key);
    throw new HttpError(413, `File is larger than the limit of ${maxBytes} bytes`);
  }
  // Signed into the PUT with x-amz-checksum-sha256, which the store checked against the bytes.
  const sha256 = object.sha256;
  if (!sha256) throw new HttpError(409, 'The object has no SHA-256: it was not uploaded with the presigned PUT');
  let name = 'upload';
  try {
    name = safeBasename(decodeURIComponent(object.metadata.name ?? '')) || 'upload';
  } catch {
    // A name that is not valid percent-encoding: the default one.
  }
  const contentType = await checkedContentType(await storage.readStart(key, SNIFF_BYTES), object.contentType ?? claimedType(name, undefined));
  const storagePath = `uploads/${key.slice(PENDING_PREFIX.length)}`;
  await storage.copy(key, storagePath, { contentType });
  await storage.delete(key);
  const now = new Date();
  try {
    const [row] = await db
      .insert(files)
      .values({ name, storagePath, size: object.size, contentType, sha256, createdAt: now, updatedAt: now })
      .returning();
    if (!row) throw new Error('insert returned no row');
    return row;
  } catch (error) {
    await storage.delete(storagePath);
    throw error;
  }
}

/**
 * Removes uploads that were presigned but never completed: objects under `pending/` older than
 * `olderThanMs` (default a day, well past the URLs' 15 minutes). A lifecycle rule on the bucket
 * does the same without the app; this is for stores that have none.
 */
export async function sweepPendingUploads(storage: S3Storage, olderThanMs = 24 * 60 * 60 * 1000): Promise<number> {
  const before = Date.now() - olderThanMs;
  let removed = 0;
  for await (const file of storage.list(PENDING_PREFIX)) {
    if (file.lastModified && file.lastModified.getTime() < before && (await storage.delete(file.name))) removed++;
  }
  return removed;
}
