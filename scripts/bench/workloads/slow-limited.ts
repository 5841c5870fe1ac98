/**
 * "slow x20" with the limit on the server's side: as many downloads as the slow workload, each
 * held to 1 MB/s by the route's `rateLimit` and read as fast as the client can. The server's
 * RSS must stay flat (one chunk of the file per download, taken in the first second, nothing
 * after), each client must get the rate, and no descriptor may stay open. It runs first, like
 * `slow`, on a server that has not grown yet.
 */
import path from 'node:path';
import { type Workload } from '../bench';
import { runLimitedClients } from '../bandwidth';
import { MB } from '../config';

export const slowLimited: Workload = {
  id: 'slow-limited',
  runFirst: true,
  async run(bench) {
    const { config } = bench;
    return runLimitedClients(bench.ctx, bench.kit, path.join(bench.tempDir, 'media', 'bench'), config.slow.clients, MB, Math.max(3, config.slow.seconds));
  },
};
