import { errorResponse } from 'next-downloadview';
import { listDownloads, parseLimit } from '@/app/_lib/downloads';

export const dynamic = 'force-dynamic';

/**
 * The download log, newest first: JSON `{ "downloads": [...] }`, at most `?limit=` rows
 * (default 50, capped at 500; anything but a whole number from 1 is a 400). Each row says which
 * route answered, the file's name and row id (for /api/files/{id}), the status, the bytes sent
 * and announced, the outcome (completed, aborted, failed, offloaded, redirected, no-body), when it
 * started (ISO 8601) and how long it took.
 */
export async function GET(request: Request): Promise<Response> {
  try {
    const limit = parseLimit(new URL(request.url).searchParams.getAll('limit'));
    return Response.json({ downloads: await listDownloads(limit) }, { headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
