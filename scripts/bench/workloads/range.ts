/** Random single ranges of the big file, 16 connections: requests per second. */
import { entrantsFor, floors, ratioTargets, type Workload } from '../bench';
import { formatSize } from '../config';
import { readSlice } from '../files';
import { runLoadWorkload } from '../measure';

export const range: Workload = {
  id: 'range',
  async run(bench) {
    const { big: file } = bench.files;
    const { rangeSize } = bench.config;
    const slice = (start: number, end: number) => readSlice(file.path, start, end);
    const rows = await runLoadWorkload(bench.ctx, {
      id: 'range', title: `${formatSize(rangeSize)} ranges of ${formatSize(file.size)} x16`, unit: 'req/s', connections: 16, seconds: bench.config.seconds.range,
      range: { size: rangeSize, fileSize: file.size },
      // The constant route ignores the Range header: its request rate is the floor here too.
      entrants: [...floors(bench, 'constant', 200, 4096), ...entrantsFor(bench, 'range', file, (contender, url) => ({ contender, url, check: { kind: 'range', file, readSlice: slice } }))],
    });
    const prefix = `range-${formatSize(rangeSize)}-x16`;
    return { rows, targets: [...ratioTargets(rows, 'constant', 0.9, `${prefix}-vs-constant`), ...ratioTargets(rows, 'constant [...path]', 0.9, `${prefix}-vs-constant-[...path]`)] };
  },
};
