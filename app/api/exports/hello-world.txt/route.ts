import { virtualDownload } from 'next-downloadview';

export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = virtualDownload({
  file: { name: 'hello-world.txt', content: 'Hello world!\n' },
});
