import { errorResponse } from 'next-downloadview';
import { createFile, listFiles, toJson } from '@/app/_lib/files';

export const dynamic = 'force-dynamic';

/** The files table as JSON. */
export async function GET(): Promise<Response> {
  try {
    return Response.json((await listFiles()).map(toJson), { headers: { 'cache-control': 'no-store' } });
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
