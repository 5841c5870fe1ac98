import { gzipSync } from 'node:zlib';
import { virtualDownload } from 'next-downloadview';

/**
 * A file stored gzipped and served as it is stored, with `Content-Encoding: gzip`: the browser
 * decompresses it and saves `gzipped.txt` as text. Next 16 drops Content-Encoding from route
 * responses; the kit's server puts it back (under plain `next start` the client would get the
 * gzip bytes under the plain name).
 */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = virtualDownload({
  file: {
    name: 'gzipped.txt',
    contentType: 'text/plain',
    encoding: 'gzip',
    content: new Uint8Array(gzipSync('Stored gzipped, sent as stored.\n'.repeat(64))),
  },
});
