// HEAD load for the bench: wrk and autocannon both wait for a body after a HEAD answer that
// carries Content-Length (their parsers do not know the request was HEAD), so they count no
// requests at all. This is a minimal keep-alive HEAD client in a process of its own: raw sockets,
// one request in flight per connection, an answer is complete at the blank line after the
// headers (a HEAD answer has no body, RFC 9110 §9.3.2). Same JSON line as wrk.lua prints.
//   { url, connections, seconds, headers? }
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

const spec = JSON.parse(process.argv[2] ?? '{}');
const url = new URL(spec.url);
const port = Number(url.port || 80);
const extra = Object.entries(spec.headers ?? {})
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join('');
const request = Buffer.from(`HEAD ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${extra}\r\n`);

let requests = 0;
let bytes = 0;
let statusErrors = 0;
let socketErrors = 0;
let stopping = false;
const latencies = [];
const start = performance.now();

function open() {
  if (stopping) return;
  const socket = connect({ host: url.hostname, port, noDelay: true });
  let pending = '';
  let sentAt = 0;
  const send = () => {
    if (stopping) {
      socket.destroy();
      return;
    }
    pending = '';
    sentAt = performance.now();
    socket.write(request);
  };
  socket.setEncoding('latin1');
  socket.on('connect', send);
  socket.on('data', (text) => {
    bytes += text.length;
    pending += text;
    if (!pending.endsWith('\r\n\r\n')) return;
    requests++;
    latencies.push(performance.now() - sentAt);
    const status = Number(pending.slice(9, 12));
    if (!(status >= 200 && status < 400)) statusErrors++;
    if (/\r\nconnection:\s*close\r\n/i.test(pending)) {
      socket.end();
      return;
    }
    send();
  });
  socket.on('error', () => {
    if (!stopping) socketErrors++;
  });
  // The server closed it (Connection: close, idle timeout): keep the number of connections.
  socket.on('close', () => {
    sockets.delete(socket);
    if (!stopping) open();
  });
  sockets.add(socket);
}

const sockets = new Set();
for (let i = 0; i < spec.connections; i++) open();
setTimeout(() => {
  stopping = true;
  const seconds = (performance.now() - start) / 1000;
  for (const socket of sockets) socket.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : 0);
  process.stdout.write(
    `BENCH_JSON ${JSON.stringify({
      requests,
      bytes,
      duration_us: seconds * 1e6,
      connect: 0,
      read: socketErrors,
      write: 0,
      status: statusErrors,
      timeout: 0,
      p50_us: pct(50) * 1000,
      p99_us: pct(99) * 1000,
    })}\n`,
  );
  process.exit(0);
}, spec.seconds * 1000);
