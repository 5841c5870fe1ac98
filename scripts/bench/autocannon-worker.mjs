// The bench's fallback load generator when wrk is missing: autocannon in a process of its own
// (never the server's). Takes one JSON argument, prints one `BENCH_JSON {...}` line, as wrk.lua does.
//   { url, connections, seconds, method?, headers?, range?: { size, fileSize } }
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2] ?? '{}');

// The same kind of deterministic offsets as wrk.lua (not the same numbers: a different generator).
let seed = 424242;
function random(max) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return Math.floor((seed / 2 ** 32) * (max + 1));
}

const options = {
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  method: spec.method ?? 'GET',
  headers: spec.headers ?? {},
  timeout: 30,
};
if (spec.range) {
  options.requests = [
    {
      setupRequest(request) {
        const first = random(spec.range.fileSize - spec.range.size);
        return { ...request, headers: { ...request.headers, range: `bytes=${first}-${first + spec.range.size - 1}` } };
      },
    },
  ];
}

const result = await autocannon(options);
const statusErrors = (result['4xx'] ?? 0) + (result['5xx'] ?? 0);
process.stdout.write(
  `BENCH_JSON ${JSON.stringify({
    requests: result.requests.total,
    bytes: result.throughput.total,
    duration_us: result.duration * 1e6,
    connect: 0,
    read: result.errors,
    write: 0,
    status: statusErrors,
    timeout: result.timeouts,
    p50_us: (result.latency.p50 ?? 0) * 1000,
    p99_us: (result.latency.p99 ?? 0) * 1000,
  })}\n`,
);
