/** The medium file whole, 16 connections: requests per second. */
import { entrantsFor, ratioTargets, type Workload } from '../bench';
import { formatSize } from '../config';
import { runLoadWorkload } from '../measure';

export const medium: Workload = {
  id: 'medium',
  async run(bench) {
    const { medium: file } = bench.files;
    const rows = await runLoadWorkload(bench.ctx, {
      id: 'medium', title: `${formatSize(file.size)} x16`, unit: 'req/s', connections: 16, seconds: bench.config.seconds.medium,
      entrants: entrantsFor(bench, 'medium', file, (contender, url) => ({ contender, url, check: { kind: 'whole', file } })),
    });
    const prefix = `${formatSize(file.size)}-x16`;
    return { rows, targets: [...ratioTargets(rows, 'send', 0.8, `${prefix}-vs-send`), ...ratioTargets(rows, 'public', 1.0, `${prefix}-vs-public`)] };
  },
};
