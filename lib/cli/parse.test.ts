import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './parse';

describe('parseCommandLine', () => {
  it('reads start with a folder and the flags of next start', () => {
    expect(parseCommandLine(['start', 'out/standalone', '-p', '4000', '-H', '127.0.0.1', '--keepAliveTimeout', '65000'], {})).toEqual({
      command: 'start',
      options: { dir: 'out/standalone', dev: false, hostname: '127.0.0.1', port: 4000, keepAliveTimeout: 65000 },
    });
  });

  it('takes PORT, HOSTNAME and KEEP_ALIVE_TIMEOUT from the environment, as the standalone server.js does', () => {
    expect(parseCommandLine(['start'], { PORT: '8080', HOSTNAME: '::', KEEP_ALIVE_TIMEOUT: '5000' })).toEqual({
      command: 'start',
      options: { dir: undefined, dev: false, hostname: '::', port: 8080, keepAliveTimeout: 5000 },
    });
  });

  it('lets a flag win over its variable', () => {
    const invocation = parseCommandLine(['start', '--port', '4001'], { PORT: '8080' });
    expect('options' in invocation && invocation.options.port).toBe(4001);
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
    [['start', '--workers', '2'], /Unknown option '--workers'/],
  ])('refuses %j with exit code 2 and a reason', (argv, reason) => {
    const invocation = parseCommandLine(argv, {});
    expect(invocation).toMatchObject({ exitCode: 2 });
    expect('print' in invocation && invocation.print).toMatch(reason);
  });

  it('prints its usage for --help, with exit code 0', () => {
    expect(parseCommandLine(['--help'], {})).toMatchObject({ exitCode: 0, print: expect.stringContaining('Usage: next-downloadview') });
  });
});
