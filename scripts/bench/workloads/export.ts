/** The demo's generated numbers.txt export, fetched whole: time to the first byte and MB/s. */
import { type Workload } from '../bench';
import { runExport } from '../measure';
import { target } from '../report';

/** Byte length of numbers.txt for ?count=N: `1\n2\n...N\n` (as app/_lib/numbers.ts computes it). */
export function numbersSize(count: number): number {
  let size = 0;
  for (let digits = 1, low = 1; low <= count; digits++, low *= 10) size += (Math.min(count, low * 10 - 1) - low + 1) * (digits + 1);
  return size;
}

/** The smallest count whose export is at least `bytes` long. */
export function countFor(bytes: number): number {
  let [low, high] = [1, 100_000_000];
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (numbersSize(mid) >= bytes) high = mid;
    else low = mid + 1;
  }
  return low;
}

export const exportNumbers: Workload = {
  id: 'export',
  async run(bench) {
    const count = countFor(bench.config.exportBytes);
    const size = numbersSize(count);
    const { kit } = bench;
    const result = await runExport(bench.ctx, `numbers.txt ${(size / 1e6).toFixed(1)} MB`, kit, `${kit.base}/api/exports/numbers.txt?count=${count}`, size);
    if (!result) return { rows: [] };
    return {
      rows: result.rows,
      targets: [
        target('numbers.txt-first-byte', result.firstByteMs, '<=', 10, 'ms', 'median time to the first body byte'),
        target('numbers.txt-throughput', result.mbPerSecond, '>=', 600, 'MB/s', 'median MB/s of the whole download'),
      ],
    };
  },
};
