import { storageDownload } from 'next-downloadview';
import { media } from '@/app/_lib/demo';

/**
 * A file of the media storage by name: /api/storage/docs/guide.md, or its precompressed `.br` /
 * `.gz` sibling for a client that accepts it (under the kit's server).
 */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = storageDownload({ storage: media, precompressed: true });
