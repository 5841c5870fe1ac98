/** The bench's command line (`npm run bench -- ...`), read with node:util's parseArgs. */
import { parseArgs } from 'node:util';
import type { LoadTool } from './load';

export interface BenchArgs {
  help: boolean;
  smoke: boolean;
  rounds?: number;
  /** Workload ids to run (all when `--only` is absent). */
  only: Set<string>;
  cpuProf: boolean;
  contenders?: Set<string>;
  nodeFlags: string[];
  load?: LoadTool;
  strict: boolean;
  keep: boolean;
  chart?: string;
}

export function usage(workloads: readonly string[]): string {
  return [
    'usage: npm run bench [-- options]',
    '  --smoke               seconds, tiny files, every code path (run by `npm test`)',
    '  --rounds N            rounds per workload (default 3; 1 with --smoke)',
    `  --only a,b            these workloads only: ${workloads.join(',')}`,
    '  --contenders a,b      these contenders only (path,storage,files,path-w2,public,naive,send,nginx,offload)',
    '  --cpu-prof            a V8 profile of the kit server into bench-results/profiles/',
    '  --node-flag F         a flag for the kit server\'s node (repeatable), e.g. --node-flag=--trace-gc',
    '  --load wrk|autocannon the load generator (default: wrk when installed)',
    '  --strict              exit 1 when a target is short',
    '  --keep                keep the run\'s temporary folder',
    '  --chart FILE          also write the SVG chart there (it always goes to bench-results/)',
  ].join('\n');
}

/** Parses `argv` (without node and the script); throws an Error with the usage on a mistake. */
export function parseBenchArgs(argv: string[], workloads: readonly string[]): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        smoke: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        only: { type: 'string' },
        'cpu-prof': { type: 'boolean', default: false },
        contenders: { type: 'string' },
        'node-flag': { type: 'string', multiple: true, default: [] },
        load: { type: 'string' },
        strict: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        chart: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${usage(workloads)}`, { cause: error });
  }
  const only = values.only?.split(',') ?? workloads;
  for (const id of only) if (!workloads.includes(id)) throw new Error(`unknown workload ${id}; one of ${workloads.join(',')}`);
  if (values.load !== undefined && values.load !== 'wrk' && values.load !== 'autocannon') throw new Error(`--load wrk or --load autocannon, not ${values.load}`);
  let rounds: number | undefined;
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a whole number of rounds from 1, not ${values.rounds}`);
  }
  return {
    help: values.help,
    smoke: values.smoke,
    rounds,
    only: new Set(only),
    cpuProf: values['cpu-prof'],
    contenders: values.contenders === undefined ? undefined : new Set(values.contenders.split(',')),
    nodeFlags: values['node-flag'],
    load: values.load as LoadTool | undefined,
    strict: values.strict,
    keep: values.keep,
    chart: values.chart,
  };
}
