/** The demo's files.zip (every file row, streamed as one archive), fetched whole: MB/s. */
import { readFile } from 'node:fs/promises';
import { type Workload } from '../bench';
import { fetchAnswer } from '../clients';
import { cachedFile } from '../files';
import { runExport } from '../measure';
import { target } from '../report';

export const zip: Workload = {
  id: 'zip',
  /** files.zip holds every row: a few larger uploads make it long enough to measure a rate. */
  async prepare(bench) {
    const { count, size } = bench.config.zipFiles;
    const bytes = await readFile(await cachedFile(bench.cacheDir, size));
    for (let i = 0; i < count; i++) {
      const form = new FormData();
      form.append('file', new Blob([bytes]), `zip-${i + 1}.bin`);
      const response = await fetch(`${bench.kit.base}/api/files`, { method: 'POST', body: form });
      if (response.status !== 201) throw new Error(`upload of zip-${i + 1}.bin to /api/files answered ${response.status}: ${await response.text()}`);
    }
  },
  async run(bench) {
    const url = `${bench.kit.base}/api/exports/files.zip`;
    const probe = await fetchAnswer(url, { method: 'HEAD' }).catch(() => undefined);
    if (!probe || probe.status === 404) {
      bench.ctx.skip(`zip: ${url} answered ${probe?.status ?? 'nothing'} (not in this build?)`);
      return { rows: [] };
    }
    const zipBytes = Number(probe.headers['content-length']);
    const result = await runExport(bench.ctx, `files.zip ${(zipBytes / 1e6).toFixed(1)} MB`, bench.kit, url, undefined);
    if (!result) return { rows: [] };
    return { rows: result.rows, targets: [target('files.zip-throughput', result.mbPerSecond, '>=', 300, 'MB/s', 'median MB/s of the whole download')] };
  },
};
