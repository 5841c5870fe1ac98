#!/usr/bin/env node
// The package's bin: `next-downloadview start|dev [folder]`, the kit's server in place of
// `next start` / `next dev`. With `--workers N` this process is the cluster's primary: it forks
// N workers that each run this same file as a full server, and never loads Next itself.
import cluster from 'node:cluster';
import { ConfigurationError } from '../errors';
import { CONFIGURATION_EXIT_CODE, superviseWorkers } from '../server/workers';
import { parseCommandLine } from './parse';

async function main(): Promise<void> {
  const invocation = parseCommandLine(process.argv.slice(2));
  if ('print' in invocation) {
    (invocation.exitCode === 0 ? process.stdout : process.stderr).write(invocation.print);
    process.exit(invocation.exitCode);
  }
  if (invocation.workers > 1 && cluster.isPrimary) {
    const code = await superviseWorkers({
      workers: invocation.workers,
      onReady: (where) => console.log(`next-downloadview ${invocation.command}: ready on http://${where} (${invocation.workers} workers)`),
    });
    process.exit(code);
  }
  // Loaded only where a server runs: the primary of a cluster stays small.
  const { startServer } = await import('../server/start-server');
  const server = await startServer(invocation.options);
  const address = server.address();
  const where = typeof address === 'object' && address ? `${address.address}:${address.port}` : String(address);
  if (cluster.isWorker) console.log(`next-downloadview ${invocation.command}: worker ${process.pid} listening on http://${where}`);
  else console.log(`next-downloadview ${invocation.command}: ready on http://${where}`);
}

main().catch((error: unknown) => {
  const configuration = error instanceof ConfigurationError || (error instanceof Error && error.name === 'ConfigurationError');
  console.error(configuration ? `next-downloadview: ${(error as Error).message}` : error);
  // In a worker, a configuration that cannot work tells the primary not to retry.
  process.exit(configuration && cluster.isWorker ? CONFIGURATION_EXIT_CODE : 1);
});
