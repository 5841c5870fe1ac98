/**
 * A peer for the benchmark (scripts/bench): the download route a Next user writes by hand, with
 * no features at all (no length, validators, ranges, HEAD of its own or confinement), its body
 * `Readable.toWeb(createReadStream())` in 1 MiB chunks. The kit must beat it.
 *
 * It serves only the bench's own test files (`bench/small.bin`, ...) under MEDIA_ROOT, and only
 * when the bench started the server (BENCH_ROUTES=1): anything else is a 404, so the demo never
 * exposes an unconfined file route.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { mediaRoot } from '@/db/config';

export const dynamic = 'force-dynamic';

const NAMES = new Set(['small.bin', 'medium.bin', 'big.bin']);

export async function GET(_request: Request, context: { params: Promise<{ name: string }> }): Promise<Response> {
  const { name } = await context.params;
  if (process.env.BENCH_ROUTES !== '1' || !NAMES.has(name)) return new Response('Not Found', { status: 404 });
  const file = path.join(mediaRoot(), 'bench', name);
  const body = Readable.toWeb(createReadStream(file, { highWaterMark: 1024 * 1024 })) as ReadableStream<Uint8Array>;
  return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
}
