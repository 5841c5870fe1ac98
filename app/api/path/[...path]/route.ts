import { pathDownload } from 'next-downloadview';
import { mediaRoot } from '@/db/config';

/** Any file under MEDIA_ROOT, by its path: /api/path/docs/guide.md */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = pathDownload({
  root: mediaRoot(),
  attachment: (request) => !new URL(request.url).searchParams.has('inline'),
});
