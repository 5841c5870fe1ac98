/**
 * The bench's bandwidth rows (scripts/bench/bandwidth.ts): the bench's own files under
 * MEDIA_ROOT/bench, at `?rate=` bytes per second after `?after=` bytes (none when absent), with
 * their precompressed siblings. Only when the bench started the server (BENCH_ROUTES=1):
 * anything else is a 404.
 */
import { pathDownload } from 'next-downloadview';
import { mediaRoot } from '@/db/config';

/** A whole number > 0 from the query, or undefined. */
function positive(value: string | null): number | undefined {
  const number = Number(value);
  return value !== null && Number.isSafeInteger(number) && number > 0 ? number : undefined;
}

export const { GET, HEAD } = pathDownload({
  root: mediaRoot(),
  path: (_request, params) => ['bench', ...((params.path as string[] | undefined) ?? [])].join('/'),
  authorize: () => (process.env.BENCH_ROUTES === '1' ? true : new Response('Not Found', { status: 404 })),
  rateLimit: (request) => {
    const query = new URL(request.url).searchParams;
    const bytesPerSecond = positive(query.get('rate'));
    return bytesPerSecond === undefined ? undefined : { bytesPerSecond, after: positive(query.get('after')) ?? 0 };
  },
  precompressed: true,
});
