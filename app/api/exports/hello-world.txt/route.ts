import { virtualDownload } from 'next-downloadview';

// django-downloadview's VirtualDownloadView example: the content never changes, so a client that
// already has it (any If-Modified-Since) gets 304, though generated content has no date of its own.
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = virtualDownload({
  file: { name: 'hello-world.txt', content: 'Hello world!\n' },
  modifiedSince: () => false, // never modified: always "Hello world!"
});
