/**
 * A text file with and without its `.br` sibling (written once by scripts/precompress.mjs, then
 * cached): bytes on the wire and time, on loopback and at 1 MB/s.
 */
import path from 'node:path';
import { type Workload } from '../bench';
import { runPrecompressed, textFile } from '../bandwidth';
import { MB } from '../config';
import { placeFile } from '../files';

export const precompressed: Workload = {
  id: 'precompressed',
  async run(bench) {
    const size = bench.config.mode === 'smoke' ? 200_000 : 8 * MB;
    const name = `log-${size}.txt`;
    const cached = await textFile(bench.cacheDir, name, size);
    for (const suffix of ['', '.br', '.gz']) placeFile(`${cached}${suffix}`, path.join(bench.tempDir, 'media', 'bench', `${name}${suffix}`));
    return runPrecompressed(bench.ctx, bench.kit, name, size, bench.config.rounds);
  },
};
