/**
 * The framework's floor for the benchmark (scripts/bench): the cheapest response a Next route
 * handler can give, a constant 4 KiB body built once. The kit's 4 KiB downloads, HEAD and 304
 * answers are measured against it.
 */
export const dynamic = 'force-dynamic';

const BODY = new Uint8Array(4096).fill(0x61);
const HEADERS = { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' };

export function GET(): Response {
  return new Response(BODY, { headers: HEADERS });
}

export function HEAD(): Response {
  return new Response(null, { headers: HEADERS });
}
