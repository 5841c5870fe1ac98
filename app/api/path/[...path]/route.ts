import { pathDownload } from 'next-downloadview';
import { mediaRoot } from '@/db/config';

/**
 * Any file under MEDIA_ROOT, by its path: /api/path/docs/guide.md. `?inline` shows it in the
 * browser; an SVG or HTML file is then shown in a sandbox (no script, an opaque origin). The
 * kit's default for such active content is stricter: always an attachment. Under the kit's
 * server, a client that accepts Brotli or gzip gets the `.br` / `.gz` written beside a text file
 * (`npm start` writes them for the sample files: scripts/precompress.mjs).
 */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = pathDownload({
  root: mediaRoot(),
  attachment: (request) => !new URL(request.url).searchParams.has('inline'),
  activeContent: 'sandbox',
  precompressed: true,
});
