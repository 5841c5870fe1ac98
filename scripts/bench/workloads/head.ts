/** HEAD of the small file, 64 connections: requests per second. */
import { entrantsFor, floors, ratioTargets, type Workload } from '../bench';
import { runLoadWorkload } from '../measure';

export const head: Workload = {
  id: 'head',
  async run(bench) {
    const rows = await runLoadWorkload(bench.ctx, {
      id: 'head', title: 'HEAD x64', unit: 'req/s', connections: 64, seconds: bench.config.seconds.head, method: 'HEAD',
      entrants: [...floors(bench, 'constant HEAD'), ...entrantsFor(bench, 'head', bench.files.small, (contender, url) => ({ contender, url, check: { kind: 'head' } }))],
    });
    return { rows, targets: [...ratioTargets(rows, 'constant HEAD', 0.95, 'HEAD-x64-vs-constant'), ...ratioTargets(rows, 'constant HEAD [...path]', 0.95, 'HEAD-x64-vs-constant-[...path]')] };
  },
};
