import { virtualDownload } from 'next-downloadview';
import { numbersFile } from '@/app/_lib/numbers';

/** `1\n2\n...N\n` for ?count=N (1 to 10^8, default 1000), generated as it is sent. */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = virtualDownload({
  file: (request) => numbersFile(new URL(request.url).searchParams.get('count')),
});
