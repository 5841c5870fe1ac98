import { virtualDownload } from 'next-downloadview';
import { filesCsv } from '@/app/_lib/files';

/** The files table as CSV, streamed a page of rows at a time. */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = virtualDownload({
  file: () => ({ name: 'files.csv', contentType: 'text/csv', content: () => filesCsv() }),
});
