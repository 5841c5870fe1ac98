/** A conditional GET of the small file with each server's own ETag, 64 connections: 304s per second. */
import { entrantsFor, floors, ratioTargets, type Workload } from '../bench';
import { fetchAnswer } from '../clients';
import { runLoadWorkload, type Entrant } from '../measure';

export const notModified: Workload = {
  id: '304',
  async run(bench) {
    // Each server's own validator for the file, from a HEAD.
    const withEtags: Entrant[] = floors(bench, 'constant GET', 200, 4096);
    for (const e of entrantsFor(bench, '304', bench.files.small, (contender, url) => ({ contender, url, check: { kind: 'not-modified' } }))) {
      const etag = (await fetchAnswer(e.url, { method: 'HEAD' }).catch(() => undefined))?.headers.etag;
      if (typeof etag === 'string') withEtags.push({ ...e, headers: { 'if-none-match': etag } });
      else bench.ctx.problem(`304 x64 ${e.contender.name}: no ETag on HEAD ${e.url}`);
    }
    const rows = await runLoadWorkload(bench.ctx, { id: '304', title: '304 x64', unit: 'req/s', connections: 64, seconds: bench.config.seconds.notModified, entrants: withEtags });
    return { rows, targets: [...ratioTargets(rows, 'constant GET', 0.95, '304-x64-vs-constant'), ...ratioTargets(rows, 'constant GET [...path]', 0.95, '304-x64-vs-constant-[...path]')] };
  },
};
