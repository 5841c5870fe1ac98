/**
 * `rateLimit`'s accuracy on both body paths: 10 MB at 1 MB/s (1 MB in the smoke) must take
 * 10 s ± 5% under the kit's server and under plain `next start` (started here on the same build,
 * and stopped again).
 */
import path from 'node:path';
import { type Workload } from '../bench';
import { runRateAccuracy, sizedFile, startNextStart } from '../bandwidth';
import { MB } from '../config';
import { stopProcess } from '../procs';

export const rate: Workload = {
  id: 'rate',
  async run(bench) {
    const bytes = bench.config.mode === 'smoke' ? MB : 10 * MB;
    sizedFile(path.join(bench.tempDir, 'media', 'bench'), 'rate.bin', bytes);
    const nextStart = await startNextStart(bench.root, path.join(bench.tempDir, 'media'), bench.quiet);
    bench.ctx.log(`next start on ${nextStart.base}, pid ${nextStart.pid}`);
    try {
      return await runRateAccuracy(bench.ctx, [bench.kit, nextStart], 'rate.bin', bytes, MB, bench.config.rounds);
    } finally {
      await stopProcess(nextStart.child);
    }
  },
};
