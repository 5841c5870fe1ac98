import { errorResponse, HttpError } from 'next-downloadview';
import { readJson } from 'next-downloadview/http';
import { S3Storage } from 'next-downloadview/s3';
import { completeDirectUpload } from '@/app/_lib/direct-upload';
import { filesStorage, maxUploadBytes } from '@/app/_lib/demo';
import { toJson } from '@/app/_lib/files';
import { getDb } from '@/db';

export const dynamic = 'force-dynamic';

/**
 * Completes an upload straight to the bucket: JSON `{ key }` -> 201 with the new row, once the
 * object's size, SHA-256 and type are checked; 409 when nothing was uploaded under the key.
 */
export async function POST(request: Request): Promise<Response> {
  try {
    if (!(filesStorage instanceof S3Storage)) throw new HttpError(404, 'Direct uploads need FILES_STORAGE=s3://...');
    const { key } = ((await readJson(request, { maxBytes: 1024 })) ?? {}) as { key?: unknown };
    const row = await completeDirectUpload(key, filesStorage, getDb(), maxUploadBytes());
    const { id, name, size, contentType, sha256 } = toJson(row);
    return Response.json({ id, name, size, contentType, sha256 }, { status: 201, headers: { location: `/api/files/${id}` } });
  } catch (error) {
    return errorResponse(error);
  }
}
