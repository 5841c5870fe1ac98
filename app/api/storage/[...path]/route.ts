import { storageDownload } from 'next-downloadview';
import { media } from '@/app/_lib/demo';

/** A file of the media storage by name: /api/storage/docs/guide.md */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = storageDownload({ storage: media });
