import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './parse';

describe('parseCommandLine', () => {
  it('reads start with a folder and the flags of next start', () => {
    expect(parseCommandLine(['start', 'out/standalone', '-p', '4000', '-H', '127.0.0.1', '--keepAliveTimeout', '65000'], {})).toEqual({
      command: 'start',
      options: { dir: 'out/standalone', dev: false, hostname: '127.0.0.1', port: 4000, keepAliveTimeout: 65000 },
      workers: 1,
    });
  });

  it('takes PORT, HOSTNAME and KEEP_ALIVE_TIMEOUT from the environment, as the standalone server.js does', () => {
    expect(parseCommandLine(['start'], { PORT: '8080', HOSTNAME: '::', KEEP_ALIVE_TIMEOUT: '5000' })).toEqual({
      command: 'start',
      options: { dir: undefined, dev: false, hostname: '::', port: 8080, keepAliveTimeout: 5000 },
      workers: 1,
    });
  });

  it('lets a flag win over its variable', () => {
    const invocation = parseCommandLine(['start', '--port', '4001'], { PORT: '8080' });
    expect('options' in invocation && invocation.options.port).toBe(4001);
  });

  it('reads --workers N, auto as one per core, and WORKERS, the flag winning', () => {
    expect(parseCommandLine(['start', '--workers', '2'], {})).toMatchObject({ command: 'start', workers: 2 });
    expect(parseCommandLine(['start', '--workers', 'auto'], {})).toMatchObject({ workers: availableParallelism() });
    expect(parseCommandLine(['start'], { WORKERS: '3' })).toMatchObject({ workers: 3 });
    expect(parseCommandLine(['start', '--workers', '4'], { WORKERS: '3' })).toMatchObject({ workers: 4 });
    expect(parseCommandLine(['start'], { WORKERS: 'auto' })).toMatchObject({ workers: availableParallelism() });
    expect(parseCommandLine(['start', '--workers', '256'], {})).toMatchObject({ workers: 256 });
    expect(parseCommandLine(['start'], { WORKERS: 'many' })).toMatchObject({ exitCode: 2 });
    expect(parseCommandLine(['dev'], { WORKERS: '1' })).toMatchObject({ command: 'dev', workers: 1 });
  });

  it('reads dev as the same server under next dev', () => {
    const invocation = parseCommandLine(['dev', '-p', '4002'], {});
    expect(invocation).toMatchObject({ command: 'dev', options: { dev: true, port: 4002 } });
  });

  it.each([
    [['start', '-p', 'http'], /port must be a whole number/],
    [['start', '-p', '70000'], /port must be a whole number/],
    [['start', '--keepAliveTimeout', '-1'], /keepAliveTimeout/],
    [['serve'], /unknown command "serve"/],
    [[], /give a command/],
    [['start', 'a', 'b'], /one folder only/],
    [['start', '--workers', '0'], /workers must be auto or a whole number from 1 to 256, got 0/],
    [['start', '--workers', '257'], /workers must be auto or a whole number/],
    [['start', '--workers', '2x'], /workers must be auto or a whole number/],
    [['start', '--workers=-1'], /workers must be auto or a whole number/],
    [['dev', '--workers', '2'], /--workers is for start only/],
    [['start', '--threads', '2'], /Unknown option '--threads'/],
  ])('refuses %j with exit code 2 and a reason', (argv, reason) => {
    const invocation = parseCommandLine(argv, {});
    expect(invocation).toMatchObject({ exitCode: 2 });
    expect('print' in invocation && invocation.print).toMatch(reason);
  });

  it('prints its usage for --help, with exit code 0', () => {
    expect(parseCommandLine(['--help'], {})).toMatchObject({ exitCode: 0, print: expect.stringContaining('Usage: next-downloadview') });
  });
});
