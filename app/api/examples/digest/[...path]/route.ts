import { createHash } from 'node:crypto';
import { pathDownload } from 'next-downloadview';
import { mediaRoot } from '@/db/config';

const download = pathDownload({ root: mediaRoot() });

/**
 * App code that reads a factory's Response instead of returning it: the SHA-256 and length of
 * a file under MEDIA_ROOT, as JSON (`/api/examples/digest/docs/guide.md`). The Response carries
 * its whole body wherever the app runs; the kit's server takes a body over only when Next sends
 * that very Response.
 */
export async function GET(request: Request, context: { params: Promise<{ path: string[] }> }): Promise<Response> {
  const response = await download.GET(request, context);
  if (response.status !== 200) return response;
  const bytes = new Uint8Array(await response.arrayBuffer());
  return Response.json(
    { bytes: bytes.byteLength, contentLength: Number(response.headers.get('content-length')), sha256: createHash('sha256').update(bytes).digest('hex') },
    { headers: { 'cache-control': 'no-store' } },
  );
}
