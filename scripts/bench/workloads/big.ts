/** The big file whole, one connection: throughput in MB/s. */
import { entrantsFor, ratioTargets, type Workload } from '../bench';
import { formatSize } from '../config';
import { warm } from '../files';
import { runLoadWorkload } from '../measure';

export const big: Workload = {
  id: 'big',
  async run(bench) {
    const { big: file } = bench.files;
    await warm(file.path);
    const rows = await runLoadWorkload(bench.ctx, {
      id: 'big', title: `${formatSize(file.size)} x1`, unit: 'MB/s', connections: 1, seconds: bench.config.seconds.big,
      entrants: entrantsFor(bench, 'big', file, (contender, url) => ({ contender, url, check: { kind: 'whole', file } })),
    });
    return { rows, targets: ratioTargets(rows, 'send', 1.5, `${formatSize(file.size)}-x1-vs-send`) };
  },
};
