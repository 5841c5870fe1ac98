import { errorResponse } from 'next-downloadview';
import { iterableToStream } from 'next-downloadview/sources';
import { createFile, filesJson, toJson } from '@/app/_lib/files';

export const dynamic = 'force-dynamic';

/** The files table as JSON, streamed a page of rows at a time. */
export async function GET(): Promise<Response> {
  try {
    return new Response(iterableToStream(filesJson()), { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}

/** Upload: multipart field `file`, up to MAX_UPLOAD_BYTES. 201 with the new row. */
export async function POST(request: Request): Promise<Response> {
  try {
    const row = await createFile(request);
    const { id, name, size, contentType, sha256 } = toJson(row);
    return Response.json({ id, name, size, contentType, sha256 }, { status: 201, headers: { location: `/api/files/${id}` } });
  } catch (error) {
    return errorResponse(error);
  }
}
