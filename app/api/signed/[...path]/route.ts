import { storageDownload } from 'next-downloadview';
import { signed } from 'next-downloadview/signing';
import { downloadSecret, media } from '@/app/_lib/demo';

/** A media file, only through a link signed with the demo's secret (see POST /api/signed-links). */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = storageDownload({
  storage: media,
  // A function: the secret is read on the first request, not when the build imports the route.
  authorize: signed({ secret: downloadSecret }),
});
