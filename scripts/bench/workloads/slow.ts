/**
 * Slow clients on the big file, for the kit and `send`: the server's RSS growth and the fds it
 * keeps. It runs first, on a server that has not streamed anything big yet: its RSS growth is
 * then the honest worst case, not memory already grown by the workloads before it.
 */
import { type Workload } from '../bench';
import { formatSize } from '../config';
import { warm } from '../files';
import { runSlow } from '../measure';
import { target } from '../report';

export const slow: Workload = {
  id: 'slow',
  runFirst: true,
  async run(bench) {
    const { big } = bench.files;
    const { kit, send, config } = bench;
    const title = `slow x${config.slow.clients} on ${formatSize(big.size)}`;
    await warm(big.path);
    const kitSlow = await runSlow(bench.ctx, title, 'path', kit, `${kit.base}/api/path/${big.name}`);
    const sendSlow = await runSlow(bench.ctx, title, 'send', send, `${send.base}/${big.name}`);
    return {
      rows: [kitSlow.row, sendSlow.row],
      targets: [
        target(`slow-x${config.slow.clients}-rss-growth/path`, kitSlow.rssGrowthMB, '<=', 40, 'MB', 'peak VmRSS during - VmRSS before'),
        target(`slow-x${config.slow.clients}-fds/path`, kitSlow.fdsAfter - kitSlow.fdsBefore, '<=', 0, 'fds', 'open fds after the clients left - before'),
      ],
    };
  },
};
