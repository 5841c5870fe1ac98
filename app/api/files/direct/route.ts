import { errorResponse, HttpError } from 'next-downloadview';
import { readJson } from 'next-downloadview/http';
import { S3Storage } from 'next-downloadview/s3';
import { parseDirectUploadRequest, startDirectUpload } from '@/app/_lib/direct-upload';
import { filesStorage, maxUploadBytes } from '@/app/_lib/demo';

export const dynamic = 'force-dynamic';

/**
 * Starts an upload straight to the bucket: JSON `{ name, size, sha256, type? }` -> 201
 * `{ url, method, headers, key, expiresAt }`, a presigned PUT of exactly that file. Then PUT the
 * file there and POST `{ key }` to /api/files/direct/complete. 404 when the files storage is not S3.
 */
export async function POST(request: Request): Promise<Response> {
  try {
    if (!(filesStorage instanceof S3Storage)) throw new HttpError(404, 'Direct uploads need FILES_STORAGE=s3://...; POST the file to /api/files');
    const declared = parseDirectUploadRequest(await readJson(request, { maxBytes: 4096 }), maxUploadBytes());
    const ticket = await startDirectUpload(declared, filesStorage);
    return Response.json(ticket, { status: 201, headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
