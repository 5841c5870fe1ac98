// The peer the kit is measured against: `send` (what Express's res.sendFile uses) in a plain
// Node http server, with send's defaults, serving ROOT on HOST:PORT.
import { createServer } from 'node:http';
import send from 'send';

const root = process.env.ROOT;
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT);
if (!root || !port) throw new Error('send-server: ROOT and PORT are required');

const server = createServer((req, res) => {
  const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  send(req, pathname, { root })
    .on('error', (error) => {
      res.statusCode = error.status ?? 500;
      res.end();
    })
    .pipe(res);
});
server.listen(port, host, () => console.log(`send ready on http://${host}:${port}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => process.exit(0));
