/** The small file whole, 64 connections, against the framework's floors: requests per second. */
import { entrantsFor, floors, ratioTargets, type Workload } from '../bench';
import { formatSize } from '../config';
import { runLoadWorkload } from '../measure';

export const small: Workload = {
  id: 'small',
  async run(bench) {
    const { small: file } = bench.files;
    const rows = await runLoadWorkload(bench.ctx, {
      id: 'small', title: `${formatSize(file.size)} x64`, unit: 'req/s', connections: 64, seconds: bench.config.seconds.small,
      entrants: [...floors(bench, 'constant', 200, 4096), ...entrantsFor(bench, 'small', file, (contender, url) => ({ contender, url, check: { kind: 'whole', file } }))],
    });
    const prefix = `${formatSize(file.size)}-x64`;
    return {
      rows,
      targets: [
        ...ratioTargets(rows, 'constant', 0.9, `${prefix}-vs-constant`),
        ...ratioTargets(rows, 'constant [...path]', 0.9, `${prefix}-vs-constant-[...path]`),
        ...ratioTargets(rows, 'naive', 1.2, `${prefix}-vs-naive`),
      ],
    };
  },
};
