// A TCP port on 127.0.0.1 that nothing listens on right now, for the test scripts' servers.
import { createServer } from 'node:net';

/** Resolves with a port the system just handed out and released. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
