import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { suitePort } from '../e2e/ports';

/** Whether 127.0.0.1:port can be listened on right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe("suitePort (the e2e suite's ports)", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('takes the port its variable gives', () => {
    vi.stubEnv('E2E_TEST_PORT', '3456');
    expect(suitePort('E2E_TEST_PORT')).toBe(3456);
  });

  it('picks a free port when the variable is unset, and writes it there for the workers', async () => {
    vi.stubEnv('E2E_TEST_PORT', '');
    const port = suitePort('E2E_TEST_PORT');
    expect(process.env.E2E_TEST_PORT).toBe(String(port));
    expect(await bindable(port)).toBe(true);
    // Asked again (a worker reading the config), it is the same port.
    expect(suitePort('E2E_TEST_PORT')).toBe(port);
  });

  it('picks consecutive free ports for a server that takes two (the S3 gate and fauxqs behind it)', async () => {
    vi.stubEnv('E2E_TEST_PORT', '');
    const port = suitePort('E2E_TEST_PORT', 2);
    expect([await bindable(port), await bindable(port + 1)]).toEqual([true, true]);
  });

  it.each(['abc', '0', '70000', '3.5'])('refuses %j with a message naming the variable', (value) => {
    vi.stubEnv('E2E_TEST_PORT', value);
    expect(() => suitePort('E2E_TEST_PORT')).toThrow(/E2E_TEST_PORT must be a port number/);
  });
});
