import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { StartServerOptions } from '../server/start-server';
import { MAX_WORKERS, parseWorkerCount } from '../server/workers';

export const USAGE = `Usage: next-downloadview <command> [folder] [options]

Commands:
  start [folder]   serve a built Next app (a project with .next, or an output: 'standalone'
                   folder copied anywhere) with Content-Length on downloads; replaces next start
  dev [folder]     the same under next dev (compiles on demand, hot reload)

Options:
  -p, --port <port>               port to listen on (env PORT; default 3000)
  -H, --hostname <host>           address to listen on (env HOSTNAME; default 0.0.0.0)
  --keepAliveTimeout <ms>         idle keep-alive timeout (env KEEP_ALIVE_TIMEOUT)
  --workers <n|auto>              start only: n server processes on the one port, auto = one
                                  per core (env WORKERS; default 1)
  -h, --help                      this text
  -v, --version                   the package's version
`;

/** What a command line asks for, or the text to print and the exit code. */
export type Invocation = { command: 'start' | 'dev'; options: StartServerOptions; workers: number } | { print: string; exitCode: number };

/**
 * Reads the command line and the environment the way `next start` and the standalone
 * `server.js` do: a flag wins over its variable (PORT, HOSTNAME, KEEP_ALIVE_TIMEOUT, WORKERS).
 */
export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        hostname: { type: 'string', short: 'H' },
        keepAliveTimeout: { type: 'string' },
        workers: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    return { print: `next-downloadview: ${(error as Error).message}\n\n${USAGE}`, exitCode: 2 };
  }
  const { values, positionals } = parsed;
  if (values.help) return { print: USAGE, exitCode: 0 };
  if (values.version) return { print: `${version()}\n`, exitCode: 0 };
  const [command, folder, ...extra] = positionals;
  if (command !== 'start' && command !== 'dev') {
    return { print: `next-downloadview: ${command ? `unknown command "${command}"` : 'give a command'}\n\n${USAGE}`, exitCode: 2 };
  }
  if (extra.length > 0) return { print: `next-downloadview: one folder only, got ${positionals.slice(1).join(' ')}\n`, exitCode: 2 };

  const port = whole(values.port ?? env.PORT, 65535);
  const keepAliveTimeout = whole(values.keepAliveTimeout ?? env.KEEP_ALIVE_TIMEOUT);
  for (const [name, value] of [['port', port], ['keepAliveTimeout', keepAliveTimeout]] as const) {
    if (value === null) return { print: `next-downloadview: ${name} must be a whole number, got ${values[name] ?? env[name === 'port' ? 'PORT' : 'KEEP_ALIVE_TIMEOUT']}\n`, exitCode: 2 };
  }
  const workersRaw = values.workers ?? (env.WORKERS || undefined);
  const workers = parseWorkerCount(workersRaw);
  if (workers === null) {
    return { print: `next-downloadview: workers must be auto or a whole number from 1 to ${MAX_WORKERS}, got ${workersRaw}\n`, exitCode: 2 };
  }
  // next dev compiles on demand and watches files: several of it would only race each other.
  if (command === 'dev' && workers !== undefined && workers > 1) return { print: 'next-downloadview: --workers is for start only, not dev\n', exitCode: 2 };
  const hostname = values.hostname ?? (env.HOSTNAME || undefined);
  return {
    command,
    workers: workers ?? 1,
    options: {
      dir: folder,
      dev: command === 'dev',
      hostname,
      port: port ?? undefined,
      keepAliveTimeout: keepAliveTimeout ?? undefined,
    },
  };
}

/** `undefined` when not given, `null` when not a whole number in range. */
function whole(raw: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined | null {
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]+$/.test(raw)) return null;
  const value = Number(raw);
  return value <= max ? value : null;
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
