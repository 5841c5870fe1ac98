import { storageDownload } from 'next-downloadview';
import { allOf, signed } from 'next-downloadview/signing';
import { downloadSecret, media } from '@/app/_lib/demo';

const checkSignature = signed({ secret: downloadSecret });

/**
 * A media file handed to nginx: the app checks the request and picks the file, then answers
 * with `X-Accel-Redirect: /_protected/<name>` and an empty body, and nginx sends the bytes
 * (Content-Length, Range, conditional requests). Only useful behind nginx: run the demo with
 * `node scripts/nginx.mjs` and open http://127.0.0.1:8080/api/accel/docs/guide.md.
 *
 * The checks run before the offload, as in a real app: `?deny` is refused (a stand-in for a
 * permission check), and a URL that carries a signature must carry a valid one.
 */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = storageDownload({
  storage: media,
  authorize: allOf(
    (request) => !new URL(request.url).searchParams.has('deny'),
    (request, params) => (new URL(request.url).searchParams.has('signature') ? checkSignature(request, params) : undefined),
  ),
  offload: [{ backend: 'nginx', source: media, destination: '/_protected/' }],
  // `?inline` for a player's <video src>: nginx keeps the app's Content-Disposition.
  attachment: (request) => !new URL(request.url).searchParams.has('inline'),
});
