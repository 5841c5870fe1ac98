#!/usr/bin/env node
// The package's bin: `next-downloadview start|dev [folder]`, the kit's server in place of
// `next start` / `next dev`. Room is left for more commands and flags (`--workers`).
import { startServer } from '../server/start-server';
import { parseCommandLine } from './parse';

async function main(): Promise<void> {
  const invocation = parseCommandLine(process.argv.slice(2));
  if ('print' in invocation) {
    (invocation.exitCode === 0 ? process.stdout : process.stderr).write(invocation.print);
    process.exit(invocation.exitCode);
  }
  const server = await startServer(invocation.options);
  const address = server.address();
  const where = typeof address === 'object' && address ? `${address.address}:${address.port}` : String(address);
  console.log(`next-downloadview ${invocation.command}: ready on http://${where}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error && error.name === 'ConfigurationError' ? `next-downloadview: ${error.message}` : error);
  process.exit(1);
});
