import { spawnSync } from 'node:child_process';

/**
 * Run in a child node: the first port the system hands out for which `span` consecutive ports
 * are free on 127.0.0.1 (the S3 gate takes its port and the next one for fauxqs behind it).
 */
const PROBE = `
const net = require('node:net');
const span = Number(process.argv[1]);
const listen = (port) => new Promise((resolve) => {
  const server = net.createServer();
  server.once('error', () => resolve(undefined));
  server.listen(port, '127.0.0.1', () => resolve(server));
});
(async () => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0);
    const port = first.address().port;
    const held = [first];
    for (let i = 1; i < span; i++) held.push(await listen(port + i));
    for (const server of held) server?.close();
    if (held.every(Boolean) && port + span - 1 <= 65535) return console.log(port);
  }
  process.exit(1);
})();
`;

function freePortSync(span: number): number {
  const probe = spawnSync(process.execPath, ['-e', PROBE, String(span)], { encoding: 'utf8' });
  const port = Number(probe.stdout.trim());
  if (probe.status !== 0 || !Number.isInteger(port) || port <= 0) throw new Error(`no free port on 127.0.0.1: ${probe.stderr}`);
  return port;
}

/**
 * The port of one of the e2e suite's servers: the environment variable `name` when set, else a
 * free one, which is then written into that variable. Playwright reads its config (and so this)
 * in its main process first, and its workers inherit the environment: the whole run agrees on one
 * port, and two copies of the suite can run side by side on one machine.
 */
export function suitePort(name: string, span = 1): number {
  const given = process.env[name];
  if (given !== undefined && given !== '') {
    const port = Number(given);
    if (!Number.isInteger(port) || port < 1 || port + span - 1 > 65535) throw new Error(`${name} must be a port number, got ${given}`);
    return port;
  }
  const port = freePortSync(span);
  process.env[name] = String(port);
  return port;
}
