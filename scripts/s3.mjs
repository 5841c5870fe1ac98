#!/usr/bin/env node
// The local S3-compatible server (fauxqs, behind an optional signature gate) on the command line,
// for the e2e demo, the bench and by hand. The server itself is the package's test support,
// lib/s3/s3-server.test-support.mjs, which says what it checks.
//
//   node scripts/s3.mjs install                      installs fauxqs and Node 22 (once; seconds)
//   node scripts/s3.mjs start [--port 4790] [--bucket name ...] [--gate]
//                                                    runs the server in the foreground
//                                                    (--port 0: a free port, said on stderr)
import { installS3Server, startS3 } from '../lib/s3/s3-server.test-support.mjs';

/** Every value given for `name` (`--bucket a --bucket b`), else `fallback`. */
function option(args, name, fallback) {
  const values = [];
  for (let i = 0; i < args.length; i++) if (args[i] === name && args[i + 1] !== undefined) values.push(args[++i]);
  return values.length ? values : fallback;
}

const [command, ...args] = process.argv.slice(2);
if (command === 'install') {
  installS3Server();
} else if (command === 'start') {
  const port = Number(option(args, '--port', [process.env.S3_PORT ?? '4790'])[0]);
  const buckets = option(args, '--bucket', ['downloads']);
  const server = await startS3({ port, buckets, gate: args.includes('--gate') || process.env.S3_GATE === '1' });
  console.error(`s3: fauxqs on ${server.endpoint}, buckets ${buckets.join(', ')}`);
  const stop = () => server.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  server.child.once('exit', (code) => process.exit(code ?? 1));
} else {
  console.error('usage: node scripts/s3.mjs install | start [--port 4790] [--bucket name ...] [--gate]');
  process.exit(2);
}
