import { errorResponse, HttpError } from 'next-downloadview';
import { drizzleObjectDownload } from 'next-downloadview/drizzle';
import { getDb } from '@/db';
import { files } from '@/db/schema';
import { filesDelivery, filesStorage, filesStorageReady } from '@/app/_lib/demo';
import { deleteFile, parseId } from '@/app/_lib/files';

/**
 * The file of a row of `files`; `?inline` shows it in the browser, still with its name. Uploads
 * are anyone's content: an SVG, HTML or XML upload stays an attachment even with `?inline`
 * (the kit's default `activeContent: 'attachment'`), so its script never runs on this origin.
 * The bytes are in FILES_STORAGE (the media folder, or S3); FILES_DELIVERY=redirect sends GET
 * to S3 by a 307 to a presigned URL (HEAD is always answered here).
 */
const options = {
  storage: filesStorage,
  authorize: async () => {
    await filesStorageReady();
    return true;
  },
  // Opened on the first request, not when the build imports the route.
  db: getDb,
  table: files,
  fields: {
    file: 'storagePath',
    basename: 'name',
    contentType: 'contentType',
    size: 'size',
    checksum: 'sha256',
    lastModified: 'updatedAt',
  } as const,
  attachment: (request: Request) => !new URL(request.url).searchParams.has('inline'),
} satisfies Parameters<typeof drizzleObjectDownload>[0];

const streamed = drizzleObjectDownload(options);
// FILES_DELIVERY=redirect on S3: a 307 to a 60-second presigned URL with the same name.
const delivered = filesDelivery === 'redirect' ? drizzleObjectDownload({ ...options, delivery: 'redirect' }) : streamed;

type Context = { params: Promise<{ id: string }> };

/** `?stream` streams through the app even when FILES_DELIVERY=redirect, to compare the two. */
export const { GET, HEAD } = {
  GET: (request: Request, context: Context) => (new URL(request.url).searchParams.has('stream') ? streamed : delivered).GET(request, context),
  HEAD: streamed.HEAD,
};

/** Removes the row and its bytes: 204, or 404 when there is no such file. */
export async function DELETE(_request: Request, context: Context): Promise<Response> {
  try {
    const removed = await deleteFile(parseId((await context.params).id));
    return removed ? new Response(null, { status: 204 }) : errorResponse(new HttpError(404, 'Not Found'));
  } catch (error) {
    return errorResponse(error);
  }
}
